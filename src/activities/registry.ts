// Registry reads and writes for the lifecycle. Each is idempotent: a retried activity writes the
// same row (rollout_steps is keyed by the workflow's seq) or sets the same status.
import { sql, type Kysely } from 'kysely';
import type { Database, RolloutStatus, StepVerdict, VersionStatus } from '../db/schema.js';
import { readGeneration } from '../fleet/index.js';
import { recordAudit } from '../registry/audit.js';

export interface TrafficSnapshot {
  generation: number;
  weights: Record<string, number>;
  spec: Record<string, unknown>;
}

export function createRegistryActivities(db: Kysely<Database>, fetchImpl: typeof fetch = fetch) {
  async function modelId(model: string): Promise<string> {
    const row = await db.selectFrom('models').select('id').where('name', '=', model).executeTakeFirst();
    if (!row) throw new Error(`model ${model} is not registered`);
    return row.id;
  }

  return {
    /** The generation serving now, or null for a model that never had traffic. */
    async readCurrentTraffic(args: { model: string }): Promise<TrafficSnapshot | null> {
      const current = await readGeneration(db, args.model);
      if (!current) return null;
      const { generation, weights, ...spec } = current;
      return { generation, weights, spec };
    },

    async recordRolloutStep(args: {
      rolloutId: string; seq: number; at: string; phase: string; step: string; verdict: StepVerdict; reason: string; numbers: Record<string, unknown>;
    }): Promise<void> {
      await db.insertInto('rollout_steps')
        .values({ rollout_id: args.rolloutId, seq: args.seq, at: args.at, phase: args.phase, step: args.step, verdict: args.verdict, reason: args.reason, numbers: args.numbers })
        .onConflict((oc) => oc.columns(['rollout_id', 'seq']).doNothing())
        .execute();
    },

    async setRolloutPhase(args: { rolloutId: string; phase: string }): Promise<void> {
      await db.updateTable('rollouts').set({ phase: args.phase }).where('id', '=', args.rolloutId).where('status', '=', 'running').execute();
    },

    async completeRollout(args: { rolloutId: string; status: RolloutStatus; reason: string }): Promise<void> {
      await db.updateTable('rollouts')
        .set({ status: args.status, phase: 'completed', outcome_reason: args.reason, ended_at: sql<Date>`now()` })
        .where('id', '=', args.rolloutId)
        .where('status', '=', 'running')
        .execute();
    },

    async markVersionStatus(args: { model: string; version: string; status: VersionStatus }): Promise<void> {
      const id = await modelId(args.model);
      await db.updateTable('model_versions').set({ status: args.status })
        .where('model_id', '=', id).where('version', '=', args.version).where('status', '!=', 'production')
        .execute();
    },

    /** Moves the production alias in one transaction: the old production version steps down first. */
    async promoteVersion(args: { model: string; version: string }): Promise<{ previous: string | null }> {
      const id = await modelId(args.model);
      return await db.transaction().execute(async (trx) => {
        const previous = await trx.selectFrom('model_versions').select('version')
          .where('model_id', '=', id).where('status', '=', 'production').executeTakeFirst();
        if (previous?.version === args.version) return { previous: previous.version };
        await trx.updateTable('model_versions').set({ status: 'validated' })
          .where('model_id', '=', id).where('status', '=', 'production').execute();
        const updated = await trx.updateTable('model_versions').set({ status: 'production' })
          .where('model_id', '=', id).where('version', '=', args.version).executeTakeFirst();
        if (Number(updated.numUpdatedRows) !== 1) throw new Error(`version ${args.model}/${args.version} does not exist`);
        const project = await trx.selectFrom('models').select('project_id').where('id', '=', id).executeTakeFirstOrThrow();
        await recordAudit(trx, {
          projectId: project.project_id, actor: 'system:orchestrator', action: 'version.promote', targetType: 'model', targetId: args.model,
          before: { production: previous?.version ?? null }, after: { production: args.version },
        });
        return { previous: previous?.version ?? null };
      });
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
