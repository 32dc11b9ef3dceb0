// Sample size of a fixed-horizon test, so a policy can show how long an experiment will take
// before it starts. The sequential test usually stops sooner on a real effect and needs somewhat
// more on a marginal one; bench/stats.ts reports both against this figure.
import { normalQuantile } from './distributions.js';
import { checkOpenUnit, checkPositive, fail, isFiniteNumber, succeed, type StatsResult } from './result.js';

interface SampleSizeCommon {
  /** Significance level. Default 0.05. */
  readonly alpha?: number;
  /** Probability of detecting an effect of exactly the MDE. Default 0.8. */
  readonly power?: number;
  /** Share of units sent to treatment. Default 0.5. */
  readonly treatmentShare?: number;
  /** Default two_sided. */
  readonly alternative?: 'two_sided' | 'one_sided';
  /** Whether the MDE is a fraction of the baseline (0.05 = +5%) or in metric units. Default relative. */
  readonly effectType?: 'relative' | 'absolute';
  /** Units entering the experiment per day (both arms), to express the size as a duration. */
  readonly unitsPerDay?: number;
}

export interface BinarySampleSizeInput extends SampleSizeCommon {
  readonly metric: 'binary';
  /** Conversion rate of the control, in (0, 1). */
  readonly baselineRate: number;
  readonly minimumDetectableEffect: number;
}

export interface ContinuousSampleSizeInput extends SampleSizeCommon {
  readonly metric: 'continuous';
  readonly baselineMean: number;
  /** Per-unit standard deviation, assumed equal in both arms. */
  readonly standardDeviation: number;
  readonly minimumDetectableEffect: number;
}

export type SampleSizeInput = BinarySampleSizeInput | ContinuousSampleSizeInput;

export interface SampleSizeResult {
  readonly control: number;
  readonly treatment: number;
  readonly total: number;
  /** The MDE in metric units (treatment − control). */
  readonly absoluteEffect: number;
  readonly alpha: number;
  readonly power: number;
  /** total / unitsPerDay, when unitsPerDay was given. */
  readonly expectedDays: number | null;
}

/**
 * Units per arm for a fixed-horizon test to reach `power` at the MDE:
 *   continuous  N = (z_α + z_β)² σ² (1/w_A + 1/w_B) / δ²
 *   binary      N = (z_α sqrt(p̄(1−p̄)(1/w_A + 1/w_B)) + z_β sqrt(p_A(1−p_A)/w_A + p_B(1−p_B)/w_B))² / δ²
 * (the pooled variance under H0, the unpooled one under H1, p̄ = w_A p_A + w_B p_B; with an even
 * split this is the textbook two-proportion formula). Each arm is rounded up.
 */
export function fixedHorizonSampleSize(input: SampleSizeInput): StatsResult<SampleSizeResult> {
  const alpha = input.alpha ?? 0.05;
  const power = input.power ?? 0.8;
  const share = input.treatmentShare ?? 0.5;
  const alternative = input.alternative ?? 'two_sided';
  const effectType = input.effectType ?? 'relative';
  const bad =
    checkOpenUnit(alpha, 'alpha') ??
    checkOpenUnit(power, 'power') ??
    checkOpenUnit(share, 'treatmentShare') ??
    (input.unitsPerDay === undefined ? null : checkPositive(input.unitsPerDay, 'unitsPerDay'));
  if (bad) return bad;
  if (alternative !== 'two_sided' && alternative !== 'one_sided') return fail('invalid_input', `alternative must be two_sided or one_sided`);
  if (effectType !== 'relative' && effectType !== 'absolute') return fail('invalid_input', `effectType must be relative or absolute`);
  if (!isFiniteNumber(input.minimumDetectableEffect) || input.minimumDetectableEffect === 0) {
    return fail('invalid_input', `minimumDetectableEffect must be a finite non-zero number (got ${String(input.minimumDetectableEffect)})`);
  }
  const zAlpha = normalQuantile(alternative === 'two_sided' ? 1 - alpha / 2 : 1 - alpha);
  const zBeta = normalQuantile(power);
  const wA = 1 - share;
  const wB = share;
  let total: number;
  let absoluteEffect: number;
  if (input.metric === 'binary') {
    const rateA = input.baselineRate;
    if (!isFiniteNumber(rateA) || rateA <= 0 || rateA >= 1) {
      return fail('invalid_input', `baselineRate must be strictly between 0 and 1 (got ${String(rateA)})`);
    }
    absoluteEffect = effectType === 'relative' ? rateA * input.minimumDetectableEffect : input.minimumDetectableEffect;
    const rateB = rateA + absoluteEffect;
    if (!(rateB > 0 && rateB < 1)) {
      return fail('invalid_input', `baseline ${rateA} with this MDE gives a treatment rate of ${rateB}, outside (0, 1)`);
    }
    const pooled = wA * rateA + wB * rateB;
    const nullSd = Math.sqrt(pooled * (1 - pooled) * (1 / wA + 1 / wB));
    const altSd = Math.sqrt((rateA * (1 - rateA)) / wA + (rateB * (1 - rateB)) / wB);
    const root = zAlpha * nullSd + zBeta * altSd;
    total = (root * root) / (absoluteEffect * absoluteEffect);
  } else if (input.metric === 'continuous') {
    const { baselineMean, standardDeviation } = input;
    if (!isFiniteNumber(baselineMean)) return fail('invalid_input', `baselineMean must be finite (got ${String(baselineMean)})`);
    const sdBad = checkPositive(standardDeviation, 'standardDeviation');
    if (sdBad) return sdBad;
    if (effectType === 'relative' && baselineMean === 0) {
      return fail('zero_baseline', 'a relative MDE needs a non-zero baselineMean; give the MDE as absolute');
    }
    absoluteEffect = effectType === 'relative' ? baselineMean * input.minimumDetectableEffect : input.minimumDetectableEffect;
    const z = zAlpha + zBeta;
    total = (z * z * standardDeviation * standardDeviation * (1 / wA + 1 / wB)) / (absoluteEffect * absoluteEffect);
  } else {
    return fail('invalid_input', `metric must be binary or continuous`);
  }
  // The tolerance keeps an exact integer that picked up rounding error from gaining a unit.
  const control = Math.ceil(wA * total - 1e-9);
  const treatment = Math.ceil(wB * total - 1e-9);
  return succeed({
    control,
    treatment,
    total: control + treatment,
    absoluteEffect,
    alpha,
    power,
    expectedDays: input.unitsPerDay === undefined ? null : (control + treatment) / input.unitsPerDay,
  });
}
