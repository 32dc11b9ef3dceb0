// The task metrics against scikit-learn's numbers (test/fixtures/metrics-golden.json, written by
// scripts/golden-metrics.py; never retyped here), their coded answers to degenerate input, and the
// paired bootstrap's properties. Tolerance: 1e-9 relative (an expected 0 must be exactly 0); the
// two sides differ only in summation order, about 1e-15.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  binaryAccuracy,
  binaryClassificationMetrics,
  binaryLogLoss,
  ascendingOrder,
  binaryRocAuc,
  brierScore,
  expectedCalibrationError,
  macroF1,
  meanAbsoluteError,
  multiclassAccuracy,
  multiclassClassificationMetrics,
  multiclassLogLoss,
  pairedBootstrapDifference,
  regressionMetrics,
  rocAucInOrder,
  rootMeanSquaredError,
  rSquared,
  type BinaryMetricName,
  type MetricCode,
  type MetricResult,
} from '../../../src/models/metrics/index.js';
import { createRandomSource, seedRandom } from '../../../src/stats/random.js';
import { expectRelative } from '../stats/golden.js';

type Expected = number | { code: MetricCode };
interface GoldenFile {
  sklearn: string;
  calibration_bins: number;
  binary: { name: string; threshold: number; scores: number[]; labels: number[]; expected: Record<string, Expected> }[];
  multiclass: { name: string; classes: number; probabilities: number[]; labels: number[]; expected: Record<string, Expected> }[];
  regression: { name: string; predictions: number[]; targets: number[]; expected: Record<string, Expected> }[];
}

const golden = JSON.parse(readFileSync(new URL('../../fixtures/metrics-golden.json', import.meta.url), 'utf8')) as GoldenFile;
const TOLERANCE = 1e-9;

function expectMatches(actual: MetricResult | undefined, expected: Expected | undefined, label: string): void {
  expect(actual, label).toBeDefined();
  expect(expected, label).toBeDefined();
  if (typeof expected === 'number') {
    expect(actual?.ok, `${label}: ${JSON.stringify(actual)}`).toBe(true);
    if (actual?.ok) expectRelative(actual.value, expected, TOLERANCE, label);
  } else {
    expect(actual, label).toMatchObject({ ok: false, code: expected?.code });
  }
}

function expectCode(result: { ok: boolean }, code: MetricCode): void {
  expect(result).toMatchObject({ ok: false, code });
  expect((result as { message?: string }).message).toMatch(/\S/);
}

describe('task metrics against scikit-learn', () => {
  it('uses the calibration bin count the golden file was made with', () => {
    expect(golden.calibration_bins).toBe(10);
    expect(golden.binary.length + golden.multiclass.length + golden.regression.length).toBeGreaterThanOrEqual(16);
  });

  it.each(golden.binary.map((c) => [c.name, c] as const))('binary: %s', (name, c) => {
    const metrics: Record<string, MetricResult> = { ...binaryClassificationMetrics(c.scores, c.labels, { threshold: c.threshold }) };
    expect(Object.keys(metrics).sort()).toEqual(Object.keys(c.expected).sort());
    for (const [metric, expected] of Object.entries(c.expected)) expectMatches(metrics[metric], expected, `${name}.${metric}`);
    // The single-metric functions are the same numbers, and typed arrays read like number[].
    expectMatches(binaryRocAuc(Float64Array.from(c.scores), Uint8Array.from(c.labels)), c.expected.roc_auc, `${name}.roc_auc typed`);
  });

  it.each(golden.multiclass.map((c) => [c.name, c] as const))('multiclass: %s', (name, c) => {
    const metrics: Record<string, MetricResult> = { ...multiclassClassificationMetrics(c.probabilities, c.labels, c.classes) };
    expect(Object.keys(metrics).sort()).toEqual(Object.keys(c.expected).sort());
    for (const [metric, expected] of Object.entries(c.expected)) expectMatches(metrics[metric], expected, `${name}.${metric}`);
  });

  it.each(golden.regression.map((c) => [c.name, c] as const))('regression: %s', (name, c) => {
    const metrics: Record<string, MetricResult> = { ...regressionMetrics(c.predictions, c.targets) };
    expect(Object.keys(metrics).sort()).toEqual(Object.keys(c.expected).sort());
    for (const [metric, expected] of Object.entries(c.expected)) expectMatches(metrics[metric], expected, `${name}.${metric}`);
  });

  it('covers ties, a separable case, a constant score, a class never predicted and one class only', () => {
    const names = [...golden.binary, ...golden.multiclass, ...golden.regression].map((c) => c.name);
    for (const name of ['ties', 'separable', 'constant_score', 'one_class', 'class_never_predicted', 'constant_target']) {
      expect(names).toContain(name);
    }
    const separable = golden.binary.find((c) => c.name === 'separable');
    expect(separable?.expected.roc_auc).toBe(1);
    expect(golden.binary.find((c) => c.name === 'constant_score')?.expected.roc_auc).toBe(0.5);
  });
});

describe('degenerate input gets a code, never NaN or a throw', () => {
  it('binary metrics', () => {
    expectCode(binaryRocAuc([0.2, 0.8], [1, 1]), 'one_class');
    expectCode(binaryRocAuc([0.2, 0.8], [0, 0]), 'one_class');
    for (const metric of [binaryAccuracy, binaryRocAuc, binaryLogLoss, brierScore, expectedCalibrationError]) {
      expectCode(metric([], []), 'empty');
      expectCode(metric([0.5], [1, 0]), 'length_mismatch');
      expectCode(metric([0.5, Number.NaN], [1, 0]), 'non_finite');
      expectCode(metric([0.5, Number.POSITIVE_INFINITY], [1, 0]), 'non_finite');
      expectCode(metric([0.5, 0.4], [1, Number.NaN]), 'non_finite');
      expectCode(metric([0.5, 0.4], [1, 2]), 'invalid_label');
      expectCode(metric([0.5, 0.4], [1, 0.5]), 'invalid_label');
    }
    for (const metric of [binaryLogLoss, brierScore, expectedCalibrationError]) expectCode(metric([1.2, 0.4], [1, 0]), 'invalid_probability');
    expect(binaryRocAuc([3.5, -2, 0.1], [1, 0, 0])).toEqual({ ok: true, value: 1 }); // logits are fine for a rank metric
    expectCode(binaryAccuracy([0.5], [1], 0), 'invalid_option');
    expectCode(binaryAccuracy([0.5], [1], 1), 'invalid_option');
    expectCode(binaryAccuracy([0.5], [1], Number.NaN), 'invalid_option');
    expectCode(expectedCalibrationError([0.5], [1], 0), 'invalid_option');
    expectCode(expectedCalibrationError([0.5], [1], 2.5), 'invalid_option');
    expectCode(binaryLogLoss([0.5], [1], 0), 'invalid_option');
  });

  it('multiclass metrics', () => {
    const rows = [0.7, 0.2, 0.1, 0.1, 0.8, 0.1];
    for (const metric of [multiclassAccuracy, macroF1, multiclassLogLoss]) {
      expect(metric(rows, [0, 1], 3)).toMatchObject({ ok: true });
      expectCode(metric([], [], 3), 'empty');
      expectCode(metric(rows, [0, 1, 2], 3), 'length_mismatch');
      expectCode(metric(rows.slice(0, 5), [0, 1], 3), 'length_mismatch');
      expectCode(metric([Number.NaN, ...rows.slice(1)], [0, 1], 3), 'non_finite');
      expectCode(metric(rows, [0, 3], 3), 'invalid_label');
      expectCode(metric(rows, [0, -1], 3), 'invalid_label');
      expectCode(metric(rows, [0, 1], 1), 'invalid_option');
      expectCode(metric(rows, [0, 1], 2.5), 'invalid_option');
    }
    // Logits: fine for the argmax metrics, refused by log loss (the rows do not sum to 1).
    const logits = [2, -1, 0.5, -3, 4, 1];
    expect(multiclassAccuracy(logits, [0, 1], 3)).toEqual({ ok: true, value: 1 });
    expectCode(multiclassLogLoss(logits, [0, 1], 3), 'invalid_probability');
    expectCode(multiclassLogLoss([0.5, 0.2, 0.1, 0.1, 0.8, 0.1], [0, 1], 3), 'invalid_probability');
  });

  it('regression metrics', () => {
    for (const metric of [rootMeanSquaredError, meanAbsoluteError, rSquared]) {
      expectCode(metric([], []), 'empty');
      expectCode(metric([1, 2], [1]), 'length_mismatch');
      expectCode(metric([1, Number.NaN], [1, 2]), 'non_finite');
      expectCode(metric([1, 2], [1, Number.NEGATIVE_INFINITY]), 'non_finite');
    }
    expectCode(rSquared([1], [1]), 'constant_target');
    expectCode(rSquared([1, 2], [3, 3]), 'constant_target');
  });
});

/** A binary problem where the candidate's scores separate the classes better than production's. */
function binaryPair(rows: number, seed: string) {
  const random = createRandomSource(seedRandom(seed));
  const labels: number[] = [];
  const candidate: number[] = [];
  const production: number[] = [];
  for (let i = 0; i < rows; i++) {
    const label = random.uniform() < 0.4 ? 1 : 0;
    labels.push(label);
    const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
    candidate.push(sigmoid(2.5 * (2 * label - 1) + random.normal()));
    production.push(sigmoid(0.6 * (2 * label - 1) + random.normal()));
  }
  return { labels, candidate, production };
}

describe('paired bootstrap of candidate − production', () => {
  const { labels, candidate, production } = binaryPair(400, 'bootstrap-fixture');

  it('replays: the same seed gives the same interval, another seed another', () => {
    const evaluation = { task: 'binary_classification', metric: 'roc_auc', candidate, production, labels } as const;
    const first = pairedBootstrapDifference(evaluation, { seed: 'rollout-42', resamples: 300 });
    const again = pairedBootstrapDifference(evaluation, { seed: 'rollout-42', resamples: 300 });
    const other = pairedBootstrapDifference(evaluation, { seed: 'rollout-43', resamples: 300 });
    expect(again).toEqual(first);
    expect(first).toMatchObject({ ok: true, resamples: 300, seed: 'rollout-42', skippedResamples: 0, higherIsBetter: true });
    expect(other.ok && first.ok && other.interval.lower !== first.interval.lower).toBe(true);
  });

  it('reports the point difference of the full-data metrics, inside its interval', () => {
    for (const metric of ['accuracy', 'roc_auc', 'log_loss', 'brier', 'ece'] as const) {
      const result = pairedBootstrapDifference({ task: 'binary_classification', metric, candidate, production, labels }, { seed: 7, resamples: 400 });
      expect(result.ok, metric).toBe(true);
      if (!result.ok) continue;
      const full = binaryClassificationMetrics(candidate, labels)[metric];
      const base = binaryClassificationMetrics(production, labels)[metric];
      expect(full.ok && base.ok).toBe(true);
      if (full.ok && base.ok) {
        expect(result.candidate).toBe(full.value);
        expect(result.production).toBe(base.value);
        expect(result.difference).toBe(full.value - base.value);
      }
      expect(result.interval.level).toBe(0.95);
      expect(result.interval.lower, metric).toBeLessThanOrEqual(result.difference);
      expect(result.interval.upper, metric).toBeGreaterThanOrEqual(result.difference);
    }
  });

  it('a clearly better candidate: the interval lies on the better side of 0', () => {
    const auc = pairedBootstrapDifference({ task: 'binary_classification', metric: 'roc_auc', candidate, production, labels }, { seed: 1 });
    expect(auc).toMatchObject({ ok: true, resamples: 1000 });
    if (auc.ok) expect(auc.interval.lower).toBeGreaterThan(0);
    const loss = pairedBootstrapDifference({ task: 'binary_classification', metric: 'log_loss', candidate, production, labels }, { seed: 1 });
    expect(loss).toMatchObject({ ok: true, higherIsBetter: false });
    if (loss.ok) expect(loss.interval.upper).toBeLessThan(0);
  });

  it('identical models: difference 0 and interval [0, 0], for every task', () => {
    const binary = pairedBootstrapDifference(
      { task: 'binary_classification', metric: 'roc_auc', candidate, production: candidate.slice(), labels },
      { seed: 3, resamples: 200 },
    );
    expect(binary).toMatchObject({ ok: true, difference: 0, interval: { lower: 0, upper: 0 } });
    const m = golden.multiclass[0];
    const r = golden.regression[0];
    if (!m || !r) throw new Error('golden file has no multiclass or regression case');
    const multiclass = pairedBootstrapDifference(
      { task: 'multiclass_classification', metric: 'macro_f1', classes: m.classes, candidate: m.probabilities, production: m.probabilities, labels: m.labels },
      { seed: 3, resamples: 200 },
    );
    expect(multiclass).toMatchObject({ ok: true, difference: 0, interval: { lower: 0, upper: 0 } });
    const regression = pairedBootstrapDifference(
      { task: 'regression', metric: 'rmse', candidate: r.predictions, production: r.predictions, targets: r.targets },
      { seed: 3, resamples: 200 },
    );
    expect(regression).toMatchObject({ ok: true, difference: 0, interval: { lower: 0, upper: 0 }, higherIsBetter: false });
  });

  it('regression and multiclass: a worse candidate shows up with the right sign', () => {
    const r = golden.regression[0];
    if (!r) throw new Error('golden file has no regression case');
    const worse = r.predictions.map((p, i) => p + (i % 2 === 0 ? 1.5 : -1.5));
    const rmse = pairedBootstrapDifference({ task: 'regression', metric: 'rmse', candidate: worse, production: r.predictions, targets: r.targets }, { seed: 9 });
    expect(rmse.ok && rmse.interval.lower > 0).toBe(true);
    const r2 = pairedBootstrapDifference({ task: 'regression', metric: 'r2', candidate: worse, production: r.predictions, targets: r.targets }, { seed: 9 });
    expect(r2.ok && r2.interval.upper < 0).toBe(true);
    const m = golden.multiclass[0];
    if (!m) throw new Error('golden file has no multiclass case');
    const uniform = m.probabilities.map(() => 1 / m.classes);
    const loss = pairedBootstrapDifference(
      { task: 'multiclass_classification', metric: 'log_loss', classes: m.classes, candidate: uniform, production: m.probabilities, labels: m.labels },
      { seed: 9 },
    );
    expect(loss.ok && loss.interval.lower > 0).toBe(true);
  });

  it('is the percentile interval of the metric on rows drawn from the seeded stream (AUC by counts, the rest by copies)', () => {
    // A plain reference: draw, copy, score with the single-metric function, sort, interpolate.
    const reference = (metric: BinaryMetricName, seed: number, resamples: number) => {
      const random = createRandomSource(seedRandom(seed));
      const score = (p: number[], y: number[]) => {
        const r = binaryClassificationMetrics(p, y)[metric];
        if (!r.ok) throw new Error(r.message);
        return r.value;
      };
      const differences: number[] = [];
      for (let r = 0; r < resamples; r++) {
        const rows = labels.map(() => random.integer(labels.length));
        const y = rows.map((i) => labels[i] as number);
        differences.push(score(rows.map((i) => candidate[i] as number), y) - score(rows.map((i) => production[i] as number), y));
      }
      differences.sort((a, b) => a - b);
      const at = (q: number) => {
        const position = q * (resamples - 1);
        const below = Math.floor(position);
        const low = differences[below] as number;
        return low + (position - below) * ((differences[Math.min(below + 1, resamples - 1)] as number) - low);
      };
      return { lower: at(0.025), upper: at(0.975) };
    };
    for (const metric of ['roc_auc', 'accuracy'] as const) {
      const result = pairedBootstrapDifference({ task: 'binary_classification', metric, candidate, production, labels }, { seed: 5, resamples: 120 });
      expect(result.ok && { lower: result.interval.lower, upper: result.interval.upper }, metric).toEqual(reference(metric, 5, 120));
    }
  });

  it('AUC with row counts equals AUC of the rows repeated', () => {
    const scores = [0.1, 0.4, 0.4, 0.35, 0.8, 0.8, 0.2];
    const y = [0, 1, 0, 1, 1, 0, 0];
    const counts = Uint32Array.from([2, 0, 3, 1, 1, 2, 4]);
    const repeatedScores = scores.flatMap((s, i) => Array<number>(counts[i] as number).fill(s));
    const repeatedLabels = y.flatMap((l, i) => Array<number>(counts[i] as number).fill(l));
    expect(rocAucInOrder(scores, y, ascendingOrder(scores), counts)).toEqual(binaryRocAuc(repeatedScores, repeatedLabels));
    expectCode(rocAucInOrder(scores, y, ascendingOrder(scores), Uint32Array.from([2, 0, 3, 0, 0, 2, 4])), 'one_class');
  });

  it('coded failures: bad options, mismatched models, a metric undefined on all rows, too few scorable resamples', () => {
    const evaluation = { task: 'binary_classification', metric: 'roc_auc', candidate, production, labels } as const;
    expectCode(pairedBootstrapDifference(evaluation, { seed: 1, resamples: 0 }), 'invalid_option');
    expectCode(pairedBootstrapDifference(evaluation, { seed: 1, resamples: 2.5 }), 'invalid_option');
    expectCode(pairedBootstrapDifference(evaluation, { seed: 1, level: 1 }), 'invalid_option');
    expectCode(pairedBootstrapDifference(evaluation, { seed: Number.NaN }), 'invalid_option');
    expectCode(pairedBootstrapDifference({ ...evaluation, production: production.slice(1) }, { seed: 1 }), 'length_mismatch');
    const oneClass = pairedBootstrapDifference({ ...evaluation, labels: labels.map(() => 1) }, { seed: 1 });
    expectCode(oneClass, 'one_class');
    expect(!oneClass.ok && oneClass.message).toMatch(/^candidate: /);
    expectCode(pairedBootstrapDifference({ ...evaluation, candidate: [Number.NaN, ...candidate.slice(1)] }, { seed: 1 }), 'non_finite');
    // One positive among 40 rows: about e⁻¹ of resamples draw no positive, far over the tenth allowed.
    const rare = { task: 'binary_classification', metric: 'roc_auc', labels: [1, ...Array<number>(39).fill(0)] } as const;
    const scores = rare.labels.map((_, i) => i / 40);
    expectCode(pairedBootstrapDifference({ ...rare, candidate: scores, production: scores.slice().reverse() }, { seed: 1, resamples: 200 }), 'degenerate_resamples');
  });

  it('skips the few resamples a metric cannot score and says how many', () => {
    const labels8 = [1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    const scores = labels8.map((l, i) => 0.3 + 0.4 * l + i / 100);
    const result = pairedBootstrapDifference(
      { task: 'binary_classification', metric: 'roc_auc', candidate: scores, production: scores.map((s) => 1 - s), labels: labels8 },
      { seed: 11, resamples: 500 },
    );
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.skippedResamples).toBeGreaterThan(0);
      expect(result.skippedResamples).toBeLessThanOrEqual(50);
    }
  });
});
