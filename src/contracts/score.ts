// The score of each row, read from a model's outputs by its contract: the positive class's
// probability (binary), the class distribution (multiclass) or the prediction (regression). Every
// consumer (validation, reference profiles, the inference log, canary and shadow gates, replay)
// reads a model's answer through here instead of assuming one float probability column.
// Pure: outputs come in as plain arrays, so the serving worker and the orchestrator share it.
import { rowWidth, type ClassLabel, type ModelContract, type StoredSignature } from './contract.js';

/** One output as a runtime returns it: its values row-major and its dimensions. */
export interface OutputValues {
  readonly data: ArrayLike<number> | ArrayLike<bigint> | ArrayLike<string> | ArrayLike<boolean>;
  readonly dims: readonly number[];
}

export type ExtractedScores =
  | { readonly ok: true; readonly task: 'binary_classification'; readonly rows: number; readonly scores: Float64Array }
  | { readonly ok: true; readonly task: 'multiclass_classification'; readonly rows: number; readonly classes: number; readonly probabilities: Float64Array }
  | { readonly ok: true; readonly task: 'regression'; readonly rows: number; readonly predictions: Float64Array }
  | ScoreFailure;

/** Why no score could be read; `field` points into the contract (or names the output). */
export interface ScoreFailure { readonly ok: false; readonly field: string; readonly message: string }

const fail = (field: string, message: string): ScoreFailure => ({ ok: false, field, message });

function numberAt(data: OutputValues['data'], i: number): number {
  const v = data[i];
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : typeof v === 'boolean' ? (v ? 1 : 0) : Number(v);
}

const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/** Softmax of `row` into `out` (max subtracted first, so large logits do not overflow). */
function softmaxInto(row: ArrayLike<number>, out: Float64Array, offset: number, width: number): void {
  let max = -Infinity;
  for (let j = 0; j < width; j++) max = Math.max(max, row[j] as number);
  let sum = 0;
  for (let j = 0; j < width; j++) {
    const e = Math.exp((row[j] as number) - max);
    out[offset + j] = e;
    sum += e;
  }
  for (let j = 0; j < width; j++) out[offset + j] = (out[offset + j] as number) / sum;
}

/**
 * The rows' scores from a model's outputs (by output name). Fails, naming the output, when the
 * score output is missing, not numeric, has no rows, or a column the contract names is absent.
 */
export function extractScores(contract: ModelContract, outputs: Readonly<Record<string, OutputValues>>): ExtractedScores {
  const { output, column, transform } = contract.score;
  const out = outputs[output];
  if (!out) return fail('/score/output', `the model returned no output ${output} (it returned ${Object.keys(outputs).join(', ') || 'nothing'})`);
  if (out.dims.length === 0) return fail('/score/output', `output ${output} has no batch dimension`);
  const rows = out.dims[0] as number;
  const width = out.dims.slice(1).reduce((a, b) => a * b, 1);
  if (out.data.length !== rows * width) return fail('/score/output', `output ${output} has ${out.data.length} values, not ${rows}×${width}`);
  if (rows > 0 && typeof out.data[0] === 'string') return fail('/score/output', `output ${output} holds strings, not scores`);
  const value = (i: number, j: number) => numberAt(out.data, i * width + j);

  if (contract.task === 'multiclass_classification') {
    if (width < 2) return fail('/score/output', `output ${output} has ${width} column${width === 1 ? '' : 's'}; a multiclass score needs one per class`);
    const probabilities = new Float64Array(rows * width);
    const row = new Float64Array(width);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < width; j++) row[j] = value(i, j);
      if (transform === 'softmax') softmaxInto(row, probabilities, i * width, width);
      else probabilities.set(row, i * width);
    }
    return { ok: true, task: contract.task, rows, classes: width, probabilities };
  }

  const at = column ?? 0;
  if (at >= width) return fail('/score/column', `column ${at} does not exist: output ${output} has ${width} column${width === 1 ? '' : 's'}`);
  const scores = new Float64Array(rows);
  if (contract.task === 'regression') {
    for (let i = 0; i < rows; i++) scores[i] = value(i, at);
    return { ok: true, task: 'regression', rows, predictions: scores };
  }
  if (transform === 'softmax') {
    const row = new Float64Array(width);
    const soft = new Float64Array(width);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < width; j++) row[j] = value(i, j);
      softmaxInto(row, soft, 0, width);
      scores[i] = soft[at] as number;
    }
  } else {
    for (let i = 0; i < rows; i++) scores[i] = transform === 'sigmoid' ? sigmoid(value(i, at)) : value(i, at);
  }
  return { ok: true, task: 'binary_classification', rows, scores };
}

/** The index of each row's top class (the first on a tie, as numpy's argmax). */
export function topClasses(probabilities: ArrayLike<number>, rows: number, classes: number): Int32Array {
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    let best = 0;
    for (let j = 1; j < classes; j++) if ((probabilities[i * classes + j] as number) > (probabilities[i * classes + best] as number)) best = j;
    out[i] = best;
  }
  return out;
}

/** The decision threshold of a binary contract (0.5 unless declared). */
export const thresholdOf = (contract: ModelContract): number => contract.threshold ?? 0.5;

/**
 * One number per row, the form the inference log, reference profiles and the canary's shift gate
 * keep: the positive class's probability (binary), the index of the top class (multiclass), the
 * prediction (regression).
 */
export function rowScores(extracted: Exclude<ExtractedScores, ScoreFailure>): Float64Array {
  if (extracted.task === 'binary_classification') return extracted.scores;
  if (extracted.task === 'regression') return extracted.predictions;
  return Float64Array.from(topClasses(extracted.probabilities, extracted.rows, extracted.classes));
}

/** The class index each row is predicted as (binary: 1 when the score reaches the threshold); null for regression. */
export function predictedClasses(contract: ModelContract, extracted: Exclude<ExtractedScores, ScoreFailure>): Int32Array | null {
  if (extracted.task === 'regression') return null;
  if (extracted.task === 'multiclass_classification') return topClasses(extracted.probabilities, extracted.rows, extracted.classes);
  const cut = thresholdOf(contract);
  return Int32Array.from(extracted.scores, (s) => (s >= cut ? 1 : 0));
}

/**
 * The class index a label names: for binary, 1 for the positive class and 0 for the other; for
 * multiclass, its position among the class labels (or the label itself as an index when the
 * contract lists none). null when the label is not a class of the model.
 */
export function classIndexOf(contract: ModelContract, label: ClassLabel | boolean): number | null {
  const classes = contract.classLabels;
  const asLabel: ClassLabel = typeof label === 'boolean' ? (label ? 1 : 0) : label;
  const matches = (c: ClassLabel) => c === asLabel || String(c) === String(asLabel);
  if (contract.task === 'binary_classification') {
    const positive = contract.positiveClass ?? classes?.[1] ?? 1;
    if (matches(positive)) return 1;
    const negative = classes ? classes.find((c) => String(c) !== String(positive)) : 0;
    return negative !== undefined && matches(negative) ? 0 : null;
  }
  if (contract.task === 'multiclass_classification') {
    if (classes) {
      const i = classes.findIndex(matches);
      return i >= 0 ? i : null;
    }
    const n = typeof asLabel === 'number' ? asLabel : Number(asLabel);
    return Number.isInteger(n) && n >= 0 ? n : null;
  }
  return null;
}

/** Classes a multiclass contract scores: its class labels, else the score output's width in the signature. */
export function classCount(contract: ModelContract, sig: StoredSignature): number | null {
  if (contract.task === 'binary_classification') return 2;
  if (contract.task === 'regression') return null;
  if (contract.classLabels) return contract.classLabels.length;
  const out = sig.outputs.find((t) => t.name === contract.score.output);
  return out ? rowWidth(out) : null;
}
