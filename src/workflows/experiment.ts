// The experiment phase of a rollout: a sequential A/B test (mSPRT, safe to look at any time) or a
// Thompson-sampling bandit. Statistics come in from an activity as sufficient statistics; the
// decision is computed here with the pure stats engine, and everything it depends on (the running
// minimum p-values, the bandit's random state) is workflow state, so a replay decides the same.
import type { ArmMetricStats, ExperimentSnapshot } from '../registry/experiments.js';
import type { MetricRef, RolloutPolicy } from '../policy/schema.js';
import {
  decideLook, initialLookState, seedRandom, thompsonAllocation,
  type BinarySummary, type ExperimentConfig, type LookState, type MetricSummary, type RandomState,
} from '../stats/index.js';
import { metrics, registry } from './activity-profiles.js';
import type { DecisionRecord, LatestStatistics } from './messages.js';

export interface ExperimentOutcome {
  decision: 'promote' | 'rollback' | 'stop_no_effect';
  /** The version that should serve afterwards. */
  winner: string;
  reason: string;
}

export interface ExperimentContext {
  rolloutId: string;
  model: string;
  baseline: string;
  candidate: string;
  policy: RolloutPolicy;
  hold(seconds: number): Promise<void>;
  record(verdict: DecisionRecord['verdict'], step: string, reason: string, numbers?: Record<string, unknown>): Promise<void>;
  applyTraffic(weights: Record<string, number>, spec: Record<string, unknown>, reason: string): Promise<void>;
  setStep(step: { name: string; index: number; of: number } | null): void;
  setStatistics(stats: LatestStatistics): void;
}

const EMPTY: ArmMetricStats = { n: 0, successes: 0, sum: 0, sumSquares: 0 };

/** The metric's per-arm statistics as the stats engine's summary type. */
export function toSummary(metric: MetricRef, stats: ArmMetricStats | undefined): MetricSummary {
  const s = stats ?? EMPTY;
  return metric.type === 'binary' ? { n: s.n, successes: s.successes } : { n: s.n, sum: s.sum, sumSquares: s.sumSquares };
}

export async function runExperiment(ctx: ExperimentContext): Promise<ExperimentOutcome> {
  return ctx.policy.experiment.kind === 'bandit' ? await runBandit(ctx) : await runAbTest(ctx);
}

async function runAbTest(ctx: ExperimentContext): Promise<ExperimentOutcome> {
  const { policy, baseline, candidate } = ctx;
  const exp = policy.experiment;
  const primary = exp.primaryMetric;
  if (!primary) throw new Error('an A/B experiment needs a primary metric');
  const experimentId = `${ctx.rolloutId}:ab`;
  const arms = [{ name: 'control', version: baseline }, { name: 'treatment', version: candidate }];
  const config: ExperimentConfig = {
    alpha: exp.alpha,
    ...(exp.tau2 !== undefined ? { tau2: exp.tau2 } : { expectedSampleSize: exp.expectedSampleSize }),
    primary: { name: primary.name, direction: primary.direction },
    guardrails: exp.guardrails.map((g) => ({ name: g.name, direction: g.direction, maxDegradation: g.maxDegradation })),
    treatmentShare: exp.treatmentShare,
    minSamplePerArm: exp.minSamplePerArm,
    maxSamplePerArm: exp.maxSamplePerArm,
    maxDurationSeconds: exp.maxDurationSeconds,
    // Absent in policies parsed before the field existed (in-flight workflows): the engine's default.
    ...(exp.srmPValueThreshold !== undefined ? { srmPValueThreshold: exp.srmPValueThreshold } : {}),
  };
  const { startedAt } = await registry.startExperiment({
    experimentId, rolloutId: ctx.rolloutId, model: ctx.model, kind: 'ab', salt: ctx.rolloutId,
    arms, primaryMetric: primary.name, config: config as unknown as Record<string, unknown>,
  });
  await ctx.applyTraffic(
    { [baseline]: 1 - exp.treatmentShare, [candidate]: exp.treatmentShare },
    { experiment: { id: experimentId, salt: ctx.rolloutId, arms: [{ name: 'control', version: baseline, weight: 1 - exp.treatmentShare }, { name: 'treatment', version: candidate, weight: exp.treatmentShare }] } },
    `A/B test: ${(exp.treatmentShare * 100).toFixed(0)}% treatment`,
  );

  const startMs = Date.now();
  const maxLooks = Math.ceil(exp.maxDurationSeconds / exp.lookIntervalSeconds) + 1;
  let state: LookState = initialLookState();
  for (let look = 1; ; look++) {
    ctx.setStep({ name: `look ${look}`, index: look, of: maxLooks });
    await ctx.hold(exp.lookIntervalSeconds);
    const snapshot = await metrics.collectExperimentStats({
      experimentId, model: ctx.model, metrics: [primary.name, ...exp.guardrails.map((g) => g.name)], since: startedAt,
    });
    const input = lookInput(snapshot, primary, exp.guardrails, (Date.now() - startMs) / 1000);
    const result = decideLook(config, input, state);
    if (!result.ok) {
      // Malformed statistics are an error in our own plumbing: record it and keep the baseline.
      await ctx.record('error', `look ${look}`, `statistics rejected (${result.code}): ${result.message}`);
      await registry.finishExperiment({ experimentId, status: 'stopped', decision: { action: 'stop_no_effect', reason: result.message } });
      return { decision: 'stop_no_effect', winner: baseline, reason: `experiment stopped: ${result.message}` };
    }
    state = result.state;
    const summary = {
      look, action: result.action, trigger: result.trigger, sample: result.sample,
      effect: result.primary.effect, pValue: result.primary.pValue, confidenceSequence: result.primary.confidenceSequence,
      srm: { pValue: result.srm.pValue, mismatch: result.srm.mismatch },
    };
    ctx.setStatistics({ experiment: summary });
    await registry.recordExperimentLook({ experimentId, look, armStats: snapshot, result, decision: result.action });
    await ctx.record(result.action === 'continue' ? 'inconclusive' : result.action === 'promote' ? 'successful' : result.action === 'rollback' ? 'failed' : 'info',
      `look ${look}`, result.reason, summary);
    if (result.action === 'continue') continue;
    await registry.finishExperiment({ experimentId, status: 'decided', decision: { action: result.action, trigger: result.trigger, reason: result.reason, look } });
    if (result.action === 'promote') return { decision: 'promote', winner: candidate, reason: result.reason };
    if (result.action === 'rollback') return { decision: 'rollback', winner: baseline, reason: result.reason };
    return { decision: 'stop_no_effect', winner: baseline, reason: result.reason };
  }
}

export function lookInput(snapshot: ExperimentSnapshot, primary: MetricRef, guardrails: MetricRef[], elapsedSeconds: number) {
  const pair = (metric: MetricRef) => ({
    control: toSummary(metric, snapshot.metrics[metric.name]?.control),
    treatment: toSummary(metric, snapshot.metrics[metric.name]?.treatment),
  });
  return {
    primary: pair(primary),
    guardrails: Object.fromEntries(guardrails.map((g) => [g.name, pair(g)])),
    assignedUnits: { control: snapshot.assigned.control ?? 0, treatment: snapshot.assigned.treatment ?? 0 },
    elapsedSeconds,
  };
}

/**
 * Bandit mode: the baseline and every candidate are arms; at each look the allocation follows the
 * posterior probability of being best (floored at minShare). Ends when one arm's probability of
 * being best passes the threshold, or with the baseline at the maximum sample or duration.
 */
async function runBandit(ctx: ExperimentContext): Promise<ExperimentOutcome> {
  const { policy, baseline, candidate } = ctx;
  const exp = policy.experiment;
  const primary = exp.primaryMetric;
  if (!primary) throw new Error('a bandit needs a primary metric');
  const versions = [baseline, candidate, ...exp.bandit.candidates.filter((v) => v !== baseline && v !== candidate)];
  const armNames = versions.map((_, i) => (i === 0 ? 'control' : `arm${i}`));
  const experimentId = `${ctx.rolloutId}:bandit`;
  const { startedAt } = await registry.startExperiment({
    experimentId, rolloutId: ctx.rolloutId, model: ctx.model, kind: 'bandit', salt: ctx.rolloutId,
    arms: versions.map((version, i) => ({ name: armNames[i] ?? `arm${i}`, version })), primaryMetric: primary.name,
    config: { minShare: exp.bandit.minShare, promoteThreshold: exp.bandit.promoteThreshold, maxSamplePerArm: exp.maxSamplePerArm },
  });
  let random: RandomState = seedRandom(ctx.rolloutId);
  let shares = versions.map(() => 1 / versions.length);
  const startMs = Date.now();
  const maxLooks = Math.ceil(exp.maxDurationSeconds / exp.lookIntervalSeconds) + 1;
  for (let look = 1; ; look++) {
    // Each look is its own experiment generation: the salt changes with it, so re-allocation
    // does not drag earlier users across arms mid-look.
    await ctx.applyTraffic(
      Object.fromEntries(versions.map((v, i) => [v, shares[i] ?? 0])),
      { experiment: { id: experimentId, salt: `${ctx.rolloutId}:${look}`, arms: versions.map((v, i) => ({ name: armNames[i], version: v, weight: shares[i] ?? 0 })) } },
      `bandit look ${look} allocation`,
    );
    ctx.setStep({ name: `look ${look}`, index: look, of: maxLooks });
    await ctx.hold(exp.lookIntervalSeconds);
    const snapshot = await metrics.collectExperimentStats({ experimentId, model: ctx.model, metrics: [primary.name], since: startedAt });
    const summaries: BinarySummary[] = armNames.map((name) => {
      const s = snapshot.metrics[primary.name]?.[name] ?? EMPTY;
      // "decrease is better" flips successes so the bandit always maximises.
      return primary.direction === 'increase' ? { n: s.n, successes: s.successes } : { n: s.n, successes: s.n - s.successes };
    });
    const allocation = thompsonAllocation(summaries, random, { minShare: exp.bandit.minShare });
    if (!allocation.ok) {
      await ctx.record('error', `look ${look}`, `bandit allocation rejected (${allocation.code}): ${allocation.message}`);
      return { decision: 'stop_no_effect', winner: baseline, reason: allocation.message };
    }
    random = allocation.random;
    shares = [...allocation.shares];
    const best = allocation.probabilityBest.reduce((bi, p, i, all) => (p > (all[bi] ?? 0) ? i : bi), 0);
    const numbers = { look, shares, probabilityBest: [...allocation.probabilityBest], posteriorMeans: [...allocation.posteriorMeans], n: summaries.map((s) => s.n) };
    ctx.setStatistics({ bandit: numbers });
    const pBest = allocation.probabilityBest[best] ?? 0;
    const minN = Math.min(...summaries.map((s) => s.n));
    const decided = pBest >= exp.bandit.promoteThreshold && minN >= exp.minSamplePerArm;
    const atMax = Math.max(...summaries.map((s) => s.n)) >= exp.maxSamplePerArm || (Date.now() - startMs) / 1000 >= exp.maxDurationSeconds;
    const action = decided ? (best === 0 ? 'rollback' : 'promote') : atMax ? 'stop_no_effect' : 'continue';
    const winner = versions[best] ?? baseline;
    const reason = decided
      ? `${winner} is best with probability ${pBest.toFixed(3)} ≥ ${exp.bandit.promoteThreshold}`
      : atMax ? `no arm reached ${exp.bandit.promoteThreshold} by the maximum; keeping ${baseline}` : `best so far ${winner} at ${pBest.toFixed(3)}`;
    await registry.recordExperimentLook({ experimentId, look, armStats: snapshot, result: { ...numbers, reason }, decision: action });
    await ctx.record(action === 'continue' ? 'inconclusive' : action === 'promote' ? 'successful' : 'info', `look ${look}`, reason, numbers);
    if (action === 'continue') continue;
    await registry.finishExperiment({ experimentId, status: 'decided', decision: { action, winner: action === 'stop_no_effect' ? baseline : winner, reason, look } });
    if (action === 'promote') return { decision: 'promote', winner, reason };
    return { decision: 'stop_no_effect', winner: baseline, reason };
  }
}
