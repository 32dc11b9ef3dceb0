// Always-valid inference: the normal-mixture sequential probability ratio test (mSPRT) of
// Johari, Pekelis & Walsh ("Always valid inference", 2017), the family Optimizely and GrowthBook
// run. Its p-value and confidence sequence stay valid however often the workflow looks, which a
// fixed-horizon test does not (see the A/A simulations in bench/stats.ts).
//
// With per-arm variance estimates, V = σ²_A/n_A + σ²_B/n_B is the variance of the effect estimate
// θ̂ = mean_B − mean_A. Mixing the likelihood ratio of θ against θ₀ over θ ~ N(θ₀, τ²) gives
//     Λ = sqrt(V / (V + τ²)) · exp(τ² (θ̂ − θ₀)² / (2 V (V + τ²))),
// a nonnegative martingale under H0, so by Ville's inequality P(sup Λ ≥ 1/α) ≤ α. The always-valid
// p-value is the running minimum of min(1, 1/Λ) over looks: the minimum is state the workflow
// carries from look to look (SequentialState), in and out of this function as plain JSON.
import { logNormalCdf } from './distributions.js';
import { checkOpenUnit, checkPositive, fail, isCount, isFiniteNumber, stripOk, succeed, type StatsResult } from './result.js';
import { armMoments, type ArmMoments, type MetricSummary } from './summary.js';

/**
 * `two_sided`: H1 θ ≠ θ₀. `greater`: H1 θ > θ₀. `less`: H1 θ < θ₀. The one-sided forms mix over a
 * half-normal (θ on one side of θ₀ only), which multiplies Λ by 2Φ(±(θ̂ − θ₀)τ / sqrt(V(V + τ²))).
 * Guardrails use them: "no worse than −δ" is rejected when `less` than −δ is proven.
 */
export type SequentialAlternative = 'two_sided' | 'greater' | 'less';

export const DEFAULT_EXPECTED_SAMPLE_SIZE = 5000;

export interface SequentialOptions {
  /** Significance level, default 0.05. */
  readonly alpha?: number;
  /** Mixing variance τ² in squared effect units. When absent it is derived from expectedSampleSize. */
  readonly tau2?: number;
  /** N*: the total sample (both arms) at which the confidence sequence is tightest. Default 5,000. */
  readonly expectedSampleSize?: number;
  readonly alternative?: SequentialAlternative;
  /** θ₀, the effect under the null hypothesis. Default 0. */
  readonly nullEffect?: number;
}

/** What the workflow carries between looks of one test. Plain JSON. */
export interface SequentialState {
  readonly looks: number;
  /** Running minimum of min(1, 1/Λ): the always-valid p-value so far (1 before the first look). */
  readonly minPValue: number;
}

export interface ConfidenceSequence {
  /** null where the one-sided test leaves the bound open (−∞). */
  readonly lower: number | null;
  /** null where the one-sided test leaves the bound open (+∞). */
  readonly upper: number | null;
}

export interface SequentialResult {
  readonly control: ArmMoments;
  readonly treatment: ArmMoments;
  /** θ̂ = mean(treatment) − mean(control). */
  readonly effect: number;
  /** V, the variance of θ̂. */
  readonly variance: number;
  readonly standardError: number;
  readonly tau2: number;
  readonly nullEffect: number;
  readonly alternative: SequentialAlternative;
  readonly alpha: number;
  /** ln Λ at this look (Λ itself overflows for large effects; its log does not). */
  readonly logLikelihoodRatio: number;
  /** min(1, 1/Λ) at this look alone. */
  readonly pValueThisLook: number;
  /** The always-valid p-value: the minimum over this and every earlier look. */
  readonly pValue: number;
  /** Always-valid confidence sequence for θ at level 1 − alpha, at this look. */
  readonly confidenceSequence: ConfidenceSequence;
  /** pValue < alpha. */
  readonly significant: boolean;
  readonly state: SequentialState;
}

export function initialSequentialState(): SequentialState {
  return { looks: 0, minPValue: 1 };
}

/**
 * GrowthBook's parameterisation (gbstats `sequential_rho`, eq. 161 of Waudby-Smith et al. 2023,
 * "Time-uniform central limit theory and asymptotic confidence sequences"): the mixing parameter
 *     ρ² = (−2 ln α + ln(1 − 2 ln α)) / N*
 * makes the confidence sequence narrowest when the total sample is N*. GrowthBook's interval is
 * written on the per-unit scale (s² = N·V with N = n_A + n_B); on the effect scale used here that
 * is a mixing variance τ² = ρ² · N · V, and substituting it in the formula for the confidence
 * sequence below reproduces GrowthBook's width exactly. N·V is the per-unit variance of the
 * design, nearly constant across looks, so τ² is in effect fixed by the policy.
 */
export function mixingVarianceFromSampleSize(
  expectedSampleSize: number,
  alpha: number,
  totalSampleSize: number,
  varianceOfEffect: number,
): number {
  const logAlpha = Math.log(alpha);
  const rhoSquared = (-2 * logAlpha + Math.log(1 - 2 * logAlpha)) / expectedSampleSize;
  return rhoSquared * totalSampleSize * varianceOfEffect;
}

/** ln Λ for a deviation d = θ̂ − θ₀. */
export function mixtureLogLikelihoodRatio(
  deviation: number,
  variance: number,
  tau2: number,
  alternative: SequentialAlternative = 'two_sided',
): number {
  const sum = variance + tau2;
  const twoSided = 0.5 * Math.log(variance / sum) + (tau2 * deviation * deviation) / (2 * variance * sum);
  if (alternative === 'two_sided') return twoSided;
  const scaled = (deviation * Math.sqrt(tau2)) / Math.sqrt(variance * sum);
  return Math.LN2 + logNormalCdf(alternative === 'greater' ? scaled : -scaled) + twoSided;
}

/**
 * Half-width of the two-sided confidence sequence:
 *     sqrt(V (V + τ²) / τ² · (2 ln(1/α) + ln((V + τ²) / V))),
 * the set of θ₀ whose Λ stays below 1/α.
 */
export function confidenceSequenceHalfWidth(variance: number, tau2: number, alpha: number): number {
  const sum = variance + tau2;
  return Math.sqrt(((variance * sum) / tau2) * (-2 * Math.log(alpha) + Math.log(sum / variance)));
}

// The one-sided bound: the deviation d* ≥ 0 with ln Λ_one-sided(d*) = ln(1/α). ln Λ is increasing
// in d (x + φ(x)/Φ(x) > 0), negative at 0 and ≥ ln(1/α) at the two-sided half-width, so bisect.
function oneSidedMargin(variance: number, tau2: number, alpha: number): number {
  const target = -Math.log(alpha);
  let low = 0;
  let high = confidenceSequenceHalfWidth(variance, tau2, alpha);
  for (let i = 0; i < 200 && high - low > 1e-15 * high; i++) {
    const mid = 0.5 * (low + high);
    if (mixtureLogLikelihoodRatio(mid, variance, tau2, 'greater') < target) low = mid;
    else high = mid;
  }
  return high;
}

function validState(state: SequentialState): boolean {
  return (
    state !== null &&
    typeof state === 'object' &&
    isCount(state.looks) &&
    isFiniteNumber(state.minPValue) &&
    state.minPValue >= 0 &&
    state.minPValue <= 1
  );
}

/**
 * One look of the mSPRT of treatment − control. Pass the state returned by the previous look
 * (or nothing at the first) and keep the returned `state` for the next one.
 */
export function sequentialTest(
  control: MetricSummary,
  treatment: MetricSummary,
  options: SequentialOptions = {},
  state: SequentialState = initialSequentialState(),
): StatsResult<SequentialResult> {
  const alpha = options.alpha ?? 0.05;
  const alternative = options.alternative ?? 'two_sided';
  const nullEffect = options.nullEffect ?? 0;
  const expectedSampleSize = options.expectedSampleSize ?? DEFAULT_EXPECTED_SAMPLE_SIZE;
  const bad =
    checkOpenUnit(alpha, 'alpha') ??
    (options.tau2 === undefined ? checkPositive(expectedSampleSize, 'expectedSampleSize') : checkPositive(options.tau2, 'tau2'));
  if (bad) return bad;
  if (alternative !== 'two_sided' && alternative !== 'greater' && alternative !== 'less') {
    return fail('invalid_input', `alternative must be two_sided, greater or less (got ${String(alternative)})`);
  }
  if (!isFiniteNumber(nullEffect)) return fail('invalid_input', `nullEffect must be finite (got ${String(nullEffect)})`);
  if (!validState(state)) {
    return fail('invalid_input', 'state must be {looks: non-negative integer, minPValue: number in [0, 1]} from the previous look');
  }
  const a = armMoments(control, 'control');
  if (!a.ok) return a;
  const b = armMoments(treatment, 'treatment');
  if (!b.ok) return b;
  const variance = a.variance / a.n + b.variance / b.n;
  if (!(variance > 0)) {
    return fail('zero_variance', 'both arms have zero variance: every observation is identical, so the test cannot weigh the difference');
  }
  const effect = b.mean - a.mean;
  const tau2 = options.tau2 ?? mixingVarianceFromSampleSize(expectedSampleSize, alpha, a.n + b.n, variance);
  const logLikelihoodRatio = mixtureLogLikelihoodRatio(effect - nullEffect, variance, tau2, alternative);
  const pValueThisLook = Math.min(1, Math.exp(-logLikelihoodRatio));
  const pValue = Math.min(state.minPValue, pValueThisLook);
  let confidenceSequence: ConfidenceSequence;
  if (alternative === 'two_sided') {
    const half = confidenceSequenceHalfWidth(variance, tau2, alpha);
    confidenceSequence = { lower: effect - half, upper: effect + half };
  } else {
    const margin = oneSidedMargin(variance, tau2, alpha);
    confidenceSequence = alternative === 'greater' ? { lower: effect - margin, upper: null } : { lower: null, upper: effect + margin };
  }
  return succeed({
    control: stripOk(a),
    treatment: stripOk(b),
    effect,
    variance,
    standardError: Math.sqrt(variance),
    tau2,
    nullEffect,
    alternative,
    alpha,
    logLikelihoodRatio,
    pValueThisLook,
    pValue,
    confidenceSequence,
    significant: pValue < alpha,
    state: { looks: state.looks + 1, minPValue: pValue },
  });
}
