// Multiclass metrics over probabilities [N, C] in row-major order (row i's class c at i·C + c)
// and labels 0..C−1. Each matches scikit-learn (test/fixtures/metrics-golden.json):
//   multiclassAccuracy   accuracy_score(y, argmax(P))     (ties go to the lowest class, as numpy)
//   macroF1              f1_score(y, argmax(P), average='macro')
//   multiclassLogLoss    log_loss(y, P, labels=range(C))  (clipped to [eps, 1 − eps], eps = 2⁻⁵²)
import { DEFAULT_LOG_LOSS_EPS } from './binary.js';
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

/**
 * How far a row of probabilities may sum from 1 before log loss refuses it as 'invalid_probability'.
 * sklearn only warns; here it is refused because rows that do not sum to 1 almost always mean logits
 * that were never passed through softmax, and the loss of such rows is meaningless. Generous
 * enough for float32 softmax outputs.
 */
export const ROW_SUM_TOLERANCE = 1e-4;

function checkMulticlass(probabilities: NumericArray, labels: NumericArray, classes: number): MetricFailure | null {
  if (!Number.isInteger(classes) || classes < 2) {
    return metricFailure('invalid_option', `classes must be an integer of at least 2 (got ${String(classes)})`);
  }
  return checkPaired(probabilities, 'probabilities', labels, 'labels', classes) ?? checkClassLabels(labels, classes);
}

/** The predicted class of each row: the first column holding the row's maximum. */
export function argmaxRows(probabilities: NumericArray, rows: number, classes: number): Int32Array {
  const predicted = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const base = i * classes;
    let best = 0;
    let bestValue = probabilities[base] as number;
    for (let c = 1; c < classes; c++) {
      const value = probabilities[base + c] as number;
      if (value > bestValue) {
        best = c;
        bestValue = value;
      }
    }
    predicted[i] = best;
  }
  return predicted;
}

/** Share of rows whose most probable class is the label. Works on logits as well. */
export function multiclassAccuracy(probabilities: NumericArray, labels: NumericArray, classes: number): MetricResult {
  const bad = checkMulticlass(probabilities, labels, classes);
  if (bad) return bad;
  const predicted = argmaxRows(probabilities, labels.length, classes);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct++;
  return metricValue(correct / labels.length);
}

/**
 * Unweighted mean over classes of F1 = 2·TP / (2·TP + FP + FN), the prediction being the argmax.
 * As sklearn's default: the mean runs over the classes present among the labels or the
 * predictions (a class in neither is left out, not counted as 0); a class never predicted but
 * present among the labels has precision 0/0, taken as 0 (zero_division=0), so its F1 is 0.
 */
export function macroF1(probabilities: NumericArray, labels: NumericArray, classes: number): MetricResult {
  const bad = checkMulticlass(probabilities, labels, classes);
  if (bad) return bad;
  const predicted = argmaxRows(probabilities, labels.length, classes);
  const truePositives = new Float64Array(classes);
  const predictedCounts = new Float64Array(classes);
  const labelCounts = new Float64Array(classes);
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i] as number;
    const guess = predicted[i] as number;
    labelCounts[label] = (labelCounts[label] as number) + 1;
    predictedCounts[guess] = (predictedCounts[guess] as number) + 1;
    if (label === guess) truePositives[label] = (truePositives[label] as number) + 1;
  }
  let sum = 0;
  let present = 0;
  for (let c = 0; c < classes; c++) {
    // 2·TP + FP + FN = predicted count + label count.
    const denominator = (predictedCounts[c] as number) + (labelCounts[c] as number);
    if (denominator === 0) continue;
    present++;
    sum += (2 * (truePositives[c] as number)) / denominator;
  }
  return metricValue(sum / present);
}

/**
 * Mean −ln P(label), each probability clipped to [eps, 1 − eps] first. Rows must be
 * probabilities (in [0, 1], summing to 1 within ROW_SUM_TOLERANCE).
 */
export function multiclassLogLoss(
  probabilities: NumericArray,
  labels: NumericArray,
  classes: number,
  eps = DEFAULT_LOG_LOSS_EPS,
): MetricResult {
  if (!(eps > 0 && eps < 0.5)) return metricFailure('invalid_option', `eps must lie strictly between 0 and 0.5 (got ${String(eps)})`);
  const bad = checkMulticlass(probabilities, labels, classes) ?? checkProbabilities(probabilities, 'probabilities');
  if (bad) return bad;
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    const base = i * classes;
    let rowSum = 0;
    for (let c = 0; c < classes; c++) rowSum += probabilities[base + c] as number;
    if (Math.abs(rowSum - 1) > ROW_SUM_TOLERANCE) {
      return metricFailure('invalid_probability', `probabilities of row ${i} sum to ${rowSum}, not 1 (logits not passed through softmax?)`);
    }
    const p = Math.min(1 - eps, Math.max(eps, probabilities[base + (labels[i] as number)] as number));
    total -= Math.log(p);
  }
  return metricValue(total / labels.length);
}

/** Every multiclass metric of the task, each its own result. */
export interface MulticlassMetrics {
  readonly accuracy: MetricResult;
  readonly macro_f1: MetricResult;
  readonly log_loss: MetricResult;
}

export function multiclassClassificationMetrics(probabilities: NumericArray, labels: NumericArray, classes: number): MulticlassMetrics {
  return {
    accuracy: multiclassAccuracy(probabilities, labels, classes),
    macro_f1: macroF1(probabilities, labels, classes),
    log_loss: multiclassLogLoss(probabilities, labels, classes),
  };
}
