// Sample-ratio mismatch: are units split across arms the way the traffic weights say? A mismatch
// means assignment or logging is broken (a crashing variant, a bot filter on one side, a sticky-
// hash bug), so no effect estimate from the experiment can be trusted. Chi-square goodness of fit
// against the configured weights, flagged at p < 0.001 (GrowthBook and Optimizely's threshold:
// the check runs at every look, so it must be strict to avoid false alarms).
import { chiSquareSf } from './distributions.js';
import { checkOpenUnit, fail, isCount, isFiniteNumber, succeed, type StatsResult } from './result.js';

export interface SrmOptions {
  /** Flag a mismatch below this p-value. Default 0.001. */
  readonly pValueThreshold?: number;
  /** Below this many units in any arm the check is not run (insufficient_data). Default 8. */
  readonly minUnitsPerArm?: number;
}

export interface SrmResult {
  readonly chiSquare: number;
  readonly degreesOfFreedom: number;
  readonly pValue: number;
  /** Units expected per arm under the weights. */
  readonly expected: readonly number[];
  readonly observedShares: readonly number[];
  readonly pValueThreshold: number;
  readonly mismatch: boolean;
}

/** Weights must sum to 1 within this; looser sums are a configuration error, not rounding. */
const WEIGHT_SUM_TOLERANCE = 1e-6;

/** Chi-square goodness-of-fit test of the observed units per arm against the traffic weights. */
export function sampleRatioMismatch(
  observed: readonly number[],
  weights: readonly number[],
  options: SrmOptions = {},
): StatsResult<SrmResult> {
  const pValueThreshold = options.pValueThreshold ?? 0.001;
  const minUnitsPerArm = options.minUnitsPerArm ?? 8;
  const bad = checkOpenUnit(pValueThreshold, 'pValueThreshold');
  if (bad) return bad;
  if (!isCount(minUnitsPerArm)) return fail('invalid_input', `minUnitsPerArm must be a non-negative integer (got ${String(minUnitsPerArm)})`);
  if (!Array.isArray(observed) || !Array.isArray(weights) || observed.length !== weights.length || observed.length < 2) {
    return fail('invalid_input', 'observed and weights must be arrays of the same length, with at least two arms');
  }
  let weightSum = 0;
  for (const w of weights) {
    if (!isFiniteNumber(w) || w <= 0) return fail('invalid_input', `every weight must be a finite number above 0 (got ${String(w)})`);
    weightSum += w;
  }
  if (Math.abs(weightSum - 1) > WEIGHT_SUM_TOLERANCE) {
    return fail('invalid_input', `weights must sum to 1 (they sum to ${weightSum})`);
  }
  let total = 0;
  for (const count of observed) {
    if (!isCount(count)) return fail('invalid_input', `observed units must be non-negative integers (got ${String(count)})`);
    total += count;
  }
  const smallest = Math.min(...observed);
  if (smallest < minUnitsPerArm) {
    return fail('insufficient_data', `an arm has ${smallest} units; the check needs at least ${minUnitsPerArm} in every arm`);
  }
  let chiSquare = 0;
  const expected = weights.map((w) => total * w);
  for (let i = 0; i < observed.length; i++) {
    const deviation = observed[i]! - expected[i]!;
    chiSquare += (deviation * deviation) / expected[i]!;
  }
  const degreesOfFreedom = observed.length - 1;
  const pValue = chiSquareSf(chiSquare, degreesOfFreedom);
  return succeed({
    chiSquare,
    degreesOfFreedom,
    pValue,
    expected,
    observedShares: observed.map((count) => count / total),
    pValueThreshold,
    mismatch: pValue < pValueThreshold,
  });
}
