import { describe, expect, it } from 'vitest';
import {
  createRandomSource,
  fixedHorizonSampleSize,
  proportionInterval,
  sampleRatioMismatch,
  seedRandom,
  simulateContinuousBatch,
  twoProportionZTest,
  welchTTest,
  type SampleSizeResult,
  type StatsResult,
} from '../../../src/stats/index.js';

function sized(result: StatsResult<SampleSizeResult>): SampleSizeResult {
  if (!result.ok) throw new Error(`${result.code}: ${result.message}`);
  return result;
}

describe('sample-ratio mismatch', () => {
  it('flags a real mismatch and passes a fair split', () => {
    const skewed = sampleRatioMismatch([5200, 4800], [0.5, 0.5]);
    const fair = sampleRatioMismatch([5030, 4970], [0.5, 0.5]);
    if (!skewed.ok || !fair.ok) throw new Error('srm failed');
    expect(skewed.mismatch).toBe(true);
    expect(fair.mismatch).toBe(false);
    expect(fair.expected).toEqual([5000, 5000]);
    expect(fair.observedShares[0]).toBeCloseTo(0.503, 12);
  });

  it('codes bad weights, bad counts and too few units', () => {
    const cases: [ReturnType<typeof sampleRatioMismatch>, string][] = [
      [sampleRatioMismatch([100, 100], [0.5, 0.6]), 'invalid_input'],
      [sampleRatioMismatch([100, 100], [0.5, Number.NaN]), 'invalid_input'],
      [sampleRatioMismatch([100, 100], [1, 0]), 'invalid_input'],
      [sampleRatioMismatch([100, 100, 100], [0.5, 0.5]), 'invalid_input'],
      [sampleRatioMismatch([100], [1]), 'invalid_input'],
      [sampleRatioMismatch([100, -3], [0.5, 0.5]), 'invalid_input'],
      [sampleRatioMismatch([100, 10.5], [0.5, 0.5]), 'invalid_input'],
      [sampleRatioMismatch([100, 7], [0.5, 0.5]), 'insufficient_data'],
      [sampleRatioMismatch([100, 100], [0.5, 0.5], { pValueThreshold: 0 }), 'invalid_input'],
    ];
    for (const [result, code] of cases) expect(result.ok ? 'ok' : result.code).toBe(code);
  });
});

describe('fixed-horizon sample size', () => {
  it('reaches the target power at the computed size (simulated, binary metric)', () => {
    const size = sized(fixedHorizonSampleSize({ metric: 'binary', baselineRate: 0.1, minimumDetectableEffect: 0.2 }));
    expect(size.absoluteEffect).toBeCloseTo(0.02, 15);
    const source = createRandomSource(seedRandom('power-binary'));
    const runs = 1500;
    let detected = 0;
    for (let r = 0; r < runs; r++) {
      const a = { n: size.control, successes: source.binomial(size.control, 0.1) };
      const b = { n: size.treatment, successes: source.binomial(size.treatment, 0.12) };
      const test = twoProportionZTest(a, b);
      if (test.ok && test.pValue < 0.05) detected++;
    }
    const [low, high] = proportionInterval(detected, runs, 0.01);
    expect(low).toBeLessThanOrEqual(0.8);
    expect(high).toBeGreaterThanOrEqual(0.8);
  });

  it('reaches the target power at the computed size (simulated, continuous metric)', () => {
    const size = sized(
      fixedHorizonSampleSize({ metric: 'continuous', baselineMean: 50, standardDeviation: 10, minimumDetectableEffect: 1, effectType: 'absolute', power: 0.9 }),
    );
    const source = createRandomSource(seedRandom('power-continuous'));
    const runs = 1500;
    let detected = 0;
    for (let r = 0; r < runs; r++) {
      const test = welchTTest(simulateContinuousBatch(source, size.control, 50, 10), simulateContinuousBatch(source, size.treatment, 51, 10));
      if (test.ok && test.pValue < 0.05) detected++;
    }
    const [low, high] = proportionInterval(detected, runs, 0.01);
    expect(low).toBeLessThanOrEqual(0.9);
    expect(high).toBeGreaterThanOrEqual(0.9);
  });

  it('scales as 1/MDE², penalises uneven splits and converts to days', () => {
    const base = { metric: 'continuous', baselineMean: 10, standardDeviation: 2, effectType: 'absolute' } as const;
    const wide = sized(fixedHorizonSampleSize({ ...base, minimumDetectableEffect: 0.4 }));
    const narrow = sized(fixedHorizonSampleSize({ ...base, minimumDetectableEffect: 0.2 }));
    expect(narrow.control / wide.control).toBeCloseTo(4, 1); // up to rounding each arm up
    const uneven = sized(fixedHorizonSampleSize({ ...base, minimumDetectableEffect: 0.4, treatmentShare: 0.2 }));
    expect(uneven.total).toBeGreaterThan(wide.total);
    expect(uneven.treatment).toBeLessThan(uneven.control);
    const days = sized(fixedHorizonSampleSize({ ...base, minimumDetectableEffect: 0.4, unitsPerDay: 100 }));
    expect(days.expectedDays).toBeCloseTo(days.total / 100, 12);
    expect(wide.expectedDays).toBeNull();
    const oneSided = sized(fixedHorizonSampleSize({ ...base, minimumDetectableEffect: 0.4, alternative: 'one_sided' }));
    expect(oneSided.total).toBeLessThan(wide.total);
  });

  it('codes impossible designs', () => {
    const cases: [ReturnType<typeof fixedHorizonSampleSize>, string][] = [
      [fixedHorizonSampleSize({ metric: 'binary', baselineRate: 0, minimumDetectableEffect: 0.1 }), 'invalid_input'],
      [fixedHorizonSampleSize({ metric: 'binary', baselineRate: 0.9, minimumDetectableEffect: 0.2 }), 'invalid_input'],
      [fixedHorizonSampleSize({ metric: 'binary', baselineRate: 0.1, minimumDetectableEffect: 0 }), 'invalid_input'],
      [fixedHorizonSampleSize({ metric: 'binary', baselineRate: 0.1, minimumDetectableEffect: 0.1, power: 1 }), 'invalid_input'],
      [fixedHorizonSampleSize({ metric: 'continuous', baselineMean: 0, standardDeviation: 1, minimumDetectableEffect: 0.1 }), 'zero_baseline'],
      [fixedHorizonSampleSize({ metric: 'continuous', baselineMean: 5, standardDeviation: 0, minimumDetectableEffect: 0.1 }), 'invalid_input'],
      [fixedHorizonSampleSize({ metric: 'continuous', baselineMean: 5, standardDeviation: 1, minimumDetectableEffect: Number.NaN }), 'invalid_input'],
    ];
    for (const [result, code] of cases) expect(result.ok ? 'ok' : result.code).toBe(code);
  });
});
