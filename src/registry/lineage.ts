// What the lineage view reads: every version of a model with the latest rollout it was the
// candidate of (and that rollout's validation steps), and the retrains that made or tried to make
// versions. Assembled into the answer by src/api/services/lineage.ts.
import type { ModelVersion, Retrain, Rollout, RolloutStepsTable } from '../db/schema.js';
import type { Db } from './db.js';
import { listRetrains } from './retrains.js';

export type LineageVersionRow = Pick<ModelVersion, 'id' | 'version' | 'status' | 'created_at' | 'created_by' | 'lineage'>;
export type LineageRolloutRow = Pick<Rollout, 'id' | 'candidate_version_id' | 'status' | 'phase' | 'outcome_reason' | 'started_at' | 'ended_at'>;
export interface LineageCheckRow { rollout_id: string; step: string; verdict: RolloutStepsTable['verdict']; reason: string }

export interface LineageRows {
  versions: LineageVersionRow[];
  /** Per version id: the latest rollout with that version as candidate. */
  rollouts: Map<string, LineageRolloutRow>;
  /** Per rollout id: its validation checks (steps named validate:…), in order. */
  checks: Map<string, LineageCheckRow[]>;
  /** Every retrain a version's lineage names, by id, and the model's recent retrains. */
  retrainsById: Map<string, Retrain>;
  retrains: Retrain[];
}

export async function readLineage(db: Db, modelId: string, opts: { retrainLimit?: number } = {}): Promise<LineageRows> {
  const versions = await db.selectFrom('model_versions').select(['id', 'version', 'status', 'created_at', 'created_by', 'lineage'])
    .where('model_id', '=', modelId).orderBy('created_at').orderBy('id').execute();
  const latestRollouts = await db.selectFrom('rollouts')
    .select(['id', 'candidate_version_id', 'status', 'phase', 'outcome_reason', 'started_at', 'ended_at'])
    .distinctOn('candidate_version_id')
    .where('model_id', '=', modelId)
    .orderBy('candidate_version_id').orderBy('started_at', 'desc').orderBy('id', 'desc')
    .execute();
  const rollouts = new Map(latestRollouts.map((r) => [String(r.candidate_version_id), r]));
  const checks = new Map<string, LineageCheckRow[]>();
  if (latestRollouts.length > 0) {
    const steps = await db.selectFrom('rollout_steps').select(['rollout_id', 'step', 'verdict', 'reason'])
      .where('rollout_id', 'in', latestRollouts.map((r) => r.id)).where('step', 'like', 'validate:%')
      .orderBy('rollout_id').orderBy('seq').execute();
    for (const s of steps) checks.set(s.rollout_id, [...(checks.get(s.rollout_id) ?? []), s]);
  }
  const retrains = await listRetrains(db, modelId, opts.retrainLimit ?? 50);
  const retrainsById = new Map(retrains.map((r) => [r.id, r]));
  const named = versions.map((v) => v.lineage?.retrainId).filter((id): id is string => typeof id === 'string' && !retrainsById.has(id));
  if (named.length > 0) {
    // Older than the recent list: a version's own retrain is shown however long ago it ran.
    for (const r of await db.selectFrom('retrains').selectAll().where('id', 'in', named).execute()) retrainsById.set(r.id, r);
  }
  return { versions, rollouts, checks, retrainsById, retrains };
}
