// The orchestrator's hands on the serving fleet. Weights change only here: a generation is written
// to PostgreSQL and pushed to every live worker, and the activity returns only when each worker
// has acknowledged it (or fails, and Temporal retries it with the same generation number).
import { heartbeat } from '@temporalio/activity';
import { finalIfMissing } from './registry.js';

export interface WorkerAck { worker: string; ok: boolean; ms: number; error?: string }

export interface AppliedGeneration {
  generation: number;
  workers: number;
  acked: number;
  allAcked: boolean;
  acks: WorkerAck[];
}

export interface PrewarmResult { workers: number; ready: number; allReady: boolean; results: WorkerAck[] }

/** What the activities need from the fleet; src/orchestrator/fleet-client.ts implements it over src/fleet (HTTP) and the registry. */
export interface FleetClient {
  applyGeneration(args: { model: string; generation: number; weights: Record<string, number>; spec: Record<string, unknown>; reason: string; createdBy: string }): Promise<AppliedGeneration>;
  prewarm(args: { model: string; version: string }): Promise<PrewarmResult>;
  unload(args: { model: string; version: string }): Promise<void>;
}

export class FleetNotAckedError extends Error {
  override readonly name = 'FleetNotAckedError';
}

export function createFleetActivities(fleet: FleetClient) {
  return {
    async applyTrafficGeneration(args: { model: string; generation: number; weights: Record<string, number>; spec: Record<string, unknown>; reason: string; createdBy: string }): Promise<AppliedGeneration> {
      // A model or version that is gone from the registry fails for good, naming it (see finalIfMissing).
      const applied = await finalIfMissing(() => fleet.applyGeneration(args));
      // A half-applied split is not an outcome: fail so Temporal retries the same generation
      // until every live worker serves it.
      if (!applied.allAcked) {
        const missing = applied.acks.filter((a) => !a.ok).map((a) => `${a.worker}: ${a.error ?? 'no ack'}`).join('; ');
        throw new FleetNotAckedError(`generation ${applied.generation} of ${args.model} acked by ${applied.acked}/${applied.workers} workers (${missing})`);
      }
      return applied;
    },

    async prewarmVersion(args: { model: string; version: string }): Promise<PrewarmResult> {
      heartbeat({ stage: 'prewarm', ...args });
      return await finalIfMissing(() => fleet.prewarm(args));
    },

    async unloadVersion(args: { model: string; version: string }): Promise<void> {
      await finalIfMissing(() => fleet.unload(args));
    },
  };
}
