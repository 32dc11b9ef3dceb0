// Normal, Student t and chi-square distributions: the one home for CDFs, tails and quantiles.
// Tails come from special.ts so that p-values keep their relative accuracy far out (a z of 25 has
// p ≈ 1e-138, and the decision record shows it). Quantiles start from jstat's inverse where jstat
// has one (good to about 1e-8) and are polished by a bracketed Newton iteration on the accurate CDF.
import jStat from 'jstat';
import { logGamma, logRegularizedGammaQ, regularizedBeta, regularizedGammaP, regularizedGammaQ } from './special.js';

const LOG_HALF = Math.log(0.5);
const INV_SQRT_TWO_PI = 1 / Math.sqrt(2 * Math.PI);

// ---------------------------------------------------------------------------------------------
// Normal

export function normalPdf(z: number): number {
  return INV_SQRT_TWO_PI * Math.exp(-0.5 * z * z);
}

/** P(Z > z). Uses erfc(x) = Q(1/2, x²), so the upper tail keeps full relative precision. */
export function normalSf(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  const half = 0.5 * regularizedGammaQ(0.5, 0.5 * z * z);
  return z >= 0 ? half : 1 - half;
}

/** P(Z ≤ z). */
export function normalCdf(z: number): number {
  return normalSf(-z);
}

/** ln P(Z ≤ z), finite far into the lower tail where the CDF itself underflows. */
export function logNormalCdf(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  if (z < 0) return LOG_HALF + logRegularizedGammaQ(0.5, 0.5 * z * z);
  return Math.log1p(-normalSf(z));
}

/** Two-sided p-value of a z statistic: P(|Z| ≥ |z|). */
export function normalTwoSidedP(z: number): number {
  return Math.min(1, 2 * normalSf(Math.abs(z)));
}

/** The p-quantile of the standard normal (Φ⁻¹(p)); ±Infinity at 0 and 1. */
export function normalQuantile(p: number): number {
  if (Number.isNaN(p) || p < 0 || p > 1) return Number.NaN;
  if (p === 0) return Number.NEGATIVE_INFINITY;
  if (p === 1) return Number.POSITIVE_INFINITY;
  if (p === 0.5) return 0;
  const q = p < 0.5 ? p : 1 - p;
  // Abramowitz & Stegun 26.2.23 (|error| < 4.5e-4) as the start, then Halley steps on the exact
  // upper tail: the error shrinks cubically, so two or three steps reach double precision.
  const t = Math.sqrt(-2 * Math.log(q));
  let x = t - (2.515517 + t * (0.802853 + t * 0.010328)) / (1 + t * (1.432788 + t * (0.189269 + t * 0.001308)));
  for (let i = 0; i < 8; i++) {
    const density = normalPdf(x);
    if (density === 0) break;
    const w = (normalSf(x) - q) / density;
    const step = w / (1 - (x * w) / 2);
    x += step;
    if (Math.abs(step) <= 1e-16 * Math.abs(x)) break;
  }
  return p < 0.5 ? -x : x;
}

// ---------------------------------------------------------------------------------------------
// Student t

function checkDegrees(df: number): boolean {
  return df > 0 && !Number.isNaN(df);
}

// P(|T| ≥ |t|) = I_{ν/(ν+t²)}(ν/2, 1/2), with both x and 1 − x formed without cancellation.
function studentTTwoTail(t: number, df: number): number {
  if (!Number.isFinite(df)) return normalTwoSidedP(t);
  const t2 = t * t;
  if (t2 === Number.POSITIVE_INFINITY) return 0;
  const denominator = df + t2;
  return Math.min(1, regularizedBeta(df / denominator, df / 2, 0.5, t2 / denominator));
}

/** Two-sided p-value of a t statistic with `df` degrees of freedom. */
export function studentTTwoSidedP(t: number, df: number): number {
  if (Number.isNaN(t) || !checkDegrees(df)) return Number.NaN;
  return studentTTwoTail(t, df);
}

/** P(T > t). */
export function studentTSf(t: number, df: number): number {
  if (Number.isNaN(t) || !checkDegrees(df)) return Number.NaN;
  const half = 0.5 * studentTTwoTail(t, df);
  return t >= 0 ? half : 1 - half;
}

/** P(T ≤ t). */
export function studentTCdf(t: number, df: number): number {
  return studentTSf(-t, df);
}

export function studentTPdf(t: number, df: number): number {
  if (!Number.isFinite(df)) return normalPdf(t);
  const logDensity =
    logGamma((df + 1) / 2) - logGamma(df / 2) - 0.5 * Math.log(df * Math.PI) - ((df + 1) / 2) * Math.log1p((t * t) / df);
  return Math.exp(logDensity);
}

/** The p-quantile of Student's t with `df` degrees of freedom. */
export function studentTQuantile(p: number, df: number): number {
  if (Number.isNaN(p) || p < 0 || p > 1 || !checkDegrees(df)) return Number.NaN;
  if (p === 0) return Number.NEGATIVE_INFINITY;
  if (p === 1) return Number.POSITIVE_INFINITY;
  if (p === 0.5) return 0;
  if (!Number.isFinite(df)) return normalQuantile(p);
  const q = p < 0.5 ? p : 1 - p; // upper-tail probability of |quantile|
  let start: number;
  if (df >= 20) {
    // Cornish–Fisher expansion around the normal quantile (Abramowitz & Stegun 26.7.5): already
    // close to double precision for large df, where jstat's inverse costs many beta evaluations.
    const z = normalQuantile(1 - q);
    const z2 = z * z;
    const g1 = (z * (z2 + 1)) / 4;
    const g2 = (z * ((5 * z2 + 16) * z2 + 3)) / 96;
    const g3 = (z * (((3 * z2 + 19) * z2 + 17) * z2 - 15)) / 384;
    const g4 = (z * ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945)) / 92160;
    start = z + (g1 + (g2 + (g3 + g4 / df) / df) / df) / df;
  } else {
    start = Math.abs(jStat.studentt.inv(1 - q, df));
  }
  if (!Number.isFinite(start) || start <= 0) start = Math.max(normalQuantile(1 - q), 1e-3);
  const x = solveIncreasing((v) => q - studentTSf(v, df), (v) => studentTPdf(v, df), start, 0, Number.POSITIVE_INFINITY);
  return p < 0.5 ? -x : x;
}

// ---------------------------------------------------------------------------------------------
// Chi-square

/** P(X > x) for X ~ χ²(k): the p-value of a chi-square statistic. */
export function chiSquareSf(x: number, k: number): number {
  if (Number.isNaN(x) || !(k > 0)) return Number.NaN;
  if (x <= 0) return 1;
  return regularizedGammaQ(k / 2, x / 2);
}

/** P(X ≤ x) for X ~ χ²(k). */
export function chiSquareCdf(x: number, k: number): number {
  if (Number.isNaN(x) || !(k > 0)) return Number.NaN;
  if (x <= 0) return 0;
  return regularizedGammaP(k / 2, x / 2);
}

export function chiSquarePdf(x: number, k: number): number {
  if (x <= 0) return 0;
  const half = k / 2;
  return Math.exp((half - 1) * Math.log(x) - x / 2 - half * Math.LN2 - logGamma(half));
}

/** The p-quantile of χ²(k). */
export function chiSquareQuantile(p: number, k: number): number {
  if (Number.isNaN(p) || p < 0 || p > 1 || !(k > 0)) return Number.NaN;
  if (p === 0) return 0;
  if (p === 1) return Number.POSITIVE_INFINITY;
  let start = jStat.chisquare.inv(p, k);
  if (!Number.isFinite(start) || start <= 0) start = k;
  const g = p <= 0.5 ? (v: number) => chiSquareCdf(v, k) - p : (v: number) => 1 - p - chiSquareSf(v, k);
  return solveIncreasing(g, (v) => chiSquarePdf(v, k), start, 0, Number.POSITIVE_INFINITY);
}

// ---------------------------------------------------------------------------------------------

/**
 * Root of an increasing function g on (lower, upper) from a good start: Newton steps, with
 * bisection (or outward doubling toward an infinite bound) whenever a step leaves the bracket.
 */
function solveIncreasing(
  g: (x: number) => number,
  slope: (x: number) => number,
  start: number,
  lower: number,
  upper: number,
): number {
  let a = lower;
  let b = upper;
  let x = start;
  for (let i = 0; i < 200; i++) {
    const value = g(x);
    if (value === 0) return x;
    if (value < 0) a = x;
    else b = x;
    const derivative = slope(x);
    let next = derivative > 0 ? x - value / derivative : Number.NaN;
    if (!(next > a && next < b)) {
      if (Number.isFinite(b)) next = (a + b) / 2;
      else next = x + Math.max(Math.abs(x), 1);
    }
    if (Math.abs(next - x) <= 4e-16 * Math.abs(next) || b - a <= 4e-16 * Math.abs(next)) return next;
    x = next;
  }
  return x;
}
