// The lifecycle of one model-version rollout: validate → prewarm → shadow → canary → sequential
// A/B (or bandit) → promote or roll back. Every side effect is an activity; every decision is made
// here from activity results with pure functions, so a replay after any crash decides the same.
// Each phase is a small function over the rollout's context (lifecycle-context.ts).
import { ApplicationFailure, CancellationScope, isCancellation, patched, TemporalFailure } from '@temporalio/workflow';
import { evaluateCanaryWindow, evaluateShadowWindow } from '../policy/gates.js';
import type { RolloutPolicy } from '../policy/schema.js';
import { ROLLOUT_FAILED } from '../shared/failures.js';
import { fleet, loopStart, metrics, registry, validation } from './activity-profiles.js';
import { runExperiment, type ExperimentOutcome } from './experiment.js';
import { failedValidation, failureReason, unlessMissing } from './failures.js';
import { createLifecycleContext, RollbackSignal, type LifecycleContext } from './lifecycle-context.js';
import type { ModelLifecycleInput, ModelLifecycleResult } from './messages.js';

export type { ModelLifecycleResult } from './messages.js';

export async function modelLifecycle(input: ModelLifecycleInput): Promise<ModelLifecycleResult> {
  const ctx = createLifecycleContext(input);
  const { baselineVersion: baseline } = input;
  try {
    ctx.setLastGood(await registry.readCurrentTraffic({ model: input.model }));
    const rejection = await validate(ctx);
    if (rejection) return await ctx.finish('rejected', rejection);
    await prewarm(ctx);
    // A model's first version has nothing to compare against: it goes straight to production.
    if (!baseline) return await promoteFirstVersion(ctx);
    if (input.policy.shadow) await shadow(ctx, baseline);
    await canary(ctx, baseline);
    const outcome = await experiment(ctx, baseline);
    if (outcome.decision === 'rollback') throw new RollbackSignal('rolled_back', outcome.reason);
    if (outcome.decision === 'stop_no_effect' || outcome.winner === baseline) return await keepBaseline(ctx, outcome.reason);
    return await promote(ctx, baseline, outcome);
  } catch (err) {
    if (err instanceof RollbackSignal) return await rollBack(ctx, err);
    const reason = await compensate(ctx, err);
    // The workflow fails with the outcome's reason, so its history says why at the top, not
    // "Activity task failed"; the original failure stays attached as the cause. A cancellation,
    // and an error that is no Temporal failure (a bug here, which fails the workflow task), are
    // rethrown as they are, so Temporal treats them as it would.
    if (err instanceof TemporalFailure && !isCancellation(err)) throw ApplicationFailure.create({ message: reason, type: ROLLOUT_FAILED, nonRetryable: true, cause: err });
    throw err;
  }
}

/**
 * 1. Validate: a failure rejects the version before any traffic moves. Returns why it was rejected.
 * A check that threw, or a validation that could not finish, is a failed check like any other.
 */
async function validate(ctx: LifecycleContext): Promise<string | null> {
  const { model, candidateVersion: candidate, policy } = ctx.input;
  await ctx.enterPhase('validating');
  const report = await validation.validateCandidate.executeWithOptions({ summary: `validate ${model}/${candidate}: artifact, signature, golden set, latency` },
    [{ model, version: candidate, validation: policy.validation }]).catch(failedValidation);
  for (const check of report.checks) await ctx.record(check.verdict, `validate:${check.name}`, check.reason, check.numbers);
  if (!report.passed) {
    await registry.markVersionStatus({ model, version: candidate, status: 'rejected' });
    // Info checks (an unbounded metric, a note) are on record in the steps, not reasons to reject.
    return `validation failed: ${report.checks.filter((c) => c.verdict !== 'successful' && c.verdict !== 'info').map((c) => c.reason).join('; ')}`;
  }
  await registry.markVersionStatus({ model, version: candidate, status: 'candidate' });
  return null;
}

/** 2. Prewarm: every live worker loads the version before it receives a request. */
async function prewarm(ctx: LifecycleContext): Promise<void> {
  const { model, candidateVersion: candidate } = ctx.input;
  await ctx.enterPhase('prewarming');
  const warmed = await validation.prewarmVersion.executeWithOptions({ summary: `prewarm ${model}/${candidate} on every live worker` }, [{ model, version: candidate }]);
  await ctx.record(warmed.allReady ? 'successful' : 'failed', 'prewarm', `${warmed.ready}/${warmed.workers} workers loaded ${candidate}`, { workers: warmed.results });
  if (!warmed.allReady) throw new RollbackSignal('rolled_back', `prewarm failed on ${warmed.workers - warmed.ready} worker(s)`);
}

async function promoteFirstVersion(ctx: LifecycleContext): Promise<ModelLifecycleResult> {
  const { model, candidateVersion: candidate } = ctx.input;
  await ctx.enterPhase('promoting');
  await ctx.applyTraffic({ [candidate]: 1 }, {}, 'first version of the model');
  await registry.promoteVersion({ model, version: candidate });
  await watchForDrift(model, candidate);
  return await ctx.finish('promoted', 'first version of the model: validated and promoted');
}

/** 3. Shadow: mirror a share of traffic, compare answers, return only the primary's. */
async function shadow(ctx: LifecycleContext, baseline: string): Promise<void> {
  const { model, candidateVersion: candidate, policy } = ctx.input;
  const gate = policy.shadow;
  if (!gate) return;
  await ctx.enterPhase('shadow');
  const since = new Date().toISOString();
  await ctx.applyTraffic({ [baseline]: 1 }, { shadow: { version: candidate, share: gate.share } }, 'shadow');
  await ctx.hold(gate.durationSeconds);
  const window = await metrics.measureShadowWindow({
    model, primary: baseline, shadow: candidate, from: since, to: new Date().toISOString(),
    regressionTolerance: gate.regressionTolerance, regressionRelativeTolerance: gate.regressionRelativeTolerance,
  });
  const evaluation = evaluateShadowWindow(window, gate);
  await ctx.record(evaluation.verdict, 'shadow', evaluation.reason, { ...window });
  if (evaluation.failure !== null) throw new RollbackSignal('rolled_back', evaluation.failure);
}

/** 4. Canary steps with gates on every analysis interval. */
async function canary(ctx: LifecycleContext, baseline: string): Promise<void> {
  await ctx.enterPhase('canary');
  const steps = ctx.input.policy.canary.steps;
  for (const [i, step] of steps.entries()) {
    const name = `${(step.weight * 100).toFixed(step.weight < 0.01 ? 1 : 0)}%`;
    ctx.state.step = { name, index: i + 1, of: steps.length };
    if (step.requireApproval) await ctx.awaitApproval(`canary step ${i + 1} (${name})`);
    await ctx.applyTraffic({ [baseline]: round(1 - step.weight), [ctx.input.candidateVersion]: step.weight }, {}, `canary step ${i + 1}/${steps.length}`);
    await bakeCanaryStep(ctx, baseline, step, name);
  }
}

/** One canary step's bake: at least one analysis, then one every interval until the bake time. */
async function bakeCanaryStep(ctx: LifecycleContext, baseline: string, step: RolloutPolicy['canary']['steps'][number], name: string): Promise<void> {
  const { model, candidateVersion: candidate, policy } = ctx.input;
  const { analysisIntervalSeconds: interval, gates, failureLimit, inconclusiveLimit } = policy.canary;
  let inconclusiveRun = 0;
  let failures = 0;
  let elapsed = 0;
  let windowStart = new Date().toISOString();
  do {
    const wait = Math.min(interval, step.bakeSeconds - elapsed);
    await ctx.hold(wait);
    elapsed += wait;
    const override = ctx.takeOverride();
    if (override) await ctx.applyTraffic(override, {}, 'operator override');
    const windowEnd = new Date().toISOString();
    const window = await metrics.measureCanaryWindow.executeWithOptions({ summary: `canary window at ${name}: ${baseline} vs ${candidate}` },
      [{ model, baseline, candidate, from: windowStart, to: windowEnd }]);
    windowStart = windowEnd;
    const evaluation = evaluateCanaryWindow(window, gates);
    ctx.state.latestStatistics = { canary: evaluation.numbers };
    const decision = { verdict: evaluation.verdict, step: `canary:${name}`, reason: evaluation.reason, numbers: { ...evaluation.numbers, checks: evaluation.checks } };
    if (evaluation.verdict === 'failed' || evaluation.verdict === 'error') failures++;
    if (failures >= failureLimit) {
      throw new RollbackSignal('rolled_back', `canary gate failed at ${name}: ${evaluation.reason}`, decision);
    }
    await ctx.record(decision.verdict, decision.step, decision.reason, decision.numbers);
    inconclusiveRun = evaluation.verdict === 'inconclusive' ? inconclusiveRun + 1 : 0;
    if (inconclusiveRun >= inconclusiveLimit) {
      throw new RollbackSignal('rolled_back', `canary inconclusive ${inconclusiveRun} times in a row at ${name}: ${evaluation.reason}`);
    }
  } while (elapsed < step.bakeSeconds);
}

/** 5. Sequential experiment (or bandit): the statistics decide. */
async function experiment(ctx: LifecycleContext, baseline: string): Promise<ExperimentOutcome> {
  const { rolloutId, model, candidateVersion: candidate, policy } = ctx.input;
  if (policy.experiment.kind === 'none') return { decision: 'promote', winner: candidate, reason: 'no experiment configured; canary passed' };
  await ctx.enterPhase('experiment');
  return await runExperiment({
    rolloutId, model, baseline, candidate, policy,
    hold: ctx.hold, record: ctx.record, applyTraffic: ctx.applyTraffic,
    setStep: (step) => { ctx.state.step = step; },
    setStatistics: (stats) => { ctx.state.latestStatistics = stats; },
  });
}

/** The experiment found no reason to change: the last good traffic comes back, the candidate unloads. */
async function keepBaseline(ctx: LifecycleContext, reason: string): Promise<ModelLifecycleResult> {
  const { model, candidateVersion: candidate } = ctx.input;
  await ctx.enterPhase('rolling_back');
  await ctx.restoreLastGood(reason);
  await registry.markVersionStatus({ model, version: candidate, status: 'rolled_back' });
  await fleet.unloadVersion({ model, version: candidate });
  return await ctx.finish('kept_baseline', reason);
}

/** 6. Promote: the winner takes all traffic, the alias moves, the losers drain and unload. */
async function promote(ctx: LifecycleContext, baseline: string, outcome: ExperimentOutcome): Promise<ModelLifecycleResult> {
  const { model, candidateVersion: candidate, policy } = ctx.input;
  const winner = outcome.winner;
  await ctx.enterPhase('promoting');
  await ctx.applyTraffic({ [winner]: 1 }, {}, `promote ${winner}`);
  await registry.promoteVersion({ model, version: winner });
  for (const loser of [baseline, candidate, ...policy.experiment.bandit.candidates].filter((v) => v !== winner)) {
    await fleet.unloadVersion({ model, version: loser });
  }
  if (policy.postPromotion.watchSeconds > 0) {
    await ctx.enterPhase('watching');
    await ctx.hold(policy.postPromotion.watchSeconds);
  }
  await watchForDrift(model, winner);
  return await ctx.finish('promoted', outcome.reason);
}

/**
 * The promoted version gets the model's drift monitor (replacing the one that watched the version
 * before it). Rollouts that were running before the monitor existed promote without it on replay.
 */
async function watchForDrift(model: string, version: string): Promise<void> {
  if (patched('drift-monitor-on-promotion')) await loopStart.startDriftMonitor({ model, version });
}

/** A breach, an abort or a refusal: traffic first (every step before it is exposure), then the record. */
async function rollBack(ctx: LifecycleContext, signal: RollbackSignal): Promise<ModelLifecycleResult> {
  const { model, candidateVersion: candidate } = ctx.input;
  ctx.state.phase = 'rolling_back';
  await ctx.restoreLastGood(signal.message);
  if (signal.evidence) await ctx.record(signal.evidence.verdict, signal.evidence.step, signal.evidence.reason, signal.evidence.numbers);
  await ctx.enterPhase('rolling_back');
  await registry.markVersionStatus({ model, version: candidate, status: 'rolled_back' });
  await fleet.unloadVersion({ model, version: candidate });
  return await ctx.finish(signal.status, signal.message);
}

/** Cancellation or an unexpected failure after traffic moved: compensate and report why; the caller rethrows. */
async function compensate(ctx: LifecycleContext, err: unknown): Promise<string> {
  const cancelled = isCancellation(err);
  const reason = cancelled ? 'workflow cancelled' : `workflow failed: ${failureReason(err)}`;
  await CancellationScope.nonCancellable(async () => {
    ctx.state.phase = 'rolling_back';
    await ctx.restoreLastGood(reason);
    await registry.markVersionStatus({ model: ctx.input.model, version: ctx.input.candidateVersion, status: 'rolled_back' }).catch(unlessMissing);
    await ctx.finish(cancelled ? 'aborted' : 'failed', reason);
  });
  return reason;
}

function round(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}
