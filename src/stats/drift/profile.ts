// Reference profiles: built once when a model version is registered, stored as JSON with the
// version, and compared against every later window of the inference log. Compact by design: per
// numeric feature the reference-quantile bins (for PSI and Jensen–Shannon), moments, and a bounded
// seeded reservoir sample (for KS and Wasserstein); per categorical feature the category counts.
import { createRandomSource, seedRandom } from '../random.js';
import { fail, isCount, succeed, type StatsResult } from '../result.js';

export type NumericColumn = Float64Array | Float32Array | readonly (number | null | undefined)[];
export type CategoricalValue = string | number | boolean | null | undefined;
export type CategoricalColumn = readonly CategoricalValue[];
export type Column = NumericColumn | CategoricalColumn;
/** Columns by name; all of one table, so of equal length. */
export type Columns = Readonly<Record<string, Column>>;

export interface NumericFeatureProfile {
  readonly name: string;
  readonly kind: 'numeric';
  /** Finite values seen. */
  readonly count: number;
  /** NaN, infinite, null or undefined values seen. */
  readonly missing: number;
  readonly mean: number;
  /** Population standard deviation (ddof 0, as Evidently normalises Wasserstein by). */
  readonly std: number;
  readonly min: number;
  readonly max: number;
  /** Interior bin edges at reference quantiles, ascending and distinct; a value's bin is the number of edges ≤ it. */
  readonly binEdges: readonly number[];
  /** Reference share per bin (binEdges.length + 1 of them). */
  readonly binShares: readonly number[];
  /** Sorted uniform sample of the reference values (all of them when count ≤ sampleSize). */
  readonly sample: readonly number[];
}

export interface CategoricalFeatureProfile {
  readonly name: string;
  readonly kind: 'categorical';
  readonly count: number;
  readonly missing: number;
  /** Categories by descending count. */
  readonly categories: readonly string[];
  readonly counts: readonly number[];
}

export type FeatureProfile = NumericFeatureProfile | CategoricalFeatureProfile;

export interface ReferenceProfile {
  readonly version: 1;
  readonly rows: number;
  readonly bins: number;
  readonly sampleSize: number;
  readonly seed: number | string;
  readonly features: readonly FeatureProfile[];
  /** The model's output distribution, kept apart from the input features. */
  readonly prediction: FeatureProfile | null;
}

export interface ProfileOptions {
  /** Quantile bins for PSI and Jensen–Shannon. Default 10. */
  readonly bins?: number;
  /** Reservoir size per numeric feature. Default 1,000. */
  readonly sampleSize?: number;
  /** Seed of the reservoir sampling, so a profile is reproducible. Default 'sluice'. */
  readonly seed?: number | string;
  /** Columns to treat as categorical even though they hold numbers (codes, ids). */
  readonly categorical?: readonly string[];
  /** The column holding the model's prediction. */
  readonly prediction?: string;
}

export type ColumnKind = 'numeric' | 'categorical';

/** Numeric if typed or all values are numbers (or missing); categorical if any value is a string or boolean. */
export function columnKind(column: unknown, forceCategorical: boolean): ColumnKind | null {
  if (ArrayBuffer.isView(column)) {
    return column instanceof BigInt64Array || column instanceof BigUint64Array || column instanceof DataView ? null : forceCategorical ? 'categorical' : 'numeric';
  }
  if (!Array.isArray(column)) return null;
  if (forceCategorical) return 'categorical';
  for (const value of column as unknown[]) {
    if (typeof value === 'string' || typeof value === 'boolean') return 'categorical';
    if (value !== null && value !== undefined && typeof value !== 'number') return null;
  }
  return 'numeric';
}

/** The category key of a value; null for missing. */
export function categoryKey(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return Number.isNaN(value) ? null : String(value);
  return String(value);
}

function finiteValues(column: ArrayLike<number | null | undefined>): { values: Float64Array; missing: number } {
  const values = new Float64Array(column.length);
  let count = 0;
  for (let i = 0; i < column.length; i++) {
    const v = column[i];
    if (typeof v === 'number' && Number.isFinite(v)) values[count++] = v;
  }
  return { values: values.subarray(0, count), missing: column.length - count };
}

function numericProfile(
  name: string,
  column: ArrayLike<number | null | undefined>,
  bins: number,
  sampleSize: number,
  seed: number | string,
): NumericFeatureProfile {
  const { values, missing } = finiteValues(column);
  const count = values.length;
  if (count === 0) {
    return { name, kind: 'numeric', count, missing, mean: 0, std: 0, min: 0, max: 0, binEdges: [], binShares: [1], sample: [] };
  }
  const sorted = Float64Array.from(values).sort();
  const min = sorted[0]!;
  const max = sorted[count - 1]!;
  let sum = 0;
  for (let i = 0; i < count; i++) sum += sorted[i]!;
  const mean = sum / count;
  let squares = 0;
  for (let i = 0; i < count; i++) squares += (sorted[i]! - mean) ** 2;
  const std = Math.sqrt(squares / count);
  // Edges at reference quantiles taken as data values (the lower order statistic, not an
  // interpolation), dropping repeats and the minimum: every bin [e_i, e_i+1) then holds at least
  // its own edge and the first bin holds the minimum, so no reference bin is empty even for a
  // discrete feature.
  const binEdges: number[] = [];
  for (let i = 1; i < bins; i++) {
    const edge = sorted[Math.floor((i / bins) * (count - 1))]!;
    if (edge > min && (binEdges.length === 0 || edge > binEdges[binEdges.length - 1]!)) binEdges.push(edge);
  }
  const binCounts = new Array<number>(binEdges.length + 1).fill(0);
  let bin = 0;
  for (let i = 0; i < count; i++) {
    const v = sorted[i]!;
    while (bin < binEdges.length && binEdges[bin]! <= v) bin++;
    binCounts[bin]! += 1;
  }
  let sample: number[];
  if (count <= sampleSize) {
    sample = Array.from(sorted);
  } else {
    // Reservoir sampling (Algorithm R) in row order, seeded per feature so profiles are
    // reproducible and one feature's sample does not depend on which other columns exist.
    const random = createRandomSource(seedRandom(`${String(seed)}:${name}`));
    const reservoir = values.slice(0, sampleSize);
    for (let i = sampleSize; i < count; i++) {
      const j = random.integer(i + 1);
      if (j < sampleSize) reservoir[j] = values[i]!;
    }
    sample = Array.from(reservoir.sort());
  }
  return {
    name,
    kind: 'numeric',
    count,
    missing,
    mean,
    std,
    min,
    max,
    binEdges,
    binShares: binCounts.map((c) => c / count),
    sample,
  };
}

/** Counts per category of a column; missing values (null, undefined, NaN) counted apart. */
export function countCategories(column: ArrayLike<unknown>): { counts: Map<string, number>; missing: number } {
  const counts = new Map<string, number>();
  let missing = 0;
  for (let i = 0; i < column.length; i++) {
    const key = categoryKey(column[i]);
    if (key === null) missing++;
    else counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return { counts, missing };
}

function categoricalProfile(name: string, column: ArrayLike<unknown>): CategoricalFeatureProfile {
  const { counts, missing } = countCategories(column);
  const entries = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return {
    name,
    kind: 'categorical',
    count: column.length - missing,
    missing,
    categories: entries.map((e) => e[0]),
    counts: entries.map((e) => e[1]),
  };
}

/**
 * Profiles every column of the reference data. The result is plain JSON: store it with the model
 * version and pass it to detectDrift.
 */
export function buildReferenceProfile(columns: Columns, options: ProfileOptions = {}): StatsResult<{ readonly profile: ReferenceProfile }> {
  const bins = options.bins ?? 10;
  const sampleSize = options.sampleSize ?? 1000;
  const seed = options.seed ?? 'sluice';
  const categorical = options.categorical ?? [];
  if (!isCount(bins) || bins < 2 || bins > 1000) return fail('invalid_input', `bins must be an integer from 2 to 1000 (got ${String(bins)})`);
  if (!isCount(sampleSize) || sampleSize < 10 || sampleSize > 1_000_000) {
    return fail('invalid_input', `sampleSize must be an integer from 10 to 1,000,000 (got ${String(sampleSize)})`);
  }
  if (typeof seed !== 'string' && !(typeof seed === 'number' && Number.isFinite(seed))) return fail('invalid_input', 'seed must be a string or a finite number');
  if (columns === null || typeof columns !== 'object') return fail('invalid_input', 'columns must be an object of named columns');
  const names = Object.keys(columns);
  if (names.length === 0) return fail('insufficient_data', 'no columns to profile');
  if (options.prediction !== undefined && !names.includes(options.prediction)) {
    return fail('invalid_input', `prediction column ${options.prediction} is not among the columns`);
  }
  const unknown = categorical.find((name) => !names.includes(name));
  if (unknown !== undefined) return fail('invalid_input', `categorical column ${unknown} is not among the columns`);
  let rows = -1;
  const features: FeatureProfile[] = [];
  let prediction: FeatureProfile | null = null;
  for (const name of names) {
    const column = columns[name];
    const kind = columnKind(column, categorical.includes(name));
    if (kind === null || column === undefined) {
      return fail('invalid_input', `column ${name} must be a Float64Array, Float32Array or an array of numbers or of strings`);
    }
    if (rows === -1) rows = column.length;
    else if (column.length !== rows) return fail('invalid_input', `column ${name} has ${column.length} rows, others have ${rows}`);
    const profile =
      kind === 'numeric'
        ? numericProfile(name, column as ArrayLike<number | null | undefined>, bins, sampleSize, seed)
        : categoricalProfile(name, column);
    if (name === options.prediction) prediction = profile;
    else features.push(profile);
  }
  if (rows === 0) return fail('insufficient_data', 'the reference has no rows');
  return succeed({ profile: { version: 1, rows, bins, sampleSize, seed, features, prediction } });
}
