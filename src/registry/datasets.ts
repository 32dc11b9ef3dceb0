// Evaluation datasets: uploaded files (CSV, JSON lines) kept byte for byte in the artifact store,
// described here, one per model and content. A model's golden set is the dataset its
// golden_dataset_id names, else the older golden_set JSON; goldenEvaluationSet reads whichever is
// in force as the evaluation set validation scores candidates on.
import { randomUUID } from 'node:crypto';
import type { EvaluationSet, ModelContract } from '../contracts/index.js';
import { readStoredDataset } from '../datasets/index.js';
import type { Dataset, DatasetColumn, DatasetFormat, GoldenSet, Model } from '../db/schema.js';
import type { ArtifactStore } from './artifacts.js';
import { jsonb, type Db } from './db.js';
import { isUniqueViolation, RegistryError } from './errors.js';

export const DATASET_ID_PATTERN = /^ds_[0-9a-f]{32}$/;

export interface NewDataset {
  projectId: string;
  modelId: string;
  name: string;
  sha256: string;
  format: DatasetFormat;
  sizeBytes: number;
  rows: number;
  columns: DatasetColumn[];
  label: string;
  segment: string | null;
  artifactUri: string;
  createdBy: string | null;
}

/**
 * Records a dataset; when the model already has one with these bytes, returns that one instead
 * (created: false), so uploading a file twice is harmless.
 */
export async function createDataset(db: Db, input: NewDataset): Promise<{ dataset: Dataset; created: boolean }> {
  const existing = await findDatasetBySha256(db, input.modelId, input.sha256);
  if (existing) return { dataset: existing, created: false };
  try {
    const dataset = await db.insertInto('datasets').values({
      id: `ds_${randomUUID().replaceAll('-', '')}`, project_id: input.projectId, model_id: input.modelId, name: input.name,
      sha256: input.sha256, format: input.format, size_bytes: input.sizeBytes, rows: input.rows, columns: jsonb(input.columns),
      label_column: input.label, segment_column: input.segment, artifact_uri: input.artifactUri, created_by: input.createdBy,
    }).returningAll().executeTakeFirstOrThrow();
    return { dataset, created: true };
  } catch (err) {
    // Another upload of the same bytes won the race: it is the dataset.
    if (!isUniqueViolation(err)) throw err;
    const raced = await findDatasetBySha256(db, input.modelId, input.sha256);
    if (!raced) throw err;
    return { dataset: raced, created: false };
  }
}

/** A model's dataset by id (another model's is as absent as a missing one). */
export async function findDataset(db: Db, modelId: string, id: string): Promise<Dataset | undefined> {
  if (!DATASET_ID_PATTERN.test(id)) return undefined;
  return await db.selectFrom('datasets').selectAll().where('model_id', '=', modelId).where('id', '=', id).executeTakeFirst();
}

export async function findDatasetBySha256(db: Db, modelId: string, sha256: string): Promise<Dataset | undefined> {
  return await db.selectFrom('datasets').selectAll().where('model_id', '=', modelId).where('sha256', '=', sha256).executeTakeFirst();
}

/** A model's datasets, newest first. */
export async function listDatasets(db: Db, modelId: string, opts: { limit?: number; offset?: number } = {}): Promise<Dataset[]> {
  return await db.selectFrom('datasets').selectAll().where('model_id', '=', modelId)
    .orderBy('created_at', 'desc').orderBy('id').limit(opts.limit ?? 100).offset(opts.offset ?? 0).execute();
}

/** Whether any dataset (of any model) keeps its bytes in the file with this digest and format. */
export async function isDatasetArtifactReferenced(db: Db, sha256: string, format: DatasetFormat): Promise<boolean> {
  return (await db.selectFrom('datasets').select('id').where('sha256', '=', sha256).where('format', '=', format).executeTakeFirst()) !== undefined;
}

/**
 * Makes one of the model's datasets its golden set (null: none, so the golden_set JSON, if any,
 * applies again). Refuses a dataset of another model.
 */
export async function setGoldenDataset(db: Db, modelId: string, datasetId: string | null): Promise<Model> {
  if (datasetId !== null && !(await findDataset(db, modelId, datasetId))) {
    throw new RegistryError('not_found', `dataset ${datasetId} not found for this model`, 'dataset');
  }
  const row = await db.updateTable('models').set({ golden_dataset_id: datasetId }).where('id', '=', modelId).returningAll().executeTakeFirst();
  if (!row) throw new RegistryError('not_found', `model ${modelId} not found`, 'model');
  return row;
}

/** A stored dataset read back from the artifact store as an evaluation set. */
export async function readEvaluationSet(store: ArtifactStore, dataset: Dataset): Promise<EvaluationSet> {
  let read;
  try {
    read = await readStoredDataset(store.stream(dataset.artifact_uri), { format: dataset.format, columns: dataset.columns });
  } catch (err) {
    if (err instanceof RegistryError) throw err;
    throw new RegistryError('not_found', `dataset ${dataset.id}'s file cannot be read from the artifact store: ${(err as Error).message}`, 'dataset');
  }
  if (!read.ok) throw new RegistryError('invalid', `dataset ${dataset.id} no longer reads as it did when uploaded: ${read.field}: ${read.message}`, 'dataset');
  return read.dataset.set;
}

/**
 * The golden_set JSON as an evaluation set: column j is named by the contract's first input's
 * j-th feature, else `<input>[j]` (as contracts name features nobody named), else `features[j]`.
 */
export function legacyEvaluationSet(contract: ModelContract | null, golden: GoldenSet): EvaluationSet {
  const width = golden.features[0]?.length ?? 0;
  const input = contract?.inputs[0];
  const named = input?.features && input.features.length === width ? input.features : null;
  const names = Array.from({ length: width }, (_, j) => named?.[j] ?? `${input?.name ?? 'features'}[${j}]`);
  return {
    rows: golden.features.length,
    columns: Object.fromEntries(names.map((name, j) => [name, golden.features.map((row) => row[j] as number)])),
    labels: [...golden.labels],
    ...(golden.segments ? { segments: [...golden.segments] } : {}),
  };
}

/**
 * The evaluation set validation scores the model's candidates on: its golden dataset when one is
 * attached, else its golden_set JSON, else null (no golden set).
 */
export async function goldenEvaluationSet(db: Db, store: ArtifactStore, model: Model): Promise<EvaluationSet | null> {
  if (model.golden_dataset_id) {
    const dataset = await findDataset(db, model.id, model.golden_dataset_id);
    if (dataset) return await readEvaluationSet(store, dataset);
  }
  return model.golden_set ? legacyEvaluationSet(model.contract, model.golden_set) : null;
}
