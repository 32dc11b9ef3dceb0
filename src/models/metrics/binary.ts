// Binary-classification metrics over the score = probability of the positive class, labels 0/1.
// Each matches scikit-learn's function of the same meaning (checked against its numbers in
// test/unit/models/task-metrics.test.ts via test/fixtures/metrics-golden.json):
//   binaryAccuracy          accuracy_score(y, score >= threshold)
//   binaryRocAuc            roc_auc_score(y, score)          (ties: average rank = trapezoid rule)
//   binaryLogLoss           log_loss(y, score)               (clipped to [eps, 1 − eps], eps = 2⁻⁵²)
//   brierScore              brier_score_loss(y, score)
//   expectedCalibrationError  no sklearn function; equal-width bins, rule below, checked against numpy
import {
  checkClassLabels,
  checkPaired,
  checkProbabilities,
  metricFailure,
  metricValue,
  type MetricFailure,
  type MetricResult,
  type NumericArray,
} from './result.js';

/** The decision threshold when the contract names none. */
export const DEFAULT_THRESHOLD = 0.5;
/** Bins of the expected calibration error when the caller names none. */
export const DEFAULT_CALIBRATION_BINS = 10;
/**
 * Log-loss clipping when the caller names none: float64 machine epsilon, what scikit-learn
 * (≥ 1.5) uses for float64 probabilities, so a confident mistake (p = 0 or 1) costs
 * −ln(2⁻⁵²) ≈ 36.04 instead of Infinity.
 */
export const DEFAULT_LOG_LOSS_EPS = Number.EPSILON;

function checkBinary(scores: NumericArray, labels: NumericArray, scoreName = 'scores'): MetricFailure | null {
  return checkPaired(scores, scoreName, labels, 'labels') ?? checkClassLabels(labels, 2);
}

function checkBinaryProbabilities(probabilities: NumericArray, labels: NumericArray): MetricFailure | null {
  return checkBinary(probabilities, labels, 'probabilities') ?? checkProbabilities(probabilities, 'probabilities');
}

export function checkThreshold(threshold: number): MetricFailure | null {
  if (!(threshold > 0 && threshold < 1)) {
    return metricFailure('invalid_option', `threshold must be a number strictly between 0 and 1 (got ${String(threshold)})`);
  }
  return null;
}

/** Share of rows where (score ≥ threshold) agrees with the label. */
export function binaryAccuracy(scores: NumericArray, labels: NumericArray, threshold = DEFAULT_THRESHOLD): MetricResult {
  const bad = checkThreshold(threshold) ?? checkBinary(scores, labels);
  if (bad) return bad;
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    if (((scores[i] as number) >= threshold ? 1 : 0) === labels[i]) correct++;
  }
  return metricValue(correct / labels.length);
}

/**
 * ROC AUC as the Mann–Whitney statistic: the chance a random positive scores above a random
 * negative, ties counting one half. This is exactly the area under sklearn's tie-collapsed ROC
 * curve by the trapezoid rule. Rank-based, so the scores may be logits as well as probabilities.
 * One class only → 'one_class'.
 */
export function binaryRocAuc(scores: NumericArray, labels: NumericArray): MetricResult {
  const bad = checkBinary(scores, labels);
  if (bad) return bad;
  return rocAucInOrder(scores, labels, ascendingOrder(scores));
}

/** Row indices sorted by ascending score. */
export function ascendingOrder(scores: NumericArray): Uint32Array {
  const order = new Uint32Array(scores.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => (scores[a] as number) - (scores[b] as number));
}

/**
 * The AUC core, over rows already checked and visited in ascending score order, row i counted
 * `counts[i]` times (once each when absent). With counts, a bootstrap resample is scored in O(n)
 * from the one sort of the full data instead of a sort per resample. Each group of tied scores
 * adds (its positives) × (negatives below it + half its own negatives); every sum is an integer
 * (or half of one) held exactly, so the answer is the correctly rounded ratio either way.
 */
export function rocAucInOrder(scores: NumericArray, labels: NumericArray, order: Uint32Array, counts?: Uint32Array): MetricResult {
  const n = order.length;
  let positives = 0;
  let negatives = 0;
  let wins = 0;
  for (let start = 0; start < n;) {
    const score = scores[order[start] as number] as number;
    let groupPositives = 0;
    let groupNegatives = 0;
    let end = start;
    for (; end < n && scores[order[end] as number] === score; end++) {
      const row = order[end] as number;
      const weight = counts ? (counts[row] as number) : 1;
      if (labels[row] === 1) groupPositives += weight;
      else groupNegatives += weight;
    }
    wins += groupPositives * (negatives + groupNegatives / 2);
    positives += groupPositives;
    negatives += groupNegatives;
    start = end;
  }
  if (positives === 0 || negatives === 0) {
    return metricFailure('one_class', `ROC AUC needs both classes; all ${positives + negatives} labels are ${positives === 0 ? 0 : 1}`);
  }
  return metricValue(wins / (positives * negatives));
}

/** Mean negative log-likelihood, probabilities clipped to [eps, 1 − eps] first (as sklearn does). */
export function binaryLogLoss(probabilities: NumericArray, labels: NumericArray, eps = DEFAULT_LOG_LOSS_EPS): MetricResult {
  if (!(eps > 0 && eps < 0.5)) return metricFailure('invalid_option', `eps must lie strictly between 0 and 0.5 (got ${String(eps)})`);
  const bad = checkBinaryProbabilities(probabilities, labels);
  if (bad) return bad;
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(1 - eps, Math.max(eps, probabilities[i] as number));
    total -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return metricValue(total / labels.length);
}

/** Mean squared difference between the probability and the 0/1 label. */
export function brierScore(probabilities: NumericArray, labels: NumericArray): MetricResult {
  const bad = checkBinaryProbabilities(probabilities, labels);
  if (bad) return bad;
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    const d = (probabilities[i] as number) - (labels[i] as number);
    total += d * d;
  }
  return metricValue(total / labels.length);
}

/**
 * Expected calibration error with `bins` equal-width bins on [0, 1]: a probability p falls in bin
 * min(⌊p · bins⌋, bins − 1) (so p = 1 joins the top bin), and
 *   ECE = Σ_bins (rows in bin / rows) · |mean label in bin − mean probability in bin|.
 * Empty bins contribute nothing. The default is 10 bins.
 */
export function expectedCalibrationError(
  probabilities: NumericArray,
  labels: NumericArray,
  bins = DEFAULT_CALIBRATION_BINS,
): MetricResult {
  if (!Number.isInteger(bins) || bins < 1 || bins > 10_000) {
    return metricFailure('invalid_option', `bins must be an integer from 1 to 10000 (got ${String(bins)})`);
  }
  const bad = checkBinaryProbabilities(probabilities, labels);
  if (bad) return bad;
  const counts = new Float64Array(bins);
  const labelSums = new Float64Array(bins);
  const probabilitySums = new Float64Array(bins);
  for (let i = 0; i < labels.length; i++) {
    const p = probabilities[i] as number;
    const bin = Math.min(Math.floor(p * bins), bins - 1);
    counts[bin] = (counts[bin] as number) + 1;
    labelSums[bin] = (labelSums[bin] as number) + (labels[i] as number);
    probabilitySums[bin] = (probabilitySums[bin] as number) + p;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    const count = counts[b] as number;
    if (count === 0) continue;
    ece += (count / labels.length) * Math.abs((labelSums[b] as number) / count - (probabilitySums[b] as number) / count);
  }
  return metricValue(ece);
}

export interface BinaryMetricOptions {
  /** Decision threshold for accuracy, in (0, 1); default 0.5. */
  readonly threshold?: number;
  /** Equal-width bins for the calibration error; default 10. */
  readonly calibrationBins?: number;
}

/** Every binary metric of the task, each its own result (one failing does not hide the others). */
export interface BinaryMetrics {
  readonly accuracy: MetricResult;
  readonly roc_auc: MetricResult;
  readonly log_loss: MetricResult;
  readonly brier: MetricResult;
  readonly ece: MetricResult;
}

export function binaryClassificationMetrics(
  probabilities: NumericArray,
  labels: NumericArray,
  options: BinaryMetricOptions = {},
): BinaryMetrics {
  return {
    accuracy: binaryAccuracy(probabilities, labels, options.threshold ?? DEFAULT_THRESHOLD),
    roc_auc: binaryRocAuc(probabilities, labels),
    log_loss: binaryLogLoss(probabilities, labels),
    brier: brierScore(probabilities, labels),
    ece: expectedCalibrationError(probabilities, labels, options.calibrationBins ?? DEFAULT_CALIBRATION_BINS),
  };
}
