// A model scored on an evaluation set through its contract: every input fed (feedsFor), the score
// read from its outputs (extractScores), and the task's metrics on all rows or a subset of them.
import {
  extractScores, feedsFor, thresholdOf, type EvaluationSet, type ExtractedScores, type ModelContract, type ScoreFailure, type StoredSignature,
} from '../../contracts/index.js';
import {
  binaryClassificationMetrics, multiclassClassificationMetrics, regressionMetrics, type MetricResult,
} from '../../models/metrics/index.js';
import { runFeeds, type LoadedModel } from '../../models/onnx-runtime.js';
import type { ValidationMetricName } from '../../policy/schema.js';

export type Scores = Exclude<ExtractedScores, ScoreFailure>;
export type Scoring = { ok: true; scores: Scores } | { ok: false; field: string; message: string };

/** Runs the model on every row of the set; fails naming the column, cell or output that stopped it. */
export async function scoreEvaluationSet(loaded: LoadedModel, contract: ModelContract, sig: StoredSignature, set: EvaluationSet): Promise<Scoring> {
  const feeds = feedsFor(contract, sig, set);
  if (!feeds.ok) return feeds;
  const extracted = extractScores(contract, await runFeeds(loaded, feeds.feeds));
  if (!extracted.ok) return extracted;
  if (extracted.rows !== set.rows) return { ok: false, field: '/score/output', message: `the model answered ${extracted.rows} rows for ${set.rows}` };
  return { ok: true, scores: extracted };
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
