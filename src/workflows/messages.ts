// Signals, updates and queries of the lifecycle workflow, declared once: the workflow handles
// them, the API and CLI send them. The rollout state the query answers is a TypeBox schema: the
// workflow builds it, the API serialises and documents it with the same schema, and the CLI reads
// its Static type. TypeBox is a pure library (no I/O, no clock), so it is safe in the workflow.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { RolloutPolicy } from '../policy/schema.js';
import type { RetrainStatus } from '../loop/lineage.js';
import type { MonitorState } from '../loop/monitor.js';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const RolloutPhase = Type.Union([
  Type.Literal('pending'), Type.Literal('validating'), Type.Literal('prewarming'), Type.Literal('shadow'), Type.Literal('canary'),
  Type.Literal('experiment'), Type.Literal('promoting'), Type.Literal('rolling_back'), Type.Literal('watching'), Type.Literal('completed'),
]);
export type RolloutPhase = Static<typeof RolloutPhase>;

export const RolloutOutcomeStatus = Type.Union([
  Type.Literal('promoted'), Type.Literal('rolled_back'), Type.Literal('rejected'), Type.Literal('aborted'),
  Type.Literal('kept_baseline'), Type.Literal('failed'),
]);
export type RolloutOutcomeStatus = Static<typeof RolloutOutcomeStatus>;

export const DecisionVerdict = Type.Union([
  Type.Literal('successful'), Type.Literal('failed'), Type.Literal('inconclusive'), Type.Literal('error'), Type.Literal('info'),
]);

export const DecisionRecord = Type.Object({
  seq: Type.Integer(),
  at: Type.String({ description: 'ISO 8601 timestamp' }),
  phase: RolloutPhase,
  step: Type.String(),
  verdict: DecisionVerdict,
  reason: Type.String(),
  numbers: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});
export type DecisionRecord = Static<typeof DecisionRecord>;

/** What the A/B test's latest look says (the numbers its decision rests on). */
export const ExperimentLookStatistics = Type.Object({
  look: Type.Integer(),
  action: Type.Union([Type.Literal('promote'), Type.Literal('rollback'), Type.Literal('continue'), Type.Literal('stop_no_effect')]),
  trigger: Type.String({ description: 'the gate that produced the action, e.g. primary_win, srm, max_sample' }),
  sample: Type.Object({ control: Type.Integer(), treatment: Type.Integer() }),
  effect: Nullable(Type.Number({ description: 'treatment − control on the primary metric' })),
  pValue: Type.Number({ description: 'always-valid p-value' }),
  confidenceSequence: Nullable(Type.Object({ lower: Type.Number(), upper: Type.Number() })),
  srm: Type.Object({ pValue: Nullable(Type.Number()), mismatch: Type.Boolean() }),
});

/** What the bandit's latest look says: each arm's share and its probability of being best. */
export const BanditLookStatistics = Type.Object({
  look: Type.Integer(),
  shares: Type.Array(Type.Number()),
  probabilityBest: Type.Array(Type.Number()),
  posteriorMeans: Type.Array(Type.Number()),
  n: Type.Array(Type.Integer()),
});

/** The latest analysis of the phase in progress: one of canary gates, A/B look or bandit look. */
export const LatestStatistics = Type.Object({
  canary: Type.Optional(Type.Record(Type.String(), Nullable(Type.Number()), { description: 'the latest canary window\'s numbers' })),
  experiment: Type.Optional(ExperimentLookStatistics),
  bandit: Type.Optional(BanditLookStatistics),
});
export type LatestStatistics = Static<typeof LatestStatistics>;

export const RolloutStep = Type.Object({
  name: Type.String(),
  /** counts from 1 (step 1 of 3) */
  index: Type.Integer(),
  of: Type.Integer(),
});

export const RolloutState = Type.Object({
  rolloutId: Type.String(),
  model: Type.String(),
  candidateVersion: Type.String(),
  baselineVersion: Nullable(Type.String()),
  phase: RolloutPhase,
  step: Nullable(RolloutStep),
  paused: Type.Boolean(),
  waitingFor: Nullable(Type.Object({ kind: Type.Literal('approval'), gate: Type.String(), deadline: Type.String() }, { description: 'what the workflow waits on from a human' })),
  generation: Nullable(Type.Integer()),
  weights: Type.Record(Type.String(), Type.Number(), { description: '{version: share}' }),
  latestStatistics: Nullable(LatestStatistics),
  decisions: Type.Array(DecisionRecord, { description: 'the most recent decisions (the full log is the rollout\'s history)' }),
  outcome: Nullable(Type.Object({ status: RolloutOutcomeStatus, reason: Type.String() })),
}, { description: 'the workflow\'s live state (the state query): phase, step, weights, latest statistics, recent decisions' });
export type RolloutState = Static<typeof RolloutState>;

export interface ModelLifecycleInput {
  rolloutId: string;
  model: string;
  candidateVersion: string;
  /** The version serving production now; null for a model's first version. */
  baselineVersion: string | null;
  policy: RolloutPolicy;
  startedBy: string;
}

export interface ModelLifecycleResult {
  status: RolloutOutcomeStatus;
  reason: string;
  finalWeights: Record<string, number>;
  generation: number | null;
}

export interface OperatorAction { by: string; reason?: string }
export interface SetWeightsRequest extends OperatorAction { weights: Record<string, number> }

export const stateQuery = defineQuery<RolloutState>('state');
export const pauseUpdate = defineUpdate<RolloutState, [OperatorAction]>('pause');
export const resumeUpdate = defineUpdate<RolloutState, [OperatorAction]>('resume');
export const abortUpdate = defineUpdate<RolloutState, [OperatorAction]>('abort');
export const approveUpdate = defineUpdate<RolloutState, [OperatorAction]>('approve');
export const setWeightsUpdate = defineUpdate<RolloutState, [SetWeightsRequest]>('setWeights');

/** Workflow id: one active rollout per model. */
export function rolloutWorkflowId(model: string): string {
  return `rollout:${model}`;
}

// The loop's workflow ids and inputs live in src/loop/ (activities start these workflows and must
// not import from workflows/); re-exported here, where workflow messages are declared.
export { monitorWorkflowId, retrainWorkflowId, type RetrainInput, type DriftMonitorInput } from '../loop/workflows.js';

export interface RetrainResult {
  status: Exclude<RetrainStatus, 'running'>;
  reason: string;
  /** The version registered, when one was. */
  version: string | null;
  /** The rollout it entered, when one started. */
  rolloutId: string | null;
}

/** Where a retrain stands: its phases in order, then `finished`. */
export type RetrainPhase = 'gathering' | 'training' | 'evaluating' | 'registering' | 'starting_rollout' | 'finished';

export interface RetrainState {
  retrainId: string;
  model: string;
  phase: RetrainPhase;
  /** The version registered, once it is. */
  version: string | null;
  rolloutId: string | null;
  /** How it ended, once it has. */
  outcome: RetrainResult | null;
}

export const retrainStateQuery = defineQuery<RetrainState>('retrainState');
/** The drift monitor's state: the last report, the debounce count, the cooldown and last retrain request, windows judged. */
export const monitorStateQuery = defineQuery<MonitorState & { model: string; version: string }>('monitorState');
export type { MonitorState } from '../loop/monitor.js';
