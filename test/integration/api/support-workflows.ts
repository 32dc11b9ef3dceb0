// A stand-in `modelLifecycle` for the API tests: it answers the real workflow's query and updates
// (from src/workflows/messages.ts) with the same refusals, and does nothing else. The API cannot
// tell it from the real one, which is the point: these tests are about the API.
import { condition, setHandler } from '@temporalio/workflow';
import {
  abortUpdate, approveUpdate, pauseUpdate, resumeUpdate, setWeightsUpdate, stateQuery,
  type ModelLifecycleInput, type OperatorAction, type RolloutState,
} from '../../../src/workflows/messages.js';

export async function modelLifecycle(input: ModelLifecycleInput): Promise<{ status: string }> {
  const state: RolloutState = {
    rolloutId: input.rolloutId, model: input.model, candidateVersion: input.candidateVersion, baselineVersion: input.baselineVersion,
    phase: 'canary', step: { name: 'canary', index: 1, of: input.policy.canary.steps.length }, paused: false,
    waitingFor: { kind: 'approval', gate: 'canary step 1', deadline: '2099-01-01T00:00:00.000Z' },
    generation: 1, weights: input.baselineVersion ? { [input.baselineVersion]: 1 } : { [input.candidateVersion]: 1 },
    latestStatistics: null, decisions: [], outcome: null,
  };
  const record = (step: string, reason: string) => {
    state.decisions.push({ seq: state.decisions.length, at: new Date().toISOString(), phase: state.phase, step, verdict: 'info', reason });
  };
  const live = () => { if (state.outcome) throw new Error(`rollout already ${state.outcome.status}`); };
  setHandler(stateQuery, () => state);
  setHandler(pauseUpdate, (a) => { state.paused = true; record('pause', `paused by ${a.by}`); return state; },
    { validator: (_a: OperatorAction) => { live(); if (state.paused) throw new Error('rollout is already paused'); } });
  setHandler(resumeUpdate, (a) => { state.paused = false; record('resume', `resumed by ${a.by}`); return state; },
    { validator: (_a: OperatorAction) => { live(); if (!state.paused) throw new Error('rollout is not paused'); } });
  setHandler(approveUpdate, (a) => { state.waitingFor = null; record('approve', `approved by ${a.by}`); return state; },
    { validator: (_a: OperatorAction) => { live(); if (!state.waitingFor) throw new Error('nothing is waiting for approval'); } });
  setHandler(setWeightsUpdate, (r) => { state.weights = r.weights; state.generation = (state.generation ?? 0) + 1; record('set_weights', `weights set by ${r.by}`); return state; },
    { validator: (r) => {
      live();
      const allowed = [input.candidateVersion, input.baselineVersion].filter((v): v is string => v !== null);
      const unknown = Object.keys(r.weights).find((v) => !allowed.includes(v));
      if (unknown) throw new Error(`version ${unknown} takes no part in this rollout`);
    } });
  setHandler(abortUpdate, (a) => {
    state.outcome = { status: 'aborted', reason: `aborted by ${a.by}` };
    state.phase = 'completed';
    return state;
  }, { validator: (_a: OperatorAction) => live() });
  await condition(() => state.outcome !== null);
  return { status: state.outcome?.status ?? 'failed' };
}
