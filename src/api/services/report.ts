// An experiment's report, from what the workflow recorded: the experiment row and one row per
// look (per-arm statistics and the test's result). The confidence sequence is the interval of
// every look in order; SRM, guardrails and the decision come from the latest look.
import type { RolloutView } from '../../registry/rollouts.js';
import { presentExperiment, type presentLook } from '../present.js';

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

export function buildExperimentReport(rollout: RolloutView, experiment: Experiment, looks: Look[]) {
  const latest = looks[looks.length - 1];
  const latestResult = isObject(latest?.result) ? latest.result : null;
  return {
    rolloutId: rollout.id,
    model: rollout.model,
    experiment: presentExperiment(experiment),
    looks: looks.length,
    arms: latest?.arm_stats ?? null,
    confidenceSequence: looks.map((l) => ({ look: l.look, at: l.at.toISOString(), decision: l.decision, ...findInterval(l.result) })),
    srm: latestResult?.srm ?? null,
    guardrails: latestResult?.guardrails ?? null,
    latest: latest ? { look: latest.look, decision: latest.decision, armStats: latest.arm_stats, result: latest.result, at: latest.at.toISOString() } satisfies ReturnType<typeof presentLook> : null,
    decision: experiment.decision ?? (latest ? { decision: latest.decision, look: latest.look } : null),
  };
}
