// The canary's prediction-shift gate per task (pure): the measure the window names decides how the
// histograms are compared and what the reason calls it.
import { describe, expect, it } from 'vitest';
import {
  classMixPsi, evaluateCanaryWindow, evaluateShadowWindow, histogramPsi, shiftStatistics, type CanaryWindow, type ShiftSpec, type VersionWindow,
} from '../../../src/policy/gates.js';

const gates = { maxErrorRate: 0.02, maxErrorRateDelta: 0.01, maxP99LatencyRatio: 2, maxPredictionPsi: 0.25, minRequests: 20, minPredictionSamples: 200 };
const w = (hist: number[]): VersionWindow => ({ requests: hist.reduce((a, b) => a + b, 0), errors: 0, p99LatencyMs: 5, predictionHistogram: hist });
const win = (shift: ShiftSpec | undefined, baseline: number[], candidate: number[]): CanaryWindow => ({ baseline: w(baseline), candidate: w(candidate), ...(shift ? { shift } : {}) });
const uniform = new Array(10).fill(30);
const shifted = [0, 0, 0, 0, 0, 0, 30, 60, 90, 120];

describe('prediction-shift gate by task', () => {
  it('binary: names the probability PSI', () => {
    const e = evaluateCanaryWindow(win({ measure: 'probability', bins: '10 equal-width bins on [0, 1]' }, uniform, shifted), gates);
    expect(e.verdict).toBe('failed');
    expect(e.reason).toMatch(/^probability PSI \d+\.\d{3} > 0\.25$/);
    expect(e.checks.find((c) => c.gate === 'prediction_shift')?.observed).toBeCloseTo(histogramPsi(uniform, shifted) as number, 12);
    expect(evaluateCanaryWindow(win({ measure: 'probability', bins: '' }, uniform, uniform), gates).reason).toContain('probability PSI 0.000');
  });

  it('regression: names the prediction PSI and where its bins came from', () => {
    const e = evaluateCanaryWindow(win({ measure: 'regression', bins: "bins at the baseline's quantiles in the window" }, uniform, shifted), gates);
    expect(e.reason).toMatch(/^prediction PSI \d+\.\d{3} > 0\.25 \(bins at the baseline's quantiles in the window\)$/);
  });

  it('multiclass: the class-mix PSI with a half-count floor, and the chi-square p-value beside it', () => {
    const base = [150, 90, 60, 0];
    const same = evaluateCanaryWindow(win({ measure: 'class_mix', bins: '4 classes' }, base, [149, 90, 60, 1]), gates);
    expect(same.verdict).toBe('successful');
    expect(same.checks.find((c) => c.gate === 'class_mix')?.reason).toMatch(/^class-mix PSI 0\.00\d$/);
    // The fixed 1e-4 floor of the probability bins would make the one stray prediction count heavily.
    expect(histogramPsi(base, [149, 90, 60, 1]) as number).toBeGreaterThan(5 * (classMixPsi(base, [149, 90, 60, 1]) as number));
    const moved = evaluateCanaryWindow(win({ measure: 'class_mix', bins: '4 classes' }, base, [30, 90, 180, 0]), gates);
    expect(moved.verdict).toBe('failed');
    expect(moved.reason).toMatch(/^class-mix PSI \d+\.\d{3} > 0\.25$/);
    // (0.1 − 0.5)·ln(0.1/0.5) + (0.6 − 0.2)·ln(0.6/0.2)
    expect(moved.numbers.predictionPsi).toBeCloseTo(-0.4 * Math.log(0.2) + 0.4 * Math.log(3), 12);
    expect(moved.numbers.classMixChiSquareP).toBeLessThan(1e-6);
  });

  it('multiclass: histograms of different lengths compare class by class', () => {
    expect(classMixPsi([10, 10], [10, 10, 0, 0])).toBe(0);
    expect(shiftStatistics(win({ measure: 'class_mix', bins: '' }, [10, 10], [10, 10, 0])).chiSquareP).toBeCloseTo(1, 12);
    expect(classMixPsi([0, 0], [1, 1])).toBeNull();
  });

  it('a window without a shift measure (measured before contracts) keeps the first-output PSI', () => {
    const e = evaluateCanaryWindow(win(undefined, uniform, shifted), gates);
    expect(e.reason).toMatch(/^prediction PSI \d+\.\d{3} > 0\.25$/);
    expect(e.numbers).not.toHaveProperty('classMixChiSquareP');
  });

  it('minPredictionSamples still applies to every measure', () => {
    for (const measure of ['probability', 'regression', 'class_mix', 'first_output'] as const) {
      const e = evaluateCanaryWindow(win({ measure, bins: '' }, [50, 50, 50], [150, 0, 0]), gates);
      expect(e.verdict).toBe('successful');
      expect(e.checks.map((c) => c.gate)).not.toContain(measure === 'class_mix' ? 'class_mix' : 'prediction_shift');
      expect(e.numbers.predictionPsi).toBeGreaterThan(1); // measured, just not judged
    }
  });
});

describe('shadow gate reason', () => {
  it('names how agreement was judged', () => {
    const e = evaluateShadowWindow({ compared: 10, agreed: 7, agreement: 0.7, shadowErrors: 0, rule: 'same top class' }, { minAgreement: 0.8 });
    expect(e).toEqual({ verdict: 'failed', reason: 'agreement 70.0% over 10 mirrored requests (same top class; floor 80%)', failure: 'shadow agreement 70.0% below 80% (same top class)' });
  });
});
