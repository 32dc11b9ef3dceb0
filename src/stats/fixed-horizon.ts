// Fixed-horizon tests: valid once, at a sample size chosen in advance. Reports show them next to
// the sequential result, and the simulations use them to show what peeking at them costs. They
// never drive a rollout decision; the always-valid test in sequential.ts does.
import { normalQuantile, normalTwoSidedP, studentTQuantile, studentTTwoSidedP } from './distributions.js';
import { checkOpenUnit, fail, stripOk, succeed, type StatsResult } from './result.js';
import { armMoments, isBinarySummary, type ArmMoments, type MetricSummary } from './summary.js';

export interface FixedHorizonOptions {
  /** Two-sided significance level; the interval has coverage 1 − alpha. Default 0.05. */
  readonly alpha?: number;
}

export type Interval = readonly [lower: number, upper: number];

export interface WelchTTestResult {
  readonly control: ArmMoments;
  readonly treatment: ArmMoments;
  /** mean(treatment) − mean(control). */
  readonly effect: number;
  readonly standardError: number;
  readonly t: number;
  /** Welch–Satterthwaite degrees of freedom. */
  readonly degreesOfFreedom: number;
  /** Two-sided p-value. */
  readonly pValue: number;
  readonly alpha: number;
  /** Interval for the effect with coverage 1 − alpha. */
  readonly confidenceInterval: Interval;
}

export interface TwoProportionTestResult {
  readonly control: ArmMoments;
  readonly treatment: ArmMoments;
  /** rate(treatment) − rate(control). */
  readonly effect: number;
  readonly pooledRate: number;
  /** Standard error under the null (pooled rate), used for z. */
  readonly standardError: number;
  readonly z: number;
  /** z², the Pearson chi-square of the 2×2 table without continuity correction. */
  readonly chiSquare: number;
  /** Two-sided p-value. */
  readonly pValue: number;
  readonly alpha: number;
  /** Wald interval for the effect (unpooled standard error) with coverage 1 − alpha. */
  readonly confidenceInterval: Interval;
}

export interface RelativeLiftResult {
  /** mean(treatment) / mean(control) − 1. */
  readonly lift: number;
  /** Delta-method standard error of the lift. */
  readonly standardError: number;
  readonly alpha: number;
  readonly confidenceInterval: Interval;
}

function resolveAlpha(options: FixedHorizonOptions): StatsResult<{ readonly alpha: number }> {
  const alpha = options.alpha ?? 0.05;
  const bad = checkOpenUnit(alpha, 'alpha');
  return bad ?? succeed({ alpha });
}

// A binary summary is the continuous summary of 0/1 values; this keeps the t-test's sample
// variance (n − 1) rather than p(1 − p), matching a t-test run on the raw outcomes.
function asContinuous(summary: MetricSummary): MetricSummary {
  if (!isBinarySummary(summary)) return summary;
  return { n: summary.n, sum: summary.successes, sumSquares: summary.successes };
}

/**
 * Wilson score interval for a proportion (successes out of n), coverage 1 − alpha: how the
 * simulations report a false-positive rate or power. Returns [0, 1] when n is 0.
 */
export function proportionInterval(successes: number, n: number, alpha = 0.05): Interval {
  if (!(n > 0)) return [0, 1];
  const z = normalQuantile(1 - alpha / 2);
  const p = successes / n;
  const z2n = (z * z) / n;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2n / (4 * n))) / (1 + z2n);
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/**
 * Welch's unequal-variance t-test of treatment − control. Meant for continuous summaries; a binary
 * summary is read as its 0/1 outcomes.
 */
export function welchTTest(
  control: MetricSummary,
  treatment: MetricSummary,
  options: FixedHorizonOptions = {},
): StatsResult<WelchTTestResult> {
  const level = resolveAlpha(options);
  if (!level.ok) return level;
  const a = armMoments(asContinuous(control), 'control', 2);
  if (!a.ok) return a;
  const b = armMoments(asContinuous(treatment), 'treatment', 2);
  if (!b.ok) return b;
  const varianceOfMeanA = a.variance / a.n;
  const varianceOfMeanB = b.variance / b.n;
  const varianceOfEffect = varianceOfMeanA + varianceOfMeanB;
  if (!(varianceOfEffect > 0)) {
    return fail('zero_variance', 'both arms have zero variance: every observation is identical, so no standard error exists');
  }
  const standardError = Math.sqrt(varianceOfEffect);
  const effect = b.mean - a.mean;
  const t = effect / standardError;
  const degreesOfFreedom =
    (varianceOfEffect * varianceOfEffect) /
    ((varianceOfMeanA * varianceOfMeanA) / (a.n - 1) + (varianceOfMeanB * varianceOfMeanB) / (b.n - 1));
  const margin = studentTQuantile(1 - level.alpha / 2, degreesOfFreedom) * standardError;
  return succeed({
    control: stripOk(a),
    treatment: stripOk(b),
    effect,
    standardError,
    t,
    degreesOfFreedom,
    pValue: studentTTwoSidedP(t, degreesOfFreedom),
    alpha: level.alpha,
    confidenceInterval: [effect - margin, effect + margin] as const,
  });
}

/** Two-proportion z-test of treatment − control with the pooled standard error. */
export function twoProportionZTest(
  control: MetricSummary,
  treatment: MetricSummary,
  options: FixedHorizonOptions = {},
): StatsResult<TwoProportionTestResult> {
  const level = resolveAlpha(options);
  if (!level.ok) return level;
  if (!isBinarySummary(control) || !isBinarySummary(treatment)) {
    return fail('invalid_input', 'the two-proportion test needs binary summaries {n, successes} for both arms');
  }
  const a = armMoments(control, 'control', 1);
  if (!a.ok) return a;
  const b = armMoments(treatment, 'treatment', 1);
  if (!b.ok) return b;
  const pooledRate = (control.successes + treatment.successes) / (control.n + treatment.n);
  const nullVariance = pooledRate * (1 - pooledRate) * (1 / a.n + 1 / b.n);
  if (!(nullVariance > 0)) {
    return fail('zero_variance', `every unit in both arms has the same outcome (pooled rate ${pooledRate})`);
  }
  const effect = b.mean - a.mean;
  const standardError = Math.sqrt(nullVariance);
  const z = effect / standardError;
  const margin = normalQuantile(1 - level.alpha / 2) * Math.sqrt(a.variance / a.n + b.variance / b.n);
  return succeed({
    control: stripOk(a),
    treatment: stripOk(b),
    effect,
    pooledRate,
    standardError,
    z,
    chiSquare: z * z,
    pValue: normalTwoSidedP(z),
    alpha: level.alpha,
    confidenceInterval: [effect - margin, effect + margin] as const,
  });
}

/**
 * Relative lift of treatment over control with a delta-method interval:
 * Var(m_B/m_A) ≈ σ²_B/(n_B m_A²) + m_B² σ²_A/(n_A m_A⁴), the arms being independent.
 */
export function relativeLift(
  control: MetricSummary,
  treatment: MetricSummary,
  options: FixedHorizonOptions = {},
): StatsResult<RelativeLiftResult> {
  const level = resolveAlpha(options);
  if (!level.ok) return level;
  const a = armMoments(control, 'control');
  if (!a.ok) return a;
  const b = armMoments(treatment, 'treatment');
  if (!b.ok) return b;
  if (a.mean === 0) {
    return fail('zero_baseline', 'the control mean is 0, so a relative lift is undefined; use the absolute effect');
  }
  const ratio = b.mean / a.mean;
  const variance = b.variance / (b.n * a.mean * a.mean) + (ratio * ratio * a.variance) / (a.n * a.mean * a.mean);
  if (!(variance > 0)) {
    return fail('zero_variance', 'both arms have zero variance, so the lift has no standard error');
  }
  const standardError = Math.sqrt(variance);
  const lift = ratio - 1;
  const margin = normalQuantile(1 - level.alpha / 2) * standardError;
  return succeed({ lift, standardError, alpha: level.alpha, confidenceInterval: [lift - margin, lift + margin] as const });
}
