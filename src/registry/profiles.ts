// Reference profiles computed at registration from reference data (columns of values): the
// statistics module builds per-feature bins and frequencies. With the model's contract, every
// feature of every input is profiled under the contract's feature names (a string input's as
// categorical), and when the columns hold every feature the model reads, the model runs over them
// (every input fed by its type and shape) so the profile carries the score's distribution too:
// the positive class's probability, the regression prediction, or (categorical) the top class
// index — the same number per row the inference log keeps, which the canary and drift compare.
// A model without a contract keeps the older rule: Sluice's embedded feature names, one float matrix.
import type { ModelContract } from '../contracts/contract.js';
import { requiredColumns, type Cell, type EvaluationSet } from '../contracts/evaluation.js';
import { rowScores } from '../contracts/score.js';
import type { ModelVersion } from '../db/schema.js';
import { SCORE_FEATURE } from '../loop/monitor.js';
import { parseModelMetadata } from '../models/model-metadata.js';
import { readOnnxModelInfo } from '../models/onnx-model-info.js';
import { loadModelSession, runFloatMatrix, type LoadedModel } from '../models/onnx-runtime.js';
import { scoreRows } from '../models/score-rows.js';
import { buildReferenceProfile, type Column, type ReferenceProfile } from '../stats/index.js';
import type { ArtifactStore } from './artifacts.js';
import { RegistryError } from './errors.js';

type ReferenceCell = number | string | boolean | null;

export interface ReferenceDataInput {
  columns: Record<string, ReadonlyArray<ReferenceCell>>;
  categorical?: string[];
  bins?: number;
  sampleSize?: number;
  /**
   * Run the model over the columns for the score's distribution. Default: when the columns hold
   * every feature the model reads. true: they must (a missing one is named); false: never.
   */
  predict?: boolean;
}

/** The profile's score column (ReferenceProfile.prediction): one number per row, as contracts/score.ts rowScores reads it. */
export const PREDICTION_COLUMN = SCORE_FEATURE;
/** Rows per ONNX Runtime run while scoring reference data (bounds the memory of one run). */
const SCORE_BATCH_ROWS = 4096;

function featureNamesOf(version: ModelVersion): string[] | null {
  const embedded = (version.metadata as { embedded?: { featureNames?: unknown } } | null)?.embedded;
  if (embedded && Array.isArray(embedded.featureNames) && embedded.featureNames.every((n) => typeof n === 'string')) return embedded.featureNames as string[];
  return null;
}

export async function computeReferenceProfile(
  store: ArtifactStore, version: ModelVersion, input: ReferenceDataInput, contract: ModelContract | null,
): Promise<{ profile: ReferenceProfile; predicted: boolean }> {
  const names = Object.keys(input.columns);
  if (names.length === 0) throw new RegistryError('invalid', 'columns: give at least one column of reference data', 'columns');
  const rows = input.columns[names[0] as string]?.length ?? 0;
  for (const name of names) {
    if ((input.columns[name]?.length ?? -1) !== rows) throw new RegistryError('invalid', `columns/${name}: has ${input.columns[name]?.length} values, the first column has ${rows}`, `columns/${name}`);
  }
  if (names.includes(PREDICTION_COLUMN)) throw new RegistryError('invalid', `columns/${PREDICTION_COLUMN}: the name is reserved for the model's output`, `columns/${PREDICTION_COLUMN}`);
  const columns: Record<string, Column> = { ...input.columns } as Record<string, Column>;
  const categorical = new Set(input.categorical ?? []);

  let score: { values: Column; categorical: boolean } | null = null;
  if (contract) {
    // A string input's features are categories even where they look like numbers ("01", "7").
    for (const i of contract.inputs) if (i.elementType === 'string') for (const f of i.features ?? [i.name]) if (f in input.columns) categorical.add(f);
    const missing = requiredColumns(contract).filter((c) => !(c in input.columns));
    if (input.predict === true && missing.length > 0) {
      throw new RegistryError('invalid', `columns/${missing[0]}: the model reads it (to compute the score); give it, or set predict to false`, `columns/${missing[0]}`);
    }
    if (input.predict !== false && missing.length === 0 && rows > 0) score = await scoreColumn(store, version, contract, input.columns, rows);
  } else if (input.predict ?? true) {
    const values = await firstOutputColumn(store, version, input.columns, rows);
    if (values) score = { values, categorical: false };
  }
  if (score) {
    columns[PREDICTION_COLUMN] = score.values;
    if (score.categorical) categorical.add(PREDICTION_COLUMN);
  }
  const built = buildReferenceProfile(columns, {
    ...(input.bins !== undefined ? { bins: input.bins } : {}),
    ...(input.sampleSize !== undefined ? { sampleSize: input.sampleSize } : {}),
    ...(categorical.size > 0 ? { categorical: [...categorical] } : {}),
    ...(score ? { prediction: PREDICTION_COLUMN } : {}),
  });
  if (!built.ok) throw new RegistryError('invalid', `reference data: ${built.message}`, 'columns');
  return { profile: built.profile, predicted: score !== null };
}

async function withSession<T>(store: ArtifactStore, version: ModelVersion, run: (loaded: LoadedModel) => Promise<T>): Promise<T> {
  const loaded = await loadModelSession(await store.read(version.artifact_uri), { sourceName: version.version });
  try {
    return await run(loaded);
  } finally {
    await loaded.session.release().catch(() => undefined);
  }
}

/**
 * The score of every row by the contract (null for a row missing a value the model reads, so the
 * profile counts it as missing). Cells of the wrong type are refused naming the column and row;
 * a model whose outputs do not hold the contract's score is refused naming the contract's field.
 */
async function scoreColumn(
  store: ArtifactStore, version: ModelVersion, contract: ModelContract, data: ReferenceDataInput['columns'], rows: number,
): Promise<{ values: Column; categorical: boolean }> {
  const required = requiredColumns(contract);
  const complete: number[] = [];
  for (let r = 0; r < rows; r++) if (required.every((c) => data[c]?.[r] !== null && data[c]?.[r] !== undefined)) complete.push(r);
  // Rows with a missing value are never fed (the picked rows hold no null).
  const set: EvaluationSet = { rows, columns: data as Readonly<Record<string, readonly Cell[]>>, labels: [] };
  const values: Array<number | null> = new Array<number | null>(rows).fill(null);
  await withSession(store, version, async (loaded) => {
    for (let start = 0; start < complete.length; start += SCORE_BATCH_ROWS) {
      const picked = complete.slice(start, start + SCORE_BATCH_ROWS);
      const scored = await scoreRows(loaded, contract, version.signature, set, picked);
      if (!scored.ok && scored.stage === 'inputs') throw new RegistryError('invalid', `${scored.field}: ${scored.message}`, scored.field);
      if (!scored.ok) throw new RegistryError('conflict', `contract${scored.field}: version ${version.version} ${scored.message}`, `contract${scored.field}`);
      const scores = rowScores(scored.scores);
      picked.forEach((row, k) => { values[row] = scores[k] ?? null; });
    }
  });
  return { values, categorical: contract.task === 'multiclass_classification' };
}

/** A model without a contract: its first output over the columns named by Sluice's embedded feature names, when all are numbers. */
async function firstOutputColumn(store: ArtifactStore, version: ModelVersion, data: ReferenceDataInput['columns'], rows: number): Promise<Float32Array | null> {
  const features = featureNamesOf(version) ?? (await embeddedFeatureNames(store, version));
  const numeric = features?.every((f) => Array.isArray(data[f]) && (data[f] as unknown[]).every((v) => typeof v === 'number'));
  if (!features || !numeric || rows === 0) return null;
  const matrix = new Float32Array(rows * features.length);
  features.forEach((f, j) => {
    const col = data[f] as number[];
    for (let i = 0; i < rows; i++) matrix[i * features.length + j] = col[i] as number;
  });
  const out = await withSession(store, version, (loaded) => runFloatMatrix(loaded, matrix, rows));
  return out.length === rows ? out : null;
}

async function embeddedFeatureNames(store: ArtifactStore, version: ModelVersion): Promise<string[] | null> {
  try {
    const meta = parseModelMetadata(readOnnxModelInfo(await store.read(version.artifact_uri)).metadata);
    return meta ? [...meta.featureNames] : null;
  } catch {
    return null;
  }
}
