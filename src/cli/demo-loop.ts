// The demo's second half, the closed loop: the loop policy the demo sets before any traffic, then,
// once v2 is in production and the population has shifted, the drift monitor's windows as they
// are judged, the retrain they trigger, and the retrained version's own rollout to production.
import type { LineageOut, RetrainOut, RolloutDetailOut, RolloutOut } from '../api/schemas.js';
import { monitorWorkflowId, retrainWorkflowId } from '../loop/workflows.js';
import type { ApiClient } from './api-client.js';

/** The demo's short canary and sequential A/B test on the simulated users' conversions. */
export const DEMO_CANARY = { steps: [{ weight: 0.1, bakeSeconds: 4 }, { weight: 0.3, bakeSeconds: 4 }], analysisIntervalSeconds: 2, gates: { minRequests: 10, maxPredictionPsi: 0.5, maxP99LatencyRatio: 20 } };
export const DEMO_EXPERIMENT = { primaryMetric: { name: 'converted' }, treatmentShare: 0.5, lookIntervalSeconds: 2, minSamplePerArm: 200, maxSamplePerArm: 20000, maxDurationSeconds: 300 };

/**
 * The loop on a demo's time scale: a window of the last 300 rows judged every 3 s, drift after two
 * drifting windows (a window drifts when 15% of the features and the score do: the demo's shift
 * moves three of the 19 features, and the score with them), and a built-in retrain on the labelled rows of the last 8 s, which after the
 * shift are the new population's. The retrained version rolls out like v2 did; its validation bar
 * on the golden set is lower, because that set holds the population from before the shift (the
 * retrain's own holdout comparison with production, on the new rows, is what says it is better).
 */
export function demoLoopPolicy(): Record<string, unknown> {
  return {
    drift: {
      intervalSeconds: 3, window: { kind: 'rows', rows: 300 }, minRows: 100, debounceWindows: 2, datasetDriftShare: 0.15,
      cooldownSeconds: 120, dailyRetrainBudget: 10,
    },
    retrain: {
      trainer: { kind: 'builtin', name: 'logistic_regression', params: { seed: 7 } },
      data: { kind: 'logged', windowSeconds: 8, minRows: 300, labelMetric: 'label' },
      holdoutShare: 0.25,
      rolloutPolicy: { validation: { minAccuracy: 0.55, maxP99LatencyMs: 200 }, canary: DEMO_CANARY, experiment: DEMO_EXPERIMENT },
    },
  };
}

export function temporalWorkflowUrl(uiBase: string | null, workflowId: string): string | null {
  return uiBase ? `${uiBase.replace(/\/+$/, '')}/namespaces/default/workflows/${encodeURIComponent(workflowId)}` : null;
}

interface DriftReportItem { id: string; version: string; rows: number; decision: string; reason: string | null; shareDrifted: number; driftedFeatures: string[]; consecutive: number; createdAt: string }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function reportLine(r: DriftReportItem): string {
  const drifted = r.driftedFeatures.length > 0 ? `: ${r.driftedFeatures.slice(0, 4).join(', ')}${r.driftedFeatures.length > 4 ? ', …' : ''}` : '';
  const detail = r.decision === 'insufficient_data' ? ` (${r.reason ?? 'too few rows'})` : ` ${(r.shareDrifted * 100).toFixed(0)}% of features drifted${drifted}${r.decision === 'drift' ? `, ${r.consecutive} in a row` : ''}`;
  return `  [monitor   ] ${r.version} window of ${r.rows} rows → ${r.decision}${detail}`;
}

export interface LoopTimes { driftDetectedAt: number; retrainStartedAt: number; retrainEndedAt: number }

/**
 * Prints the monitor's reports on `version` as they are judged until a retrain of it starts, then
 * follows the retrain to its end. Resolves with the retrain (registered, or why not) and when each
 * step happened.
 */
export async function followDriftToRetrain(api: ApiClient, model: string, version: string, opts: { uiBase: string | null; deadlineMs: number; log: (line: string) => void }): Promise<{ retrain: RetrainOut; times: LoopTimes }> {
  const { log } = opts;
  const seen = new Set<string>();
  const path = `/v1/models/${encodeURIComponent(model)}`;
  const earlier = new Set((await api.request<LineageOut>('GET', `${path}/lineage`)).retrains.map((r) => r.id));
  let driftDetectedAt = 0;
  let retrainStartedAt = 0;
  let retrain: RetrainOut | undefined;
  let lastPhase = '';
  while (Date.now() < opts.deadlineMs) {
    if (!retrain) {
      const reports = (await api.request<{ items: DriftReportItem[] }>('GET', `${path}/drift-reports`, { query: { limit: 20 } })).items.filter((r) => r.version === version);
      for (const r of reports.reverse()) {
        if (seen.has(r.id)) continue;
        seen.add(r.id);
        log(reportLine(r));
        if (r.decision === 'drift' && driftDetectedAt === 0) driftDetectedAt = Date.now();
      }
    }
    const lineage = await api.request<LineageOut>('GET', `${path}/lineage`);
    const current = lineage.retrains.find((r) => !earlier.has(r.id) && r.status !== 'skipped');
    if (current && !retrain) {
      retrainStartedAt = Date.now();
      if (driftDetectedAt === 0) driftDetectedAt = retrainStartedAt;
      log(`\n  drift confirmed: retrain ${current.id} started (${current.cause.kind}${current.cause.kind === 'drift' ? `, report ${current.cause.reportId}` : ''})`);
      const url = temporalWorkflowUrl(opts.uiBase, retrainWorkflowId(model));
      if (url) log(`  watch the retrain in the Temporal UI: ${url}`);
    }
    retrain = current ?? retrain;
    if (retrain) {
      const phase = `${retrain.status}${retrain.dataWindow ? ` — data window ${retrain.dataWindow.rows} labelled rows` : ''}${retrain.producedVersion ? `, produced ${retrain.producedVersion}` : ''}`;
      if (phase !== lastPhase) log(`  [retrain   ] ${phase}${retrain.reason ? ` (${retrain.reason})` : ''}`);
      lastPhase = phase;
      if (retrain.status !== 'running') return { retrain, times: { driftDetectedAt, retrainStartedAt, retrainEndedAt: Date.now() } };
    }
    await sleep(1000);
  }
  throw new Error(`no retrain of ${model} ended before the demo's deadline${retrain ? ` (retrain ${retrain.id} is ${retrain.status})` : ' (the monitor did not call drift)'}`);
}

/** The rollout the retrain started for the version it registered (the lifecycle runs as the retrain's child). */
export async function rolloutOfVersion(api: ApiClient, model: string, version: string, deadlineMs: number): Promise<RolloutOut> {
  while (Date.now() < deadlineMs) {
    const { rollouts } = await api.request<{ rollouts: RolloutOut[] }>('GET', '/v1/rollouts', { query: { model, limit: 10 } });
    const found = rollouts.find((r) => r.candidateVersion === version);
    if (found) return found;
    await sleep(500);
  }
  throw new Error(`no rollout of ${model}/${version} started before the demo's deadline`);
}

export function monitorUrlLine(uiBase: string | null, model: string): string | null {
  const url = temporalWorkflowUrl(uiBase, monitorWorkflowId(model));
  return url ? `  watch the drift monitor in the Temporal UI: ${url}` : null;
}

export type { RolloutDetailOut };
