// Traffic of the synthetic credit population as the exporter-shaped binary credit model would see
// it: each row's 19 encoded features and its score (P(default) by the population's own
// relationship), drawn unshifted or shifted (src/models/drift.ts), and the reference profile of an
// unshifted sample under the contract's feature names. Seeded, so every window is reproducible.
import { BASE_CREDIT_POPULATION, CREDIT_FEATURE_NAMES, CREDIT_SCHEMA, creditLogits, generateCreditData } from '../../src/models/dataset.js';
import { generateDriftedCreditData, type CreditDrift } from '../../src/models/drift.js';
import { encodeColumns } from '../../src/models/features.js';
import { buildReferenceProfile, type ReferenceProfile } from '../../src/stats/index.js';

export function creditRows(rows: number, seed: number, drift?: CreditDrift): { matrix: Float32Array; scores: number[]; labels: number[] } {
  const data = drift ? generateDriftedCreditData(rows, seed, drift) : generateCreditData(rows, seed);
  const logits = creditLogits(data, BASE_CREDIT_POPULATION.labelRelationship);
  return { matrix: encodeColumns(CREDIT_SCHEMA, data), scores: Array.from(logits, (z) => 1 / (1 + Math.exp(-z))), labels: Array.from(data.labels) };
}

/** The rows as the profile's (and the monitor window's) columns: every feature, and `prediction` for the score. */
export function creditColumns(rows: number, seed: number, drift?: CreditDrift): Record<string, number[]> {
  const { matrix, scores } = creditRows(rows, seed, drift);
  const width = CREDIT_FEATURE_NAMES.length;
  const columns: Record<string, number[]> = Object.fromEntries(CREDIT_FEATURE_NAMES.map((name, j) => [name, Array.from({ length: rows }, (_, r) => matrix[r * width + j] as number)]));
  columns.prediction = scores;
  return columns;
}

export function creditReferenceProfile(rows = 2000, seed = 1): ReferenceProfile {
  const built = buildReferenceProfile(creditColumns(rows, seed), { prediction: 'prediction' });
  if (!built.ok) throw new Error(built.message);
  return built.profile;
}
