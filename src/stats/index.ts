// The statistics and drift engine's public API. Pure: no I/O, no Node built-ins, no wall clock,
// no Math.random, so Temporal workflow code, activities, the API's reports and the tests all
// import this one implementation. Inputs are sufficient statistics or columns; outputs, and any
// state carried between calls, are plain JSON.

export { fail, succeed, stripOk, type StatsCode, type StatsFailure, type StatsResult } from './result.js';

export {
  normalCdf,
  normalSf,
  normalPdf,
  logNormalCdf,
  normalQuantile,
  normalTwoSidedP,
  studentTCdf,
  studentTSf,
  studentTPdf,
  studentTQuantile,
  studentTTwoSidedP,
  chiSquareCdf,
  chiSquareSf,
  chiSquarePdf,
  chiSquareQuantile,
} from './distributions.js';
export { logGamma, logBeta, regularizedGammaP, regularizedGammaQ, logRegularizedGammaQ, regularizedBeta } from './special.js';

export {
  armMoments,
  emptyBinarySummary,
  emptyContinuousSummary,
  isBinarySummary,
  mergeBinary,
  mergeContinuous,
  summarizeBinary,
  summarizeContinuous,
  validateSummary,
  type ArmMoments,
  type BinarySummary,
  type ContinuousSummary,
  type MetricSummary,
} from './summary.js';

export {
  proportionInterval,
  relativeLift,
  twoProportionZTest,
  welchTTest,
  type FixedHorizonOptions,
  type Interval,
  type RelativeLiftResult,
  type TwoProportionTestResult,
  type WelchTTestResult,
} from './fixed-horizon.js';

export {
  DEFAULT_EXPECTED_SAMPLE_SIZE,
  confidenceSequenceHalfWidth,
  initialSequentialState,
  mixingVarianceFromSampleSize,
  mixtureLogLikelihoodRatio,
  sequentialTest,
  type ConfidenceSequence,
  type SequentialAlternative,
  type SequentialOptions,
  type SequentialResult,
  type SequentialState,
} from './sequential.js';

export {
  decideLook,
  initialLookState,
  type ArmPair,
  type ExperimentConfig,
  type GuardrailConfig,
  type GuardrailLook,
  type GuardrailState,
  type LookAction,
  type LookDecision,
  type LookInput,
  type LookState,
  type LookTrigger,
  type MetricDirection,
  type MetricStatus,
  type PrimaryLook,
  type PrimaryMetricConfig,
  type SrmLook,
} from './decision.js';

export { sampleRatioMismatch, type SrmOptions, type SrmResult } from './srm.js';

export {
  fixedHorizonSampleSize,
  type BinarySampleSizeInput,
  type ContinuousSampleSizeInput,
  type SampleSizeInput,
  type SampleSizeResult,
} from './sample-size.js';

export { createRandomSource, isRandomState, seedRandom, type RandomSource, type RandomState } from './random.js';

export { simulateBinaryBatch, simulateContinuousBatch } from './simulate.js';

export { thompsonAllocation, type ThompsonOptions, type ThompsonResult } from './bandit.js';

export { adjustPValues, benjaminiHochberg, bonferroni, type MultipleTestingMethod } from './multiple-testing.js';

export { kolmogorovSmirnovSf, ksTwoSamplePValue, smirnovSf, type KsMethod, type KsPValue } from './drift/ks.js';
export {
  chiSquareHomogeneity,
  DEFAULT_PSI_FLOOR,
  jensenShannonDistance,
  ksTwoSample,
  psiFromShares,
  wassersteinDistance,
  type ChiSquareResult,
  type KsResult,
} from './drift/measures.js';
export {
  buildReferenceProfile,
  type CategoricalColumn,
  type CategoricalFeatureProfile,
  type Column,
  type Columns,
  type FeatureProfile,
  type NumericColumn,
  type NumericFeatureProfile,
  type ProfileOptions,
  type ReferenceProfile,
} from './drift/profile.js';
export {
  detectDrift,
  type CategoricalDriftMethod,
  type DatasetDrift,
  type DriftConfig,
  type DriftMeasures,
  type DriftMethod,
  type DriftReport,
  type FeatureDrift,
  type FeatureDriftConfig,
  type FeatureDriftStatus,
  type NumericDriftMethod,
} from './drift/detect.js';
