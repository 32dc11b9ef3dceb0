// Experiment bookkeeping and aggregation for the workflow (the queries live in
// src/registry/experiments.ts): start, per-arm statistics for each look, the look's record, the end.
import type { Kysely } from 'kysely';
import type { Database, LookDecision } from '../db/schema.js';
import {
  experimentStats, finishExperiment, recordExperimentLook, startExperiment, type ExperimentSnapshot, type NewExperiment,
} from '../registry/experiments.js';


export function createExperimentActivities(db: Kysely<Database>) {
  return {
    async startExperiment(args: NewExperiment): Promise<{ startedAt: string }> {
      const { startedAt } = await startExperiment(db, args);
      return { startedAt: startedAt.toISOString() };
    },

    async collectExperimentStats(args: { experimentId: string; model: string; metrics: string[]; since: string }): Promise<ExperimentSnapshot> {
      return await experimentStats(db, args);
    },

    async recordExperimentLook(args: { experimentId: string; look: number; armStats: unknown; result: unknown; decision: LookDecision }): Promise<void> {
      await recordExperimentLook(db, args);
    },

    async finishExperiment(args: { experimentId: string; status: 'decided' | 'stopped'; decision: unknown }): Promise<void> {
      await finishExperiment(db, args.experimentId, args.status, args.decision);
    },
  };
}
