// Regression metrics over predictions and targets of the same length. Each matches scikit-learn
// (test/fixtures/metrics-golden.json):
//   rootMeanSquaredError  sqrt(mean_squared_error(y, ŷ))
//   meanAbsoluteError     mean_absolute_error(y, ŷ)
//   rSquared              r2_score(y, ŷ), except that constant targets give 'constant_target'
//                         (sklearn's force_finite turns that 0/0 or x/0 into 1.0 or 0.0).
import { checkPaired, metricFailure, metricValue, type MetricResult, type NumericArray } from './result.js';

export function rootMeanSquaredError(predictions: NumericArray, targets: NumericArray): MetricResult {
  const bad = checkPaired(predictions, 'predictions', targets, 'targets');
  if (bad) return bad;
  let total = 0;
  for (let i = 0; i < targets.length; i++) {
    const d = (predictions[i] as number) - (targets[i] as number);
    total += d * d;
  }
  return metricValue(Math.sqrt(total / targets.length));
}

export function meanAbsoluteError(predictions: NumericArray, targets: NumericArray): MetricResult {
  const bad = checkPaired(predictions, 'predictions', targets, 'targets');
  if (bad) return bad;
  let total = 0;
  for (let i = 0; i < targets.length; i++) total += Math.abs((predictions[i] as number) - (targets[i] as number));
  return metricValue(total / targets.length);
}

/** Coefficient of determination 1 − SS_res / SS_tot; may be negative for a model worse than the mean. */
export function rSquared(predictions: NumericArray, targets: NumericArray): MetricResult {
  const bad = checkPaired(predictions, 'predictions', targets, 'targets');
  if (bad) return bad;
  const n = targets.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += targets[i] as number;
  mean /= n;
  let residual = 0;
  let spread = 0;
  for (let i = 0; i < n; i++) {
    const y = targets[i] as number;
    const r = y - (predictions[i] as number);
    residual += r * r;
    spread += (y - mean) * (y - mean);
  }
  if (spread === 0) return metricFailure('constant_target', `R² is undefined: all ${n} targets equal ${String(targets[0])}`);
  return metricValue(1 - residual / spread);
}

/** Every regression metric of the task, each its own result. */
export interface RegressionMetrics {
  readonly rmse: MetricResult;
  readonly mae: MetricResult;
  readonly r2: MetricResult;
}

export function regressionMetrics(predictions: NumericArray, targets: NumericArray): RegressionMetrics {
  return {
    rmse: rootMeanSquaredError(predictions, targets),
    mae: meanAbsoluteError(predictions, targets),
    r2: rSquared(predictions, targets),
  };
}
