// Helpers routes share: the caller's tenant-scoped lookups and audited writes.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Transaction } from 'kysely';
import type { Database, Model, ModelVersion } from '../db/schema.js';
import { recordAudit } from '../registry/audit.js';
import { findModel } from '../registry/models.js';
import { findVersion } from '../registry/versions.js';
import { principalOf } from './plugins/auth.js';
import { ApiError } from './problem.js';

export interface AuditTarget {
  action: string;
  targetType: string;
  targetId: string;
}

export interface AuditedResult<T> {
  result: T;
  before?: unknown;
  after?: unknown;
  /** Overrides the target id when it is known only after the write (e.g. a new rollout id). */
  targetId?: string;
}

/**
 * Runs `fn` in a transaction and writes the audit entry in the same transaction: the change and
 * its record commit together or not at all.
 */
export async function audited<T>(app: FastifyInstance, request: FastifyRequest, target: AuditTarget,
  fn: (trx: Transaction<Database>) => Promise<AuditedResult<T>>): Promise<T> {
  const principal = principalOf(request);
  return await app.db.transaction().execute(async (trx) => {
    const out = await fn(trx);
    await recordAudit(trx, {
      projectId: principal.projectId,
      actor: principal.actor,
      action: target.action,
      targetType: target.targetType,
      targetId: out.targetId ?? target.targetId,
      before: out.before ?? null,
      after: out.after ?? null,
      requestId: String(request.id),
    });
    return out.result;
  });
}

/** An audit entry for a change made elsewhere (in a workflow, through an update). */
export async function auditOnly(app: FastifyInstance, request: FastifyRequest, target: AuditTarget, before: unknown, after: unknown): Promise<void> {
  const principal = principalOf(request);
  await recordAudit(app.db, {
    projectId: principal.projectId, actor: principal.actor, action: target.action, targetType: target.targetType,
    targetId: target.targetId, before, after, requestId: String(request.id),
  });
}

/** The caller's model by name: another tenant's model is as absent as a missing one (404). */
export async function modelOf(app: FastifyInstance | { db: FastifyInstance['db'] }, request: FastifyRequest, name: string, db = app.db): Promise<Model> {
  const model = await findModel(db, name, principalOf(request).projectId);
  if (!model) throw new ApiError(404, 'not_found', `model ${name} not found`, 'model');
  return model;
}

export async function versionOf(db: FastifyInstance['db'] | Transaction<Database>, model: Model, version: string): Promise<ModelVersion> {
  const row = await findVersion(db, model.id, version);
  if (!row) throw new ApiError(404, 'not_found', `version ${version} of model ${model.name} not found`, 'version');
  return row;
}
