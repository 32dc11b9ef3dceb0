// Models built by Sluice itself: synthetic data, drift, trainers, metrics, ONNX export and loading.
export { Sha256, sha256Hex } from './sha256.js';
export {
  FeatureEncodingError,
  encodeColumns,
  encodeRecords,
  encodedFeatureNames,
  encodedWidth,
  recordsFromColumns,
  sliceLabelledColumns,
} from './features.js';
export type {
  CategoricalFeatureOf,
  CategoricalFeatureSpec,
  LabelledColumns,
  LevelOf,
  NumericFeatureOf,
  RawRecord,
  TabularColumns,
  TabularSchema,
} from './features.js';
export {
  BASE_CREDIT_POPULATION,
  CREDIT_FEATURE_NAMES,
  CREDIT_RISK_TERMS,
  CREDIT_SCHEMA,
  categoryProbabilities,
  creditLogits,
  generateCreditData,
} from './dataset.js';
export type {
  CreditCategoricalFeature,
  CreditCategoryMix,
  CreditDataset,
  CreditInteraction,
  CreditLabelRelationship,
  CreditLevel,
  CreditNumericFeature,
  CreditPopulation,
  CreditSchema,
} from './dataset.js';
export {
  EXAMPLE_CONCEPT_DRIFT,
  changeLabelRelationship,
  creditFeatureMoments,
  driftCreditPopulation,
  generateDriftedCreditData,
  numericMoments,
} from './drift.js';
export type { CreditDrift, CreditFeatureMoments, CreditLabelRelationshipChange, FeatureMoments } from './drift.js';
export {
  predict,
  trainLogisticRegression,
  trainMlp,
  trainingDataSha256,
  trainingSetFromColumns,
  withShuffledLabels,
} from './train.js';
export type {
  HiddenActivation,
  LogisticRegressionParams,
  MlpParams,
  MlpTrainingOptions,
  ModelParams,
  Standardizer,
  TrainedModel,
  TrainerKind,
  TrainingOptions,
  TrainingSet,
} from './train.js';
export { accuracy, classificationReport, logLoss, rocAuc } from './metrics/index.js';
export type { ClassificationReport } from './metrics/index.js';
export { MODEL_METADATA_KEYS, modelMetadataProps, parseModelMetadata } from './model-metadata.js';
export type { ModelMetadata } from './model-metadata.js';
export {
  BATCH_DIMENSION,
  MODEL_INPUT_NAME,
  MODEL_OUTPUT_NAME,
  ONNX_IR_VERSION,
  ONNX_OPSET_VERSION,
  exportModelToOnnx,
} from './onnx-export.js';
export type { ExportMetadata } from './onnx-export.js';
export { OnnxFormatError, readOnnxModelInfo } from './onnx-model-info.js';
export type { OnnxModelInfo } from './onnx-model-info.js';
export { ModelLoadError, loadModelSession, runFeeds, runFloatMatrix, tensorFromValues } from './onnx-runtime.js';
export type { LoadModelOptions, LoadedModel, ModelSignature, TensorSignature } from './onnx-runtime.js';
export { writeModelFile } from './model-file.js';
export type { WrittenModelFile } from './model-file.js';
