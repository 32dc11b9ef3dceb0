// Checks a contract against a signature. validateContract serves a contract the user declares
// (each problem names the contract's field, for a 4xx); checkVersion serves every later version
// registered under a stored contract (one refusal quoting both the contract's expectation and the
// version's actual signature, so the user sees what changed).
import { Value } from '@sinclair/typebox/value';
import {
  LABEL_ELEMENT_TYPES, ModelContract, NON_TENSOR, SCORE_ELEMENT_TYPES, formatSignature, rowWidth,
  type ClassLabel, type ContractProblem, type StoredSignature, type TensorSpec,
} from './contract.js';

const ZIPMAP_FIX = "set options={'zipmap': False} in skl2onnx's convert_sklearn (or to_onnx), or zipmap=False in onnxmltools' converters, "
  + 'so the probabilities come out as one float tensor [N, classes]';

/** Outputs that are not tensors (a ZipMap's sequence of maps): refused, with the exporter option that fixes it. */
export function nonTensorOutputProblems(sig: StoredSignature): ContractProblem[] {
  return sig.outputs.flatMap((t, i) => (t.datatype === NON_TENSOR ? [{
    field: `/signature/outputs/${i}`,
    message: `output ${t.name} is not a tensor (a sequence of maps, as a ZipMap writes); Sluice scores tensors only. Re-export the model without it: ${ZIPMAP_FIX}`,
  }] : []));
}

const list = (names: readonly string[]) => (names.length === 0 ? 'none' : names.join(', '));
const isFloat = (t: TensorSpec) => SCORE_ELEMENT_TYPES.includes(t.datatype);
const showLabel = (c: ClassLabel) => (typeof c === 'string' ? JSON.stringify(c) : String(c));

/**
 * Everything wrong with a contract for a model of this signature; empty when it fits. Covers the
 * rules a schema cannot say: names that must exist in the signature, element types, columns within
 * the output's width, transforms that suit the output and task, class labels and the positive class.
 */
export function validateContract(contract: ModelContract, sig: StoredSignature): ContractProblem[] {
  return [...inputProblems(contract, sig), ...scoreProblems(contract, sig), ...classProblems(contract, sig)];
}

function inputProblems(contract: ModelContract, sig: StoredSignature): ContractProblem[] {
  const problems: ContractProblem[] = [];
  const seen = new Set<string>();
  contract.inputs.forEach((input, i) => {
    const at = `/inputs/${i}`;
    if (seen.has(input.name)) problems.push({ field: `${at}/name`, message: `input ${input.name} is declared twice` });
    seen.add(input.name);
    const actual = sig.inputs.find((t) => t.name === input.name);
    if (!actual) {
      problems.push({ field: `${at}/name`, message: `input ${input.name} is not among the model's inputs (${list(sig.inputs.map((t) => t.name))})` });
      return;
    }
    if (actual.datatype !== input.elementType) {
      problems.push({ field: `${at}/elementType`, message: `input ${input.name} is ${actual.datatype} in the model, not ${input.elementType}` });
    }
    const width = rowWidth(actual);
    if (input.features) {
      const duplicate = input.features.find((f, j) => input.features?.indexOf(f) !== j);
      if (duplicate !== undefined) problems.push({ field: `${at}/features`, message: `feature ${duplicate} of input ${input.name} is named twice` });
      if (width !== null && input.features.length !== width) {
        problems.push({ field: `${at}/features`, message: `input ${input.name} carries ${width} values per row, but ${input.features.length} feature names are given` });
      }
    } else if (width !== null && width > 1) {
      problems.push({ field: `${at}/features`, message: `input ${input.name} carries ${width} values per row: name them in features, in order` });
    }
  });
  for (const t of sig.inputs) {
    if (!seen.has(t.name)) problems.push({ field: '/inputs', message: `the model also takes input ${t.name}, which the contract does not declare` });
  }
  return problems;
}

function scoreProblems(contract: ModelContract, sig: StoredSignature): ContractProblem[] {
  const { score, task } = contract;
  const out = sig.outputs.find((t) => t.name === score.output);
  if (!out) return [{ field: '/score/output', message: `output ${score.output} is not among the model's outputs (${list(sig.outputs.map((t) => t.name))})` }];
  if (out.datatype === NON_TENSOR) return [{ field: '/score/output', message: `output ${out.name} is not a tensor, so it cannot be the score` }];
  const problems: ContractProblem[] = [];
  if (!isFloat(out)) {
    problems.push({ field: '/score/output', message: `output ${out.name} is ${out.datatype}; a score (a probability, logit or prediction) must be float32 or float64` });
    if (score.transform !== 'none') problems.push({ field: '/score/transform', message: `transform ${score.transform} cannot apply to ${out.name}, an ${out.datatype} output` });
  }
  if (out.shape.length === 0) problems.push({ field: '/score/output', message: `output ${out.name} has no batch dimension, so it gives no score per row` });
  const width = rowWidth(out);
  const columns = width === null ? 'an open number of' : String(width);
  if (score.column !== undefined) {
    if (!Number.isInteger(score.column) || score.column < 0) problems.push({ field: '/score/column', message: `column must be a whole number ≥ 0, not ${score.column}` });
    else if (width !== null && score.column >= width) {
      problems.push({ field: '/score/column', message: `column ${score.column} does not exist: output ${out.name} has ${width} column${width === 1 ? '' : 's'} (0..${width - 1})` });
    }
  }
  if (score.transform === 'softmax' && width === 1) {
    problems.push({ field: '/score/transform', message: `softmax needs at least two columns; output ${out.name} has one (a binary logit takes sigmoid)` });
  }
  if (task === 'binary_classification') {
    if (width !== null && width > 2) {
      problems.push({ field: '/score/output', message: `a binary score comes from an output with 1 or 2 columns; ${out.name} has ${width} (declare multiclass_classification?)` });
    } else if (width === 2 && score.column === undefined) {
      problems.push({ field: '/score/column', message: `output ${out.name} has 2 columns: say which holds the positive class (usually 1)` });
    }
  } else if (task === 'multiclass_classification') {
    if (score.column !== undefined) problems.push({ field: '/score/column', message: 'a multiclass score is the whole row of class scores: leave column out' });
    if (width === 1) problems.push({ field: '/score/output', message: `a multiclass score needs one column per class; output ${out.name} has one` });
    if (score.transform === 'sigmoid') problems.push({ field: '/score/transform', message: 'sigmoid scores each class on its own; use softmax for logits, or none for probabilities' });
  } else {
    if (score.transform !== 'none' && isFloat(out)) problems.push({ field: '/score/transform', message: `a regression prediction is used as it is: transform must be none, not ${score.transform}` });
    if (width !== 1 && score.column === undefined) problems.push({ field: '/score/column', message: `output ${out.name} has ${columns} columns: say which holds the prediction` });
  }
  return problems;
}

function classProblems(contract: ModelContract, sig: StoredSignature): ContractProblem[] {
  const { task, classLabels, positiveClass, threshold, labelOutput } = contract;
  const problems: ContractProblem[] = [];
  if (task === 'regression') {
    for (const [key, value] of Object.entries({ labelOutput, classLabels, positiveClass, threshold })) {
      if (value !== undefined) problems.push({ field: `/${key}`, message: `a regression model has no ${key}: leave it out` });
    }
    return problems;
  }
  let label: TensorSpec | undefined;
  if (labelOutput !== undefined) {
    label = sig.outputs.find((t) => t.name === labelOutput);
    if (!label) problems.push({ field: '/labelOutput', message: `output ${labelOutput} is not among the model's outputs (${list(sig.outputs.map((t) => t.name))})` });
    else if (!LABEL_ELEMENT_TYPES.includes(label.datatype)) {
      problems.push({ field: '/labelOutput', message: `output ${labelOutput} is ${label.datatype}; a label output must be ${LABEL_ELEMENT_TYPES.join(', ')}` });
    } else if (rowWidth(label) !== null && rowWidth(label) !== 1) {
      problems.push({ field: '/labelOutput', message: `output ${labelOutput} has ${rowWidth(label)} values per row; a label output has one` });
    }
  }
  const scoreOut = sig.outputs.find((t) => t.name === contract.score.output);
  const width = scoreOut ? rowWidth(scoreOut) : null;
  if (classLabels !== undefined) {
    const duplicate = classLabels.find((c, j) => classLabels.indexOf(c) !== j);
    if (duplicate !== undefined) problems.push({ field: '/classLabels', message: `class ${showLabel(duplicate)} is listed twice` });
    if (task === 'binary_classification' && classLabels.length !== 2) {
      problems.push({ field: '/classLabels', message: `a binary classifier has 2 classes, not ${classLabels.length}` });
    }
    if (task === 'multiclass_classification' && width !== null && width !== 1 && classLabels.length !== width) {
      problems.push({ field: '/classLabels', message: `output ${contract.score.output} scores ${width} classes, but ${classLabels.length} class labels are given` });
    }
    if (label && LABEL_ELEMENT_TYPES.includes(label.datatype)) {
      const wantString = label.datatype === 'string';
      const wrong = classLabels.find((c) => (typeof c === 'string') !== wantString);
      if (wrong !== undefined) {
        problems.push({ field: '/classLabels', message: `class ${showLabel(wrong)} is a ${typeof wrong}, but label output ${label.name} is ${label.datatype}` });
      }
    }
  }
  if (task === 'multiclass_classification') {
    if (positiveClass !== undefined) problems.push({ field: '/positiveClass', message: 'positiveClass applies to a binary classifier only' });
    if (threshold !== undefined) problems.push({ field: '/threshold', message: 'a decision threshold applies to a binary classifier only (a multiclass prediction is the top class)' });
    return problems;
  }
  if (threshold !== undefined && !(threshold > 0 && threshold < 1)) {
    problems.push({ field: '/threshold', message: `threshold must lie strictly between 0 and 1, not ${threshold}` });
  }
  if (positiveClass !== undefined && classLabels !== undefined) {
    if (!classLabels.includes(positiveClass)) {
      problems.push({ field: '/positiveClass', message: `positive class ${showLabel(positiveClass)} is not among the class labels (${classLabels.map(showLabel).join(', ')})` });
    } else {
      // The score is the positive class's probability: column c of a two-column output is classLabels[c];
      // a one-column score is the probability of the second class.
      const scored = width === 2 && contract.score.column !== undefined ? contract.score.column : 1;
      const scoredClass = classLabels[scored];
      if (scoredClass !== undefined && scoredClass !== positiveClass) {
        problems.push({ field: '/positiveClass', message: `the score is the probability of class ${showLabel(scoredClass)} (classLabels[${scored}]), not of positive class ${showLabel(positiveClass)}` });
      }
    }
  }
  return problems;
}

export type ContractParseResult = { ok: true; contract: ModelContract } | { ok: false; problems: ContractProblem[] };

/** A contract from untrusted JSON: the schema first, then (given a signature) the rules against it. */
export function parseContract(value: unknown, sig?: StoredSignature): ContractParseResult {
  if (!Value.Check(ModelContract, value)) {
    const problems = [...Value.Errors(ModelContract, value)].map((e) => ({ field: e.path || '/', message: e.message }));
    return { ok: false, problems: problems.filter((p, i) => problems.findIndex((q) => q.field === p.field) === i) };
  }
  const problems = sig ? validateContract(value, sig) : [];
  return problems.length === 0 ? { ok: true, contract: value } : { ok: false, problems };
}

export type VersionCheck = { ok: true } | { ok: false; problems: ContractProblem[]; message: string };

/** The contract's expectation in the same notation as formatSignature: inputs, then the score and label. */
export function formatExpectation(contract: ModelContract): string {
  const inputs = contract.inputs.map((i) => `${i.name}:${i.elementType}[N,${i.features ? i.features.length : 1}]`);
  const { output, column, transform } = contract.score;
  const outputs = [`score ${output}${column === undefined ? '' : `[:,${column}]`}${transform === 'none' ? '' : ` (${transform})`}`];
  if (contract.labelOutput) outputs.push(`label ${contract.labelOutput}`);
  return `(${inputs.join(', ')}) → (${outputs.join(', ')})`;
}

/**
 * Whether a version keeps the model's contract. A refusal lists every break and quotes both the
 * contract's expectation and the version's signature.
 */
export function checkVersion(contract: ModelContract, sig: StoredSignature, version?: string): VersionCheck {
  const problems = [...nonTensorOutputProblems(sig), ...validateContract(contract, sig)];
  if (problems.length === 0) return { ok: true };
  const who = version === undefined ? 'the version' : `version ${version}`;
  const message = `${who} breaks the model's contract: ${problems.map((p) => p.message).join('; ')}. `
    + `The contract expects ${formatExpectation(contract)}; ${who} has ${formatSignature(sig)}.`;
  return { ok: false, problems, message };
}
