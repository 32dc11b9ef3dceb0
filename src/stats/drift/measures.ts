// Distribution-shift measures between a reference and a current sample. detectDrift uses these on
// profiles; they are exported for reports and tests on raw samples.
import { chiSquareSf } from '../distributions.js';
import { fail, isFiniteNumber, succeed, type StatsResult } from '../result.js';
import { compareWithSortedSample, indexSortedSample } from './compare.js';
import { ksTwoSamplePValue, type KsMethod } from './ks.js';

/** Share used in place of an empty bin so PSI's logarithm stays finite (Evidently's 0.0001). */
export const DEFAULT_PSI_FLOOR = 1e-4;

export interface KsResult {
  readonly statistic: number;
  readonly pValue: number;
  readonly method: 'exact' | 'asymptotic';
}

export interface ChiSquareResult {
  readonly statistic: number;
  readonly degreesOfFreedom: number;
  readonly pValue: number;
}

function toSortedFinite(values: ArrayLike<number>, label: string): StatsResult<{ readonly sorted: Float64Array }> {
  if (values === null || typeof values !== 'object' || typeof values.length !== 'number') {
    return fail('invalid_input', `${label} must be an array of numbers`);
  }
  if (values.length === 0) return fail('insufficient_data', `${label} is empty`);
  const sorted = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!isFiniteNumber(v)) return fail('invalid_input', `${label}[${i}] is ${String(v)}; every value must be a finite number`);
    sorted[i] = v;
  }
  sorted.sort();
  return succeed({ sorted });
}

/** Two-sample, two-sided Kolmogorov–Smirnov test (scipy.stats.ks_2samp). */
export function ksTwoSample(reference: ArrayLike<number>, current: ArrayLike<number>, method: KsMethod = 'auto'): StatsResult<KsResult> {
  const a = toSortedFinite(reference, 'reference');
  if (!a.ok) return a;
  const b = toSortedFinite(current, 'current');
  if (!b.ok) return b;
  const comparison = compareWithSortedSample(indexSortedSample(a.sorted, new Float64Array(0)), b.sorted);
  return succeed(ksTwoSamplePValue(comparison.ksStatistic, a.sorted.length, b.sorted.length, method));
}

/** Wasserstein-1 (earth mover's) distance between two samples (scipy.stats.wasserstein_distance). */
export function wassersteinDistance(reference: ArrayLike<number>, current: ArrayLike<number>): StatsResult<{ readonly distance: number }> {
  const a = toSortedFinite(reference, 'reference');
  if (!a.ok) return a;
  const b = toSortedFinite(current, 'current');
  if (!b.ok) return b;
  return succeed({ distance: compareWithSortedSample(indexSortedSample(a.sorted, new Float64Array(0)), b.sorted).wasserstein });
}

function checkShares(values: ArrayLike<number>, label: string): string | null {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!isFiniteNumber(v) || v < 0) return `${label}[${i}] is ${String(v)}; shares and counts must be finite and non-negative`;
  }
  return null;
}

/**
 * Population stability index Σ (a − e) ln(a / e) over matching bins of expected (reference) and
 * actual (current) shares. An empty bin's share is replaced by `floor`, as Evidently does.
 */
export function psiFromShares(
  expected: ArrayLike<number>,
  actual: ArrayLike<number>,
  floor: number = DEFAULT_PSI_FLOOR,
): StatsResult<{ readonly psi: number }> {
  if (expected.length !== actual.length || expected.length === 0) {
    return fail('invalid_input', 'expected and actual shares must be non-empty and of the same length');
  }
  const problem = checkShares(expected, 'expected') ?? checkShares(actual, 'actual');
  if (problem) return fail('invalid_input', problem);
  if (!(floor > 0 && floor < 1)) return fail('invalid_input', `floor must be in (0, 1) (got ${floor})`);
  return succeed({ psi: psiUnchecked(expected, actual, floor) });
}

export function psiUnchecked(expected: ArrayLike<number>, actual: ArrayLike<number>, floor: number): number {
  let psi = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]! === 0 ? floor : expected[i]!;
    const a = actual[i]! === 0 ? floor : actual[i]!;
    psi += (a - e) * Math.log(a / e);
  }
  return psi;
}

/**
 * Jensen–Shannon distance with base-2 logarithms (scipy.spatial.distance.jensenshannon(p, q, 2)):
 * the square root of the JS divergence, in [0, 1]. Inputs are counts or shares; each is normalised.
 */
export function jensenShannonDistance(p: ArrayLike<number>, q: ArrayLike<number>): StatsResult<{ readonly distance: number }> {
  if (p.length !== q.length || p.length === 0) return fail('invalid_input', 'p and q must be non-empty and of the same length');
  const problem = checkShares(p, 'p') ?? checkShares(q, 'q');
  if (problem) return fail('invalid_input', problem);
  let sumP = 0;
  let sumQ = 0;
  for (let i = 0; i < p.length; i++) {
    sumP += p[i]!;
    sumQ += q[i]!;
  }
  if (!(sumP > 0) || !(sumQ > 0)) return fail('insufficient_data', 'p and q must each have a positive total');
  return succeed({ distance: jensenShannonUnchecked(p, q, sumP, sumQ) });
}

export function jensenShannonUnchecked(p: ArrayLike<number>, q: ArrayLike<number>, sumP: number, sumQ: number): number {
  let divergence = 0;
  for (let i = 0; i < p.length; i++) {
    const a = p[i]! / sumP;
    const b = q[i]! / sumQ;
    const mid = (a + b) / 2;
    if (a > 0) divergence += a * Math.log(a / mid);
    if (b > 0) divergence += b * Math.log(b / mid);
  }
  return Math.sqrt(Math.max(0, divergence / 2 / Math.LN2));
}

/**
 * Chi-square test of homogeneity between reference and current category counts (the 2 × k
 * contingency table, as scipy.stats.chi2_contingency without continuity correction). Both samples
 * are treated as samples: a reference of 2,000 rows is not a population. Categories absent from
 * both are dropped.
 */
export function chiSquareHomogeneity(
  referenceCounts: ArrayLike<number>,
  currentCounts: ArrayLike<number>,
): StatsResult<ChiSquareResult> {
  if (referenceCounts.length !== currentCounts.length) return fail('invalid_input', 'reference and current counts must have the same length');
  const problem = checkShares(referenceCounts, 'referenceCounts') ?? checkShares(currentCounts, 'currentCounts');
  if (problem) return fail('invalid_input', problem);
  let referenceTotal = 0;
  let currentTotal = 0;
  let categories = 0;
  for (let i = 0; i < referenceCounts.length; i++) {
    referenceTotal += referenceCounts[i]!;
    currentTotal += currentCounts[i]!;
    if (referenceCounts[i]! + currentCounts[i]! > 0) categories++;
  }
  if (!(referenceTotal > 0) || !(currentTotal > 0)) return fail('insufficient_data', 'reference and current must each have at least one count');
  if (categories < 2) return fail('insufficient_data', 'at least two observed categories are needed');
  const total = referenceTotal + currentTotal;
  let statistic = 0;
  for (let i = 0; i < referenceCounts.length; i++) {
    const column = referenceCounts[i]! + currentCounts[i]!;
    if (column === 0) continue;
    const expectedReference = (referenceTotal * column) / total;
    const expectedCurrent = (currentTotal * column) / total;
    const dr = referenceCounts[i]! - expectedReference;
    const dc = currentCounts[i]! - expectedCurrent;
    statistic += (dr * dr) / expectedReference + (dc * dc) / expectedCurrent;
  }
  const degreesOfFreedom = categories - 1;
  return succeed({ statistic, degreesOfFreedom, pValue: chiSquareSf(statistic, degreesOfFreedom) });
}
