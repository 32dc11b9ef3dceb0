// Signals, updates and queries of the lifecycle workflow, declared once: the workflow handles
// them, the API and CLI send them. Plain JSON types only.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { RolloutPolicy } from '../policy/schema.js';

export type RolloutPhase =
  | 'pending' | 'validating' | 'prewarming' | 'shadow' | 'canary' | 'experiment'
  | 'promoting' | 'rolling_back' | 'watching' | 'completed';

export type RolloutOutcomeStatus = 'promoted' | 'rolled_back' | 'rejected' | 'aborted' | 'kept_baseline' | 'failed';

export interface ModelLifecycleInput {
  rolloutId: string;
  model: string;
  candidateVersion: string;
  /** The version serving production now; null for a model's first version. */
  baselineVersion: string | null;
  policy: RolloutPolicy;
  startedBy: string;
}

export interface DecisionRecord {
  seq: number;
  at: string;
  phase: RolloutPhase;
  step: string;
  verdict: 'successful' | 'failed' | 'inconclusive' | 'error' | 'info';
  reason: string;
  numbers?: Record<string, unknown>;
}

export interface RolloutState {
  rolloutId: string;
  model: string;
  candidateVersion: string;
  baselineVersion: string | null;
  phase: RolloutPhase;
  /** Canary step or experiment look in progress; `index` counts from 1 (step 1 of 3). */
  step: { name: string; index: number; of: number } | null;
  paused: boolean;
  /** What the workflow waits on from a human, if anything. */
  waitingFor: { kind: 'approval'; gate: string; deadline: string } | null;
  generation: number | null;
  weights: Record<string, number>;
  latestStatistics: Record<string, unknown> | null;
  /** The most recent decisions (the full log is in rollout_steps). */
  decisions: DecisionRecord[];
  outcome: { status: RolloutOutcomeStatus; reason: string } | null;
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
