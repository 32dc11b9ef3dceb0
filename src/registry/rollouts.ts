// Rollouts: the API inserts the row when it starts the lifecycle workflow; the workflow's
// activities move phase and status and append steps. Reads here serve the API, the CLI and reports.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Rollout, RolloutStatus, StepVerdict } from '../db/schema.js';
import { jsonb, type Db } from './db.js';
import { isUniqueViolation, RegistryError } from './errors.js';

export function newRolloutId(): string {
  return `ro_${randomUUID().replaceAll('-', '')}`;
}

export interface NewRollout {
  id: string;
  workflowId: string;
  modelId: string;
  candidateVersionId: string;
  baselineVersionId: string | null;
  policy: Record<string, unknown>;
  startedBy: string;
}

export async function insertRollout(db: Db, r: NewRollout): Promise<Rollout> {
  try {
    return await db.insertInto('rollouts').values({
      id: r.id,
      workflow_id: r.workflowId,
      model_id: r.modelId,
      candidate_version_id: r.candidateVersionId,
      baseline_version_id: r.baselineVersionId,
      policy: jsonb(r.policy),
      started_by: r.startedBy,
    }).returningAll().executeTakeFirstOrThrow();
  } catch (err) {
    if (isUniqueViolation(err, 'rollouts_one_running')) throw new RegistryError('conflict', 'the model already has a running rollout', 'model');
    throw err;
  }
}

export async function deleteRollout(db: Db, id: string): Promise<void> {
  await db.deleteFrom('rollouts').where('id', '=', id).execute();
}

/** Ends a running rollout with its outcome; one that already ended is left as it is (undefined). */
export async function completeRollout(db: Db, id: string, status: RolloutStatus, reason: string): Promise<Rollout | undefined> {
  return await db.updateTable('rollouts')
    .set({ status, phase: 'completed', outcome_reason: reason, ended_at: sql<Date>`now()` })
    .where('id', '=', id).where('status', '=', 'running').returningAll().executeTakeFirst();
}

/** Ends a rollout row that no workflow will ever finish (its start failed after the insert). */
export async function failRollout(db: Db, id: string, reason: string): Promise<Rollout | undefined> {
  return await completeRollout(db, id, 'failed', reason);
}

/** Moves a running rollout's phase (an ended rollout keeps 'completed'). */
export async function setRolloutPhase(db: Db, id: string, phase: string): Promise<void> {
  await db.updateTable('rollouts').set({ phase }).where('id', '=', id).where('status', '=', 'running').execute();
}

export interface RolloutStep {
  rolloutId: string;
  /** The workflow's step counter: a retried activity writes the same seq, and the second write is dropped. */
  seq: number;
  at: string;
  phase: string;
  step: string;
  verdict: StepVerdict;
  reason: string;
  numbers: Record<string, unknown>;
}

export async function recordRolloutStep(db: Db, s: RolloutStep): Promise<void> {
  await db.insertInto('rollout_steps')
    .values({ rollout_id: s.rolloutId, seq: s.seq, at: s.at, phase: s.phase, step: s.step, verdict: s.verdict, reason: s.reason, numbers: s.numbers })
    .onConflict((oc) => oc.columns(['rollout_id', 'seq']).doNothing())
    .execute();
}

/** The running rollout a version takes part in (as candidate or baseline), if any. */
export async function runningRolloutWithVersion(db: Db, versionId: string): Promise<{ id: string } | undefined> {
  return await db.selectFrom('rollouts').select('id').where('status', '=', 'running')
    .where((eb) => eb.or([eb('candidate_version_id', '=', versionId), eb('baseline_version_id', '=', versionId)])).executeTakeFirst();
}

export interface RolloutView extends Rollout {
  model: string;
  project_id: string;
  candidate_version: string;
  baseline_version: string | null;
}

function rolloutViewQuery(db: Db) {
  return db.selectFrom('rollouts as r')
    .innerJoin('models as m', 'm.id', 'r.model_id')
    .innerJoin('model_versions as c', 'c.id', 'r.candidate_version_id')
    .leftJoin('model_versions as b', 'b.id', 'r.baseline_version_id')
    .selectAll('r')
    .select(['m.name as model', 'm.project_id', 'c.version as candidate_version', 'b.version as baseline_version']);
}

/** A rollout by id, within a project when `projectId` is given. */
export async function findRollout(db: Db, id: string, projectId?: string): Promise<RolloutView | undefined> {
  let q = rolloutViewQuery(db).where('r.id', '=', id);
  if (projectId !== undefined) q = q.where('m.project_id', '=', projectId);
  return await q.executeTakeFirst();
}

export async function runningRolloutForModel(db: Db, modelId: string): Promise<RolloutView | undefined> {
  return await rolloutViewQuery(db).where('r.model_id', '=', modelId).where('r.status', '=', 'running').executeTakeFirst();
}

export interface RolloutFilter {
  projectId: string;
  model?: string;
  phase?: string;
  status?: RolloutStatus;
  limit?: number;
  offset?: number;
}

export async function listRollouts(db: Db, f: RolloutFilter): Promise<RolloutView[]> {
  let q = rolloutViewQuery(db).where('m.project_id', '=', f.projectId);
  if (f.model) q = q.where('m.name', '=', f.model);
  if (f.phase) q = q.where('r.phase', '=', f.phase);
  if (f.status) q = q.where('r.status', '=', f.status);
  return await q.orderBy('r.started_at', 'desc').orderBy('r.id').limit(f.limit ?? 50).offset(f.offset ?? 0).execute();
}

export async function listRolloutSteps(db: Db, rolloutId: string, opts: { afterSeq?: number; limit?: number } = {}) {
  let q = db.selectFrom('rollout_steps').selectAll().where('rollout_id', '=', rolloutId);
  if (opts.afterSeq !== undefined) q = q.where('seq', '>', opts.afterSeq);
  return await q.orderBy('seq').limit(opts.limit ?? 1000).execute();
}
