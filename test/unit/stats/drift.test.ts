import { describe, expect, it } from 'vitest';
import {
  benjaminiHochberg,
  bonferroni,
  buildReferenceProfile,
  createRandomSource,
  detectDrift,
  kolmogorovSmirnovSf,
  ksTwoSample,
  ksTwoSamplePValue,
  seedRandom,
  wassersteinDistance,
  type Columns,
  type DriftReport,
  type NumericFeatureProfile,
  type ReferenceProfile,
  type StatsResult,
} from '../../../src/stats/index.js';
import { ComparisonWorkspace, compareWithSortedSample, indexSortedSample } from '../../../src/stats/drift/compare.js';

// Reference definitions, written the slow obvious way (scipy's): ECDFs evaluated at every point.
function upperBound(sorted: number[], x: number): number {
  let count = 0;
  while (count < sorted.length && sorted[count]! <= x) count++;
  return count;
}
function naiveKs(a: number[], b: number[]): number {
  const sa = [...a].sort((x, y) => x - y);
  const sb = [...b].sort((x, y) => x - y);
  let d = 0;
  for (const x of [...sa, ...sb]) d = Math.max(d, Math.abs(upperBound(sa, x) / sa.length - upperBound(sb, x) / sb.length));
  return d;
}
function naiveWasserstein(a: number[], b: number[]): number {
  const sa = [...a].sort((x, y) => x - y);
  const sb = [...b].sort((x, y) => x - y);
  const all = [...sa, ...sb].sort((x, y) => x - y);
  let area = 0;
  for (let i = 0; i + 1 < all.length; i++) {
    const x = all[i]!;
    area += Math.abs(upperBound(sa, x) / sa.length - upperBound(sb, x) / sb.length) * (all[i + 1]! - x);
  }
  return area;
}

function profiled(result: StatsResult<{ profile: ReferenceProfile }>): ReferenceProfile {
  if (!result.ok) throw new Error(`${result.code}: ${result.message}`);
  return result.profile;
}
function reported(result: StatsResult<DriftReport>): DriftReport {
  if (!result.ok) throw new Error(`${result.code}: ${result.message}`);
  return result;
}

const source = createRandomSource(seedRandom('drift-tests'));
function normals(n: number, mean = 0, sd = 1): Float64Array {
  return Float64Array.from({ length: n }, () => mean + sd * source.normal());
}
function categories(n: number, weights: number[]): string[] {
  return Array.from({ length: n }, () => {
    let u = source.uniform();
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i]!;
      if (u < 0) return `c${i}`;
    }
    return `c${weights.length - 1}`;
  });
}

describe('one-pass comparison against a sorted sample', () => {
  it('matches the merge definitions of KS D and Wasserstein-1, ties and all', () => {
    const workspace = new ComparisonWorkspace();
    const shapes: [string, () => number][] = [
      ['normal', () => source.normal()],
      ['integers (ties)', () => Math.floor(source.uniform() * 6)],
      ['skewed', () => Math.exp(2 * source.normal())],
      ['half constant', () => (source.uniform() < 0.5 ? 1 : source.normal())],
    ];
    for (const [name, draw] of shapes) {
      for (const [m, n] of [[1, 5], [7, 3], [60, 250], [300, 40], [200, 2000]] as const) {
        const reference = Array.from({ length: m }, draw);
        const current = Array.from({ length: n }, () => draw() + (n === 250 ? 0.3 : 0));
        const index = indexSortedSample(Float64Array.from(reference).sort(), new Float64Array(0));
        const result = compareWithSortedSample(index, current, workspace);
        expect(result.count).toBe(n);
        expect(result.ksStatistic, `${name} ${m}×${n} KS`).toBeCloseTo(naiveKs(reference, current), 12);
        const expected = naiveWasserstein(reference, current);
        expect(Math.abs(result.wasserstein - expected), `${name} ${m}×${n} W1`).toBeLessThanOrEqual(1e-9 * Math.max(1, expected));
      }
    }
  });

  it('skips NaN and infinite current values, counts them, and reads Float32Array columns', () => {
    const reference = Array.from(normals(200));
    const clean = Array.from(normals(300, 0.2));
    const dirty = [...clean, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
    const index = indexSortedSample(Float64Array.from(reference).sort(), new Float64Array([-0.5, 0, 0.5]));
    const result = compareWithSortedSample(index, dirty);
    expect(result.missing).toBe(3);
    expect(result.count).toBe(300);
    expect(result.ksStatistic).toBeCloseTo(naiveKs(reference, clean), 12);
    expect(Array.from(result.binCounts).reduce((a, b) => a + b, 0)).toBe(300);
    const single = Float32Array.from(clean);
    const fromSingle = compareWithSortedSample(index, single);
    expect(fromSingle.ksStatistic).toBeCloseTo(naiveKs(reference, Array.from(single)), 12);
  });

  it('codes bad raw samples', () => {
    expect(ksTwoSample([1, 2, Number.NaN], [1, 2]).ok).toBe(false);
    const empty = wassersteinDistance([], [1, 2]);
    expect(empty.ok ? 'ok' : empty.code).toBe('insufficient_data');
    const nan = wassersteinDistance([1, 2], [Number.NaN]);
    expect(nan.ok ? 'ok' : nan.code).toBe('invalid_input');
  });
});

describe('KS p-values', () => {
  it('chooses exact up to 10,000 values per sample and the asymptotic distribution beyond, as scipy auto does', () => {
    expect(ksTwoSamplePValue(0.05, 1000, 10_000).method).toBe('exact');
    expect(ksTwoSamplePValue(0.05, 1000, 10_001).method).toBe('asymptotic');
    const exact = ksTwoSamplePValue(0.05, 1000, 10_000);
    const asymptotic = ksTwoSamplePValue(0.05, 1000, 10_000, 'asymptotic');
    expect(Math.abs(exact.pValue - asymptotic.pValue)).toBeLessThan(0.01);
  });

  it('the one-sample tail is a decreasing probability', () => {
    for (const n of [5, 60, 140, 141, 990, 50_000]) {
      let previous = 1;
      for (let x = 0; x <= 1; x += 0.0125) {
        const p = kolmogorovSmirnovSf(n, x);
        expect(p >= 0 && p <= 1, `n=${n} x=${x}`).toBe(true);
        expect(p).toBeLessThanOrEqual(previous + 1e-12);
        previous = p;
      }
    }
  });
});

describe('reference profiles', () => {
  const reference: Columns = {
    age: normals(5000, 40, 12),
    income: Float32Array.from(normals(5000, 10, 2)),
    plan: categories(5000, [0.6, 0.3, 0.1]),
    score: normals(5000, 0.5, 0.1),
  };

  it('keeps quantile bins, moments and a bounded, seeded, sorted reservoir per numeric feature', () => {
    const profile = profiled(buildReferenceProfile(reference, { prediction: 'score', seed: 1 }));
    expect(profile.rows).toBe(5000);
    expect(profile.features.map((f) => f.name)).toEqual(['age', 'income', 'plan']);
    expect(profile.prediction?.name).toBe('score');
    const age = profile.features[0] as NumericFeatureProfile;
    expect(age.sample.length).toBe(1000);
    expect(age.sample).toEqual([...age.sample].sort((a, b) => a - b));
    expect(age.binEdges.length).toBe(9);
    expect(age.binShares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    for (const share of age.binShares) expect(share).toBeCloseTo(0.1, 2);
    expect(age.mean).toBeCloseTo(40, 0);
    expect(JSON.parse(JSON.stringify(profile))).toEqual(profile);
    const again = profiled(buildReferenceProfile(reference, { prediction: 'score', seed: 1 }));
    expect(again).toEqual(profile);
    const reseeded = profiled(buildReferenceProfile(reference, { prediction: 'score', seed: 2 }));
    expect((reseeded.features[0] as NumericFeatureProfile).sample).not.toEqual(age.sample);
    const plan = profile.features[2]!;
    expect(plan.kind).toBe('categorical');
    if (plan.kind === 'categorical') {
      expect(plan.categories[0]).toBe('c0');
      expect(plan.counts.reduce((a, b) => a + b, 0)).toBe(5000);
    }
  });

  it('keeps every value of a small reference and handles discrete and missing values', () => {
    const profile = profiled(buildReferenceProfile({ x: [3, 1, 2, 2, null, Number.NaN, 2, 2, 2, 2], k: ['a', null, 'b', 'a', 'a', 'a', 'b', 'a', 'a', 'a'] }));
    const x = profile.features[0] as NumericFeatureProfile;
    expect(x.count).toBe(8);
    expect(x.missing).toBe(2);
    expect(x.sample).toEqual([1, 2, 2, 2, 2, 2, 2, 3]);
    expect(new Set(x.binEdges).size).toBe(x.binEdges.length);
    expect(x.binShares.every((s) => s > 0)).toBe(true);
    expect(profile.features[1]!.missing).toBe(1);
  });

  it('codes bad input', () => {
    const cases: [ReturnType<typeof buildReferenceProfile>, string][] = [
      [buildReferenceProfile({}), 'insufficient_data'],
      [buildReferenceProfile({ a: [1, 2], b: [1] }), 'invalid_input'],
      [buildReferenceProfile({ a: [1, {}] as unknown as number[] }), 'invalid_input'],
      [buildReferenceProfile({ a: [1, 2] }, { bins: 1 }), 'invalid_input'],
      [buildReferenceProfile({ a: [1, 2] }, { prediction: 'b' }), 'invalid_input'],
      [buildReferenceProfile({ a: [] }), 'insufficient_data'],
    ];
    for (const [result, code] of cases) expect(result.ok ? 'ok' : result.code).toBe(code);
  });
});

describe('drift detection', () => {
  function table(rows: number, shift: number, planWeights: number[]): Columns {
    return {
      f0: normals(rows, shift),
      f1: normals(rows, 5 + shift * 2, 2),
      f2: Float32Array.from(normals(rows, shift)),
      f3: Array.from(normals(rows, shift)),
      plan: categories(rows, planWeights),
      prediction: normals(rows, 0.3 + shift * 0.1, 0.1),
    };
  }
  const large = profiled(buildReferenceProfile(table(4000, 0, [0.5, 0.3, 0.2]), { prediction: 'prediction' }));
  const small = profiled(buildReferenceProfile(table(800, 0, [0.5, 0.3, 0.2]), { prediction: 'prediction' }));

  it('does not flag a window from the reference distribution', () => {
    for (const profile of [large, small]) {
      const report = reported(detectDrift(profile, table(3000, 0, [0.5, 0.3, 0.2])));
      expect(report.dataset.drifted).toBe(false);
      expect(report.dataset.evaluatedFeatures).toBe(5);
      expect(report.dataset.driftedShare).toBeLessThan(0.5);
      expect(report.prediction?.drifted).toBe(false);
    }
  });

  it('flags an obvious shift in every feature and the dataset', () => {
    for (const profile of [large, small]) {
      const report = reported(detectDrift(profile, table(3000, 0.8, [0.2, 0.3, 0.5])));
      expect(report.dataset.drifted).toBe(true);
      expect(report.dataset.driftedFeatures).toEqual(['f0', 'f1', 'f2', 'f3', 'plan']);
      expect(report.prediction?.drifted).toBe(true);
      for (const f of report.features) expect(f.measures.psiLevel).toBe('drift');
    }
  });

  it('uses Evidently-style defaults: KS and chi-square up to 1,000 reference rows, Wasserstein and Jensen–Shannon beyond', () => {
    const smallReport = reported(detectDrift(small, table(500, 0, [0.5, 0.3, 0.2])));
    expect(smallReport.features.map((f) => f.method)).toEqual(['ks', 'ks', 'ks', 'ks', 'chi_square']);
    expect(smallReport.features[0]!.measures.ksMethod).toBe('exact');
    const largeReport = reported(detectDrift(large, table(500, 0, [0.5, 0.3, 0.2])));
    expect(largeReport.features.map((f) => f.method)).toEqual(['wasserstein', 'wasserstein', 'wasserstein', 'wasserstein', 'jensen_shannon']);
    expect(largeReport.features[0]!.threshold).toBe(0.1);
    const f0 = largeReport.features[0]!;
    expect(f0.measures.wassersteinNormed).toBeCloseTo(f0.measures.wasserstein! / (large.features[0] as NumericFeatureProfile).std, 12);
  });

  it('applies multiple-testing control, per-feature overrides and the dataset share threshold', () => {
    const window = table(600, 0.15, [0.5, 0.3, 0.2]);
    const none = reported(detectDrift(small, window, { multipleTesting: 'none' }));
    const bonf = reported(detectDrift(small, window, { multipleTesting: 'bonferroni' }));
    none.features.forEach((f, i) => {
      const g = bonf.features[i]!;
      expect(g.pValue).toBe(f.pValue);
      expect(g.adjustedPValue).toBeCloseTo(Math.min(1, f.pValue! * 5), 12);
    });
    const override = reported(detectDrift(small, window, { features: { f0: { method: 'psi', threshold: 0.001 }, plan: { method: 'jensen_shannon' } } }));
    expect(override.features[0]!.method).toBe('psi');
    expect(override.features[0]!.drifted).toBe(true);
    expect(override.features[4]!.method).toBe('jensen_shannon');
    const strict = reported(detectDrift(large, table(3000, 0.8, [0.5, 0.3, 0.2]), { datasetDriftShare: 1 }));
    expect(strict.dataset.driftedShare).toBe(0.8);
    expect(strict.dataset.drifted).toBe(false);
  });

  it('codes per-feature problems and keeps going', () => {
    const window: Columns = {
      f0: [Number.NaN, Number.NaN],
      f1: ['a', 'b'],
      f2: Float64Array.from([0.1, Number.NaN, 0.3]),
      plan: ['c0', 'c9', null],
    };
    const report = reported(detectDrift(small, window));
    const status = Object.fromEntries(report.features.map((f) => [f.feature, f.status]));
    expect(status).toEqual({ f0: 'insufficient_data', f1: 'invalid_input', f2: 'ok', f3: 'missing_column', plan: 'ok' });
    expect(report.features[2]!.currentMissing).toBe(1);
    expect(report.features[4]!.measures.newCategories).toEqual(['c9']);
    expect(report.prediction?.status).toBe('missing_column');
    expect(report.dataset.evaluatedFeatures).toBe(2);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('answers a malformed profile or config with invalid_input', () => {
    const window = table(100, 0, [0.5, 0.3, 0.2]);
    const cases = [
      detectDrift({ ...small, version: 2 } as unknown as ReferenceProfile, window),
      detectDrift({ ...small, features: [{ ...small.features[0]!, binShares: [] }] } as ReferenceProfile, window),
      detectDrift(small, window, { pValueThreshold: 2 }),
      detectDrift(small, window, { numericMethod: 'chi_square' as 'ks' }),
      detectDrift(small, window, { features: { plan: { method: 'ks' } } }),
      detectDrift(small, window, { datasetDriftShare: 0 }),
      detectDrift(small, null as unknown as Columns),
    ];
    for (const result of cases) expect(result.ok ? 'ok' : result.code).toBe('invalid_input');
  });
});

describe('multiple-testing adjustments', () => {
  it('Bonferroni multiplies by m; Benjamini–Hochberg matches its step-up definition', () => {
    const p = [0.01, 0.04, 0.03, 0.005, 0.2, 0.04];
    expect(bonferroni(p)).toEqual(p.map((v) => Math.min(1, v * 6)));
    const adjusted = benjaminiHochberg(p);
    // Definition: q_i = min over j with p_j ≥ p_i of m·p_j / rank(p_j).
    const sorted = [...p].sort((a, b) => a - b);
    p.forEach((pi, i) => {
      let q = 1;
      sorted.forEach((pj, j) => {
        if (pj >= pi) q = Math.min(q, (6 * pj) / (j + 1));
      });
      expect(adjusted[i]).toBeCloseTo(q, 14);
    });
  });
});
