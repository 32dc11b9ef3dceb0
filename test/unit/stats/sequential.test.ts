import { describe, expect, it } from 'vitest';
import {
  confidenceSequenceHalfWidth,
  createRandomSource,
  initialSequentialState,
  mergeContinuous,
  mixingVarianceFromSampleSize,
  mixtureLogLikelihoodRatio,
  normalCdf,
  proportionInterval,
  seedRandom,
  sequentialTest,
  simulateContinuousBatch,
  welchTTest,
  type ContinuousSummary,
  type SequentialState,
} from '../../../src/stats/index.js';

const control: ContinuousSummary = { n: 400, sum: 400 * 10, sumSquares: 400 * 100 + 399 * 4 }; // mean 10, variance 4
const treatment: ContinuousSummary = { n: 380, sum: 380 * 10.4, sumSquares: 380 * 10.4 ** 2 + 379 * 5 }; // mean 10.4, variance 5

describe('mSPRT (normal mixture)', () => {
  it('computes Λ = sqrt(V/(V+τ²)) · exp(τ²θ̂²/(2V(V+τ²))) and p = min(1, 1/Λ)', () => {
    const result = sequentialTest(control, treatment, { tau2: 0.05 });
    if (!result.ok) throw new Error(result.message);
    const V = 4 / 400 + 5 / 380;
    const theta = 0.4;
    const lambda = Math.sqrt(V / (V + 0.05)) * Math.exp((0.05 * theta * theta) / (2 * V * (V + 0.05)));
    expect(result.variance).toBeCloseTo(V, 14);
    expect(result.effect).toBeCloseTo(theta, 12);
    expect(Math.exp(result.logLikelihoodRatio)).toBeCloseTo(lambda, 10);
    expect(result.pValueThisLook).toBeCloseTo(Math.min(1, 1 / lambda), 12);
    const half = Math.sqrt(((V * (V + 0.05)) / 0.05) * (2 * Math.log(1 / 0.05) + Math.log((V + 0.05) / V)));
    expect(result.confidenceSequence.lower).toBeCloseTo(theta - half, 12);
    expect(result.confidenceSequence.upper).toBeCloseTo(theta + half, 12);
  });

  it('derives τ² from N* the way GrowthBook does: its confidence-sequence width is reproduced', () => {
    const alpha = 0.05;
    const nStar = 5000;
    const V = 4 / 400 + 5 / 380;
    const N = 780;
    const tau2 = mixingVarianceFromSampleSize(nStar, alpha, N, V);
    // gbstats: rho² = (−2 ln α + ln(−2 ln α + 1)) / N*; width = sqrt(s²)·sqrt(2(Nρ²+1) ln(sqrt(Nρ²+1)/α) / (Nρ)²), s² = V·N.
    const rho2 = (-2 * Math.log(alpha) + Math.log(-2 * Math.log(alpha) + 1)) / nStar;
    const growthBookWidth = Math.sqrt(V * N) * Math.sqrt((2 * (N * rho2 + 1) * Math.log(Math.sqrt(N * rho2 + 1) / alpha)) / (N * N * rho2));
    expect(confidenceSequenceHalfWidth(V, tau2, alpha)).toBeCloseTo(growthBookWidth, 12);
    const result = sequentialTest(control, treatment, { alpha, expectedSampleSize: nStar });
    if (!result.ok) throw new Error(result.message);
    expect(result.tau2).toBeCloseTo(tau2, 14);
    expect(result.confidenceSequence.upper! - result.effect).toBeCloseTo(growthBookWidth, 12);
    // The default is N* = 5,000.
    const byDefault = sequentialTest(control, treatment);
    if (!byDefault.ok) throw new Error(byDefault.message);
    expect(byDefault.tau2).toBe(result.tau2);
  });

  it('carries the running minimum p-value as plain JSON state between looks', () => {
    let state: SequentialState = initialSequentialState();
    const strong = sequentialTest(control, treatment, { tau2: 0.05 }, state);
    if (!strong.ok) throw new Error(strong.message);
    state = JSON.parse(JSON.stringify(strong.state)) as SequentialState;
    expect(state).toEqual({ looks: 1, minPValue: strong.pValueThisLook });
    const weak = sequentialTest(control, { n: 380, sum: 380 * 10, sumSquares: 380 * 100 + 379 * 5 }, { tau2: 0.05 }, state);
    if (!weak.ok) throw new Error(weak.message);
    expect(weak.pValueThisLook).toBeGreaterThan(strong.pValueThisLook);
    expect(weak.pValue).toBe(strong.pValueThisLook);
    expect(weak.state.looks).toBe(2);
  });

  it('is antisymmetric in the arms', () => {
    const forward = sequentialTest(control, treatment, { tau2: 0.05 });
    const backward = sequentialTest(treatment, control, { tau2: 0.05 });
    if (!forward.ok || !backward.ok) throw new Error('failed');
    expect(backward.effect).toBeCloseTo(-forward.effect, 12);
    expect(backward.pValue).toBeCloseTo(forward.pValue, 14);
  });

  it('one-sided variants: half-normal mixture, bound where Λ = 1/α, tighter than two-sided', () => {
    const V = 0.02;
    const tau2 = 0.03;
    for (const d of [-0.3, -0.05, 0, 0.1, 0.4]) {
      const two = mixtureLogLikelihoodRatio(d, V, tau2, 'two_sided');
      const greater = mixtureLogLikelihoodRatio(d, V, tau2, 'greater');
      const less = mixtureLogLikelihoodRatio(d, V, tau2, 'less');
      const scaled = (d * Math.sqrt(tau2)) / Math.sqrt(V * (V + tau2));
      expect(Math.exp(greater)).toBeCloseTo(2 * normalCdf(scaled) * Math.exp(two), 10);
      expect(greater).toBeCloseTo(mixtureLogLikelihoodRatio(-d, V, tau2, 'less'), 12);
      expect(Number.isFinite(less)).toBe(true);
    }
    const result = sequentialTest(control, treatment, { tau2: 0.05, alternative: 'greater', nullEffect: 0.1 });
    const twoSided = sequentialTest(control, treatment, { tau2: 0.05 });
    if (!result.ok || !twoSided.ok) throw new Error('failed');
    expect(result.confidenceSequence.upper).toBeNull();
    const lower = result.confidenceSequence.lower!;
    expect(lower).toBeGreaterThan(twoSided.confidenceSequence.lower!);
    expect(mixtureLogLikelihoodRatio(result.effect - lower, result.variance, 0.05, 'greater')).toBeCloseTo(Math.log(1 / 0.05), 9);
    const less = sequentialTest(control, treatment, { tau2: 0.05, alternative: 'less' });
    if (!less.ok) throw new Error(less.message);
    expect(less.confidenceSequence.lower).toBeNull();
    expect(less.pValue).toBe(1); // a clearly positive effect is no evidence that it is negative
  });

  it('codes bad input: alpha, τ², N*, state, zero variance, empty arms', () => {
    const constant: ContinuousSummary = { n: 10, sum: 30, sumSquares: 90 };
    const cases: [ReturnType<typeof sequentialTest>, string][] = [
      [sequentialTest(control, treatment, { alpha: 0 }), 'invalid_input'],
      [sequentialTest(control, treatment, { tau2: -1 }), 'invalid_input'],
      [sequentialTest(control, treatment, { expectedSampleSize: Number.NaN }), 'invalid_input'],
      [sequentialTest(control, treatment, { nullEffect: Number.POSITIVE_INFINITY }), 'invalid_input'],
      [sequentialTest(control, treatment, {}, { looks: 1, minPValue: 2 }), 'invalid_input'],
      [sequentialTest(control, treatment, {}, { looks: -1, minPValue: 0.5 }), 'invalid_input'],
      [sequentialTest(constant, constant), 'zero_variance'],
      [sequentialTest({ n: 0, sum: 0, sumSquares: 0 }, treatment), 'insufficient_data'],
      [sequentialTest({ n: 0, successes: 0 }, { n: 10, successes: 3 }), 'insufficient_data'],
      [sequentialTest(control, { n: 10, sum: Number.NaN, sumSquares: 1 }), 'invalid_input'],
    ];
    for (const [result, code] of cases) expect(result.ok ? 'ok' : result.code).toBe(code);
  });
});

describe('A/A simulation with a look after every batch', () => {
  // 400 experiments, looks after every 100 users per arm up to 5,000 per arm (50 looks). The
  // bench runs the full 2,000 × 200-look version.
  const runs = 400;
  const looks = 50;
  const batch = 100;
  const alpha = 0.05;

  function simulate(): { sequential: number; fixed: number } {
    const source = createRandomSource(seedRandom('unit-aa'));
    let sequentialRejections = 0;
    let fixedRejections = 0;
    for (let run = 0; run < runs; run++) {
      let a: ContinuousSummary = { n: 0, sum: 0, sumSquares: 0 };
      let b: ContinuousSummary = { n: 0, sum: 0, sumSquares: 0 };
      let state = initialSequentialState();
      let sequentialRejected = false;
      let fixedRejected = false;
      for (let look = 0; look < looks; look++) {
        a = mergeContinuous(a, simulateContinuousBatch(source, batch, 5, 2));
        b = mergeContinuous(b, simulateContinuousBatch(source, batch, 5, 2));
        const s = sequentialTest(a, b, { alpha }, state);
        if (!s.ok) throw new Error(s.message);
        state = s.state;
        if (s.significant) sequentialRejected = true;
        const f = welchTTest(a, b, { alpha });
        if (!f.ok) throw new Error(f.message);
        if (f.pValue < alpha) fixedRejected = true;
      }
      if (sequentialRejected) sequentialRejections++;
      if (fixedRejected) fixedRejections++;
    }
    return { sequential: sequentialRejections, fixed: fixedRejections };
  }

  it('keeps the mSPRT false-positive rate at or below alpha, while peeking at a fixed-horizon test inflates it', () => {
    const { sequential, fixed } = simulate();
    const [sequentialLow] = proportionInterval(sequential, runs);
    const [fixedLow] = proportionInterval(fixed, runs);
    // FPR ≤ α within its 95% Wilson interval; peeking rejects far more often than α.
    expect(sequentialLow).toBeLessThanOrEqual(alpha);
    expect(sequential / runs).toBeLessThanOrEqual(alpha);
    expect(fixedLow).toBeGreaterThan(alpha);
  });
});
