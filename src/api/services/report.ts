// An experiment's report, from what the workflow recorded: the experiment row and one row per
// look (per-arm statistics and the test's result). The confidence sequence is the interval of
// every look in order; SRM, guardrails and the decision come from the latest look. `summary`
// holds the same in typed numbers and words (what `sluice report` prints); the raw recorded
// objects stay beside it for scripts.
import type { RolloutView } from '../../registry/rollouts.js';
import { presentExperiment, type presentLook } from '../present.js';
import type { ReportSummary } from '../schemas.js';

type Look = { look: number; decision: string; arm_stats: unknown; result: unknown; at: Date };
type Experiment = Parameters<typeof presentExperiment>[0];

const ESTIMATE_KEYS = ['effect', 'estimate', 'delta', 'difference', 'lift', 'absoluteEffect', 'diff'];
const LOWER_KEYS = ['lower', 'low', 'lo', 'lowerBound'];
const UPPER_KEYS = ['upper', 'high', 'hi', 'upperBound'];
const P_KEYS = ['pValue', 'alwaysValidP', 'p', 'pvalue'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(obj: Record<string, unknown>, keys: string[]): number | null {
  for (const k of keys) {
    const v = obj[k];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return null;
}

/** Breadth-first over the result (a few levels deep) for the first object with an interval. */
function findInterval(result: unknown): { estimate: number | null; lower: number | null; upper: number | null; pValue: number | null } {
  const empty = { estimate: null, lower: null, upper: null, pValue: null };
  if (!isObject(result)) return empty;
  const queue: Array<{ node: Record<string, unknown>; parent: Record<string, unknown> | null; depth: number }> = [{ node: result, parent: null, depth: 0 }];
  // Prefer the primary metric's result when the look records several.
  const primary = result.primary;
  if (isObject(primary)) queue.unshift({ node: primary, parent: result, depth: 1 });
  while (queue.length > 0) {
    const { node, parent, depth } = queue.shift() as { node: Record<string, unknown>; parent: Record<string, unknown> | null; depth: number };
    const lower = num(node, LOWER_KEYS);
    const upper = num(node, UPPER_KEYS);
    if (lower !== null && upper !== null) {
      return {
        estimate: num(node, ESTIMATE_KEYS) ?? (parent ? num(parent, ESTIMATE_KEYS) : null),
        lower, upper,
        pValue: num(node, P_KEYS) ?? (parent ? num(parent, P_KEYS) : null),
      };
    }
    if (depth >= 4) continue;
    for (const [key, child] of Object.entries(node)) {
      if (key === 'srm' || key === 'guardrails') continue;
      if (isObject(child)) queue.push({ node: child, parent: node, depth: depth + 1 });
    }
  }
  return { ...empty, estimate: num(result, ESTIMATE_KEYS), pValue: num(result, P_KEYS) };
}

function str(obj: Record<string, unknown>, key: string): string | null {
  const v = obj[key];
  return typeof v === 'string' ? v : null;
}

/** An always-valid p-value as people read it: four decimals, or two significant digits below 0.0001. */
export function formatPValue(p: number): string {
  return p >= 0.0001 || p === 0 ? p.toFixed(4) : p.toExponential(1);
}

/**
 * Per arm: units assigned and the primary metric's mean (a rate for a binary metric). The workflow
 * records the activity's snapshot ({assigned, metrics: {metric: {arm: stats}}}); a flat
 * {arm: {n, successes | sum}} is read too.
 */
function summarizeArms(experiment: Experiment, armStats: unknown, metricType: 'binary' | 'continuous'): ReportSummary['arms'] {
  const declared = Array.isArray(experiment.arms)
    ? experiment.arms.filter(isObject).map((a) => ({ arm: str(a, 'name') ?? '?', version: str(a, 'version') })) : [];
  const stats = isObject(armStats) ? armStats : {};
  const snapshot = isObject(stats.metrics) && isObject(stats.assigned);
  const perArm = snapshot ? (stats.metrics as Record<string, unknown>)[experiment.primary_metric] : stats;
  const byArm = isObject(perArm) ? perArm : {};
  const names = declared.length > 0 ? declared : Object.keys(byArm).map((arm) => ({ arm, version: null }));
  return names.map(({ arm, version }) => {
    const s = isObject(byArm[arm]) ? byArm[arm] : {};
    const n = num(s, ['n']);
    const total = metricType === 'binary' ? (num(s, ['successes']) ?? num(s, ['sum'])) : (num(s, ['sum']) ?? num(s, ['successes']));
    const units = snapshot ? num(stats.assigned as Record<string, unknown>, [arm]) : null;
    return { arm, version, units, n, mean: n !== null && n > 0 && total !== null ? total / n : null };
  });
}

function summarizeSrm(kind: string, srm: unknown): ReportSummary['srm'] {
  if (!isObject(srm)) {
    const verdict = kind === 'bandit'
      ? 'Not checked: a bandit moves traffic between arms, so there is no fixed split to test.'
      : 'Not checked yet: no look has been taken.';
    return { checked: false, pValue: null, threshold: null, mismatch: null, verdict };
  }
  const pValue = num(srm, ['pValue']);
  const threshold = num(srm, ['pValueThreshold']);
  const mismatch = typeof srm.mismatch === 'boolean' ? srm.mismatch : null;
  const assigned = isObject(srm.assigned) ? srm.assigned : null;
  const share = num(srm, ['expectedTreatmentShare']);
  const units = assigned ? ` (control ${num(assigned, ['control']) ?? '?'} and treatment ${num(assigned, ['treatment']) ?? '?'} units${share !== null ? ` against a planned ${(share * 100).toFixed(0)}% treatment share` : ''})` : '';
  const p = pValue === null ? '' : `p = ${formatPValue(pValue)}${threshold !== null ? ` ${mismatch ? '<' : '≥'} ${threshold}` : ''}`;
  if (srm.status === 'insufficient_data' || mismatch === null) {
    return { checked: false, pValue, threshold, mismatch, verdict: `Not checked yet: too few assigned units for the sample-ratio test${units}.` };
  }
  const verdict = mismatch
    ? `Sample-ratio mismatch: the arms' units differ from the planned split${units}${p ? `, ${p}` : ''}; the assignment is broken, so the effect cannot be trusted.`
    : `No sample-ratio mismatch: the arms' units match the planned split${units}${p ? `, ${p}` : ''}.`;
  return { checked: true, pValue, threshold, mismatch, verdict };
}

function summarizeGuardrails(guardrails: unknown): ReportSummary['guardrails'] {
  if (!Array.isArray(guardrails)) return [];
  return guardrails.filter(isObject).map((g) => {
    const verdict = g.breached === true ? 'breached'
      : g.nonInferior === true || g.ok === true ? 'within its limit'
        : g.ok === false ? 'failed'
          : typeof g.status === 'string' && g.status !== 'evaluated' ? g.status.replaceAll('_', ' ') : 'not decided yet';
    return { name: str(g, 'name') ?? '?', effect: num(g, ['effect']), bound: num(g, ['degradationBound']), verdict };
  });
}

function summarizeDecision(experiment: Experiment, latest: Look | undefined): ReportSummary['decision'] {
  const recorded = isObject(experiment.decision) ? experiment.decision : null;
  if (recorded) {
    return {
      action: str(recorded, 'action') ?? str(recorded, 'decision') ?? 'unknown',
      reason: str(recorded, 'reason'), look: num(recorded, ['look']), final: experiment.status !== 'running',
    };
  }
  if (latest) {
    const result = isObject(latest.result) ? latest.result : {};
    return { action: latest.decision, reason: str(result, 'reason'), look: latest.look, final: false };
  }
  return { action: 'none', reason: 'no look has been taken yet', look: null, final: false };
}

export function buildExperimentReport(rollout: RolloutView, experiment: Experiment, looks: Look[]) {
  const latest = looks[looks.length - 1];
  const latestResult = isObject(latest?.result) ? latest.result : null;
  const confidenceSequence = looks.map((l) => ({ look: l.look, at: l.at.toISOString(), decision: l.decision, ...findInterval(l.result) }));
  const policyExperiment = isObject(rollout.policy?.experiment) ? rollout.policy.experiment : {};
  const primaryRef = isObject(policyExperiment.primaryMetric) ? policyExperiment.primaryMetric : {};
  const metricType = primaryRef.type === 'continuous' ? 'continuous' : 'binary';
  const lastPoint = confidenceSequence[confidenceSequence.length - 1];
  const alpha = num(experiment.config ?? {}, ['alpha']);
  const summary: ReportSummary = {
    primaryMetric: experiment.primary_metric,
    metricType,
    arms: summarizeArms(experiment, latest?.arm_stats, metricType),
    effect: {
      look: lastPoint?.look ?? null, estimate: lastPoint?.estimate ?? null, lower: lastPoint?.lower ?? null, upper: lastPoint?.upper ?? null,
      pValue: lastPoint?.pValue ?? null, level: alpha !== null ? 1 - alpha : null,
    },
    srm: summarizeSrm(experiment.kind, latestResult?.srm),
    guardrails: summarizeGuardrails(latestResult?.guardrails),
    decision: summarizeDecision(experiment, latest),
  };
  return {
    rolloutId: rollout.id,
    model: rollout.model,
    experiment: presentExperiment(experiment),
    looks: looks.length,
    arms: latest?.arm_stats ?? null,
    confidenceSequence,
    srm: latestResult?.srm ?? null,
    guardrails: latestResult?.guardrails ?? null,
    latest: latest ? { look: latest.look, decision: latest.decision, armStats: latest.arm_stats, result: latest.result, at: latest.at.toISOString() } satisfies ReturnType<typeof presentLook> : null,
    decision: experiment.decision ?? (latest ? { decision: latest.decision, look: latest.look } : null),
    summary,
  };
}
