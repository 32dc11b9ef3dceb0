// The rollout policy: one versioned, validated document per rollout. Durations are seconds so a
// test can run a whole lifecycle in a few seconds and production can bake for hours.
import { Type, type Static, type TOptional } from '@sinclair/typebox';

const Seconds = (description: string, dflt: number) => Type.Number({ minimum: 0, maximum: 30 * 24 * 3600, default: dflt, description });
const Share = (description: string, dflt?: number) =>
  Type.Number({ minimum: 0, maximum: 1, description, ...(dflt === undefined ? {} : { default: dflt }) });

export const MetricRef = Type.Object({
  name: Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$', description: 'feedback metric name' }),
  type: Type.Union([Type.Literal('binary'), Type.Literal('continuous')], { default: 'binary' }),
  direction: Type.Union([Type.Literal('increase'), Type.Literal('decrease')], { default: 'increase', description: 'which way is better' }),
}, { additionalProperties: false });

export const Guardrail = Type.Intersect([MetricRef, Type.Object({
  maxDegradation: Type.Number({ minimum: 0, default: 0, description: 'tolerated absolute worsening before the guardrail fails' }),
})]);

export const CanaryStep = Type.Object({
  weight: Share('candidate share during this step'),
  bakeSeconds: Seconds('how long the step runs before the next one', 60),
  requireApproval: Type.Boolean({ default: false, description: 'a human approves before this step starts' }),
}, { additionalProperties: false });

export const CanaryGates = Type.Object({
  maxErrorRate: Share('candidate error rate above this fails the gate', 0.02),
  maxErrorRateDelta: Share('candidate error rate minus baseline error rate above this fails', 0.01),
  maxP99LatencyRatio: Type.Number({ minimum: 1, default: 2, description: 'candidate p99 / baseline p99 above this fails' }),
  maxPredictionPsi: Type.Number({ minimum: 0, default: 0.25, description: 'PSI of candidate predictions vs baseline above this fails' }),
  minRequests: Type.Integer({ minimum: 1, default: 20, description: 'fewer candidate requests in a window make it inconclusive' }),
  minPredictionSamples: Type.Integer({ minimum: 10, default: 200, description: 'predictions per version needed before the prediction-shift gate is judged (PSI is biased upward on small samples)' }),
}, { additionalProperties: false, default: {} });

/** Every metric validation computes; which ones a model has depends on its task (VALIDATION_METRICS_BY_TASK). */
export const VALIDATION_METRIC_NAMES = ['accuracy', 'roc_auc', 'log_loss', 'brier', 'ece', 'macro_f1', 'rmse', 'mae', 'r2'] as const;
export type ValidationMetricName = (typeof VALIDATION_METRIC_NAMES)[number];
export const ValidationMetricName = Type.Union(VALIDATION_METRIC_NAMES.map((m) => Type.Literal(m)));

/** The metrics of each task: what validation computes, and what a policy may bound or compare on. */
export const VALIDATION_METRICS_BY_TASK: Readonly<Record<'binary_classification' | 'multiclass_classification' | 'regression', readonly ValidationMetricName[]>> = {
  binary_classification: ['accuracy', 'roc_auc', 'log_loss', 'brier', 'ece'],
  multiclass_classification: ['accuracy', 'macro_f1', 'log_loss'],
  regression: ['rmse', 'mae', 'r2'],
};

const MetricBound = Type.Object({
  min: Type.Optional(Type.Number({ description: 'the metric on the evaluation set must be at least this' })),
  max: Type.Optional(Type.Number({ description: 'the metric on the evaluation set must be at most this' })),
}, { additionalProperties: false });

export const ValidationMetricBounds = Type.Object(
  Object.fromEntries(VALIDATION_METRIC_NAMES.map((m) => [m, Type.Optional(MetricBound)])) as Record<ValidationMetricName, TOptional<typeof MetricBound>>,
  { additionalProperties: false, description: 'floors (min) and ceilings (max) per metric, e.g. {"roc_auc": {"min": 0.75}, "log_loss": {"max": 0.6}}' },
);

export const ChampionChallenger = Type.Object({
  metric: ValidationMetricName,
  maxDegradation: Type.Number({ minimum: 0, default: 0, description: 'δ: how much worse than production (absolute, on the metric) the candidate may be' }),
  resamples: Type.Integer({ minimum: 1, maximum: 100_000, default: 1000, description: 'paired bootstrap resamples' }),
  level: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.95, description: 'two-sided confidence level of the interval' }),
  seed: Type.Union([Type.Integer(), Type.String({ minLength: 1, maxLength: 200 })], { default: 1, description: 'seed of the resampling: the same seed gives the same interval on a replay' }),
}, { additionalProperties: false, description: 'the candidate fails when the lower end of the interval of its improvement over production is below −maxDegradation' });

export const RolloutPolicy = Type.Object({
  version: Type.Literal(1, { default: 1 }),
  validation: Type.Object({
    minAccuracy: Share('evaluation-set accuracy floor for a classifier (at the contract\'s threshold for binary); a regressor ignores it, with a note in the report', 0.6),
    maxP99LatencyMs: Type.Number({ exclusiveMinimum: 0, default: 50 }),
    metrics: Type.Optional(ValidationMetricBounds),
    championChallenger: Type.Optional(ChampionChallenger),
    fairness: Type.Optional(Type.Object({
      segmentFeature: Type.Optional(Type.String({ minLength: 1, description: 'kept for older policies; the segments come from the evaluation set' })),
      metric: Type.Optional(ValidationMetricName),
      minRatio: Share('worst segment / best segment floor on the metric (oriented so that 1 is equal and lower is less fair)', 0.8),
    }, { additionalProperties: false, description: 'default metric: accuracy for a classifier, rmse for a regressor' })),
  }, { additionalProperties: false, default: {} }),
  shadow: Type.Optional(Type.Object({
    share: Share('share of requests mirrored to the candidate', 1),
    durationSeconds: Seconds('how long shadow runs', 30),
    minAgreement: Share('share of mirrored requests where candidate and primary agree (classifiers: the same predicted class; regression: within the tolerance)', 0.8),
    // Regression agreement is numpy.isclose's rule: |candidate − primary| ≤ absolute + relative × |primary|.
    // The absolute part is 0 by default because only the model's owner knows its scale; the
    // relative part alone (5%) already accepts a retrained model's ordinary differences.
    regressionTolerance: Type.Number({ minimum: 0, default: 0, description: 'regression: absolute part of the agreement tolerance, in the prediction\'s units' }),
    regressionRelativeTolerance: Share('regression: relative part of the agreement tolerance, a share of |primary prediction|', 0.05),
  }, { additionalProperties: false })),
  canary: Type.Object({
    steps: Type.Array(CanaryStep, { minItems: 0, maxItems: 20, default: [{ weight: 0.05, bakeSeconds: 60 }, { weight: 0.2, bakeSeconds: 60 }] }),
    analysisIntervalSeconds: Type.Number({ exclusiveMinimum: 0, maximum: 3600, default: 10 }),
    gates: CanaryGates,
    failureLimit: Type.Integer({ minimum: 1, default: 1, description: 'failed gate evaluations that roll back' }),
    inconclusiveLimit: Type.Integer({ minimum: 1, default: 6, description: 'consecutive inconclusive evaluations that roll back' }),
  }, { additionalProperties: false, default: {} }),
  approval: Type.Object({
    timeoutSeconds: Seconds('how long an approval gate waits', 3600),
    onTimeout: Type.Union([Type.Literal('rollback'), Type.Literal('continue')], { default: 'rollback' }),
  }, { additionalProperties: false, default: {} }),
  experiment: Type.Object({
    kind: Type.Union([Type.Literal('ab'), Type.Literal('bandit'), Type.Literal('none')], { description: "default: 'ab' when a primaryMetric is named, else 'none'" }),
    treatmentShare: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.5 }),
    primaryMetric: Type.Optional(MetricRef),
    guardrails: Type.Array(Guardrail, { default: [], maxItems: 10 }),
    alpha: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 0.5, default: 0.05 }),
    tau2: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'mSPRT mixing variance; derived from expectedSampleSize when absent' })),
    expectedSampleSize: Type.Integer({ minimum: 10, default: 5000, description: 'N* for the mixing variance (GrowthBook parameterisation)' }),
    minSamplePerArm: Type.Integer({ minimum: 1, default: 100 }),
    maxSamplePerArm: Type.Integer({ minimum: 2, default: 20000 }),
    maxDurationSeconds: Seconds('the experiment stops with the baseline kept after this', 7 * 24 * 3600),
    lookIntervalSeconds: Type.Number({ exclusiveMinimum: 0, maximum: 86400, default: 60 }),
    srmPValueThreshold: Type.Number({
      exclusiveMinimum: 0, exclusiveMaximum: 0.5, default: 0.001,
      description: 'a look whose sample-ratio-mismatch test has a p-value below this ends the experiment with the baseline kept (assignment is broken); checked at every look, so lower it to trade sensitivity for fewer false alarms',
    }),
    bandit: Type.Object({
      candidates: Type.Array(Type.String({ minLength: 1 }), { default: [], description: 'extra candidate versions beside the rollout candidate' }),
      minShare: Share('floor on each arm\'s allocation', 0.05),
      promoteThreshold: Type.Number({ exclusiveMinimum: 0.5, maximum: 1, default: 0.95, description: 'probability of being best that promotes an arm' }),
    }, { additionalProperties: false, default: {} }),
  }, { additionalProperties: false, default: {} }),
  postPromotion: Type.Object({
    watchSeconds: Seconds('how long the promoted version is watched with the canary gates', 0),
  }, { additionalProperties: false, default: {} }),
  notifications: Type.Object({
    webhookUrl: Type.Optional(Type.String({ format: 'uri', pattern: '^https?://' })),
  }, { additionalProperties: false, default: {} }),
}, { additionalProperties: false });

export type RolloutPolicy = Static<typeof RolloutPolicy>;
export type CanaryGates = Static<typeof CanaryGates>;
export type MetricRef = Static<typeof MetricRef>;
export type ValidationPolicy = RolloutPolicy['validation'];
export type ChampionChallenger = Static<typeof ChampionChallenger>;
export type MetricBound = Static<typeof MetricBound>;
