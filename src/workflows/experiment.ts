// placeholder replaced below once the stats API lands
import type { RolloutPolicy } from '../policy/schema.js';
import type { DecisionRecord } from './messages.js';

export interface ExperimentOutcome { decision: 'promote' | 'rollback' | 'stop_no_effect'; winner: string; reason: string }

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
  setStatistics(stats: Record<string, unknown>): void;
}

export async function runExperiment(ctx: ExperimentContext): Promise<ExperimentOutcome> {
  throw new Error(`experiment for ${ctx.rolloutId} not implemented yet`);
}
