// Realised performance: the contract's task metric on the scores the inference log kept and the
// labels feedback brought, compared with the figure validation measured. Pure, so the monitor's
// activity and unit tests share it.
import type { ModelContract } from '../contracts/contract.js';
import { targetsFor } from '../contracts/evaluation.js';
import { thresholdOf } from '../contracts/score.js';
import {
  binaryClassificationMetrics, HIGHER_IS_BETTER, macroF1, metricFailure, multiclassAccuracy, regressionMetrics,
  type MetricName, type MetricResult,
} from '../models/metrics/index.js';

/**
 * The metric on logged scores (binary: P(positive); multiclass: the top class index, so only
 * accuracy and macro F1; regression: the prediction) against labels as feedback gave them (class
 * labels of the contract, or regression targets).
 */
export function realisedMetric(contract: ModelContract, metric: string, scores: readonly number[], labels: readonly number[], classes: number | null): MetricResult {
  const targets = targetsFor(contract, labels);
  if (!targets.ok) return metricFailure('invalid_label', targets.message);
  const truth = targets.values;
  switch (contract.task) {
    case 'binary_classification': {
      const all = binaryClassificationMetrics(Float64Array.from(scores), truth, { threshold: thresholdOf(contract) });
      return (all as unknown as Record<string, MetricResult | undefined>)[metric] ?? metricFailure('invalid_option', `${metric} is not a binary metric`);
    }
    case 'multiclass_classification': {
      if (classes === null || classes < 2) return metricFailure('invalid_option', 'the number of classes is unknown');
      // The log keeps the top class; as a one-hot row it is what accuracy and macro F1 read.
      const oneHot = new Float64Array(scores.length * classes);
      scores.forEach((c, i) => { if (Number.isInteger(c) && c >= 0 && c < classes) oneHot[i * classes + c] = 1; });
      if (metric === 'accuracy') return multiclassAccuracy(oneHot, truth, classes);
      if (metric === 'macro_f1') return macroF1(oneHot, truth, classes);
      return metricFailure('invalid_option', `${metric} needs class probabilities, and the log keeps the top class only`);
    }
    case 'regression': {
      const all = regressionMetrics(Float64Array.from(scores), truth);
      return (all as unknown as Record<string, MetricResult | undefined>)[metric] ?? metricFailure('invalid_option', `${metric} is not a regression metric`);
    }
  }
}

/** How much worse `realised` is than `expected` in the metric's own direction (positive: worse). */
export function metricDrop(metric: string, realised: number, expected: number): number {
  const higher = HIGHER_IS_BETTER[metric as MetricName] ?? true;
  return higher ? expected - realised : realised - expected;
}
