// Every SciPy golden vector, at the tolerances of the issue: 1e-6 relative, 1e-4 for p-values below
// 1e-10 and for exact KS p-values, and "below 1e-300" where SciPy underflowed to 0.
import { describe, expect, it } from 'vitest';
import {
  chiSquareCdf,
  chiSquareHomogeneity,
  chiSquareQuantile,
  jensenShannonDistance,
  ksTwoSample,
  normalCdf,
  normalQuantile,
  psiFromShares,
  sampleRatioMismatch,
  studentTCdf,
  studentTQuantile,
  twoProportionZTest,
  wassersteinDistance,
  welchTTest,
} from '../../../src/stats/index.js';
import { expectPValue, expectRelative, golden } from './golden.js';

describe('golden vectors from SciPy', () => {
  it('covers every section of the fixture', () => {
    expect(golden.source).toMatch(/scipy/);
    for (const section of [
      golden.welch_t_test_b_minus_a,
      golden.two_proportion_test,
      golden.srm_chi_square,
      golden.ks_two_sample_and_wasserstein,
      golden.categorical_chi_square_and_js,
      golden.psi_from_shares,
      golden.quantiles,
    ]) {
      expect(section.length).toBeGreaterThan(0);
    }
  });

  it('Welch t-test: t, df, two-sided p and the 95% interval for B − A', () => {
    golden.welch_t_test_b_minus_a.forEach((c, i) => {
      const result = welchTTest(
        { n: c.a.n, sum: c.a.sum, sumSquares: c.a.sum_squares },
        { n: c.b.n, sum: c.b.sum, sumSquares: c.b.sum_squares },
        { alpha: 0.05 },
      );
      if (!result.ok) throw new Error(result.message);
      expectRelative(result.t, c.t, 1e-6, `welch[${i}].t`);
      expectRelative(result.degreesOfFreedom, c.df, 1e-6, `welch[${i}].df`);
      expectPValue(result.pValue, c.p_two_sided, `welch[${i}].p`);
      expectRelative(result.confidenceInterval[0], c.diff_ci95[0], 1e-6, `welch[${i}].ci.lower`);
      expectRelative(result.confidenceInterval[1], c.diff_ci95[1], 1e-6, `welch[${i}].ci.upper`);
    });
  });

  it('two-proportion z-test (pooled): chi-square = z² and two-sided p', () => {
    golden.two_proportion_test.forEach((c, i) => {
      const result = twoProportionZTest(c.a, c.b);
      if (!result.ok) throw new Error(result.message);
      expectRelative(result.chiSquare, c.chi2, 1e-6, `prop[${i}].chi2`);
      expectPValue(result.pValue, c.p_two_sided_pooled_z, `prop[${i}].p`);
    });
  });

  it('sample-ratio mismatch: chi-square goodness of fit', () => {
    golden.srm_chi_square.forEach((c, i) => {
      const result = sampleRatioMismatch(c.observed, c.expected_weights);
      if (!result.ok) throw new Error(result.message);
      expectRelative(result.chiSquare, c.chi2, 1e-6, `srm[${i}].chi2`);
      expect(result.degreesOfFreedom).toBe(c.observed.length - 1);
      expectPValue(result.pValue, c.p, `srm[${i}].p`);
      expect(result.mismatch).toBe(c.p < 0.001);
    });
  });

  it('two-sample KS: D, exact and asymptotic p, and method auto choosing exact for small samples', () => {
    golden.ks_two_sample_and_wasserstein.forEach((c, i) => {
      const exact = ksTwoSample(c.a, c.b, 'exact');
      const asymptotic = ksTwoSample(c.a, c.b, 'asymptotic');
      const auto = ksTwoSample(c.a, c.b);
      if (!exact.ok || !asymptotic.ok || !auto.ok) throw new Error(`ks[${i}] failed`);
      expectRelative(exact.statistic, c.D, 1e-6, `ks[${i}].D (exact)`);
      expectRelative(asymptotic.statistic, c.D, 1e-6, `ks[${i}].D (asymptotic)`);
      expectPValue(exact.pValue, c.p_exact, `ks[${i}].p_exact`, true);
      expectPValue(asymptotic.pValue, c.p_asymptotic, `ks[${i}].p_asymptotic`);
      expect(exact.method).toBe('exact');
      expect(asymptotic.method).toBe('asymptotic');
      expect(auto.method).toBe('exact');
      expect(auto.pValue).toBe(exact.pValue);
      // The statistic is symmetric in the two samples.
      const swapped = ksTwoSample(c.b, c.a, 'exact');
      if (!swapped.ok) throw new Error(swapped.message);
      expectPValue(swapped.pValue, c.p_exact, `ks[${i}].p_exact swapped`, true);
    });
  });

  it('Wasserstein-1 distance', () => {
    golden.ks_two_sample_and_wasserstein.forEach((c, i) => {
      const forward = wassersteinDistance(c.a, c.b);
      const backward = wassersteinDistance(c.b, c.a);
      if (!forward.ok || !backward.ok) throw new Error(`wasserstein[${i}] failed`);
      expectRelative(forward.distance, c.wasserstein_1, 1e-6, `wasserstein[${i}]`);
      expectRelative(backward.distance, c.wasserstein_1, 1e-6, `wasserstein[${i}] swapped`);
    });
  });

  it('categorical chi-square (2 × k homogeneity) and Jensen–Shannon distance (base 2)', () => {
    golden.categorical_chi_square_and_js.forEach((c, i) => {
      const chi = chiSquareHomogeneity(c.reference_counts, c.current_counts);
      const js = jensenShannonDistance(c.reference_counts, c.current_counts);
      if (!chi.ok || !js.ok) throw new Error(`categorical[${i}] failed`);
      expectRelative(chi.statistic, c.chi2, 1e-6, `categorical[${i}].chi2`);
      expect(chi.degreesOfFreedom).toBe(c.dof);
      expectPValue(chi.pValue, c.p, `categorical[${i}].p`);
      expectRelative(js.distance, c.jensen_shannon_distance_base2, 1e-6, `categorical[${i}].js`);
    });
  });

  it('PSI from bin shares', () => {
    golden.psi_from_shares.forEach((c, i) => {
      const result = psiFromShares(c.expected_share, c.actual_share);
      if (!result.ok) throw new Error(result.message);
      expectRelative(result.psi, c.psi, 1e-6, `psi[${i}]`);
    });
  });

  it('quantiles of the normal, t(5), t(30), chi-square(1) and chi-square(3) distributions, and their inverses', () => {
    for (const q of golden.quantiles) {
      const cases: [number, number, (x: number) => number, string][] = [
        [normalQuantile(q.p), q.normal, normalCdf, 'normal'],
        [studentTQuantile(q.p, 5), q.t_df_5, (x) => studentTCdf(x, 5), 't5'],
        [studentTQuantile(q.p, 30), q.t_df_30, (x) => studentTCdf(x, 30), 't30'],
        [chiSquareQuantile(q.p, 1), q.chi2_df_1, (x) => chiSquareCdf(x, 1), 'chi2(1)'],
        [chiSquareQuantile(q.p, 3), q.chi2_df_3, (x) => chiSquareCdf(x, 3), 'chi2(3)'],
      ];
      for (const [actual, expected, cdf, name] of cases) {
        expectRelative(actual, expected, 1e-6, `${name} quantile at ${q.p}`);
        expectRelative(cdf(expected), q.p, 1e-9, `${name} cdf at its ${q.p} quantile`);
      }
      // Symmetric distributions: the lower quantile is the negated upper one.
      expectRelative(normalQuantile(1 - q.p), -q.normal, 1e-6, `normal quantile at ${1 - q.p}`);
      expectRelative(studentTQuantile(1 - q.p, 5), -q.t_df_5, 1e-6, `t5 quantile at ${1 - q.p}`);
    }
  });
});
