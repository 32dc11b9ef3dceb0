// One rollout's workflow state and the moves every phase shares: record a decision, enter a phase,
// apply a traffic generation, wait (abort- and pause-aware), wait for an approval, finish. The
// operator's updates and the state query are handled here, on the same state. The phases
// themselves (lifecycle.ts) are small functions over this context.
import { condition, log, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { phaseSearchAttribute } from '../shared/search-attributes.js';
import { fleet, registry } from './activity-profiles.js';
import { notify, notifyPhase } from './notify.js';
import {
  abortUpdate, approveUpdate, pauseUpdate, resumeUpdate, setWeightsUpdate, stateQuery,
  type DecisionRecord, type ModelLifecycleInput, type ModelLifecycleResult, type OperatorAction, type RolloutOutcomeStatus,
  type RolloutPhase, type RolloutState, type SetWeightsRequest,
} from './messages.js';

const MAX_DECISIONS_IN_STATE = 50;

type Weights = Record<string, number>;
type Spec = Record<string, unknown>;

/** Raised inside the workflow to unwind to the roll-back path with a reason. */
export class RollbackSignal extends Error {
  constructor(
    readonly status: RolloutOutcomeStatus,
    reason: string,
    /** The decision that triggered it, recorded only after traffic is safe again. */
    readonly evidence?: Omit<DecisionRecord, 'seq' | 'at' | 'phase'>,
  ) { super(reason); }
}

export interface LifecycleContext {
  readonly input: ModelLifecycleInput;
  /** What the state query answers; phases write it as they go. */
  readonly state: RolloutState;
  record(verdict: DecisionRecord['verdict'], step: string, reason: string, numbers?: Record<string, unknown>): Promise<void>;
  enterPhase(phase: RolloutPhase): Promise<void>;
  /** Writes a new generation and waits for every live worker's ack; a retry reuses the number. */
  applyTraffic(weights: Weights, spec: Spec, reason: string): Promise<void>;
  /** Sleeps, waking early for an abort. While paused, time does not count toward the wait. */
  hold(seconds: number): Promise<void>;
  /** Waits for an approver, or follows the policy's onTimeout; an abort or a refusal rolls back. */
  awaitApproval(gate: string): Promise<void>;
  /** The weights an operator set since the last call, if any (each override is applied once). */
  takeOverride(): Weights | null;
  /** Remembers what served before this rollout touched traffic: a roll-back restores it. */
  setLastGood(current: { generation: number; weights: Weights; spec: Spec } | null): void;
  /** Puts the last good generation back and confirms every worker serves it. */
  restoreLastGood(reason: string): Promise<void>;
  finish(status: RolloutOutcomeStatus, reason: string): Promise<ModelLifecycleResult>;
}

export function createLifecycleContext(input: ModelLifecycleInput): LifecycleContext {
  const { rolloutId, model, candidateVersion: candidate, baselineVersion: baseline, policy } = input;
  const state: RolloutState = {
    rolloutId, model, candidateVersion: candidate, baselineVersion: baseline,
    phase: 'pending', step: null, paused: false, waitingFor: null,
    generation: null, weights: {}, latestStatistics: null, decisions: [], outcome: null,
  };
  let seq = 0;
  let abortRequest: OperatorAction | null = null;
  let approval: OperatorAction | null = null;
  let overrideWeights: Weights | null = null;
  let lastGood: { weights: Weights; spec: Spec } | null = null;
  let trafficTouched = false;

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
    if (policy.notifications.webhookUrl) await notifyPhase({ webhookUrl: policy.notifications.webhookUrl, rolloutId, model, version: candidate, phase });
  }

  async function applyTraffic(weights: Weights, spec: Spec, reason: string): Promise<void> {
    const generation = (state.generation ?? 0) + 1;
    trafficTouched = true;
    const applied = await fleet.applyTrafficGeneration.executeWithOptions({ summary: `generation ${generation}: ${formatWeights(weights)} (${reason})` },
      [{ model, generation, weights, spec, reason, createdBy: `rollout:${rolloutId}` }]);
    state.generation = applied.generation;
    state.weights = weights;
    await record(applied.allAcked ? 'successful' : 'error', 'traffic', `generation ${applied.generation}: ${formatWeights(weights)} (${reason}); ${applied.acked}/${applied.workers} workers acked`,
      { generation: applied.generation, weights, acks: applied.acks });
  }

  function checkAbort(): void {
    if (abortRequest) {
      const action: OperatorAction = abortRequest;
      throw new RollbackSignal('aborted', `aborted by ${action.by}${action.reason ? `: ${action.reason}` : ''}`);
    }
  }

  async function waitWhilePaused(): Promise<void> {
    if (!state.paused) return;
    await condition(() => !state.paused || abortRequest !== null);
    checkAbort();
  }

  async function hold(seconds: number): Promise<void> {
    await waitWhilePaused();
    checkAbort();
    // condition() without a positive timeout would wait forever.
    if (seconds > 0) await condition(() => abortRequest !== null || state.paused, seconds * 1000);
    checkAbort();
    await waitWhilePaused();
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
    // The outcome is sent before the rollout's row says it ended: the row's end is what callers
    // (the CLI, the demo) wait for before starting the model's next rollout, and the workflow id
    // must be free by then, not held for a webhook's seconds.
    await notify({
      model, event: 'rollout_outcome', rolloutId, version: candidate, baselineVersion: baseline, status, reason,
      ...(policy.notifications.webhookUrl ? { webhookUrl: policy.notifications.webhookUrl } : {}),
    });
    await registry.completeRollout({ rolloutId, status, reason });
    log.info(`rollout ${rolloutId} ${status}: ${reason}`);
    return { status, reason, finalWeights: state.weights, generation: state.generation };
  }

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

  return {
    input, state, record, enterPhase, applyTraffic, hold, awaitApproval, finish,
    takeOverride() {
      const weights = overrideWeights;
      overrideWeights = null;
      return weights;
    },
    setLastGood(current) {
      state.generation = current?.generation ?? 0;
      state.weights = current?.weights ?? {};
      lastGood = current ? { weights: current.weights, spec: current.spec } : null;
    },
    async restoreLastGood(reason) {
      if (!trafficTouched || !lastGood) return;
      await applyTraffic(lastGood.weights, lastGood.spec, `restore: ${reason}`);
    },
  };
}

function formatWeights(weights: Weights): string {
  return Object.entries(weights).map(([v, s]) => `${v} ${(s * 100).toFixed(s > 0 && s < 0.01 ? 2 : 0)}%`).join(', ');
}
