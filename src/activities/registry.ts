// Registry reads and writes for the lifecycle, over the repository functions in src/registry/.
// Each is idempotent: a retried activity writes the same row (rollout_steps is keyed by the
// workflow's seq) or sets the same status.
import { ApplicationFailure } from '@temporalio/activity';
import type { Kysely } from 'kysely';
import type { Database, RolloutStatus, StepVerdict, VersionStatus } from '../db/schema.js';
import { RegistryError } from '../registry/errors.js';
import { getModel } from '../registry/models.js';
import { completeRollout, recordRolloutStep, setRolloutPhase } from '../registry/rollouts.js';
import { generationToRow, latestGeneration } from '../registry/traffic.js';
import { markVersionStatus, promoteVersion } from '../registry/versions.js';
import { REGISTRY_NOT_FOUND } from '../shared/failures.js';

/**
 * Runs a registry activity so that a missing model or version fails it for good, with the
 * registry's message: retrying would read the same absence until the attempts ran out, and the
 * rollout would end with a bare "Activity task failed" instead of what is missing.
 */
export async function finalIfMissing<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof RegistryError && err.code === 'not_found') {
      throw ApplicationFailure.create({ message: err.message, type: REGISTRY_NOT_FOUND, nonRetryable: true, cause: err });
    }
    throw err;
  }
}

export interface TrafficSnapshot {
  generation: number;
  weights: Record<string, number>;
  spec: Record<string, unknown>;
}

export function createRegistryActivities(db: Kysely<Database>, fetchImpl: typeof fetch = fetch) {
  return {
    /** The generation serving now, or null for a model that never had traffic. */
    async readCurrentTraffic(args: { model: string }): Promise<TrafficSnapshot | null> {
      const current = await latestGeneration(db, args.model);
      return current ? generationToRow(current.traffic) : null;
    },

    async recordRolloutStep(args: {
      rolloutId: string; seq: number; at: string; phase: string; step: string; verdict: StepVerdict; reason: string; numbers: Record<string, unknown>;
    }): Promise<void> {
      await recordRolloutStep(db, args);
    },

    async setRolloutPhase(args: { rolloutId: string; phase: string }): Promise<void> {
      await setRolloutPhase(db, args.rolloutId, args.phase);
    },

    async completeRollout(args: { rolloutId: string; status: RolloutStatus; reason: string }): Promise<void> {
      await completeRollout(db, args.rolloutId, args.status, args.reason);
    },

    async markVersionStatus(args: { model: string; version: string; status: VersionStatus }): Promise<void> {
      await finalIfMissing(async () => {
        const model = await getModel(db, args.model);
        await markVersionStatus(db, model.id, args.version, args.status);
      });
    },

    /** Moves the production alias in one transaction: the old production version steps down first. */
    async promoteVersion(args: { model: string; version: string }): Promise<{ previous: string | null }> {
      return await finalIfMissing(async () => await promoteVersion(db, await getModel(db, args.model), args.version, 'system:orchestrator'));
    },

    /** Best effort: a webhook that is down must not stall a rollout, so failures are logged, not thrown. */
    async notifyPhaseChange(args: { webhookUrl: string; rolloutId: string; model: string; version: string; phase: string }): Promise<{ delivered: boolean; status?: number }> {
      try {
        const res = await fetchImpl(args.webhookUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ event: 'rollout.phase', rolloutId: args.rolloutId, model: args.model, version: args.version, phase: args.phase }),
          signal: AbortSignal.timeout(3000),
        });
        return { delivered: res.ok, status: res.status };
      } catch {
        return { delivered: false };
      }
    },
  };
}
