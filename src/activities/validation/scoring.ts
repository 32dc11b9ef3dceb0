// A model scored on an evaluation set through its contract: every input fed (feedsFor), the score
// read from its outputs (extractScores), and the task's metrics on all rows or a subset of them.
import { thresholdOf, type EvaluationSet, type ModelContract, type StoredSignature } from '../../contracts/index.js';
import {
  binaryClassificationMetrics, multiclassClassificationMetrics, regressionMetrics, type MetricResult,
} from '../../models/metrics/index.js';
import type { LoadedModel } from '../../models/onnx-runtime.js';
import { scoreRows, type Scores } from '../../models/score-rows.js';
import type { ValidationMetricName } from '../../policy/schema.js';

export type { Scores } from '../../models/score-rows.js';
export type Scoring = { ok: true; scores: Scores } | { ok: false; field: string; message: string };

/** Runs the model on every row of the set; fails naming the column, cell or output that stopped it. */
export async function scoreEvaluationSet(loaded: LoadedModel, contract: ModelContract, sig: StoredSignature, set: EvaluationSet): Promise<Scoring> {
  const scored = await scoreRows(loaded, contract, sig, set);
  return scored.ok ? scored : { ok: false, field: scored.field, message: scored.message };
}

/** What the metrics and the bootstrap take as predictions: P(positive), class probabilities [N, C] or the prediction. */
export function predictionsOf(scores: Scores): Float64Array {
  return scores.task === 'binary_classification' ? scores.scores : scores.task === 'regression' ? scores.predictions : scores.probabilities;
}

/** Every metric of the model's task on the given rows (all when absent), each its own coded result. */
export function taskMetrics(contract: ModelContract, scores: Scores, targets: Float64Array, rows?: readonly number[]): Partial<Record<ValidationMetricName, MetricResult>> {
  const width = scores.task === 'multiclass_classification' ? scores.classes : 1;
  const all = predictionsOf(scores);
  const predictions = rows ? pick(all, rows, width) : all;
  const truth = rows ? pick(targets, rows, 1) : targets;
  switch (scores.task) {
    case 'binary_classification': return binaryClassificationMetrics(predictions, truth, { threshold: thresholdOf(contract) });
    case 'multiclass_classification': return multiclassClassificationMetrics(predictions, truth, scores.classes);
    case 'regression': return regressionMetrics(predictions, truth);
  }
}

function pick(values: Float64Array, rows: readonly number[], width: number): Float64Array {
  const out = new Float64Array(rows.length * width);
  rows.forEach((row, i) => out.set(values.subarray(row * width, (row + 1) * width), i * width));
  return out;
}
