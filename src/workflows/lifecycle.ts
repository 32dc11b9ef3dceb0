// The lifecycle of one model-version rollout: validate → prewarm → shadow → canary → sequential
// A/B (or bandit) → promote or roll back. Every side effect is an activity; every decision is made
// here from activity results with pure functions, so a replay after any crash decides the same.
import {
  CancellationScope, condition, isCancellation, log, proxyActivities, setHandler, upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { phaseSearchAttribute } from '../shared/search-attributes.js';
import { evaluateCanaryWindow, type GateEvaluation } from '../policy/gates.js';
import type { RolloutPolicy } from '../policy/schema.js';
import {
  abortUpdate, approveUpdate, pauseUpdate, resumeUpdate, setWeightsUpdate, stateQuery,
  type DecisionRecord, type ModelLifecycleInput, type OperatorAction, type RolloutOutcomeStatus, type RolloutPhase,
  type RolloutState, type SetWeightsRequest,
} from './messages.js';
import { runExperiment, type ExperimentOutcome } from './experiment.js';

// Named timeout/retry profiles: registry writes are quick and retried hard; fleet pushes are
// quick but must not hang a breach rollback; validation loads a model and runs a golden set.
const registry = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '5 seconds', maximumAttempts: 20 },
});
const fleet = proxyActivities<Activities>({
  startToCloseTimeout: '20 seconds',
  retry: { initialInterval: '100 milliseconds', backoffCoefficient: 2, maximumInterval: '2 seconds', maximumAttempts: 30 },
});
const heavy = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumAttempts: 3, nonRetryableErrorTypes: ['ValidationFailure'] },
});

const MAX_DECISIONS_IN_STATE = 50;

export interface ModelLifecycleResult {
  status: RolloutOutcomeStatus;
  reason: string;
  finalWeights: Record<string, number>;
  generation: number | null;
}

/** Raised inside the workflow to unwind to the roll-back path with a reason. */
class RollbackSignal extends Error {
  constructor(
    readonly status: RolloutOutcomeStatus,
    reason: string,
    /** The decision that triggered it, recorded only after traffic is safe again. */
    readonly evidence?: Omit<DecisionRecord, 'seq' | 'at' | 'phase'>,
  ) { super(reason); }
}

export async function modelLifecycle(input: ModelLifecycleInput): Promise<ModelLifecycleResult> {
  const { rolloutId, model, candidateVersion: candidate, baselineVersion: baseline, policy } = input;
  const state: RolloutState = {
    rolloutId, model, candidateVersion: candidate, baselineVersion: baseline,
    phase: 'pending', step: null, paused: false, waitingFor: null,
    generation: null, weights: {}, latestStatistics: null, decisions: [], outcome: null,
  };
  let seq = 0;
  let abortRequest: OperatorAction | null = null;
  let approval: OperatorAction | null = null;
  let overrideWeights: Record<string, number> | null = null;
  /** The generation to restore on roll-back: whatever served before this rollout touched traffic. */
  let lastGood: { weights: Record<string, number>; spec: Record<string, unknown> } | null = null;
  let trafficTouched = false;

  const terminal = () => state.outcome !== null;
  setHandler(stateQuery, () => state);
  setHandler(pauseUpdate, async (action) => {
    state.paused = true;
    await record('info', 'pause', `paused by ${action.by}${action.reason ? `: ${action.reason}` : ''}`);
    return state;
  }, { validator: (_action: OperatorAction) => {
    if (terminal()) throw new Error(`rollout already ${state.outcome?.status}`);
    if (state.paused) throw new Error('rollout is already paused');
  } });
  setHandler(resumeUpdate, async (action) => {
    state.paused = false;
    await record('info', 'resume', `resumed by ${action.by}${action.reason ? `: ${action.reason}` : ''}`);
    return state;
  }, { validator: (_action: OperatorAction) => {
    if (!state.paused) throw new Error('rollout is not paused');
  } });
  setHandler(abortUpdate, (action) => {
    abortRequest = action;
    return state;
  }, { validator: (_action: OperatorAction) => {
    if (terminal()) throw new Error(`rollout already ${state.outcome?.status}`);
    if (abortRequest) throw new Error('an abort is already under way');
  } });
  setHandler(approveUpdate, (action) => {
    approval = action;
    return state;
  }, { validator: (_action: OperatorAction) => {
    if (!state.waitingFor) throw new Error('nothing is waiting for approval');
  } });
  setHandler(setWeightsUpdate, (request) => {
    overrideWeights = request.weights;
    void record('info', 'override', `weights overridden by ${request.by}: ${JSON.stringify(request.weights)}${request.reason ? ` (${request.reason})` : ''}`);
    return state;
  }, { validator: (request: SetWeightsRequest) => {
    if (terminal()) throw new Error(`rollout already ${state.outcome?.status}`);
    if (state.phase !== 'canary' && state.phase !== 'shadow') throw new Error(`weights can be overridden during canary or shadow, not ${state.phase}`);
    const known = [candidate, ...(baseline ? [baseline] : [])];
    const entries = Object.entries(request.weights ?? {});
    if (entries.length === 0) throw new Error('weights must name at least one version');
    for (const [version, share] of entries) {
      if (!known.includes(version)) throw new Error(`weights: unknown version ${version} (expected ${known.join(' or ')})`);
      if (typeof share !== 'number' || !(share >= 0 && share <= 1)) throw new Error(`weights.${version} must be a number in [0, 1]`);
    }
    const sum = entries.reduce((a, [, s]) => a + s, 0);
    if (Math.abs(sum - 1) > 1e-6) throw new Error(`weights must sum to 1 (got ${sum})`);
  } });

  async function record(verdict: DecisionRecord['verdict'], step: string, reason: string, numbers?: Record<string, unknown>): Promise<void> {
    const entry: DecisionRecord = { seq: ++seq, at: new Date().toISOString(), phase: state.phase, step, verdict, reason, ...(numbers ? { numbers } : {}) };
    state.decisions.push(entry);
    if (state.decisions.length > MAX_DECISIONS_IN_STATE) state.decisions.shift();
    log.info(`[${state.phase}] ${step}: ${verdict} — ${reason}`);
    await registry.recordRolloutStep({ rolloutId, ...entry, numbers: numbers ?? {} });
  }

  async function enterPhase(phase: RolloutPhase): Promise<void> {
    state.phase = phase;
    state.step = null;
    upsertSearchAttributes([{ key: phaseSearchAttribute, value: phase }]);
    await registry.setRolloutPhase({ rolloutId, phase });
    if (policy.notifications.webhookUrl) {
      await registry.notifyPhaseChange({ webhookUrl: policy.notifications.webhookUrl, rolloutId, model, version: candidate, phase });
    }
  }

  /** Writes a new generation and waits for every live worker's ack; a retry reuses the number. */
  async function applyTraffic(weights: Record<string, number>, spec: Record<string, unknown>, reason: string): Promise<void> {
    const generation = (state.generation ?? 0) + 1;
    trafficTouched = true;
    const applied = await fleet.applyTrafficGeneration.executeWithOptions({ summary: `generation ${generation}: ${formatWeights(weights)} (${reason})` },
      [{ model, generation, weights, spec, reason, createdBy: `rollout:${rolloutId}` }]);
    state.generation = applied.generation;
    state.weights = weights;
    await record(applied.allAcked ? 'successful' : 'error', 'traffic', `generation ${applied.generation}: ${formatWeights(weights)} (${reason}); ${applied.acked}/${applied.workers} workers acked`,
      { generation: applied.generation, weights, acks: applied.acks });
  }

  /** Sleeps, waking early for an abort. While paused, time does not count toward the wait. */
  async function hold(seconds: number): Promise<void> {
    await waitWhilePaused();
    checkAbort();
    // condition() without a positive timeout would wait forever.
    if (seconds > 0) await condition(() => abortRequest !== null || state.paused, seconds * 1000);
    checkAbort();
    await waitWhilePaused();
  }

  async function waitWhilePaused(): Promise<void> {
    if (!state.paused) return;
    await condition(() => !state.paused || abortRequest !== null);
    checkAbort();
  }

  function checkAbort(): void {
    if (abortRequest) {
      const action: OperatorAction = abortRequest;
      throw new RollbackSignal('aborted', `aborted by ${action.by}${action.reason ? `: ${action.reason}` : ''}`);
    }
  }

  async function awaitApproval(gate: string): Promise<void> {
    approval = null;
    const deadline = new Date(Date.now() + policy.approval.timeoutSeconds * 1000).toISOString();
    state.waitingFor = { kind: 'approval', gate, deadline };
    await record('info', 'approval', `waiting for approval before ${gate} (until ${deadline})`);
    const approved = await condition(() => approval !== null || abortRequest !== null, policy.approval.timeoutSeconds * 1000);
    state.waitingFor = null;
    checkAbort();
    if (approved && approval) {
      const by: OperatorAction = approval;
      await record('successful', 'approval', `approved by ${by.by}${by.reason ? `: ${by.reason}` : ''}`);
      return;
    }
    if (policy.approval.onTimeout === 'continue') {
      await record('inconclusive', 'approval', `no approval within ${policy.approval.timeoutSeconds} s; policy continues`);
      return;
    }
    throw new RollbackSignal('rolled_back', `no approval within ${policy.approval.timeoutSeconds} s before ${gate}`);
  }

  async function finish(status: RolloutOutcomeStatus, reason: string): Promise<ModelLifecycleResult> {
    state.outcome = { status, reason };
    state.phase = 'completed';
    state.step = null;
    upsertSearchAttributes([{ key: phaseSearchAttribute, value: 'completed' }]);
    await registry.completeRollout({ rolloutId, status, reason });
    log.info(`rollout ${rolloutId} ${status}: ${reason}`);
    return { status, reason, finalWeights: state.weights, generation: state.generation };
  }

  /** Puts the last good generation back and confirms every worker serves it. */
  async function restoreLastGood(reason: string): Promise<void> {
    if (!trafficTouched || !lastGood) return;
    await applyTraffic(lastGood.weights, lastGood.spec, `restore: ${reason}`);
  }

  try {
    const current = await registry.readCurrentTraffic({ model });
    state.generation = current?.generation ?? 0;
    state.weights = current?.weights ?? {};
    lastGood = current ? { weights: current.weights, spec: current.spec } : null;

    // 1. Validate: a failure rejects the version before any traffic moves.
    await enterPhase('validating');
    const validation = await heavy.validateCandidate.executeWithOptions({ summary: `validate ${model}/${candidate}: artifact, signature, golden set, latency` },
      [{ model, version: candidate, validation: policy.validation }]);
    for (const check of validation.checks) await record(check.verdict, `validate:${check.name}`, check.reason, check.numbers);
    if (!validation.passed) {
      await registry.markVersionStatus({ model, version: candidate, status: 'rejected' });
      return await finish('rejected', `validation failed: ${validation.checks.filter((c) => c.verdict !== 'successful').map((c) => c.reason).join('; ')}`);
    }
    await registry.markVersionStatus({ model, version: candidate, status: 'candidate' });

    // 2. Prewarm: every live worker loads the version before it receives a request.
    await enterPhase('prewarming');
    const warmed = await heavy.prewarmVersion.executeWithOptions({ summary: `prewarm ${model}/${candidate} on every live worker` }, [{ model, version: candidate }]);
    await record(warmed.allReady ? 'successful' : 'failed', 'prewarm', `${warmed.ready}/${warmed.workers} workers loaded ${candidate}`, { workers: warmed.results });
    if (!warmed.allReady) throw new RollbackSignal('rolled_back', `prewarm failed on ${warmed.workers - warmed.ready} worker(s)`);

    if (!baseline) {
      // A model's first version has nothing to compare against: it goes straight to production.
      await enterPhase('promoting');
      await applyTraffic({ [candidate]: 1 }, {}, 'first version of the model');
      await registry.promoteVersion({ model, version: candidate });
      return await finish('promoted', 'first version of the model: validated and promoted');
    }

    // 3. Shadow: mirror a share of traffic, compare answers, return only the primary's.
    if (policy.shadow) {
      await enterPhase('shadow');
      const since = new Date().toISOString();
      await applyTraffic({ [baseline]: 1 }, { shadow: { version: candidate, share: policy.shadow.share } }, 'shadow');
      await hold(policy.shadow.durationSeconds);
      const shadow = await fleet.measureShadowWindow({ model, primary: baseline, shadow: candidate, from: since, to: new Date().toISOString() });
      const verdict = shadow.compared === 0 ? 'inconclusive' : shadow.agreement >= policy.shadow.minAgreement ? 'successful' : 'failed';
      await record(verdict, 'shadow', `agreement ${(shadow.agreement * 100).toFixed(1)}% over ${shadow.compared} mirrored requests (floor ${(policy.shadow.minAgreement * 100).toFixed(0)}%)`, { ...shadow });
      if (verdict === 'failed') throw new RollbackSignal('rolled_back', `shadow agreement ${(shadow.agreement * 100).toFixed(1)}% below ${(policy.shadow.minAgreement * 100).toFixed(0)}%`);
    }

    // 4. Canary steps with gates on every analysis interval.
    await enterPhase('canary');
    await runCanary(policy, baseline);

    // 5. Sequential experiment (or bandit): the statistics decide.
    let outcome: ExperimentOutcome = { decision: 'promote', winner: candidate, reason: 'no experiment configured; canary passed' };
    if (policy.experiment.kind !== 'none') {
      await enterPhase('experiment');
      outcome = await runExperiment({
        rolloutId, model, baseline, candidate, policy,
        hold, record, applyTraffic,
        setStep: (step) => { state.step = step; },
        setStatistics: (stats) => { state.latestStatistics = stats; },
      });
    }

    if (outcome.decision === 'rollback') throw new RollbackSignal('rolled_back', outcome.reason);
    if (outcome.decision === 'stop_no_effect' || outcome.winner === baseline) {
      await enterPhase('rolling_back');
      await restoreLastGood(outcome.reason);
      await registry.markVersionStatus({ model, version: candidate, status: 'rolled_back' });
      await fleet.unloadVersion({ model, version: candidate });
      return await finish('kept_baseline', outcome.reason);
    }

    // 6. Promote: the winner takes all traffic, the alias moves, the loser drains and unloads.
    await enterPhase('promoting');
    const winner = outcome.winner;
    await applyTraffic({ [winner]: 1 }, {}, `promote ${winner}`);
    await registry.promoteVersion({ model, version: winner });
    for (const loser of [baseline, candidate, ...policy.experiment.bandit.candidates].filter((v) => v !== winner)) {
      await fleet.unloadVersion({ model, version: loser });
    }
    if (policy.postPromotion.watchSeconds > 0) {
      await enterPhase('watching');
      await hold(policy.postPromotion.watchSeconds);
    }
    return await finish('promoted', outcome.reason);
  } catch (err) {
    if (err instanceof RollbackSignal) {
      // Traffic first: every step between a breach and the restored split is exposure.
      state.phase = 'rolling_back';
      await restoreLastGood(err.message);
      if (err.evidence) await record(err.evidence.verdict, err.evidence.step, err.evidence.reason, err.evidence.numbers);
      await enterPhase('rolling_back');
      await registry.markVersionStatus({ model, version: candidate, status: 'rolled_back' });
      await fleet.unloadVersion({ model, version: candidate });
      return await finish(err.status, err.message);
    }
    // Cancellation or an unexpected failure after traffic moved: compensate, then report.
    const cancelled = isCancellation(err);
    await CancellationScope.nonCancellable(async () => {
      const reason = cancelled ? 'workflow cancelled' : `workflow failed: ${(err as Error).message}`;
      state.phase = 'rolling_back';
      await restoreLastGood(reason);
      await registry.markVersionStatus({ model, version: candidate, status: 'rolled_back' });
      await finish(cancelled ? 'aborted' : 'failed', reason);
    });
    throw err;
  }

  async function runCanary(p: RolloutPolicy, base: string): Promise<void> {
    const steps = p.canary.steps;
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      if (!step) continue;
      state.step = { name: `${(step.weight * 100).toFixed(step.weight < 0.01 ? 1 : 0)}%`, index: i + 1, of: steps.length };
      if (step.requireApproval) await awaitApproval(`canary step ${i + 1} (${state.step.name})`);
      await applyTraffic({ [base]: round(1 - step.weight), [candidate]: step.weight }, {}, `canary step ${i + 1}/${steps.length}`);
      let inconclusiveRun = 0;
      let failures = 0;
      let elapsed = 0;
      let windowStart = new Date().toISOString();
      const interval = p.canary.analysisIntervalSeconds;
      // At least one analysis per step, even with a zero bake time.
      do {
        const wait = Math.min(interval, step.bakeSeconds - elapsed);
        await hold(wait);
        elapsed += wait;
        if (overrideWeights) {
          const w: Record<string, number> = overrideWeights;
          overrideWeights = null;
          await applyTraffic(w, {}, 'operator override');
        }
        const windowEnd = new Date().toISOString();
        const window = await fleet.measureCanaryWindow.executeWithOptions({ summary: `canary window at ${state.step.name}: ${base} vs ${candidate}` },
          [{ model, baseline: base, candidate, from: windowStart, to: windowEnd }]);
        windowStart = windowEnd;
        const evaluation: GateEvaluation = evaluateCanaryWindow(window, p.canary.gates);
        state.latestStatistics = { canary: evaluation.numbers };
        const decision = { verdict: evaluation.verdict, step: `canary:${state.step.name}`, reason: evaluation.reason, numbers: { ...evaluation.numbers, checks: evaluation.checks } };
        if (evaluation.verdict === 'failed' || evaluation.verdict === 'error') failures++;
        if (failures >= p.canary.failureLimit) {
          throw new RollbackSignal('rolled_back', `canary gate failed at ${state.step.name}: ${evaluation.reason}`, decision);
        }
        await record(decision.verdict, decision.step, decision.reason, decision.numbers);
        inconclusiveRun = evaluation.verdict === 'inconclusive' ? inconclusiveRun + 1 : 0;
        if (inconclusiveRun >= p.canary.inconclusiveLimit) {
          throw new RollbackSignal('rolled_back', `canary inconclusive ${inconclusiveRun} times in a row at ${state.step.name}: ${evaluation.reason}`);
        }
      } while (elapsed < step.bakeSeconds);
    }
  }
}

function round(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}

function formatWeights(weights: Record<string, number>): string {
  return Object.entries(weights).map(([v, s]) => `${v} ${(s * 100).toFixed(s > 0 && s < 0.01 ? 2 : 0)}%`).join(', ');
}

