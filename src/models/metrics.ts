/**
 * Binary-classification quality measures over predicted probabilities, used to validate a model
 * on a golden set and to compare versions.
 */

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

type Probabilities = Float32Array | Float64Array | readonly number[];
type Labels = Uint8Array | readonly number[];

/** Share of rows where (probability ≥ threshold) agrees with the label. */
export function accuracy(probabilities: Probabilities, labels: Labels, threshold = 0.5): number {
  const n = checkLengths(probabilities, labels);
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const predicted = (probabilities[i] as number) >= threshold ? 1 : 0;
    if (predicted === labels[i]) correct++;
  }
  return n === 0 ? NaN : correct / n;
}

/**
 * Mean negative log-likelihood. Probabilities are clipped to [eps, 1 − eps] so one confident
 * mistake (a float32 probability of exactly 0 or 1) gives a large but finite loss.
 */
export function logLoss(probabilities: Probabilities, labels: Labels, eps = 1e-7): number {
  const n = checkLengths(probabilities, labels);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const p = Math.min(1 - eps, Math.max(eps, probabilities[i] as number));
    total -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return n === 0 ? NaN : total / n;
}

/**
 * ROC AUC as the Mann–Whitney statistic: the chance a random positive scores above a random
 * negative, ties counting one half (tied scores get their average rank).
 */
export function rocAuc(scores: Probabilities, labels: Labels): number {
  const n = checkLengths(scores, labels);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => (scores[a] as number) - (scores[b] as number));
  let positives = 0;
  let positiveRankSum = 0;
  for (let start = 0; start < n;) {
    let end = start + 1;
    const score = scores[order[start] as number] as number;
    while (end < n && scores[order[end] as number] === score) end++;
    const averageRank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) {
      if (labels[order[k] as number] === 1) {
        positives++;
        positiveRankSum += averageRank;
      }
    }
    start = end;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return NaN;
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export function classificationReport(probabilities: Probabilities, labels: Labels, threshold = 0.5): ClassificationReport {
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

function checkLengths(probabilities: Probabilities, labels: Labels): number {
  if (probabilities.length !== labels.length) {
    throw new RangeError(`${probabilities.length} predictions for ${labels.length} labels`);
  }
  return labels.length;
}
