/**
 * What Sluice records about a model inside the ONNX file itself (ModelProto.metadata_props), so
 * an artifact found on disk says what it is: which features it expects in which order, which
 * model and version it belongs to, and exactly which data trained it.
 */
import type { TrainerKind } from './train.js';

export interface ModelMetadata {
  readonly modelName: string;
  readonly modelVersion: string;
  /** The input matrix's column names, in order. */
  readonly featureNames: readonly string[];
  /** sha256 of the training matrix bytes and labels (see trainingDataSha256). */
  readonly trainingDataSha256: string;
  readonly trainer: TrainerKind | string;
  /** ISO-8601 time the model was built; supplied by the caller so builds stay reproducible. */
  readonly createdAt: string;
}

/** metadata_props keys, one per field. */
export const MODEL_METADATA_KEYS = {
  modelName: 'sluice.model_name',
  modelVersion: 'sluice.model_version',
  featureNames: 'sluice.feature_names',
  trainingDataSha256: 'sluice.training_data_sha256',
  trainer: 'sluice.trainer',
  createdAt: 'sluice.created_at',
} as const satisfies Record<keyof ModelMetadata, string>;

/** The metadata as ONNX key/value pairs, in a fixed order so exports are byte-identical. */
export function modelMetadataProps(metadata: ModelMetadata): { key: string; value: string }[] {
  return [
    { key: MODEL_METADATA_KEYS.modelName, value: metadata.modelName },
    { key: MODEL_METADATA_KEYS.modelVersion, value: metadata.modelVersion },
    { key: MODEL_METADATA_KEYS.featureNames, value: JSON.stringify(metadata.featureNames) },
    { key: MODEL_METADATA_KEYS.trainingDataSha256, value: metadata.trainingDataSha256 },
    { key: MODEL_METADATA_KEYS.trainer, value: metadata.trainer },
    { key: MODEL_METADATA_KEYS.createdAt, value: metadata.createdAt },
  ];
}

/**
 * Reads Sluice's metadata back from a model's metadata_props; null when the model was not built
 * by Sluice (no model name recorded). A Sluice model with damaged metadata is an error.
 */
export function parseModelMetadata(props: Readonly<Record<string, string>>): ModelMetadata | null {
  if (props[MODEL_METADATA_KEYS.modelName] === undefined) return null;
  const field = (key: keyof ModelMetadata): string => {
    const value = props[MODEL_METADATA_KEYS[key]];
    if (value === undefined) throw new Error(`model metadata lacks ${MODEL_METADATA_KEYS[key]}`);
    return value;
  };
  let featureNames: unknown;
  try {
    featureNames = JSON.parse(field('featureNames'));
  } catch {
    throw new Error(`model metadata ${MODEL_METADATA_KEYS.featureNames} is not JSON`);
  }
  if (!Array.isArray(featureNames) || !featureNames.every((name) => typeof name === 'string')) {
    throw new Error(`model metadata ${MODEL_METADATA_KEYS.featureNames} must be a JSON array of strings`);
  }
  return {
    modelName: field('modelName'),
    modelVersion: field('modelVersion'),
    featureNames,
    trainingDataSha256: field('trainingDataSha256'),
    trainer: field('trainer'),
    createdAt: field('createdAt'),
  };
}
