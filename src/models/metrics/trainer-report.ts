// The number-returning forms the trainer, its tests and scripts/build-fixtures.ts have always used:
// NaN where the coded metric fails (no rows, one class for AUC) and a RangeError when predictions
// and labels differ in length, a programming error there. Thin wrappers over the coded metrics of
// binary.ts, so each metric still has one implementation. New code uses the coded forms.
import { binaryAccuracy, binaryLogLoss, binaryRocAuc, DEFAULT_THRESHOLD } from './binary.js';
import type { MetricResult, NumericArray } from './result.js';

/** Clipping of the trainer's log loss, kept so the committed fixture numbers stay reproducible. */
const TRAINER_LOG_LOSS_EPS = 1e-7;

export interface ClassificationReport {
  readonly rows: number;
  readonly accuracy: number;
  readonly logLoss: number;
  /** Area under the ROC curve; NaN when the labels hold only one class. */
  readonly auc: number;
  /** Share of rows whose label is positive. */
  readonly positiveRate: number;
  readonly meanProbability: number;
}

function checkLengths(probabilities: NumericArray, labels: NumericArray): number {
  if (probabilities.length !== labels.length) {
    throw new RangeError(`${probabilities.length} predictions for ${labels.length} labels`);
  }
  return labels.length;
}

function valueOrNaN(result: MetricResult): number {
  return result.ok ? result.value : Number.NaN;
}

/** Share of rows where (probability ≥ threshold) agrees with the label; NaN for no rows. */
export function accuracy(probabilities: NumericArray, labels: NumericArray, threshold = DEFAULT_THRESHOLD): number {
  checkLengths(probabilities, labels);
  return valueOrNaN(binaryAccuracy(probabilities, labels, threshold));
}

/**
 * Mean negative log-likelihood. Probabilities are clipped to [eps, 1 − eps] so one confident
 * mistake (a float32 probability of exactly 0 or 1) gives a large but finite loss.
 */
export function logLoss(probabilities: NumericArray, labels: NumericArray, eps = TRAINER_LOG_LOSS_EPS): number {
  checkLengths(probabilities, labels);
  return valueOrNaN(binaryLogLoss(probabilities, labels, eps));
}

/** ROC AUC (see binaryRocAuc); NaN when the labels hold only one class. */
export function rocAuc(scores: NumericArray, labels: NumericArray): number {
  checkLengths(scores, labels);
  return valueOrNaN(binaryRocAuc(scores, labels));
}

export function classificationReport(probabilities: NumericArray, labels: NumericArray, threshold = DEFAULT_THRESHOLD): ClassificationReport {
  const rows = checkLengths(probabilities, labels);
  let positives = 0;
  let probabilitySum = 0;
  for (let i = 0; i < rows; i++) {
    if (labels[i] === 1) positives++;
    probabilitySum += probabilities[i] as number;
  }
  return {
    rows,
    accuracy: accuracy(probabilities, labels, threshold),
    logLoss: logLoss(probabilities, labels),
    auc: rocAuc(probabilities, labels),
    positiveRate: rows === 0 ? NaN : positives / rows,
    meanProbability: rows === 0 ? NaN : probabilitySum / rows,
  };
}
