// The audit log: who did what to which target, with the state before and after. Callers write the
// entry in the same transaction as the change it describes, so neither exists without the other.
import type { Db } from './db.js';
import { jsonb } from './db.js';

export interface AuditEntry {
  projectId: string | null;
  /** e.g. key:<id> for API keys, system:<component> for the orchestrator. */
  actor: string;
  /** dotted verb, e.g. model.create, version.register, rollout.pause */
  action: string;
  targetType: string;
  targetId: string;
  before?: unknown;
  after?: unknown;
  requestId?: string | null;
}

export async function recordAudit(db: Db, entry: AuditEntry): Promise<string> {
  const row = await db.insertInto('audit_log').values({
    project_id: entry.projectId,
    actor: entry.actor,
    action: entry.action,
    target_type: entry.targetType,
    target_id: entry.targetId,
    before: entry.before === undefined || entry.before === null ? null : jsonb(entry.before),
    after: entry.after === undefined || entry.after === null ? null : jsonb(entry.after),
    request_id: entry.requestId ?? null,
  }).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

export async function listAudit(db: Db, opts: { projectId: string; targetType?: string; targetId?: string; action?: string; actor?: string; limit?: number; beforeId?: string }) {
  let q = db.selectFrom('audit_log').selectAll().where('project_id', '=', opts.projectId);
  if (opts.targetType) q = q.where('target_type', '=', opts.targetType);
  if (opts.targetId) q = q.where('target_id', '=', opts.targetId);
  if (opts.action) q = q.where('action', '=', opts.action);
  if (opts.actor) q = q.where('actor', '=', opts.actor);
  if (opts.beforeId) q = q.where('id', '<', opts.beforeId);
  return await q.orderBy('id', 'desc').limit(opts.limit ?? 100).execute();
}

/** Takes an entry back: only for a change that was itself undone before anyone saw it (a rollout whose workflow never started). */
export async function deleteAuditEntry(db: Db, id: string): Promise<void> {
  await db.deleteFrom('audit_log').where('id', '=', id).execute();
}
