// Drift of a current window against a reference profile: every measure per feature, a verdict
// per feature from one configured test, multiple-testing control across features, and the
// dataset-level rule. Defaults follow Evidently's:
//   numeric      reference ≤ 1,000 rows: two-sample KS, drift at p < 0.05
//                larger references: Wasserstein-1 normalised by the reference std, drift at ≥ 0.1
//   categorical  reference ≤ 1,000 rows: chi-square, drift at p < 0.05
//                larger references: Jensen–Shannon distance (base 2), drift at ≥ 0.1
//   PSI          always reported: ≥ 0.1 warning, ≥ 0.2 drift (the verdict when method = psi)
//   dataset      drifts when at least half of the evaluated features drift
// (Evidently switches numeric features with ≤ 5 distinct values to chi-square; here such a
// feature stays numeric unless it is profiled as categorical.)
import { adjustPValues, type MultipleTestingMethod } from '../multiple-testing.js';
import { checkOpenUnit, checkPositive, fail, isCount, isFiniteNumber, succeed, type StatsResult } from '../result.js';
import { ComparisonWorkspace, compareWithSortedSample, indexSortedSample } from './compare.js';
import { ksTwoSamplePValue, type KsMethod } from './ks.js';
import { chiSquareHomogeneity, DEFAULT_PSI_FLOOR, jensenShannonUnchecked, psiUnchecked } from './measures.js';
import {
  columnKind,
  countCategories,
  type CategoricalFeatureProfile,
  type Columns,
  type FeatureProfile,
  type NumericFeatureProfile,
  type ReferenceProfile,
} from './profile.js';

export type NumericDriftMethod = 'ks' | 'wasserstein' | 'psi' | 'jensen_shannon';
export type CategoricalDriftMethod = 'chi_square' | 'jensen_shannon' | 'psi';
export type DriftMethod = NumericDriftMethod | CategoricalDriftMethod;

export interface FeatureDriftConfig {
  readonly method?: DriftMethod;
  /** For p-value methods, drift below it; for distances, drift at or above it. */
  readonly threshold?: number;
}

export interface DriftConfig {
  readonly numericMethod?: 'auto' | NumericDriftMethod;
  readonly categoricalMethod?: 'auto' | CategoricalDriftMethod;
  /** References with at most this many rows use the p-value tests under 'auto'. Default 1,000. */
  readonly smallReferenceRows?: number;
  /** Default 0.05. */
  readonly pValueThreshold?: number;
  /** On the normalised Wasserstein distance. Default 0.1. */
  readonly wassersteinThreshold?: number;
  /** Default 0.1. */
  readonly jensenShannonThreshold?: number;
  /** Default 0.2. */
  readonly psiThreshold?: number;
  /** Default 0.1. */
  readonly psiWarningThreshold?: number;
  /** Share standing in for an empty bin in PSI. Default 0.0001. */
  readonly psiFloor?: number;
  /** Across the p-value tests of the features (not the prediction). Default benjamini_hochberg. */
  readonly multipleTesting?: MultipleTestingMethod;
  /** The dataset drifts when the share of drifted features is at least this. Default 0.5. */
  readonly datasetDriftShare?: number;
  readonly ksMethod?: KsMethod;
  /** Per-feature overrides by feature name. */
  readonly features?: Readonly<Record<string, FeatureDriftConfig>>;
}

export type FeatureDriftStatus = 'ok' | 'insufficient_data' | 'invalid_input' | 'missing_column';

export interface DriftMeasures {
  readonly psi: number | null;
  readonly psiLevel: 'stable' | 'warning' | 'drift' | null;
  readonly jensenShannon: number | null;
  readonly ksStatistic: number | null;
  readonly ksPValue: number | null;
  readonly ksMethod: 'exact' | 'asymptotic' | null;
  readonly wasserstein: number | null;
  /** Wasserstein-1 divided by the reference std (floored at 0.001, as Evidently does). */
  readonly wassersteinNormed: number | null;
  readonly chiSquare: number | null;
  readonly chiSquareDegreesOfFreedom: number | null;
  readonly chiSquarePValue: number | null;
  readonly referenceMean: number | null;
  readonly currentMean: number | null;
  /** Current categories absent from the reference. */
  readonly newCategories: readonly string[] | null;
}

export interface FeatureDrift {
  readonly feature: string;
  readonly kind: 'numeric' | 'categorical';
  readonly status: FeatureDriftStatus;
  readonly message: string | null;
  readonly method: DriftMethod;
  readonly threshold: number;
  /** The number the verdict compares with the threshold (a p-value or a distance). */
  readonly statistic: number | null;
  /** Raw p-value for p-value methods. */
  readonly pValue: number | null;
  /** After multiple-testing adjustment (equal to pValue for the prediction or with 'none'). */
  readonly adjustedPValue: number | null;
  readonly drifted: boolean;
  readonly referenceCount: number;
  readonly currentCount: number;
  readonly currentMissing: number;
  readonly measures: DriftMeasures;
}

export interface DatasetDrift {
  readonly drifted: boolean;
  /** Drifted features / evaluated features (0 when none could be evaluated). */
  readonly driftedShare: number;
  readonly driftedFeatures: readonly string[];
  readonly evaluatedFeatures: number;
  readonly threshold: number;
}

export interface DriftReport {
  readonly rows: number;
  readonly features: readonly FeatureDrift[];
  readonly prediction: FeatureDrift | null;
  readonly dataset: DatasetDrift;
  readonly multipleTesting: MultipleTestingMethod;
}

interface Resolved {
  readonly numericMethod: 'auto' | NumericDriftMethod;
  readonly categoricalMethod: 'auto' | CategoricalDriftMethod;
  readonly smallReferenceRows: number;
  readonly pValueThreshold: number;
  readonly wassersteinThreshold: number;
  readonly jensenShannonThreshold: number;
  readonly psiThreshold: number;
  readonly psiWarningThreshold: number;
  readonly psiFloor: number;
  readonly multipleTesting: MultipleTestingMethod;
  readonly datasetDriftShare: number;
  readonly ksMethod: KsMethod;
  readonly features: Readonly<Record<string, FeatureDriftConfig>>;
}

const NUMERIC_METHODS: readonly string[] = ['ks', 'wasserstein', 'psi', 'jensen_shannon'];
const CATEGORICAL_METHODS: readonly string[] = ['chi_square', 'jensen_shannon', 'psi'];
const P_VALUE_METHODS: readonly DriftMethod[] = ['ks', 'chi_square'];

const EMPTY_MEASURES: DriftMeasures = {
  psi: null,
  psiLevel: null,
  jensenShannon: null,
  ksStatistic: null,
  ksPValue: null,
  ksMethod: null,
  wasserstein: null,
  wassersteinNormed: null,
  chiSquare: null,
  chiSquareDegreesOfFreedom: null,
  chiSquarePValue: null,
  referenceMean: null,
  currentMean: null,
  newCategories: null,
};

function resolve(config: DriftConfig): StatsResult<{ readonly config: Resolved }> {
  if (config === null || typeof config !== 'object') return fail('invalid_input', 'config must be an object');
  const r: Resolved = {
    numericMethod: config.numericMethod ?? 'auto',
    categoricalMethod: config.categoricalMethod ?? 'auto',
    smallReferenceRows: config.smallReferenceRows ?? 1000,
    pValueThreshold: config.pValueThreshold ?? 0.05,
    wassersteinThreshold: config.wassersteinThreshold ?? 0.1,
    jensenShannonThreshold: config.jensenShannonThreshold ?? 0.1,
    psiThreshold: config.psiThreshold ?? 0.2,
    psiWarningThreshold: config.psiWarningThreshold ?? 0.1,
    psiFloor: config.psiFloor ?? DEFAULT_PSI_FLOOR,
    multipleTesting: config.multipleTesting ?? 'benjamini_hochberg',
    datasetDriftShare: config.datasetDriftShare ?? 0.5,
    ksMethod: config.ksMethod ?? 'auto',
    features: config.features ?? {},
  };
  const bad =
    checkOpenUnit(r.pValueThreshold, 'pValueThreshold') ??
    checkPositive(r.wassersteinThreshold, 'wassersteinThreshold') ??
    checkPositive(r.jensenShannonThreshold, 'jensenShannonThreshold') ??
    checkPositive(r.psiThreshold, 'psiThreshold') ??
    checkPositive(r.psiWarningThreshold, 'psiWarningThreshold') ??
    checkOpenUnit(r.psiFloor, 'psiFloor');
  if (bad) return bad;
  if (r.numericMethod !== 'auto' && !NUMERIC_METHODS.includes(r.numericMethod)) return fail('invalid_input', `numericMethod ${String(r.numericMethod)} is not one of auto, ${NUMERIC_METHODS.join(', ')}`);
  if (r.categoricalMethod !== 'auto' && !CATEGORICAL_METHODS.includes(r.categoricalMethod)) return fail('invalid_input', `categoricalMethod ${String(r.categoricalMethod)} is not one of auto, ${CATEGORICAL_METHODS.join(', ')}`);
  if (!isCount(r.smallReferenceRows)) return fail('invalid_input', 'smallReferenceRows must be a non-negative integer');
  if (!['none', 'bonferroni', 'benjamini_hochberg'].includes(r.multipleTesting)) return fail('invalid_input', 'multipleTesting must be none, bonferroni or benjamini_hochberg');
  if (!isFiniteNumber(r.datasetDriftShare) || r.datasetDriftShare <= 0 || r.datasetDriftShare > 1) return fail('invalid_input', 'datasetDriftShare must be in (0, 1]');
  if (!['auto', 'exact', 'asymptotic'].includes(r.ksMethod)) return fail('invalid_input', 'ksMethod must be auto, exact or asymptotic');
  for (const [name, override] of Object.entries(r.features)) {
    if (override === null || typeof override !== 'object') return fail('invalid_input', `features.${name} must be an object`);
    if (override.method !== undefined && !NUMERIC_METHODS.includes(override.method) && !CATEGORICAL_METHODS.includes(override.method)) {
      return fail('invalid_input', `features.${name}.method ${String(override.method)} is not a drift method`);
    }
    if (override.threshold !== undefined && !(isFiniteNumber(override.threshold) && override.threshold > 0)) {
      return fail('invalid_input', `features.${name}.threshold must be a finite number above 0`);
    }
  }
  return succeed({ config: r });
}

function checkProfile(profile: ReferenceProfile): string | null {
  if (profile === null || typeof profile !== 'object' || profile.version !== 1 || !Array.isArray(profile.features)) {
    return 'profile must be a version 1 ReferenceProfile from buildReferenceProfile';
  }
  const all = profile.prediction ? [...profile.features, profile.prediction] : profile.features;
  for (const f of all) {
    if (f === null || typeof f !== 'object' || typeof f.name !== 'string') return 'profile has a malformed feature';
    if (f.kind === 'numeric') {
      if (!Array.isArray(f.sample) || !Array.isArray(f.binEdges) || !Array.isArray(f.binShares) || f.binShares.length !== f.binEdges.length + 1) {
        return `profile feature ${f.name}: sample, binEdges and binShares are inconsistent`;
      }
    } else if (f.kind === 'categorical') {
      if (!Array.isArray(f.categories) || !Array.isArray(f.counts) || f.categories.length !== f.counts.length) {
        return `profile feature ${f.name}: categories and counts are inconsistent`;
      }
    } else {
      return `profile feature ${String((f as { name: unknown }).name)} has an unknown kind`;
    }
  }
  return null;
}

function methodFor(feature: FeatureProfile, cfg: Resolved): StatsResult<{ readonly method: DriftMethod; readonly threshold: number }> {
  const override = Object.prototype.hasOwnProperty.call(cfg.features, feature.name) ? cfg.features[feature.name] : undefined;
  const small = feature.count <= cfg.smallReferenceRows;
  let method: DriftMethod;
  if (feature.kind === 'numeric') {
    method = override?.method ?? (cfg.numericMethod === 'auto' ? (small ? 'ks' : 'wasserstein') : cfg.numericMethod);
    if (!NUMERIC_METHODS.includes(method)) return fail('invalid_input', `feature ${feature.name} is numeric; ${method} applies to categorical features`);
  } else {
    method = override?.method ?? (cfg.categoricalMethod === 'auto' ? (small ? 'chi_square' : 'jensen_shannon') : cfg.categoricalMethod);
    if (!CATEGORICAL_METHODS.includes(method)) return fail('invalid_input', `feature ${feature.name} is categorical; ${method} applies to numeric features`);
  }
  const defaults: Record<DriftMethod, number> = {
    ks: cfg.pValueThreshold,
    chi_square: cfg.pValueThreshold,
    wasserstein: cfg.wassersteinThreshold,
    jensen_shannon: cfg.jensenShannonThreshold,
    psi: cfg.psiThreshold,
  };
  return succeed({ method, threshold: override?.threshold ?? defaults[method] });
}

function psiLevel(psi: number, cfg: Resolved): 'stable' | 'warning' | 'drift' {
  return psi >= cfg.psiThreshold ? 'drift' : psi >= cfg.psiWarningThreshold ? 'warning' : 'stable';
}

function notEvaluated(
  feature: FeatureProfile,
  method: DriftMethod,
  threshold: number,
  status: FeatureDriftStatus,
  message: string,
  current: { count: number; missing: number },
): FeatureDrift {
  return {
    feature: feature.name,
    kind: feature.kind,
    status,
    message,
    method,
    threshold,
    statistic: null,
    pValue: null,
    adjustedPValue: null,
    drifted: false,
    referenceCount: feature.count,
    currentCount: current.count,
    currentMissing: current.missing,
    measures: EMPTY_MEASURES,
  };
}

// A numeric column as something indexable that yields NaN for missing values: typed arrays as
// they are, plain arrays checked (and copied only when they hold null or undefined).
function numericValues(column: unknown): ArrayLike<number> | null {
  if (column instanceof Float64Array || column instanceof Float32Array) return column;
  if (ArrayBuffer.isView(column)) {
    if (column instanceof BigInt64Array || column instanceof BigUint64Array || column instanceof DataView) return null;
    return column as unknown as ArrayLike<number>;
  }
  if (!Array.isArray(column)) return null;
  let holes = false;
  for (const v of column as unknown[]) {
    if (typeof v === 'number') continue;
    if (v === null || v === undefined) holes = true;
    else return null;
  }
  if (!holes) return column as number[];
  return Float64Array.from(column as (number | null | undefined)[], (v) => (typeof v === 'number' ? v : Number.NaN));
}

function numericDrift(
  feature: NumericFeatureProfile,
  column: unknown,
  method: DriftMethod,
  threshold: number,
  cfg: Resolved,
  workspace: ComparisonWorkspace,
): FeatureDrift {
  const values = numericValues(column);
  if (values === null) {
    return notEvaluated(feature, method, threshold, 'invalid_input', `column ${feature.name} must hold numbers for a numeric feature`, { count: 0, missing: 0 });
  }
  if (feature.count === 0 || feature.sample.length === 0) {
    return notEvaluated(feature, method, threshold, 'insufficient_data', `the reference has no finite values for ${feature.name}`, { count: 0, missing: values.length });
  }
  const index = indexSortedSample(Float64Array.from(feature.sample), Float64Array.from(feature.binEdges), values.length);
  const c = compareWithSortedSample(index, values, workspace);
  if (c.count === 0) {
    return notEvaluated(feature, method, threshold, 'insufficient_data', `the window has no finite values for ${feature.name}`, { count: 0, missing: c.missing });
  }
  const currentShares = Array.from(c.binCounts, (count) => count / c.count);
  const psi = psiUnchecked(feature.binShares, currentShares, cfg.psiFloor);
  const jensenShannon = jensenShannonUnchecked(feature.binShares, currentShares, 1, 1);
  const ks = ksTwoSamplePValue(c.ksStatistic, feature.sample.length, c.count, cfg.ksMethod);
  const wassersteinNormed = c.wasserstein / Math.max(feature.std, 0.001);
  const measures: DriftMeasures = {
    ...EMPTY_MEASURES,
    psi,
    psiLevel: psiLevel(psi, cfg),
    jensenShannon,
    ksStatistic: ks.statistic,
    ksPValue: ks.pValue,
    ksMethod: ks.method,
    wasserstein: c.wasserstein,
    wassersteinNormed,
    referenceMean: feature.mean,
    currentMean: c.mean,
  };
  const statistic = method === 'ks' ? ks.pValue : method === 'wasserstein' ? wassersteinNormed : method === 'psi' ? psi : jensenShannon;
  return verdict(feature, method, threshold, statistic, { count: c.count, missing: c.missing }, measures);
}

function categoricalDrift(
  feature: CategoricalFeatureProfile,
  column: unknown,
  method: DriftMethod,
  threshold: number,
  cfg: Resolved,
): FeatureDrift {
  if (!Array.isArray(column) && !ArrayBuffer.isView(column)) {
    return notEvaluated(feature, method, threshold, 'invalid_input', `column ${feature.name} must be an array of categories`, { count: 0, missing: 0 });
  }
  const { counts, missing } = countCategories(column as ArrayLike<unknown>);
  const currentCount = (column as ArrayLike<unknown>).length - missing;
  if (feature.count === 0) {
    return notEvaluated(feature, method, threshold, 'insufficient_data', `the reference has no values for ${feature.name}`, { count: currentCount, missing });
  }
  if (currentCount === 0) {
    return notEvaluated(feature, method, threshold, 'insufficient_data', `the window has no values for ${feature.name}`, { count: 0, missing });
  }
  const referenceCounts: number[] = [...feature.counts];
  const currentCounts: number[] = feature.categories.map((category) => counts.get(category) ?? 0);
  const known = new Set(feature.categories);
  const newCategories: string[] = [];
  for (const [category, count] of counts) {
    if (known.has(category)) continue;
    newCategories.push(category);
    referenceCounts.push(0);
    currentCounts.push(count);
  }
  const referenceShares = referenceCounts.map((count) => count / feature.count);
  const currentShares = currentCounts.map((count) => count / currentCount);
  const psi = psiUnchecked(referenceShares, currentShares, cfg.psiFloor);
  const jensenShannon = jensenShannonUnchecked(referenceShares, currentShares, 1, 1);
  const chi = chiSquareHomogeneity(referenceCounts, currentCounts);
  const measures: DriftMeasures = {
    ...EMPTY_MEASURES,
    psi,
    psiLevel: psiLevel(psi, cfg),
    jensenShannon,
    chiSquare: chi.ok ? chi.statistic : null,
    chiSquareDegreesOfFreedom: chi.ok ? chi.degreesOfFreedom : null,
    chiSquarePValue: chi.ok ? chi.pValue : null,
    newCategories,
  };
  if (method === 'chi_square' && !chi.ok) {
    // A single category on both sides: nothing to test, and nothing has moved.
    return { ...notEvaluated(feature, method, threshold, 'insufficient_data', chi.message, { count: currentCount, missing }), measures };
  }
  const statistic = method === 'chi_square' && chi.ok ? chi.pValue : method === 'psi' ? psi : jensenShannon;
  return verdict(feature, method, threshold, statistic, { count: currentCount, missing }, measures);
}

function verdict(
  feature: FeatureProfile,
  method: DriftMethod,
  threshold: number,
  statistic: number,
  current: { count: number; missing: number },
  measures: DriftMeasures,
): FeatureDrift {
  const isPValue = P_VALUE_METHODS.includes(method);
  return {
    feature: feature.name,
    kind: feature.kind,
    status: 'ok',
    message: null,
    method,
    threshold,
    statistic,
    pValue: isPValue ? statistic : null,
    adjustedPValue: isPValue ? statistic : null,
    drifted: isPValue ? statistic < threshold : statistic >= threshold,
    referenceCount: feature.count,
    currentCount: current.count,
    currentMissing: current.missing,
    measures,
  };
}

function evaluate(feature: FeatureProfile, current: Columns, cfg: Resolved, workspace: ComparisonWorkspace): StatsResult<{ readonly result: FeatureDrift }> {
  const choice = methodFor(feature, cfg);
  if (!choice.ok) return choice;
  const { method, threshold } = choice;
  if (!Object.prototype.hasOwnProperty.call(current, feature.name)) {
    return succeed({ result: notEvaluated(feature, method, threshold, 'missing_column', `the window has no column ${feature.name}`, { count: 0, missing: 0 }) });
  }
  const column: unknown = current[feature.name];
  if (feature.kind === 'numeric') {
    if (columnKind(column, false) === 'categorical') {
      return succeed({ result: notEvaluated(feature, method, threshold, 'invalid_input', `column ${feature.name} holds strings but the feature is numeric`, { count: 0, missing: 0 }) });
    }
    return succeed({ result: numericDrift(feature, column, method, threshold, cfg, workspace) });
  }
  return succeed({ result: categoricalDrift(feature, column, method, threshold, cfg) });
}

/**
 * Compares a window of current data (columns by feature name, as buildReferenceProfile took them)
 * with a reference profile. Per-feature problems (a missing column, no finite values) are coded
 * in that feature's status; a malformed profile or config fails the whole call.
 */
export function detectDrift(profile: ReferenceProfile, current: Columns, config: DriftConfig = {}): StatsResult<DriftReport> {
  const resolved = resolve(config);
  if (!resolved.ok) return resolved;
  const cfg = resolved.config;
  const profileProblem = checkProfile(profile);
  if (profileProblem) return fail('invalid_input', profileProblem);
  if (current === null || typeof current !== 'object') return fail('invalid_input', 'current must be an object of named columns');
  const workspace = new ComparisonWorkspace();
  const features: FeatureDrift[] = [];
  for (const feature of profile.features) {
    const outcome = evaluate(feature, current, cfg, workspace);
    if (!outcome.ok) return outcome;
    features.push(outcome.result);
  }
  let prediction: FeatureDrift | null = null;
  if (profile.prediction) {
    const outcome = evaluate(profile.prediction, current, cfg, workspace);
    if (!outcome.ok) return outcome;
    prediction = outcome.result;
  }

  // Multiple-testing control over the features decided by a p-value.
  const tested = features.map((f, i) => [f, i] as const).filter(([f]) => f.status === 'ok' && f.pValue !== null);
  const adjusted = adjustPValues(tested.map(([f]) => f.pValue!), cfg.multipleTesting);
  tested.forEach(([f, i], j) => {
    const q = adjusted[j]!;
    features[i] = { ...f, adjustedPValue: q, drifted: q < f.threshold };
  });

  const evaluated = features.filter((f) => f.status === 'ok');
  const drifted = evaluated.filter((f) => f.drifted).map((f) => f.feature);
  const driftedShare = evaluated.length === 0 ? 0 : drifted.length / evaluated.length;
  let rows = 0;
  for (const column of Object.values(current)) {
    if (column && typeof (column as { length?: unknown }).length === 'number') rows = Math.max(rows, (column as { length: number }).length);
  }
  return succeed({
    rows,
    features,
    prediction,
    dataset: {
      drifted: evaluated.length > 0 && driftedShare >= cfg.datasetDriftShare,
      driftedShare,
      driftedFeatures: drifted,
      evaluatedFeatures: evaluated.length,
      threshold: cfg.datasetDriftShare,
    },
    multipleTesting: cfg.multipleTesting,
  });
}
