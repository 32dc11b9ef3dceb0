import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  armMoments,
  mergeBinary,
  mergeContinuous,
  relativeLift,
  summarizeBinary,
  summarizeContinuous,
  twoProportionZTest,
  welchTTest,
  type ContinuousSummary,
} from '../../../src/stats/index.js';

const finiteValue = fc.double({ min: -1e3, max: 1e3, noNaN: true, noDefaultInfinity: true });

function close(a: number, b: number, scale: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(scale));
}

describe('summary statistics', () => {
  it('merge: the summary of a union is the sum of the summaries (windows add up)', () => {
    fc.assert(
      fc.property(fc.array(finiteValue, { maxLength: 50 }), fc.array(finiteValue, { maxLength: 50 }), (a, b) => {
        const merged = mergeContinuous(summarizeContinuous(a), summarizeContinuous(b));
        const whole = summarizeContinuous([...a, ...b]);
        expect(merged.n).toBe(whole.n);
        expect(close(merged.sum, whole.sum, whole.sumSquares)).toBe(true);
        expect(close(merged.sumSquares, whole.sumSquares, whole.sumSquares)).toBe(true);
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 60 }), fc.array(fc.boolean(), { maxLength: 60 }), (a, b) => {
        expect(mergeBinary(summarizeBinary(a), summarizeBinary(b))).toEqual(summarizeBinary([...a, ...b]));
      }),
      { numRuns: 100 },
    );
  });

  it('merge is associative and commutative, with the empty summary as identity', () => {
    const parts = [summarizeContinuous([1, 2, 3]), summarizeContinuous([4, 5]), summarizeContinuous([])];
    expect(mergeContinuous(...parts)).toEqual(mergeContinuous(...parts.slice().reverse()));
    expect(mergeContinuous(parts[0]!, mergeContinuous(parts[1]!, parts[2]!))).toEqual(mergeContinuous(mergeContinuous(parts[0]!, parts[1]!), parts[2]!));
    expect(mergeContinuous(parts[0]!, { n: 0, sum: 0, sumSquares: 0 })).toEqual(parts[0]);
  });

  it('derives mean and sample variance from the sums', () => {
    const values = [2, 4, 4, 4, 5, 5, 7, 9];
    const moments = armMoments(summarizeContinuous(values), 'arm');
    if (!moments.ok) throw new Error(moments.message);
    expect(moments.mean).toBe(5);
    expect(moments.variance).toBeCloseTo(32 / 7, 12);
    const rate = armMoments({ n: 10, successes: 3 }, 'arm');
    if (!rate.ok) throw new Error(rate.message);
    expect(rate.mean).toBeCloseTo(0.3, 15);
    expect(rate.variance).toBeCloseTo(0.21, 15);
  });

  it('codes bad summaries instead of throwing or returning NaN', () => {
    const cases: [unknown, string][] = [
      [{ n: 10, sum: Number.NaN, sumSquares: 4 }, 'invalid_input'],
      [{ n: 10, sum: 3, sumSquares: Number.POSITIVE_INFINITY }, 'invalid_input'],
      [{ n: -1, sum: 0, sumSquares: 0 }, 'invalid_input'],
      [{ n: 2.5, sum: 0, sumSquares: 0 }, 'invalid_input'],
      [{ n: 10, sum: 1, sumSquares: -1 }, 'invalid_input'],
      [{ n: 5, successes: 6 }, 'invalid_input'],
      [{ n: 5, successes: -1 }, 'invalid_input'],
      [null, 'invalid_input'],
      [{ n: 1, sum: 3, sumSquares: 9 }, 'insufficient_data'],
      [{ n: 0, successes: 0 }, 'insufficient_data'],
    ];
    for (const [summary, code] of cases) {
      const result = armMoments(summary as ContinuousSummary, 'arm');
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.code).toBe(code);
        expect(result.message.length).toBeGreaterThan(0);
      }
    }
    expect(summarizeContinuous([1, Number.NaN]).sum).toBeNaN(); // kept, so validation reports it
  });
});

describe('fixed-horizon tests', () => {
  const a = summarizeContinuous([1.2, 0.4, 2.2, 1.9, 0.7, 1.1, 1.6]);
  const b = summarizeContinuous([2.1, 1.4, 2.9, 2.4, 1.8, 2.6]);

  it('Welch: swapping the arms negates the effect and keeps the p-value', () => {
    const forward = welchTTest(a, b);
    const backward = welchTTest(b, a);
    if (!forward.ok || !backward.ok) throw new Error('welch failed');
    expect(backward.effect).toBeCloseTo(-forward.effect, 12);
    expect(backward.t).toBeCloseTo(-forward.t, 12);
    expect(backward.pValue).toBeCloseTo(forward.pValue, 14);
    expect(backward.confidenceInterval[0]).toBeCloseTo(-forward.confidenceInterval[1], 12);
    expect(forward.confidenceInterval[0]).toBeLessThan(forward.effect);
  });

  it('Welch on binary summaries equals Welch on the 0/1 outcomes', () => {
    const outcomesA = [1, 0, 0, 1, 1, 0, 0, 0, 1, 0];
    const outcomesB = [1, 1, 0, 1, 1, 1, 0, 1];
    const fromBinary = welchTTest(summarizeBinary(outcomesA), summarizeBinary(outcomesB));
    const fromValues = welchTTest(summarizeContinuous(outcomesA), summarizeContinuous(outcomesB));
    if (!fromBinary.ok || !fromValues.ok) throw new Error('welch failed');
    expect(fromBinary.pValue).toBeCloseTo(fromValues.pValue, 14);
  });

  it('two-proportion test is symmetric and its interval covers the observed effect', () => {
    const forward = twoProportionZTest({ n: 1000, successes: 100 }, { n: 1200, successes: 150 });
    const backward = twoProportionZTest({ n: 1200, successes: 150 }, { n: 1000, successes: 100 });
    if (!forward.ok || !backward.ok) throw new Error('z-test failed');
    expect(forward.z).toBeCloseTo(-backward.z, 12);
    expect(forward.pValue).toBeCloseTo(backward.pValue, 14);
    expect(forward.confidenceInterval[0]).toBeLessThan(forward.effect);
    expect(forward.confidenceInterval[1]).toBeGreaterThan(forward.effect);
  });

  it('relative lift with a delta-method interval', () => {
    const result = relativeLift({ n: 10_000, successes: 1000 }, { n: 10_000, successes: 1100 });
    if (!result.ok) throw new Error(result.message);
    expect(result.lift).toBeCloseTo(0.1, 12);
    // Var ≈ σ²_B/(n_B m_A²) + m_B² σ²_A/(n_A m_A⁴) with p_A = 0.1, p_B = 0.11.
    const expectedVariance = (0.11 * 0.89) / (10_000 * 0.01) + (0.11 * 0.11 * 0.09) / (10_000 * 0.0001);
    expect(result.standardError).toBeCloseTo(Math.sqrt(expectedVariance), 12);
    expect(result.confidenceInterval[0]).toBeGreaterThan(0);
  });

  it('codes degenerate input: zero variance, empty arms, zero baseline, bad alpha', () => {
    const constant = summarizeContinuous([3, 3, 3, 3]);
    const zero = welchTTest(constant, constant);
    expect(zero.ok ? 'ok' : zero.code).toBe('zero_variance');
    const empty = welchTTest({ n: 0, sum: 0, sumSquares: 0 }, b);
    expect(empty.ok ? 'ok' : empty.code).toBe('insufficient_data');
    const allConverted = twoProportionZTest({ n: 50, successes: 50 }, { n: 40, successes: 40 });
    expect(allConverted.ok ? 'ok' : allConverted.code).toBe('zero_variance');
    const mixed = twoProportionZTest({ n: 50, successes: 5 }, b);
    expect(mixed.ok ? 'ok' : mixed.code).toBe('invalid_input');
    const baseline = relativeLift({ n: 100, successes: 0 }, { n: 100, successes: 4 });
    expect(baseline.ok ? 'ok' : baseline.code).toBe('zero_baseline');
    const alpha = welchTTest(a, b, { alpha: 1.5 });
    expect(alpha.ok ? 'ok' : alpha.code).toBe('invalid_input');
    const nan = welchTTest({ n: 5, sum: Number.NaN, sumSquares: 1 }, b);
    expect(nan.ok ? 'ok' : nan.code).toBe('invalid_input');
  });
});
