// The model contract: its schema, inference from a signature, validation and the check of a version.
export {
  ClassLabel, ContractInput, ContractScore, INPUT_ELEMENT_TYPES, InputElementType, LABEL_ELEMENT_TYPES, ModelContract, ModelTask,
  NON_TENSOR, SCORE_ELEMENT_TYPES, ScoreTransform, formatSignature, formatTensor, rowWidth,
} from './contract.js';
export type { ContractProblem, StoredSignature, TensorSpec } from './contract.js';
export { describeContract } from './describe.js';
export { featureNamesFromMetadata, inferContract } from './infer.js';
export type { ContractHints, ContractInference, InferenceRefusalCode } from './infer.js';
export { checkVersion, formatExpectation, nonTensorOutputProblems, parseContract, validateContract } from './validate.js';
export type { ContractParseResult, VersionCheck } from './validate.js';
export { cellFor, feedsFor, featureColumns, requiredColumns, targetsFor } from './evaluation.js';
export type { Cell, EvaluationSet, FeedsResult, InputFeed, TargetsResult } from './evaluation.js';
export { classCount, classIndexOf, extractScores, predictedClasses, rowScores, thresholdOf, topClasses } from './score.js';
export type { ExtractedScores, OutputValues, ScoreFailure } from './score.js';
