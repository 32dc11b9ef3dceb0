// Task metrics: the one home of every model-quality measure Sluice computes. Pure functions over
// arrays, no I/O, deterministic (the bootstrap draws from a seeded generator), so they run the
// same in an activity, a test or a replay.
//
// Result shape (result.ts): every metric returns `{ ok: true, value }` or
// `{ ok: false, code, message }`, never throws and never returns NaN. Codes: 'empty',
// 'length_mismatch', 'non_finite', 'invalid_label', 'invalid_probability', 'one_class',
// 'constant_target', 'invalid_option', 'degenerate_resamples'. Branch on `code`; show `message`.
//
// Inputs: arrays of numbers (number[], Float32Array, Float64Array, ...). Binary: the score is the
// probability of the positive class, labels 0/1. Multiclass: probabilities [N, C] row-major
// (row i's class c at i·C + c), labels 0..C−1. Regression: predictions and targets.
//
//   binary.ts      binaryAccuracy (threshold, default 0.5), binaryRocAuc, binaryLogLoss,
//                  brierScore, expectedCalibrationError (10 equal-width bins by default),
//                  binaryClassificationMetrics (all five); rocAucInOrder, ascendingOrder (the AUC core
//                  with row counts, which the bootstrap uses to score a resample without a sort)
//   multiclass.ts  multiclassAccuracy, macroF1, multiclassLogLoss, multiclassClassificationMetrics
//   regression.ts  rootMeanSquaredError, meanAbsoluteError, rSquared, regressionMetrics
//   bootstrap.ts   pairedBootstrapDifference: candidate − production of any metric above on the
//                  same rows, with a seeded percentile interval; HIGHER_IS_BETTER per metric
//   trainer-report.ts  accuracy, logLoss, rocAuc, classificationReport: the trainer's older
//                  number-returning forms (NaN / RangeError), wrappers over binary.ts
//
// Every number is checked against scikit-learn on committed vectors: scripts/golden-metrics.py
// wrote test/fixtures/metrics-golden.json, read by test/unit/models/task-metrics.test.ts.
export {
  DEFAULT_CALIBRATION_BINS,
  DEFAULT_LOG_LOSS_EPS,
  DEFAULT_THRESHOLD,
  ascendingOrder,
  binaryAccuracy,
  binaryClassificationMetrics,
  binaryLogLoss,
  binaryRocAuc,
  brierScore,
  checkThreshold,
  expectedCalibrationError,
  rocAucInOrder,
} from './binary.js';
export type { BinaryMetricOptions, BinaryMetrics } from './binary.js';
export {
  ROW_SUM_TOLERANCE,
  argmaxRows,
  macroF1,
  multiclassAccuracy,
  multiclassClassificationMetrics,
  multiclassLogLoss,
} from './multiclass.js';
export type { MulticlassMetrics } from './multiclass.js';
export { meanAbsoluteError, rSquared, regressionMetrics, rootMeanSquaredError } from './regression.js';
export type { RegressionMetrics } from './regression.js';
export {
  DEFAULT_BOOTSTRAP_LEVEL,
  DEFAULT_BOOTSTRAP_RESAMPLES,
  HIGHER_IS_BETTER,
  pairedBootstrapDifference,
} from './bootstrap.js';
export type {
  BinaryMetricName,
  BootstrapOptions,
  MetricName,
  MulticlassMetricName,
  PairedBootstrapDifference,
  PairedEvaluation,
  RegressionMetricName,
} from './bootstrap.js';
export { metricFailure, metricValue } from './result.js';
export type { MetricCode, MetricFailure, MetricOutcome, MetricResult, NumericArray } from './result.js';
export { accuracy, classificationReport, logLoss, rocAuc } from './trainer-report.js';
export type { ClassificationReport } from './trainer-report.js';
