// Model versions: one artifact (content-addressed, sha256-checked), its signature as ONNX Runtime
// reads it, metadata, the training data it came from, and the reference profile drift is measured
// against. The lifecycle workflow moves `status`; the API registers and retires.
import type { ModelSignature, ModelVersion, VersionStatus } from '../db/schema.js';
import { jsonb, type Db } from './db.js';
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
