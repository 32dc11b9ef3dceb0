// Infers a model's contract from the signature of its first version, for the shapes the common
// exporters write, so the plain flow (create, register, roll out) needs no flags. The rules, in order:
//
//  - A non-tensor output (skl2onnx's ZipMap: a sequence of maps) is refused with the exporter fix.
//  - Every input must be float32, float64, int64, int32, bool or string. Feature names come from the
//    hints, else from Sluice's metadata (its one input matrix), else `<input>[i]`; a one-column input
//    is one feature named after the input.
//  - The score is the hinted output, else the only float output, else the one named like
//    probabilities (/prob/), else like logits (/logit/); several other float outputs are ambiguous.
//  - The label output is the hinted one, else the only int/string one-column output (preferring one
//    named /label/). Labels are for classifiers; a regression contract has none.
//  - With the score's columns W and no task hint:
//      W = 1, named like logits          → binary, sigmoid.
//      W = 1, named like probabilities, or with a label output → binary probability.
//      W = 1, named as the exporters name a regressor's output (variable — skl2onnx and onnxmltools —,
//            prediction(s), predicted, regression, target, y), no label output
//                                        → regression, with a note (declare binary_classification if it
//                                          is a probability): the plain flow must take regressors as they come.
//      W = 1, named output or value      → ambiguous: refused, asking for task.
//      W = 1, any other name             → binary probability (the issue's rule for one float output).
//      W = 2                             → binary, column 1; softmax when named like logits.
//      W ≥ 3, named like logits          → multiclass, softmax.
//      W ≥ 3, named like probabilities or with a label output → multiclass probabilities.
//      W ≥ 3, any other name             → ambiguous (logits or probabilities?): refused, asking for transform.
//      W open (-1)                       → refused: the columns cannot be checked.
//  - A task hint decides the task: binary takes W = 1 or 2, multiclass W ≥ 2, regression W = 1.
//  - Classes are indices 0..W-1 (0, 1 for binary) unless the label output is string (then unknown
//    unless hinted); the positive class is the scored column's class; the threshold is 0.5.
import {
  INPUT_ELEMENT_TYPES, LABEL_ELEMENT_TYPES, NON_TENSOR, SCORE_ELEMENT_TYPES, rowWidth,
  type ClassLabel, type ContractInput, type InputElementType, type ModelContract, type ModelTask, type ScoreTransform,
  type StoredSignature, type TensorSpec,
} from './contract.js';
import { describeContract } from './describe.js';
import { nonTensorOutputProblems, validateContract } from './validate.js';

export interface ContractHints {
  task?: ModelTask;
  scoreOutput?: string;
  transform?: ScoreTransform;
  labelOutput?: string;
  classLabels?: ClassLabel[];
  positiveClass?: ClassLabel;
  threshold?: number;
  /** Feature names by input name; a bare list names the columns of the only input. */
  featureNames?: Readonly<Record<string, readonly string[]>> | readonly string[];
}

export type InferenceRefusalCode =
  | 'non_tensor_output' | 'no_inputs' | 'no_outputs' | 'unsupported_input_type' | 'no_score_output'
  | 'ambiguous' | 'hint_mismatch' | 'invalid_contract';

export type ContractInference =
  | { ok: true; contract: ModelContract; explanation: string }
  | { ok: false; code: InferenceRefusalCode; field: string; message: string };

type Refusal = Extract<ContractInference, { ok: false }>;
const refuse = (code: InferenceRefusalCode, field: string, message: string): Refusal => ({ ok: false, code, field, message });

const PROBABILITY_NAME = /prob/i;
const LOGIT_NAME = /logit/i;
const LABEL_NAME = /label/i;
/** Names the exporters give a regressor's output: read as a regression prediction. */
const REGRESSION_NAMES = new Set(['variable', 'prediction', 'predictions', 'predicted', 'target', 'y', 'regression']);
/** Names a regressor's or a classifier's output may have alike: refused without a task. */
const AMBIGUOUS_NAMES = new Set(['output', 'value']);

/** Sluice's own models record their input matrix's column names in the version metadata's `embedded`. */
export function featureNamesFromMetadata(metadata: unknown): readonly string[] | undefined {
  const names = (metadata as { embedded?: { featureNames?: unknown } } | null | undefined)?.embedded?.featureNames;
  return Array.isArray(names) && names.every((n) => typeof n === 'string') ? names : undefined;
}

export function inferContract(sig: StoredSignature, hints: ContractHints = {}): ContractInference {
  const [nonTensor] = nonTensorOutputProblems(sig);
  if (nonTensor) return refuse('non_tensor_output', nonTensor.field, nonTensor.message);
  if (sig.inputs.length === 0) return refuse('no_inputs', '/signature/inputs', 'the model takes no inputs');
  if (sig.outputs.length === 0) return refuse('no_outputs', '/signature/outputs', 'the model has no outputs');

  const inputs = inferInputs(sig, hints);
  if (!Array.isArray(inputs)) return inputs;
  const score = pickScoreOutput(sig, hints);
  if ('ok' in score) return score;
  const notes: string[] = [];
  const label = pickLabelOutput(sig, hints, score);
  if (label && 'ok' in label) return label;

  const shaped = taskAndTransform(score, label !== undefined, hints, notes);
  if ('ok' in shaped) return shaped;
  const { task, transform, column } = shaped;

  const contract: ModelContract = { task, inputs, score: { output: score.name, ...(column === undefined ? {} : { column }), transform } };
  if (task !== 'regression') {
    if (label) contract.labelOutput = label.name;
    const width = rowWidth(score) ?? 1;
    const classLabels = hints.classLabels ?? (label?.datatype === 'string' ? undefined
      : Array.from({ length: task === 'binary_classification' ? 2 : width }, (_, i) => i));
    if (classLabels) contract.classLabels = classLabels;
    else notes.push(`the classes are strings the signature does not list (label output ${label?.name} is string): give classLabels to name them`);
    if (task === 'binary_classification') {
      const positive = hints.positiveClass ?? classLabels?.[column ?? 1];
      if (positive !== undefined) contract.positiveClass = positive;
      contract.threshold = hints.threshold ?? 0.5;
    }
  }
  const problems = validateContract(contract, sig);
  if (problems.length > 0) {
    const [first] = problems as [{ field: string; message: string }];
    return refuse('invalid_contract', first.field, `the contract inferred from the hints does not fit the model: ${problems.map((p) => p.message).join('; ')}`);
  }
  return { ok: true, contract, explanation: [describeContract(contract), ...notes.map((n) => `Note: ${n}.`)].join(' ') };
}

function inferInputs(sig: StoredSignature, hints: ContractHints): ContractInput[] | Refusal {
  const named = hints.featureNames;
  if (Array.isArray(named) && sig.inputs.length !== 1) {
    return refuse('hint_mismatch', '/featureNames', `a bare list of feature names fits a model with one input; this one has ${sig.inputs.length}: name them by input`);
  }
  const byInput = (name: string): readonly string[] | undefined => (Array.isArray(named) ? named : (named as Record<string, readonly string[]> | undefined)?.[name]);
  const inputs: ContractInput[] = [];
  for (const [i, t] of sig.inputs.entries()) {
    if (!(INPUT_ELEMENT_TYPES as readonly string[]).includes(t.datatype)) {
      return refuse('unsupported_input_type', `/signature/inputs/${i}`, `input ${t.name} is ${t.datatype}; Sluice feeds inputs of ${INPUT_ELEMENT_TYPES.join(', ')}`);
    }
    const width = rowWidth(t);
    const given = byInput(t.name);
    if (given && width !== null && given.length !== width) {
      return refuse('hint_mismatch', `/featureNames/${t.name}`, `input ${t.name} carries ${width} values per row, but ${given.length} feature names are given`);
    }
    const features = given ? [...given] : width === null ? undefined : width === 1 ? [t.name] : Array.from({ length: width }, (_, j) => `${t.name}[${j}]`);
    inputs.push({ name: t.name, elementType: t.datatype as InputElementType, ...(features ? { features } : {}) });
  }
  return inputs;
}

function pickScoreOutput(sig: StoredSignature, hints: ContractHints): TensorSpec | Refusal {
  const names = sig.outputs.map((t) => t.name).join(', ');
  if (hints.scoreOutput !== undefined) {
    const hinted = sig.outputs.find((t) => t.name === hints.scoreOutput);
    return hinted ?? refuse('hint_mismatch', '/score/output', `output ${hints.scoreOutput} is not among the model's outputs (${names})`);
  }
  const floats = sig.outputs.filter((t) => SCORE_ELEMENT_TYPES.includes(t.datatype));
  if (floats.length === 0) {
    return refuse('no_score_output', '/score/output', `no output is float32 or float64 (${names}), so none can be a score; export the probabilities, logits or prediction as well`);
  }
  if (floats.length === 1) return floats[0] as TensorSpec;
  for (const pattern of [PROBABILITY_NAME, LOGIT_NAME]) {
    const matching = floats.filter((t) => pattern.test(t.name));
    if (matching.length === 1) return matching[0] as TensorSpec;
  }
  return refuse('ambiguous', '/score/output', `several float outputs could be the score (${floats.map((t) => t.name).join(', ')}): say which in score.output`);
}

function pickLabelOutput(sig: StoredSignature, hints: ContractHints, score: TensorSpec): TensorSpec | Refusal | undefined {
  if (hints.labelOutput !== undefined) {
    return sig.outputs.find((t) => t.name === hints.labelOutput)
      ?? refuse('hint_mismatch', '/labelOutput', `output ${hints.labelOutput} is not among the model's outputs (${sig.outputs.map((t) => t.name).join(', ')})`);
  }
  const labels = sig.outputs.filter((t) => t !== score && t.datatype !== NON_TENSOR && LABEL_ELEMENT_TYPES.includes(t.datatype) && rowWidth(t) === 1);
  if (labels.length <= 1) return labels[0];
  const named = labels.filter((t) => LABEL_NAME.test(t.name));
  return named.length === 1 ? named[0] : undefined;
}

function taskAndTransform(score: TensorSpec, hasLabel: boolean, hints: ContractHints, notes: string[]): { task: ModelTask; transform: ScoreTransform; column?: number } | Refusal {
  const width = rowWidth(score);
  const shown = `output ${score.name} (${score.datatype}, ${width === null ? 'an open number of' : width} column${width === 1 ? '' : 's'})`;
  if (width === null) return refuse('ambiguous', '/score/output', `${shown}: its number of columns is not fixed, so the score cannot be inferred; declare the contract`);
  if (width === 0) return refuse('no_score_output', '/score/output', `${shown} carries no values per row`);
  const logit = LOGIT_NAME.test(score.name);
  const probability = PROBABILITY_NAME.test(score.name);
  const task = hints.task;
  const transformFor = (t: ModelTask): ScoreTransform => hints.transform ?? (t === 'regression' ? 'none' : logit ? (width === 1 ? 'sigmoid' : 'softmax') : 'none');
  const mismatch = (why: string) => refuse('hint_mismatch', '/task', `${shown} cannot be ${task === undefined ? 'scored' : `a ${task.replaceAll('_', ' ')} score`}: ${why}`);

  if (width === 1) {
    if (task === 'multiclass_classification') return mismatch('a multiclass score needs one column per class');
    if (task === 'regression') return { task, transform: transformFor(task) };
    if (task === undefined && !logit && !probability && !hasLabel && REGRESSION_NAMES.has(score.name.toLowerCase())) {
      notes.push(`${score.name} is taken to be a regression prediction, as exporters name a regressor's output; declare task binary_classification if it is a probability`);
      return { task: 'regression', transform: transformFor('regression') };
    }
    if (task === undefined && !logit && !probability && !hasLabel && AMBIGUOUS_NAMES.has(score.name.toLowerCase())) {
      return refuse('ambiguous', '/task', `${shown} could be a regression prediction or a binary probability: `
        + 'say which with task regression or binary_classification');
    }
    if (task === undefined && !logit && !probability && !hasLabel) notes.push(`${score.name} is taken to be a probability; declare transform sigmoid if it is a logit, or task regression if it is a prediction`);
    return { task: 'binary_classification', transform: transformFor('binary_classification') };
  }
  if (width === 2 && (task === undefined || task === 'binary_classification')) {
    return { task: 'binary_classification', transform: transformFor('binary_classification'), column: 1 };
  }
  if (task === 'binary_classification') return mismatch('a binary score comes from 1 or 2 columns');
  if (task === 'regression') return mismatch('a regression score is one column');
  if (!logit && !probability && !hasLabel && hints.transform === undefined) {
    return refuse('ambiguous', '/score/transform', `${shown} could hold logits or probabilities: say which with transform softmax or none`);
  }
  return { task: 'multiclass_classification', transform: transformFor('multiclass_classification') };
}
