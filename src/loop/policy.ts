// A model's loop policy (models.loop_policy): when the drift monitor calls drift, and how a
// retrain runs. One document per model, validated before it is stored; every field has a default so
// `{}` is a working policy. The monitor's half (drift) and the retrain's half (retrain) are read by
// their own workflows; durations are seconds so tests run the loop in seconds.
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

const Seconds = (description: string, dflt: number) => Type.Number({ exclusiveMinimum: 0, maximum: 365 * 24 * 3600, default: dflt, description });

export const DriftPolicy = Type.Object({
  intervalSeconds: Seconds('how often the monitor judges a window', 300),
  window: Type.Object({
    kind: Type.Union([Type.Literal('time'), Type.Literal('rows')], { default: 'time' }),
    seconds: Seconds('a time window: the last this many seconds of the inference log', 3600),
    rows: Type.Integer({ minimum: 10, maximum: 1_000_000, default: 5000, description: 'a rows window: the most recent this many logged rows' }),
  }, { additionalProperties: false, default: {} }),
  minRows: Type.Integer({ minimum: 10, default: 200, description: 'a window with fewer rows is recorded as too small to judge' }),
  numericMethod: Type.Union([Type.Literal('ks'), Type.Literal('wasserstein'), Type.Literal('psi'), Type.Literal('jensen_shannon'), Type.Literal('auto')], {
    default: 'ks',
    description: "the test of a numeric feature (and a numeric score): ks (two-sample Kolmogorov–Smirnov on the profile's sample, p-values under multiple-testing control), a distance, or auto (Evidently's rule: KS for small references, Wasserstein otherwise; distances on windows of a few hundred rows call drift often)",
  }),
  categoricalMethod: Type.Union([Type.Literal('chi_square'), Type.Literal('jensen_shannon'), Type.Literal('psi'), Type.Literal('auto')], { default: 'chi_square' }),
  pValueThreshold: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.01 }),
  psiThreshold: Type.Number({ exclusiveMinimum: 0, default: 0.2 }),
  multipleTesting: Type.Union([Type.Literal('benjamini_hochberg'), Type.Literal('bonferroni'), Type.Literal('none')], { default: 'benjamini_hochberg' }),
  datasetDriftShare: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.3, description: 'share of drifted features (the score counts as one) that makes a window drift' }),
  warningShare: Type.Number({ minimum: 0, maximum: 1, default: 0.1, description: 'share of drifted features that makes a window a warning' }),
  features: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'only these features (default: every feature of every input, and the score)' })),
  debounceWindows: Type.Integer({ minimum: 1, maximum: 100, default: 3, description: 'drift only after this many drifting windows in a row' }),
  cooldownSeconds: Type.Number({ minimum: 0, maximum: 365 * 24 * 3600, default: 24 * 3600, description: 'no retrain within this long of the last one starting' }),
  dailyRetrainBudget: Type.Integer({ minimum: 0, maximum: 1000, default: 2, description: 'retrains a model may start per UTC day' }),
  performance: Type.Optional(Type.Object({
    metric: Type.String({ minLength: 1, description: "a task metric of the model's contract (roc_auc, log_loss, rmse, ...)" }),
    maxDrop: Type.Number({ minimum: 0, description: 'realised metric worse than the validation figure by more than this triggers a retrain' }),
    labelDelaySeconds: Type.Number({ minimum: 0, default: 0, description: 'a window is judged only once its labels are due' }),
    minLabels: Type.Integer({ minimum: 1, default: 100 }),
    feedbackMetric: Type.String({ minLength: 1, default: 'label', description: 'the feedback metric that carries the label' }),
  }, { additionalProperties: false })),
}, { additionalProperties: false, default: {} });
export type DriftPolicy = Static<typeof DriftPolicy>;

/** A trainer's timeout: the trainer activity's own limit (7 days, activity-profiles.ts) must outlast it. */
const TRAINER_TIMEOUT_MAX_SECONDS = 6 * 24 * 3600;
const TrainerTimeout = (description: string) => Type.Number({ exclusiveMinimum: 0, maximum: TRAINER_TIMEOUT_MAX_SECONDS, default: 1800, description });

export const TrainerSpec = Type.Union([
  Type.Object({ kind: Type.Literal('builtin'), name: Type.String({ default: 'logistic_regression' }), params: Type.Record(Type.String(), Type.Unknown(), { default: {} }) }, { additionalProperties: false }),
  Type.Object({
    kind: Type.Literal('command'),
    argv: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'the command; Sluice appends --train FILE --holdout FILE --out FILE.onnx --params JSON (params also in SLUICE_TRAINER_PARAMS)' }),
    timeoutSeconds: TrainerTimeout('killed (with everything it started) after this long'),
    params: Type.Record(Type.String(), Type.Unknown(), { default: {} }),
  }, { additionalProperties: false }),
  Type.Object({
    kind: Type.Literal('webhook'),
    url: Type.String({ format: 'uri', pattern: '^https?://' }),
    timeoutSeconds: TrainerTimeout('the webhook must answer with the ONNX bytes within this long'),
    params: Type.Record(Type.String(), Type.Unknown(), { default: {} }),
  }, { additionalProperties: false }),
]);
export type TrainerSpec = Static<typeof TrainerSpec>;

export const RetrainPolicy = Type.Object({
  trainer: TrainerSpec,
  data: Type.Union([
    Type.Object({
      kind: Type.Literal('logged'),
      windowSeconds: Seconds('logged inputs joined with their labels over the last this long', 7 * 24 * 3600),
      minRows: Type.Integer({ minimum: 10, default: 500 }),
      labelMetric: Type.String({ minLength: 1, default: 'label', description: 'the feedback metric that carries the label (joined by request id)' }),
    }, { additionalProperties: false }),
    Type.Object({ kind: Type.Literal('dataset'), dataset: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
  ], { default: { kind: 'logged', windowSeconds: 7 * 24 * 3600, minRows: 500, labelMetric: 'label' } }),
  holdoutShare: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.2 }),
  metric: Type.Optional(Type.String({ minLength: 1, description: "the contract's task metric the holdout compares (default: roc_auc, log_loss for multiclass, rmse)" })),
  minImprovement: Type.Number({ minimum: 0, default: 0, description: 'the retrained model must beat production on the holdout by at least this' }),
  rolloutPolicy: Type.Optional(Type.Unknown({ description: 'the rollout policy the new version enters the lifecycle with (a RolloutPolicy document); default: the policy defaults' })),
}, { additionalProperties: false });
export type RetrainPolicy = Static<typeof RetrainPolicy>;

/**
 * The retrain policy with every default filled in, as the retrain workflow reads it: a policy
 * passed as written (`{"trainer": {"kind": "command", "argv": [...]}}`) works. Pure (TypeBox's
 * Value has no I/O or clock), so the workflow calls it; validating the policy is for whoever stores it.
 */
export function retrainPolicyWithDefaults(policy: RetrainPolicy): RetrainPolicy {
  return Value.Default(RetrainPolicy, Value.Clone(policy)) as RetrainPolicy;
}

export const LoopPolicy = Type.Object({
  drift: DriftPolicy,
  retrain: Type.Optional(RetrainPolicy),
  notifications: Type.Optional(Type.Object({
    webhookUrl: Type.Optional(Type.String({ format: 'uri', pattern: '^https?://', description: 'drift, retrain and rollout-outcome events of this model are posted here, signed (default: SLUICE_WEBHOOK_URL)' })),
  }, { additionalProperties: false })),
}, { additionalProperties: false, $id: 'LoopPolicy' });
export type LoopPolicy = Static<typeof LoopPolicy>;
