// Model versions: one artifact (content-addressed, sha256-checked), its signature as ONNX Runtime
// reads it, metadata, the training data it came from, and the reference profile drift is measured
// against. The lifecycle workflow moves `status`; the API registers and retires.
import type { Model, ModelSignature, ModelVersion, VersionStatus } from '../db/schema.js';
import type { VersionLineage } from '../loop/lineage.js';
import { recordAudit } from './audit.js';
import { inTransaction, jsonb, type Db } from './db.js';
import { isUniqueViolation, RegistryError } from './errors.js';

export const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Statuses a version can be retired from: never while it serves production or runs a rollout. */
export const RETIRABLE_STATUSES: VersionStatus[] = ['registered', 'validated', 'rejected', 'rolled_back'];
/** Statuses a version can start a rollout from. */
export const ROLLOUT_READY_STATUSES: VersionStatus[] = ['registered', 'validated', 'rolled_back'];

export interface NewVersion {
  modelId: string;
  version: string;
  artifactUri: string;
  sha256: string;
  sizeBytes: number;
  signature: ModelSignature;
  metadata?: Record<string, unknown>;
  trainingDataRef?: string | null;
  referenceProfile?: unknown;
  metrics?: Record<string, unknown>;
  createdBy?: string | null;
  /** Where the version came from; written with the row so a version is never seen without it. */
  lineage?: VersionLineage | null;
}

export async function insertVersion(db: Db, v: NewVersion): Promise<ModelVersion> {
  if (!VERSION_PATTERN.test(v.version)) {
    throw new RegistryError('invalid', 'version must be 1-64 characters of A-Z, a-z, 0-9, ".", "_" and "-", starting with a letter or digit', 'version');
  }
  try {
    return await db.insertInto('model_versions').values({
      model_id: v.modelId,
      version: v.version,
      artifact_uri: v.artifactUri,
      sha256: v.sha256,
      size_bytes: v.sizeBytes,
      signature: jsonb(v.signature),
      metadata: v.metadata ?? {},
      training_data_ref: v.trainingDataRef ?? null,
      reference_profile: v.referenceProfile === undefined || v.referenceProfile === null ? null : jsonb(v.referenceProfile),
      metrics: v.metrics ?? {},
      created_by: v.createdBy ?? null,
      lineage: v.lineage ? jsonb(v.lineage) : null,
    }).returningAll().executeTakeFirstOrThrow();
  } catch (err) {
    if (isUniqueViolation(err)) throw new RegistryError('conflict', `version ${v.version} is already registered`, 'version');
    throw err;
  }
}

export async function findVersion(db: Db, modelId: string, version: string): Promise<ModelVersion | undefined> {
  return await db.selectFrom('model_versions').selectAll().where('model_id', '=', modelId).where('version', '=', version).executeTakeFirst();
}

export async function getVersion(db: Db, modelId: string, version: string): Promise<ModelVersion> {
  const row = await findVersion(db, modelId, version);
  if (!row) throw new RegistryError('not_found', `version ${version} not found`, 'version');
  return row;
}

/**
 * Versions of a model (by name) among the given labels, each with its model's contract (what a
 * serving worker needs to score the rows it logs and check each input); labels that are not
 * registered are absent.
 */
export async function findVersionsByName(db: Db, model: string, versions: readonly string[]): Promise<Array<ModelVersion & { contract: Model['contract'] }>> {
  if (versions.length === 0) return [];
  return await db.selectFrom('model_versions as v').innerJoin('models as m', 'm.id', 'v.model_id').selectAll('v').select('m.contract')
    .where('m.name', '=', model).where('v.version', 'in', versions).execute();
}

/** Whether any version's artifact is this content (an upload whose registration failed is not). */
export async function isArtifactReferenced(db: Db, sha256: string): Promise<boolean> {
  return (await db.selectFrom('model_versions').select('id').where('sha256', '=', sha256).executeTakeFirst()) !== undefined;
}

export async function findVersionById(db: Db, id: string | number): Promise<ModelVersion | undefined> {
  return await db.selectFrom('model_versions').selectAll().where('id', '=', String(id)).executeTakeFirst();
}

export async function listVersions(db: Db, modelId: string, opts: { status?: VersionStatus; limit?: number; offset?: number } = {}): Promise<ModelVersion[]> {
  let q = db.selectFrom('model_versions').selectAll().where('model_id', '=', modelId);
  if (opts.status) q = q.where('status', '=', opts.status);
  return await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(opts.limit ?? 100).offset(opts.offset ?? 0).execute();
}

/** The version serving as the model's production alias, if any. */
export async function productionVersion(db: Db, modelId: string): Promise<ModelVersion | undefined> {
  return await db.selectFrom('model_versions').selectAll().where('model_id', '=', modelId).where('status', '=', 'production').executeTakeFirst();
}

/**
 * Moves a version's status, optionally only from the given statuses (a compare-and-set, so two
 * writers cannot both win). Returns the updated row, or undefined when the guard did not hold.
 */
export async function setVersionStatus(db: Db, versionId: string, status: VersionStatus, opts: { from?: VersionStatus[] } = {}): Promise<ModelVersion | undefined> {
  let q = db.updateTable('model_versions').set({ status }).where('id', '=', versionId);
  if (opts.from) q = q.where('status', 'in', opts.from);
  return await q.returningAll().executeTakeFirst();
}

export async function setReferenceProfile(db: Db, versionId: string, profile: unknown): Promise<ModelVersion | undefined> {
  return await db.updateTable('model_versions').set({ reference_profile: jsonb(profile) }).where('id', '=', versionId).returningAll().executeTakeFirst();
}

export async function mergeVersionMetrics(db: Db, versionId: string, metrics: Record<string, unknown>): Promise<ModelVersion | undefined> {
  const current = await findVersionById(db, versionId);
  if (!current) return undefined;
  return await db.updateTable('model_versions')
    .set({ metrics: { ...current.metrics, ...metrics } })
    .where('id', '=', versionId).returningAll().executeTakeFirst();
}

/**
 * Sets a version's status unless it serves production: only promotion moves the production alias
 * (the lifecycle marks candidates validating, validated, rejected, rolled back). Returns the
 * updated row, or undefined when there is no such version or it serves production.
 */
export async function markVersionStatus(db: Db, modelId: string, version: string, status: VersionStatus): Promise<ModelVersion | undefined> {
  return await db.updateTable('model_versions').set({ status })
    .where('model_id', '=', modelId).where('version', '=', version).where('status', '!=', 'production')
    .returningAll().executeTakeFirst();
}

/**
 * Moves the production alias to `version` in one transaction, with its audit entry: the old
 * production version steps down to validated first. Promoting the version that already serves
 * production changes nothing (a retried activity).
 */
export async function promoteVersion(db: Db, model: Model, version: string, actor: string): Promise<{ previous: string | null }> {
  return await inTransaction(db, async (trx) => {
    const previous = await productionVersion(trx, model.id);
    if (previous?.version === version) return { previous: previous.version };
    await trx.updateTable('model_versions').set({ status: 'validated' })
      .where('model_id', '=', model.id).where('status', '=', 'production').execute();
    const updated = await trx.updateTable('model_versions').set({ status: 'production' })
      .where('model_id', '=', model.id).where('version', '=', version).executeTakeFirst();
    if (Number(updated.numUpdatedRows) !== 1) throw new RegistryError('not_found', `version ${model.name}/${version} does not exist`, 'version');
    await recordAudit(trx, {
      projectId: model.project_id, actor, action: 'version.promote', targetType: 'model', targetId: model.name,
      before: { production: previous?.version ?? null }, after: { production: version },
    });
    return { previous: previous?.version ?? null };
  });
}
