// The model contract: what a model's versions promise, declared once per model and checked against
// every version's signature at registration. Downstream code (validation, canary gates, shadow
// agreement, profiles, replay) reads the score, labels and inputs from here instead of assuming one
// float32 matrix in and one probability column out.
import { Type, type Static } from '@sinclair/typebox';

export const ModelTask = Type.Union([
  Type.Literal('binary_classification'), Type.Literal('multiclass_classification'), Type.Literal('regression'),
], { description: 'what the model predicts' });
export type ModelTask = Static<typeof ModelTask>;

/** ONNX Runtime element types a contract input may have: the ones serving, datasets and profiles handle. */
export const INPUT_ELEMENT_TYPES = ['float32', 'float64', 'int64', 'int32', 'bool', 'string'] as const;
export const InputElementType = Type.Union(INPUT_ELEMENT_TYPES.map((t) => Type.Literal(t)));
export type InputElementType = Static<typeof InputElementType>;

/** Element types a score can have: a probability, a logit or a regression prediction is a float. */
export const SCORE_ELEMENT_TYPES: readonly string[] = ['float32', 'float64'];
/** Element types a label output can have (skl2onnx writes int64, or string for string classes). */
export const LABEL_ELEMENT_TYPES: readonly string[] = ['int64', 'int32', 'string'];

export const ScoreTransform = Type.Union([Type.Literal('none'), Type.Literal('sigmoid'), Type.Literal('softmax')], {
  description: 'none: the output is already a probability (or a regression prediction); sigmoid: a binary logit; softmax: logits over the columns',
});
export type ScoreTransform = Static<typeof ScoreTransform>;

export const ContractInput = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 256 }),
  elementType: InputElementType,
  features: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 256 }), {
    minItems: 1, maxItems: 100_000,
    description: 'the column names of the tensor, in order: one per element of a row',
  })),
}, { additionalProperties: false });
export type ContractInput = Static<typeof ContractInput>;

export const ContractScore = Type.Object({
  output: Type.String({ minLength: 1, maxLength: 256 }),
  column: Type.Optional(Type.Integer({
    minimum: 0,
    description: 'for a binary score, the column of the output holding the positive class (1 for probabilities[:, 1]); absent: the output has one column (or, for multiclass, the whole row is the class distribution)',
  })),
  transform: ScoreTransform,
}, { additionalProperties: false });
export type ContractScore = Static<typeof ContractScore>;

export const ClassLabel = Type.Union([Type.Integer(), Type.String({ minLength: 1, maxLength: 256 })]);
export type ClassLabel = Static<typeof ClassLabel>;

export const ModelContract = Type.Object({
  task: ModelTask,
  inputs: Type.Array(ContractInput, { minItems: 1, maxItems: 1000 }),
  score: ContractScore,
  labelOutput: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'the output holding the predicted class' })),
  classLabels: Type.Optional(Type.Array(ClassLabel, {
    minItems: 2, maxItems: 10_000,
    description: 'the class of each score column, in column order (for a one-column binary score: [negative, positive])',
  })),
  positiveClass: Type.Optional(ClassLabel),
  threshold: Type.Optional(Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, description: 'a row is positive when its score is at least this' })),
}, { additionalProperties: false, $id: 'ModelContract' });
export type ModelContract = Static<typeof ModelContract>;

/**
 * One input or output as registration stores it: ONNX Runtime's element
 * type ('non-tensor' for maps and sequences), open dimensions as -1. Its one home: the database
 * schema (db/schema.ts) takes it from here, and this folder imports nothing from db/.
 */
export interface TensorSpec {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
}

/** A version's signature as registration stores it; read-only here. */
export interface StoredSignature {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

/** A problem with a contract or a version, naming the field as a JSON pointer into the contract. */
export interface ContractProblem {
  field: string;
  message: string;
}

/** The datatype ONNX Runtime reports for maps and sequences (a ZipMap output among them). */
export const NON_TENSOR = 'non-tensor';

/**
 * Elements per row: the product of the dimensions after the batch one; 1 for a [N] tensor; null
 * when a dimension is open (-1) or the tensor has no batch dimension at all.
 */
export function rowWidth(t: TensorSpec): number | null {
  if (t.shape.length === 0) return null;
  let width = 1;
  for (const d of t.shape.slice(1)) {
    if (d < 0) return null;
    width *= d;
  }
  return width;
}

/** `name:type[N,19]`, with open dimensions as N (the batch) or ?. */
export function formatTensor(t: TensorSpec): string {
  if (t.datatype === NON_TENSOR) return `${t.name}:${NON_TENSOR}`;
  return `${t.name}:${t.datatype}[${t.shape.map((d, i) => (d >= 0 ? String(d) : i === 0 ? 'N' : '?')).join(',')}]`;
}

/** `(inputs) → (outputs)`, as refusals quote a version's signature. */
export function formatSignature(sig: StoredSignature): string {
  return `(${sig.inputs.map(formatTensor).join(', ')}) → (${sig.outputs.map(formatTensor).join(', ')})`;
}
