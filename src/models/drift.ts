/**
 * Drift as a change of population: move numeric means by a given number of standard deviations,
 * change how often each category occurs, or change how default depends on the features (concept
 * drift). The result is drawn by the same generator as the base data, so a drift detector or a
 * retrain workflow can be tested against a change whose size is known.
 */
import type {
  CreditCategoricalFeature,
  CreditDataset,
  CreditInteraction,
  CreditLabelRelationship,
  CreditLevel,
  CreditNumericFeature,
  CreditPopulation,
} from './dataset.js';
import { BASE_CREDIT_POPULATION, CREDIT_SCHEMA, categoryProbabilities, generateCreditData } from './dataset.js';

/**
 * A change of population. Labels are always drawn from the (possibly changed) relationship
 * applied to the drifted features: covariate drift alone keeps P(default | features) and moves
 * the default rate only through the features.
 */
export interface CreditDrift {
  /** Mean shift per numeric feature, in standard deviations of the base population. */
  readonly meanShiftStd?: Partial<Readonly<Record<CreditNumericFeature, number>>>;
  /** A new mix for a categorical feature: weights for every level, normalised when drawn. */
  readonly categoryMix?: Partial<{ readonly [K in CreditCategoricalFeature]: Readonly<Record<CreditLevel<K>, number>> }>;
  /** Concept drift: the parts of the label relationship that change; the rest stays. */
  readonly labelRelationship?: CreditLabelRelationshipChange;
}

export interface CreditLabelRelationshipChange {
  readonly intercept?: number;
  readonly numericWeights?: Partial<Readonly<Record<CreditNumericFeature, number>>>;
  readonly categoryEffects?: Partial<{ readonly [K in CreditCategoricalFeature]: Partial<Readonly<Record<CreditLevel<K>, number>>> }>;
  /** Replaces the whole list of interactions. */
  readonly interactions?: readonly CreditInteraction[];
  readonly logitNoiseStd?: number;
}

export interface FeatureMoments {
  readonly mean: number;
  readonly std: number;
}

export type CreditFeatureMoments = Readonly<Record<CreditNumericFeature, FeatureMoments>>;

/**
 * A concept drift strong enough that a model trained before it loses much of its accuracy: debt
 * and utilisation stop mattering as much as they did, a history of late payments is forgiven,
 * and students and the unemployed become good risks (say, after a support programme).
 */
export const EXAMPLE_CONCEPT_DRIFT: CreditLabelRelationshipChange = {
  numericWeights: { debt_ratio: -0.6, credit_utilization: -0.4, late_payments: -0.3, income: 0.6, credit_history_months: 0.4 },
  categoryEffects: { employment: { salaried: 0.4, self_employed: 0, unemployed: -0.8, student: -0.6 } },
  interactions: [],
};

const REFERENCE_ROWS = 50_000;
const REFERENCE_SEED = 0x5eed;
const referenceCache = new WeakMap<CreditPopulation, CreditFeatureMoments>();

/**
 * Mean and standard deviation of each numeric feature in `population`, estimated once from a
 * large fixed-seed sample (the features' dependencies make closed forms impractical). These are
 * the "standard deviation units" a mean shift is measured in.
 */
export function creditFeatureMoments(population: CreditPopulation = BASE_CREDIT_POPULATION): CreditFeatureMoments {
  const cached = referenceCache.get(population);
  if (cached) return cached;
  const sample = generateCreditData(REFERENCE_ROWS, REFERENCE_SEED, population);
  const moments = {} as Record<CreditNumericFeature, FeatureMoments>;
  for (const name of CREDIT_SCHEMA.numeric) moments[name] = numericMoments(sample.numeric[name]);
  referenceCache.set(population, moments);
  return moments;
}

/** Population mean and standard deviation of a column. */
export function numericMoments(values: Float64Array): FeatureMoments {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: NaN };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i] as number;
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) {
    const d = (values[i] as number) - mean;
    squares += d * d;
  }
  return { mean, std: Math.sqrt(squares / n) };
}

/**
 * The population after `drift`. Mean shifts are pure location shifts (added after drawing), so a
 * shifted feature keeps its shape and may leave its original range — a count can go negative —
 * which is what makes the requested shift exact and the detectors' expected answer known.
 */
export function driftCreditPopulation(
  base: CreditPopulation, drift: CreditDrift, reference: CreditFeatureMoments = creditFeatureMoments(base),
): CreditPopulation {
  const numericShift = { ...base.numericShift };
  for (const [name, shiftStd] of entries(drift.meanShiftStd)) {
    if (!Number.isFinite(shiftStd)) throw new RangeError(`mean shift for ${name} must be finite`);
    numericShift[name] = numericShift[name] + shiftStd * reference[name].std;
  }
  const categoryMix = { ...base.categoryMix } as Record<CreditCategoricalFeature, Readonly<Record<string, number>>>;
  for (const [name, mix] of entries(drift.categoryMix)) {
    categoryProbabilities(name, mix); // refuse unknown levels and unusable weights now, not when drawing
    categoryMix[name] = { ...mix };
  }
  return {
    numericShift,
    categoryMix: categoryMix as CreditPopulation['categoryMix'],
    labelRelationship: drift.labelRelationship ? changeLabelRelationship(base.labelRelationship, drift.labelRelationship) : base.labelRelationship,
  };
}

export function changeLabelRelationship(base: CreditLabelRelationship, change: CreditLabelRelationshipChange): CreditLabelRelationship {
  const categoryEffects = { ...base.categoryEffects } as Record<CreditCategoricalFeature, Readonly<Record<string, number>>>;
  for (const [name, effects] of entries(change.categoryEffects)) {
    categoryEffects[name] = { ...categoryEffects[name], ...effects };
  }
  return {
    intercept: change.intercept ?? base.intercept,
    numericWeights: { ...base.numericWeights, ...change.numericWeights },
    categoryEffects: categoryEffects as CreditLabelRelationship['categoryEffects'],
    interactions: change.interactions ?? base.interactions,
    logitNoiseStd: change.logitNoiseStd ?? base.logitNoiseStd,
  };
}

/** Draws `rows` applicants from the base population changed by `drift`. */
export function generateDriftedCreditData(
  rows: number, seed: number, drift: CreditDrift, base: CreditPopulation = BASE_CREDIT_POPULATION,
): CreditDataset {
  return generateCreditData(rows, seed, driftCreditPopulation(base, drift));
}

function entries<K extends string, V>(record: Partial<Readonly<Record<K, V>>> | undefined): [K, V][] {
  return record ? (Object.entries(record) as [K, V][]).filter(([, v]) => v !== undefined) : [];
}
