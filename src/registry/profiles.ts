// Reference profiles computed at registration from reference data (columns of values): the
// statistics module builds per-feature bins and frequencies, and when the columns hold every
// feature the model reads (by the names Sluice embeds in its models), the model itself is run over
// them so the profile carries its prediction distribution too.
import type { ModelVersion } from '../db/schema.js';
import { parseModelMetadata } from '../models/model-metadata.js';
import { readOnnxModelInfo } from '../models/onnx-model-info.js';
import { loadModelSession, runFloatMatrix } from '../models/onnx-runtime.js';
import { buildReferenceProfile, type Column, type ReferenceProfile } from '../stats/index.js';
import type { ArtifactStore } from './artifacts.js';
import { RegistryError } from './errors.js';

export interface ReferenceDataInput {
  columns: Record<string, ReadonlyArray<number | string | boolean | null>>;
  categorical?: string[];
  bins?: number;
  sampleSize?: number;
  /** Run the model over the columns for the prediction distribution (when it can). Default true. */
  predict?: boolean;
}

export const PREDICTION_COLUMN = 'prediction';

function featureNamesOf(version: ModelVersion): string[] | null {
  const embedded = (version.metadata as { embedded?: { featureNames?: unknown } } | null)?.embedded;
  if (embedded && Array.isArray(embedded.featureNames) && embedded.featureNames.every((n) => typeof n === 'string')) return embedded.featureNames as string[];
  return null;
}

export async function computeReferenceProfile(store: ArtifactStore, version: ModelVersion, input: ReferenceDataInput): Promise<{ profile: ReferenceProfile; predicted: boolean }> {
  const names = Object.keys(input.columns);
  if (names.length === 0) throw new RegistryError('invalid', 'columns: give at least one column of reference data', 'columns');
  const rows = input.columns[names[0] as string]?.length ?? 0;
  for (const name of names) {
    if ((input.columns[name]?.length ?? -1) !== rows) throw new RegistryError('invalid', `columns/${name}: has ${input.columns[name]?.length} values, the first column has ${rows}`, `columns/${name}`);
  }
  if (names.includes(PREDICTION_COLUMN)) throw new RegistryError('invalid', `columns/${PREDICTION_COLUMN}: the name is reserved for the model's output`, `columns/${PREDICTION_COLUMN}`);
  const columns: Record<string, Column> = { ...input.columns } as Record<string, Column>;

  let predicted = false;
  const features = featureNamesOf(version) ?? (await embeddedFeatureNames(store, version));
  const numericInputs = features?.every((f) => Array.isArray(input.columns[f]) && (input.columns[f] as unknown[]).every((v) => typeof v === 'number'));
  if ((input.predict ?? true) && features && numericInputs && rows > 0) {
    const matrix = new Float32Array(rows * features.length);
    features.forEach((f, j) => {
      const col = input.columns[f] as number[];
      for (let i = 0; i < rows; i++) matrix[i * features.length + j] = col[i] as number;
    });
    const loaded = await loadModelSession(await store.read(version.artifact_uri), { sourceName: version.version });
    try {
      const out = await runFloatMatrix(loaded, matrix, rows);
      if (out.length === rows) {
        columns[PREDICTION_COLUMN] = out;
        predicted = true;
      }
    } finally {
      await loaded.session.release().catch(() => undefined);
    }
  }
  const built = buildReferenceProfile(columns, {
    ...(input.bins !== undefined ? { bins: input.bins } : {}),
    ...(input.sampleSize !== undefined ? { sampleSize: input.sampleSize } : {}),
    ...(input.categorical ? { categorical: input.categorical } : {}),
    ...(predicted ? { prediction: PREDICTION_COLUMN } : {}),
  });
  if (!built.ok) throw new RegistryError('invalid', `reference data: ${built.message}`, 'columns');
  return { profile: built.profile, predicted };
}

async function embeddedFeatureNames(store: ArtifactStore, version: ModelVersion): Promise<string[] | null> {
  try {
    const meta = parseModelMetadata(readOnnxModelInfo(await store.read(version.artifact_uri)).metadata);
    return meta ? [...meta.featureNames] : null;
  } catch {
    return null;
  }
}
