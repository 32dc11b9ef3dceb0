// A rollout's progress as the CLI shows it, for `sluice rollout watch` and `sluice demo`: one loop
// that follows a rollout through the API, one reading of its typed state (the API's schemas, the
// workflow's state query), and two layouts of the same facts: a log line (watch) and a board with
// weight bars (the demo).
import type { ConfidencePoint, ExperimentReportOut, RolloutDetailOut, RolloutStateOut } from '../api/schemas.js';
import { CliError, type ApiClient } from './api-client.js';
import { formatSigned, formatWeights } from './output.js';

/** The latest A/B look: from the workflow's state while it runs (with the sample), else from the report. */
export interface LookProgress {
  look: number;
  estimate: number | null;
  lower: number | null;
  upper: number | null;
  pValue: number | null;
  decision: string;
  sample: { control: number; treatment: number } | null;
}

export interface RolloutProgress {
  rollout: string;
  /** The rollout's status ('running', or how it ended). */
  status: string;
  phase: string;
  step: RolloutStateOut['step'];
  weights: Record<string, number> | null;
  generation: number | null;
  paused: boolean | null;
  waitingFor: RolloutStateOut['waitingFor'];
  look: LookProgress | null;
  stateError: string | null;
}

function lookFromState(state: RolloutStateOut | null): LookProgress | null {
  const e = state?.latestStatistics?.experiment;
  if (!e) return null;
  return {
    look: e.look, estimate: e.effect, lower: e.confidenceSequence?.lower ?? null, upper: e.confidenceSequence?.upper ?? null,
    pValue: e.pValue, decision: e.action, sample: e.sample,
  };
}

function lookFromReport(p: ConfidencePoint | undefined): LookProgress | null {
  return p ? { look: p.look, estimate: p.estimate, lower: p.lower, upper: p.upper, pValue: p.pValue, decision: p.decision, sample: null } : null;
}

export function progressOf(r: RolloutDetailOut, reportLook?: ConfidencePoint): RolloutProgress {
  const s = r.state;
  return {
    rollout: r.id,
    status: r.status,
    phase: s?.phase ?? r.phase,
    step: s?.step ?? null,
    weights: s ? s.weights : null,
    generation: s ? s.generation : null,
    paused: s ? s.paused : null,
    waitingFor: s?.waitingFor ?? null,
    look: lookFromState(s) ?? lookFromReport(reportLook),
    stateError: r.stateError,
  };
}

export function lookLine(p: LookProgress | null): string {
  if (!p) return '';
  return `look ${p.look}: effect ${formatSigned(p.estimate)} [${formatSigned(p.lower)}, ${formatSigned(p.upper)}]${p.pValue !== null ? ` p=${p.pValue.toFixed(4)}` : ''} → ${p.decision}`;
}

/** One log line: what `sluice rollout watch` prints whenever it changes. */
export function progressLine(p: RolloutProgress): string {
  const parts = [p.status === 'running' ? p.phase : p.status];
  if (p.step) parts.push(`step ${p.step.name} ${p.step.index}/${p.step.of}`);
  if (p.weights) parts.push(`weights ${formatWeights(p.weights)}${p.generation !== null ? ` (gen ${p.generation})` : ''}`);
  if (p.paused) parts.push('PAUSED');
  if (p.waitingFor) parts.push(`waiting for ${p.waitingFor.kind}: ${p.waitingFor.gate} (until ${p.waitingFor.deadline})`);
  if (p.look) parts.push(lookLine(p.look));
  if (p.stateError) parts.push(`(state: ${p.stateError})`);
  return parts.join(' | ');
}

function bar(share: number, width: number): string {
  const filled = Math.round(share * width);
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}

/** The same facts as a board row with a bar per version: what the demo prints. */
export function progressBoard(p: RolloutProgress): string {
  const weights = Object.entries(p.weights ?? {}).map(([v, s]) => `${v} ${bar(s, 10)} ${(s * 100).toFixed(0).padStart(3)}%`).join('  ');
  const l = p.look;
  const stats = l ? `look ${l.look}: ${l.sample ? `n=${l.sample.control}/${l.sample.treatment} ` : ''}effect ${l.estimate?.toFixed(3) ?? '–'} p=${l.pValue?.toFixed(4) ?? '–'}` : '';
  const phase = p.status === 'running' ? p.phase : p.status;
  return `  [${phase.padEnd(12)}] ${p.step?.name ?? ''}  ${weights}  ${stats}`;
}

export function outcomeLine(r: Pick<RolloutDetailOut, 'status' | 'outcomeReason'>): string {
  return `outcome: ${r.status}${r.outcomeReason ? ` — ${r.outcomeReason}` : ''}`;
}

/** The report's latest look; undefined while the rollout has no experiment. */
async function latestLook(api: ApiClient, id: string): Promise<ConfidencePoint | undefined> {
  try {
    const report = await api.request<ExperimentReportOut>('GET', `/v1/rollouts/${id}/report`);
    return report.confidenceSequence[report.confidenceSequence.length - 1];
  } catch (err) {
    if (err instanceof CliError && (err.body as { status?: number } | undefined)?.status === 404) return undefined;
    throw err;
  }
}

/**
 * Polls a rollout until it ends, calling `onProgress` on every poll, and returns the final
 * rollout. A restarting API is not the end of a rollout: unreachable polls are retried a while.
 */
export async function followRollout(api: ApiClient, id: string, opts: {
  intervalMs: number;
  onProgress: (progress: RolloutProgress, rollout: RolloutDetailOut) => void;
}): Promise<RolloutDetailOut> {
  let failures = 0;
  for (;;) {
    let r: RolloutDetailOut;
    let look: ConfidencePoint | undefined;
    try {
      r = await api.request<RolloutDetailOut>('GET', `/v1/rollouts/${id}`);
      look = (r.state?.phase ?? r.phase) === 'experiment' || r.status !== 'running' ? await latestLook(api, id) : undefined;
      failures = 0;
    } catch (err) {
      if (!(err instanceof CliError) || err.body !== undefined || ++failures > 10) throw err;
      await new Promise((resolve) => setTimeout(resolve, opts.intervalMs));
      continue;
    }
    opts.onProgress(progressOf(r, look), r);
    if (r.status !== 'running') return r;
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs));
  }
}
