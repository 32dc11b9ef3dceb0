// Retrain runs: the drift monitor (or a person) creates the row, status running, as it starts the
// retrain workflow; the workflow's activities finish it. The monitor's budget and the lineage
// views read them here.
import { randomUUID } from 'node:crypto';
import type { Retrain } from '../db/schema.js';
import type { DataWindow, LineageCause, RetrainStatus, TrainerRef, VersionLineage } from '../loop/lineage.js';
import { jsonb, type Db } from './db.js';
import { RegistryError } from './errors.js';

export function newRetrainId(): string {
  return `rt_${randomUUID().replaceAll('-', '')}`;
}

export interface NewRetrain {
  id: string;
  modelId: string;
  workflowId: string;
  cause: LineageCause;
  parentVersion: string | null;
  /** 'skipped' rows record a trigger that started nothing, with the reason. */
  status?: 'running' | 'skipped';
  reason?: string;
}

export async function createRetrain(db: Db, r: NewRetrain): Promise<Retrain> {
  return await db.insertInto('retrains').values({
    id: r.id, model_id: r.modelId, workflow_id: r.workflowId, status: r.status ?? 'running', cause: jsonb(r.cause),
    parent_version: r.parentVersion, reason: r.reason ?? null, ended_at: r.status === 'skipped' ? new Date() : null,
  }).returningAll().executeTakeFirstOrThrow();
}

export interface RetrainProgress {
  dataWindow?: DataWindow;
  trainer?: TrainerRef;
  evaluation?: unknown;
}

/** Records what a running retrain has learned so far (its data window, trainer, holdout evaluation). */
export async function updateRetrain(db: Db, id: string, p: RetrainProgress): Promise<void> {
  const set: Record<string, string> = {};
  if (p.dataWindow) set.data_window = jsonb(p.dataWindow);
  if (p.trainer) set.trainer = jsonb(p.trainer);
  if (p.evaluation !== undefined) set.evaluation = jsonb(p.evaluation);
  if (Object.keys(set).length === 0) return;
  await db.updateTable('retrains').set(set).where('id', '=', id).execute();
}

/** Ends a running retrain; a retrain already ended is left as it is (an activity retried after it wrote). */
export async function finishRetrain(db: Db, id: string, end: { status: Exclude<RetrainStatus, 'running'>; reason: string; producedVersion?: string | null }): Promise<Retrain> {
  const row = await db.updateTable('retrains')
    .set({ status: end.status, reason: end.reason, produced_version: end.producedVersion ?? null, ended_at: new Date() })
    .where('id', '=', id).where('status', '=', 'running')
    .returningAll().executeTakeFirst();
  if (row) return row;
  const existing = await findRetrain(db, id);
  if (!existing) throw new RegistryError('not_found', `retrain ${id} not found`, 'retrain');
  return existing;
}

export async function findRetrain(db: Db, id: string): Promise<Retrain | undefined> {
  return await db.selectFrom('retrains').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The model's running retrain, if any. */
export async function runningRetrain(db: Db, modelId: string): Promise<Retrain | undefined> {
  return await db.selectFrom('retrains').selectAll().where('model_id', '=', modelId).where('status', '=', 'running')
    .orderBy('started_at', 'desc').limit(1).executeTakeFirst();
}

/** Retrains of the model that started (not skipped) at or after `since`: the day's budget counts these. */
export async function countRetrainsSince(db: Db, modelId: string, since: Date): Promise<number> {
  const row = await db.selectFrom('retrains').select((e) => e.fn.countAll<string>().as('n'))
    .where('model_id', '=', modelId).where('status', '!=', 'skipped').where('started_at', '>=', since)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The most recent retrains of a model, newest first. */
export async function listRetrains(db: Db, modelId: string, limit = 50): Promise<Retrain[]> {
  return await db.selectFrom('retrains').selectAll().where('model_id', '=', modelId).orderBy('started_at', 'desc').limit(limit).execute();
}

/** Writes a version's lineage once; a version that already has one keeps it. */
export async function setVersionLineage(db: Db, versionId: string, lineage: VersionLineage): Promise<boolean> {
  const r = await db.updateTable('model_versions').set({ lineage: jsonb(lineage) }).where('id', '=', versionId).where('lineage', 'is', null).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}
