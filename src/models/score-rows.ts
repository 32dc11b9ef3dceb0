// A loaded model scored on rows of an evaluation set through its contract: every input fed
// (feedsFor), the model run (runFeeds), the score read from its outputs (extractScores). Validation,
// a retrain's holdout and reference profiles all score rows through here.
import {
  extractScores, feedsFor, type EvaluationSet, type ExtractedScores, type ModelContract, type ScoreFailure, type StoredSignature,
} from '../contracts/index.js';
import { runFeeds, type LoadedModel } from './onnx-runtime.js';

export type Scores = Exclude<ExtractedScores, ScoreFailure>;

/** The scores, or why not: `inputs` (a column or cell of the set) or `outputs` (the model's answer does not hold the contract's score). */
export type RowScoring =
  | { ok: true; scores: Scores }
  | { ok: false; stage: 'inputs' | 'outputs'; field: string; message: string };

/** Scores the given rows of the set (all rows when absent), one score per row asked for. */
export async function scoreRows(loaded: LoadedModel, contract: ModelContract, sig: StoredSignature, set: EvaluationSet, rows?: readonly number[]): Promise<RowScoring> {
  const feeds = feedsFor(contract, sig, set, rows);
  if (!feeds.ok) return { ok: false, stage: 'inputs', field: feeds.field, message: feeds.message };
  const extracted = extractScores(contract, await runFeeds(loaded, feeds.feeds));
  if (!extracted.ok) return { ok: false, stage: 'outputs', field: extracted.field, message: extracted.message };
  const expected = rows?.length ?? set.rows;
  if (extracted.rows !== expected) return { ok: false, stage: 'outputs', field: '/score/output', message: `the model answered ${extracted.rows} rows for ${expected}` };
  return { ok: true, scores: extracted };
}
