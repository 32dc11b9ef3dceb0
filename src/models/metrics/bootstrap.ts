// Paired bootstrap of the difference of a metric between two models scored on the SAME rows
// (candidate − production): the champion/challenger rule of task-aware validation judges the
// interval, not the point. Rows are drawn with replacement, the same draw for both models (that
// pairing is what cancels the row-to-row noise both models share), the metric of each is computed
// on the draw, and the percentile interval of the differences is reported. The draws come from
// the project's seeded generator (src/stats/random.ts), so the same seed and inputs give the same
// interval on every machine and in every replay.
import { createRandomSource, seedRandom } from '../../stats/random.js';
import {
  ascendingOrder,
  binaryAccuracy,
  binaryLogLoss,
  binaryRocAuc,
  brierScore,
  DEFAULT_CALIBRATION_BINS,
  DEFAULT_THRESHOLD,
  expectedCalibrationError,
  rocAucInOrder,
  type BinaryMetrics,
} from './binary.js';
import { macroF1, multiclassAccuracy, multiclassLogLoss, type MulticlassMetrics } from './multiclass.js';
import { meanAbsoluteError, rootMeanSquaredError, rSquared, type RegressionMetrics } from './regression.js';
import { metricFailure, type MetricOutcome, type MetricResult, type NumericArray } from './result.js';

export type BinaryMetricName = keyof BinaryMetrics;
export type MulticlassMetricName = keyof MulticlassMetrics;
export type RegressionMetricName = keyof RegressionMetrics;
export type MetricName = BinaryMetricName | MulticlassMetricName | RegressionMetricName;

/** Which way is better, per metric: the sign a champion/challenger rule needs to read a difference. */
export const HIGHER_IS_BETTER: Readonly<Record<MetricName, boolean>> = {
  accuracy: true,
  roc_auc: true,
  macro_f1: true,
  r2: true,
  log_loss: false,
  brier: false,
  ece: false,
  rmse: false,
  mae: false,
};

/** The two models' predictions on the same rows, the truth, and the metric to compare them on. */
export type PairedEvaluation =
  | {
      readonly task: 'binary_classification';
      readonly metric: BinaryMetricName;
      /** Probability of the positive class per row. */
      readonly candidate: NumericArray;
      readonly production: NumericArray;
      readonly labels: NumericArray;
      readonly threshold?: number;
      readonly calibrationBins?: number;
    }
  | {
      readonly task: 'multiclass_classification';
      readonly metric: MulticlassMetricName;
      readonly classes: number;
      /** Probabilities [rows, classes], row-major. */
      readonly candidate: NumericArray;
      readonly production: NumericArray;
      readonly labels: NumericArray;
    }
  | {
      readonly task: 'regression';
      readonly metric: RegressionMetricName;
      readonly candidate: NumericArray;
      readonly production: NumericArray;
      readonly targets: NumericArray;
    };

export interface BootstrapOptions {
  /** Seed of the resampling; the same seed and inputs give the same interval. */
  readonly seed: number | string;
  /** Number of resamples, 1..100000; default 1000. */
  readonly resamples?: number;
  /** Two-sided confidence level in (0, 1); default 0.95. */
  readonly level?: number;
}

export const DEFAULT_BOOTSTRAP_RESAMPLES = 1000;
export const DEFAULT_BOOTSTRAP_LEVEL = 0.95;

export interface PairedBootstrapDifference {
  readonly task: PairedEvaluation['task'];
  readonly metric: MetricName;
  readonly higherIsBetter: boolean;
  /** The metric of each model on all rows, and candidate − production. */
  readonly candidate: number;
  readonly production: number;
  readonly difference: number;
  /** Percentile interval of the resampled differences (linear interpolation, numpy's default). */
  readonly interval: { readonly lower: number; readonly upper: number; readonly level: number };
  /** Resamples asked for. */
  readonly resamples: number;
  /** Resamples whose metric could not be computed for a model (e.g. one class drawn for AUC). */
  readonly skippedResamples: number;
  readonly seed: number | string;
}

type Metric = (predictions: NumericArray, truth: NumericArray) => MetricResult;

interface PreparedMetric {
  readonly metric: Metric;
  /** Numbers per row in the predictions: the class count for multiclass, else 1. */
  readonly width: number;
  readonly truth: NumericArray;
  /**
   * A faster way to score a resample, given as how many times each row was drawn, for metrics
   * that would otherwise redo work per resample (AUC: one sort of the full data, not one per draw).
   */
  readonly byCounts?: (predictions: NumericArray) => (counts: Uint32Array) => MetricResult;
}

function metricFunction(evaluation: PairedEvaluation): PreparedMetric {
  switch (evaluation.task) {
    case 'binary_classification': {
      const threshold = evaluation.threshold ?? DEFAULT_THRESHOLD;
      const bins = evaluation.calibrationBins ?? DEFAULT_CALIBRATION_BINS;
      const binary: Record<BinaryMetricName, Metric> = {
        accuracy: (p, y) => binaryAccuracy(p, y, threshold),
        roc_auc: binaryRocAuc,
        log_loss: (p, y) => binaryLogLoss(p, y),
        brier: brierScore,
        ece: (p, y) => expectedCalibrationError(p, y, bins),
      };
      const labels = evaluation.labels;
      const byCounts =
        evaluation.metric === 'roc_auc'
          ? (scores: NumericArray) => {
              const order = ascendingOrder(scores);
              return (counts: Uint32Array) => rocAucInOrder(scores, labels, order, counts);
            }
          : undefined;
      return { metric: binary[evaluation.metric], width: 1, truth: labels, ...(byCounts ? { byCounts } : {}) };
    }
    case 'multiclass_classification': {
      const classes = evaluation.classes;
      const multiclass: Record<MulticlassMetricName, Metric> = {
        accuracy: (p, y) => multiclassAccuracy(p, y, classes),
        macro_f1: (p, y) => macroF1(p, y, classes),
        log_loss: (p, y) => multiclassLogLoss(p, y, classes),
      };
      return { metric: multiclass[evaluation.metric], width: classes, truth: evaluation.labels };
    }
    case 'regression': {
      const regression: Record<RegressionMetricName, Metric> = { rmse: rootMeanSquaredError, mae: meanAbsoluteError, r2: rSquared };
      return { metric: regression[evaluation.metric], width: 1, truth: evaluation.targets };
    }
  }
}

/** Quantile q of sorted values by linear interpolation between order statistics (numpy's default). */
function quantileSorted(sorted: Float64Array, q: number): number {
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  const low = sorted[below] as number;
  return low + (position - below) * ((sorted[above] as number) - low);
}

/**
 * Point difference (candidate − production) of the metric on all rows, with a seeded paired
 * percentile bootstrap interval. Fails with the metric's own code when either model's metric is
 * not computable on all rows, 'length_mismatch' when the models' predictions differ in length,
 * 'invalid_option' for bad options, and 'degenerate_resamples' when more than a tenth of the
 * resamples could not be scored.
 */
export function pairedBootstrapDifference(
  evaluation: PairedEvaluation,
  options: BootstrapOptions,
): MetricOutcome<PairedBootstrapDifference> {
  const resamples = options.resamples ?? DEFAULT_BOOTSTRAP_RESAMPLES;
  const level = options.level ?? DEFAULT_BOOTSTRAP_LEVEL;
  if (!Number.isInteger(resamples) || resamples < 1 || resamples > 100_000) {
    return metricFailure('invalid_option', `resamples must be an integer from 1 to 100000 (got ${String(resamples)})`);
  }
  if (!(level > 0 && level < 1)) return metricFailure('invalid_option', `level must lie strictly between 0 and 1 (got ${String(level)})`);
  if (typeof options.seed === 'number' ? !Number.isFinite(options.seed) : typeof options.seed !== 'string') {
    return metricFailure('invalid_option', `seed must be a finite number or a string (got ${String(options.seed)})`);
  }
  const { candidate, production } = evaluation;
  if (candidate.length !== production.length) {
    return metricFailure('length_mismatch', `candidate has ${candidate.length} predictions, production ${production.length}`);
  }
  const { metric, width, truth, byCounts } = metricFunction(evaluation);
  const candidatePoint = metric(candidate, truth);
  if (!candidatePoint.ok) return metricFailure(candidatePoint.code, `candidate: ${candidatePoint.message}`);
  const productionPoint = metric(production, truth);
  if (!productionPoint.ok) return metricFailure(productionPoint.code, `production: ${productionPoint.message}`);

  const rows = truth.length;
  const random = createRandomSource(seedRandom(options.seed));
  const differences = new Float64Array(resamples);
  let used = 0;
  let lastFailure = '';
  const record = (a: MetricResult, b: MetricResult) => {
    if (a.ok && b.ok) differences[used++] = a.value - b.value;
    else lastFailure = a.ok ? (b.ok ? '' : b.message) : a.message;
  };
  if (byCounts) {
    // The same draws as below (`rows` row indices per resample, in the same order), tallied, not copied.
    const scoreCandidate = byCounts(candidate);
    const scoreProduction = byCounts(production);
    const counts = new Uint32Array(rows);
    for (let r = 0; r < resamples; r++) {
      counts.fill(0);
      for (let i = 0; i < rows; i++) {
        const row = random.integer(rows);
        counts[row] = (counts[row] as number) + 1;
      }
      record(scoreCandidate(counts), scoreProduction(counts));
    }
  } else {
    const drawnCandidate = new Float64Array(rows * width);
    const drawnProduction = new Float64Array(rows * width);
    const drawnTruth = new Float64Array(rows);
    for (let r = 0; r < resamples; r++) {
      for (let i = 0; i < rows; i++) {
        const row = random.integer(rows);
        drawnTruth[i] = truth[row] as number;
        for (let c = 0; c < width; c++) {
          drawnCandidate[i * width + c] = candidate[row * width + c] as number;
          drawnProduction[i * width + c] = production[row * width + c] as number;
        }
      }
      record(metric(drawnCandidate, drawnTruth), metric(drawnProduction, drawnTruth));
    }
  }
  const skippedResamples = resamples - used;
  // Skipped resamples condition the interval on draws the metric can score; beyond a tenth that
  // bias is not small (for AUC: about e^−k of draws miss all k positives, so this trips at k ≤ 2).
  if (skippedResamples * 10 > resamples) {
    return metricFailure(
      'degenerate_resamples',
      `${skippedResamples} of ${resamples} resamples could not be scored (last: ${lastFailure}); too few rows of a class?`,
    );
  }
  const sorted = differences.subarray(0, used).sort();
  return {
    ok: true,
    task: evaluation.task,
    metric: evaluation.metric,
    higherIsBetter: HIGHER_IS_BETTER[evaluation.metric],
    candidate: candidatePoint.value,
    production: productionPoint.value,
    difference: candidatePoint.value - productionPoint.value,
    interval: { lower: quantileSorted(sorted, (1 - level) / 2), upper: quantileSorted(sorted, (1 + level) / 2), level },
    resamples,
    skippedResamples,
    seed: options.seed,
  };
}
