// Loads test/fixtures/golden-stats.json (vectors computed with SciPy) and the tolerance rules the
// golden tests share. Numbers are never retyped from the file.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';

interface ContinuousArm {
  n: number;
  sum: number;
  sum_squares: number;
}
interface BinaryArm {
  n: number;
  successes: number;
}

export interface Golden {
  source: string;
  welch_t_test_b_minus_a: { a: ContinuousArm; b: ContinuousArm; t: number; df: number; p_two_sided: number; diff_ci95: [number, number] }[];
  two_proportion_test: { a: BinaryArm; b: BinaryArm; chi2: number; p_two_sided_pooled_z: number }[];
  srm_chi_square: { observed: number[]; expected_weights: number[]; chi2: number; p: number }[];
  ks_two_sample_and_wasserstein: { a: number[]; b: number[]; D: number; p_asymptotic: number; p_exact: number; wasserstein_1: number }[];
  categorical_chi_square_and_js: {
    reference_counts: number[];
    current_counts: number[];
    chi2: number;
    dof: number;
    p: number;
    jensen_shannon_distance_base2: number;
  }[];
  psi_from_shares: { expected_share: number[]; actual_share: number[]; psi: number }[];
  quantiles: { p: number; normal: number; t_df_5: number; t_df_30: number; chi2_df_1: number; chi2_df_3: number }[];
}

export const golden = JSON.parse(readFileSync(new URL('../../fixtures/golden-stats.json', import.meta.url), 'utf8')) as Golden;

/** Relative error within `tolerance`; an expected 0 must come back as exactly 0. */
export function expectRelative(actual: number, expected: number, tolerance = 1e-6, label = ''): void {
  expect(Number.isFinite(actual), `${label}: ${actual} is not finite`).toBe(true);
  if (expected === 0) {
    expect(actual, label).toBe(0);
    return;
  }
  const error = Math.abs(actual / expected - 1);
  expect(error, `${label}: got ${actual}, expected ${expected} (relative error ${error})`).toBeLessThanOrEqual(tolerance);
}

/**
 * p-values: 1e-6 relative, 1e-4 below 1e-10 or for exact KS; an expected 0 (SciPy underflow)
 * accepts anything below 1e-300.
 */
export function expectPValue(actual: number, expected: number, label = '', exact = false): void {
  expect(actual >= 0 && actual <= 1, `${label}: ${actual} is not a probability`).toBe(true);
  if (expected === 0) {
    expect(actual, label).toBeLessThan(1e-300);
    return;
  }
  expectRelative(actual, expected, exact || expected < 1e-10 ? 1e-4 : 1e-6, label);
}
