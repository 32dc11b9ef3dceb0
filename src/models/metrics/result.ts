// The one result shape of every task metric: `{ ok: true, value }` or `{ ok: false, code, message }`.
// Degenerate input (no rows, one class only, NaN scores, mismatched lengths) is a normal outcome
// of evaluating a model on a real dataset, so it is answered with a code the caller branches on,
// never a throw and never a NaN that would silently pass or fail a `>=` comparison. The shape is
// the stats engine's (src/stats/result.ts) with the codes a metric needs.

/** Why a metric could not be computed. Callers branch on this, never on the message text. */
export type MetricCode =
  /** No rows. */
  | 'empty'
  /** Scores/probabilities/predictions and labels/targets have different lengths (or rows × classes). */
  | 'length_mismatch'
  /** NaN or ±Infinity in a score, probability, prediction or target. */
  | 'non_finite'
  /** A label that is not a class index (0/1 for binary, 0..C−1 for multiclass). */
  | 'invalid_label'
  /** A probability outside [0, 1] where the metric needs a probability. */
  | 'invalid_probability'
  /** Only one class among the labels: ROC AUC (and its bootstrap) is undefined. */
  | 'one_class'
  /** Every regression target is the same value: R² is undefined (its denominator is 0). */
  | 'constant_target'
  /** A bad option: threshold outside (0, 1), bin count, class count, resample count, level. */
  | 'invalid_option'
  /** Too many bootstrap resamples had a metric that could not be computed (e.g. one class drawn). */
  | 'degenerate_resamples';

export interface MetricFailure {
  readonly ok: false;
  readonly code: MetricCode;
  readonly message: string;
}

/** Either the value's fields with `ok: true`, or a coded failure. Plain JSON either way. */
export type MetricOutcome<T extends object> = (T & { readonly ok: true }) | MetricFailure;

/** A single metric value. */
export type MetricResult = MetricOutcome<{ readonly value: number }>;

export function metricFailure(code: MetricCode, message: string): MetricFailure {
  return { ok: false, code, message };
}

export function metricValue(value: number): MetricResult {
  return { ok: true, value };
}

/** Any array of numbers a caller may hold: model outputs come as Float32Array, JSON as number[]. */
export type NumericArray = Float32Array | Float64Array | Int32Array | Uint8Array | readonly number[];

/** The checks every metric starts with: lengths agree, there are rows, every number is finite. */
export function checkPaired(
  predictions: NumericArray,
  predictionName: string,
  truth: NumericArray,
  truthName: string,
  perRow = 1,
): MetricFailure | null {
  if (predictions.length !== truth.length * perRow) {
    const expected = perRow === 1 ? `${truth.length}` : `${truth.length} × ${perRow} = ${truth.length * perRow}`;
    return metricFailure('length_mismatch', `${predictions.length} ${predictionName} for ${truth.length} ${truthName} (expected ${expected})`);
  }
  if (truth.length === 0) return metricFailure('empty', `no rows: ${truthName} is empty`);
  const badPrediction = firstNonFinite(predictions);
  if (badPrediction >= 0) {
    return metricFailure('non_finite', `${predictionName}[${badPrediction}] is ${String(predictions[badPrediction])}`);
  }
  const badTruth = firstNonFinite(truth);
  if (badTruth >= 0) return metricFailure('non_finite', `${truthName}[${badTruth}] is ${String(truth[badTruth])}`);
  return null;
}

/** Labels must be integers in [0, classes). */
export function checkClassLabels(labels: NumericArray, classes: number): MetricFailure | null {
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i] as number;
    if (!Number.isInteger(label) || label < 0 || label >= classes) {
      const allowed = classes === 2 ? '0 or 1' : `an integer in 0..${classes - 1}`;
      return metricFailure('invalid_label', `labels[${i}] is ${String(label)}; a label must be ${allowed}`);
    }
  }
  return null;
}

export function checkProbabilities(values: NumericArray, name: string): MetricFailure | null {
  for (let i = 0; i < values.length; i++) {
    const p = values[i] as number;
    if (p < 0 || p > 1) return metricFailure('invalid_probability', `${name}[${i}] is ${p}; a probability must lie in [0, 1]`);
  }
  return null;
}

function firstNonFinite(values: NumericArray): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i] as number)) return i;
  return -1;
}
