// Evaluation datasets of a model. For now only its golden set, read from the legacy
// `models.golden_set` JSON ({features: number[][], labels, segments?}) and named in the contract's
// terms, so validation scores every model through one EvaluationSet shape.
import type { Kysely } from 'kysely';
import { requiredColumns, type Cell, type EvaluationSet } from '../contracts/evaluation.js';
import type { Database, Model } from '../db/schema.js';
import type { ArtifactStore } from './artifacts.js';

/**
 * The model's golden set as an EvaluationSet, or null when it has none (or no contract to name its
 * columns by). Row i's j-th value is column j of the contract's inputs in order (the first input's
 * features, then the next input's), the layout of the golden-set JSON.
 */
export async function goldenEvaluationSet(_db: Kysely<Database>, _store: ArtifactStore, model: Model): Promise<EvaluationSet | null> {
  const golden = model.golden_set;
  if (!golden || !model.contract || golden.features.length === 0) return null;
  const features = golden.features as ReadonlyArray<readonly Cell[]>;
  const columns = Object.fromEntries(requiredColumns(model.contract).map((name, j) => [name, features.map((row) => row[j] as Cell)]));
  return { rows: features.length, columns, labels: golden.labels, ...(golden.segments ? { segments: golden.segments } : {}) };
}
