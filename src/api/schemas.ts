// TypeBox schemas shared by the routes: request parts and every response shape. They validate
// requests (strictly: unknown fields are errors, bodies are never type-coerced), serialise
// responses, and become the OpenAPI document at /docs/json.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { ModelContract, ModelTask } from '../contracts/contract.js';
import { RolloutState } from '../workflows/messages.js';

export const Problem = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  code: Type.String({ description: 'machine-readable error code, e.g. invalid_request, not_found, conflict' }),
  detail: Type.String({ description: 'what went wrong, naming the field where one is to blame' }),
  field: Type.Optional(Type.String({ description: 'the offending field, e.g. body/name or query/limit' })),
  errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  requestId: Type.Optional(Type.String()),
}, { description: 'RFC 9457 problem details (application/problem+json)' });
export type Problem = Static<typeof Problem>;

/** The responses every route documents beside its success: the problem format, 5xx masked. */
export function withErrors<T extends Record<number, TSchema>>(ok: T, codes: number[] = []): Record<string, TSchema> {
  const out: Record<string, TSchema> = { ...ok };
  for (const code of new Set([400, 401, 403, 429, ...codes])) out[code] = Problem;
  out['5xx'] = Problem;
  return out;
}

export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
export const Json = Type.Unknown({ description: 'any JSON value' });
export const JsonObject = Type.Record(Type.String(), Type.Unknown());
export const Timestamp = Type.String({ description: 'ISO 8601 timestamp' });

export const ModelName = Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,127}$', description: 'model name: a-z, 0-9, ".", "_" and "-"' });
export const VersionName = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', description: 'version label, e.g. v3 or 2026-11-23.1' });
export const Sha256 = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'lowercase hex SHA-256 of the artifact' });
export const RolloutId = Type.String({ pattern: '^ro_[0-9a-f]{32}$' });
export const KeyId = Type.String({ pattern: '^[0-9a-f]{16}$' });
export const RoleName = Type.Union([Type.Literal('viewer'), Type.Literal('deployer'), Type.Literal('approver'), Type.Literal('admin')]);
export const VersionStatus = Type.Union(['registered', 'validating', 'validated', 'rejected', 'candidate', 'production', 'rolled_back', 'retired'].map((s) => Type.Literal(s)));
export const RolloutStatus = Type.Union(['running', 'promoted', 'rolled_back', 'rejected', 'aborted', 'kept_baseline', 'failed'].map((s) => Type.Literal(s)));
export const Phase = Type.String({ pattern: '^[a-z_]{1,32}$', description: 'pending, validating, prewarming, shadow, canary, experiment, promoting, rolling_back, watching, completed' });
export const Weights = Type.Record(Type.String(), Type.Number(), { description: '{version: share}, shares in [0, 1] summing to 1' });

export const Limit = (dflt: number, max: number) => Type.Integer({ minimum: 1, maximum: max, default: dflt });

export const ModelParams = Type.Object({ model: ModelName }, { additionalProperties: false });
export const VersionParams = Type.Object({ model: ModelName, version: VersionName }, { additionalProperties: false });
export const RolloutParams = Type.Object({ id: RolloutId }, { additionalProperties: false });

export const TensorSpec = Type.Object({ name: Type.String(), datatype: Type.String(), shape: Type.Array(Type.Integer()) });
export const Signature = Type.Object({ inputs: Type.Array(TensorSpec), outputs: Type.Array(TensorSpec) });

/** The model contract as requests and responses carry it (its properties; the schema's $id stays with contracts/). */
export const Contract = Type.Object(ModelContract.properties, {
  additionalProperties: false,
  description: 'what every version of the model must keep: the task, the score (output, column, transform), labels and the inputs',
});

export const FeatureNames = Type.Record(Type.String({ minLength: 1, maxLength: 256 }), Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { minItems: 1, maxItems: 100_000 }), {
  description: 'the column names of each input tensor, in order, by input name',
});

export const ModelBody = Type.Object({
  name: ModelName,
  description: Type.Optional(Type.String({ maxLength: 2000 })),
  task: Type.Optional(Type.Union([
    Type.Literal('binary_classification'), Type.Literal('multiclass_classification'), Type.Literal('regression'),
  ], { description: 'a hint for the contract inferred from the first version; left out, the task is inferred too' })),
  featureNames: Type.Optional(FeatureNames),
  contract: Type.Optional(Contract),
}, { additionalProperties: false });

export const ModelOut = Type.Object({
  name: Type.String(),
  project: Type.String(),
  description: Type.String(),
  task: Nullable(ModelTask),
  contract: Nullable(Contract),
  contractDescription: Nullable(Type.String({ description: 'the contract in plain words' })),
  productionVersion: Nullable(Type.String()),
  versionCount: Type.Integer(),
  runningRolloutId: Nullable(Type.String()),
  createdAt: Timestamp,
});

export const ContractBody = Type.Object({
  contract: Contract,
  reason: Type.Optional(Type.String({ maxLength: 500 })),
}, { additionalProperties: false });

export const ContractSource = Type.Union(['declared', 'inferred', 'kept', 'none'].map((s) => Type.Literal(s)), {
  description: 'declared at creation and checked now; inferred from this (first) version; kept: the stored contract, which this version keeps; none: none could be inferred',
});

/** What registration says of the contract, before (dry run) or as the version is stored. */
export const RegistrationContract = Type.Object({
  contract: Nullable(Contract),
  contractSource: ContractSource,
  contractDescription: Type.String({ description: 'the contract in plain words, or why none could be inferred' }),
});

/** The rows every candidate is scored on in validation (accuracy, and fairness across segments). */
export const GoldenSetBody = Type.Object({
  features: Type.Array(Type.Array(Type.Number(), { minItems: 1 }), { minItems: 1, description: 'one row of model inputs per example, all rows the same width' }),
  labels: Type.Array(Type.Number(), { description: 'the true class of each row (as many as features has rows)' }),
  segments: Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { description: 'the segment of each row, for the fairness check' })),
}, { additionalProperties: false });
export type GoldenSetBody = Static<typeof GoldenSetBody>;

export const GoldenSetOut = Type.Object({
  model: Type.String(),
  rows: Type.Integer(),
  width: Type.Integer({ description: 'values per row' }),
  segments: Type.Array(Type.String(), { description: 'the distinct segments, sorted' }),
});
export type GoldenSetOut = Static<typeof GoldenSetOut>;

export const DatasetId = Type.String({ pattern: '^ds_[0-9a-f]{32}$', description: 'a dataset id: ds_ and 32 hex digits' });
export const DatasetParams = Type.Object({ model: ModelName, id: DatasetId }, { additionalProperties: false });
export const DatasetFormat = Type.Union([Type.Literal('csv'), Type.Literal('jsonl')]);
const ColumnName = (description: string) => Type.String({ minLength: 1, maxLength: 256, description });

export const DatasetUploadQuery = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'what to call the dataset (default: its format and digest)' })),
  format: Type.Optional(Type.Union([DatasetFormat, Type.Literal('ndjson')], { description: 'csv or jsonl (ndjson is read as jsonl); default from the content type' })),
  label: Type.Optional(ColumnName('the label column (default label)')),
  segment: Type.Optional(ColumnName('the segment column (default: segment, when the file has one)')),
  sha256: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$', description: 'lowercase hex SHA-256 of the body; the upload is refused when it differs' })),
}, { additionalProperties: false });

export const DatasetOut = Type.Object({
  id: Type.String(),
  model: Type.String(),
  name: Type.String(),
  format: Type.String({ description: 'csv or jsonl' }),
  sha256: Type.String(),
  sizeBytes: Type.Integer(),
  rows: Type.Integer(),
  columns: Type.Array(Type.Object({
    name: Type.String(),
    role: Type.String({ description: 'feature, label or segment' }),
    kind: Type.String({ description: 'numeric, categorical or boolean' }),
    type: Type.Optional(Type.String({ description: 'a feature\'s element type, as the model\'s input takes it' })),
  }), { description: 'in the file\'s order' }),
  label: Type.String({ description: 'the label column' }),
  segment: Nullable(Type.String({ description: 'the segment column' })),
  golden: Type.Boolean({ description: 'whether it is the model\'s golden set' }),
  artifactUri: Type.String(),
  createdBy: Nullable(Type.String()),
  createdAt: Timestamp,
});
export type DatasetOut = Static<typeof DatasetOut>;

export const GoldenDatasetBody = Type.Object({
  dataset: Nullable(DatasetId),
}, { additionalProperties: false, description: 'the dataset to score candidates on, or null to detach it (the golden-set rows, if any, apply again)' });
export type GoldenDatasetBody = Static<typeof GoldenDatasetBody>;

export const GoldenDatasetOut = Type.Object({ model: Type.String(), dataset: Nullable(DatasetOut) });
export type GoldenDatasetOut = Static<typeof GoldenDatasetOut>;

export const VersionOut = Type.Object({
  model: Type.String(),
  version: Type.String(),
  status: Type.String(),
  artifactUri: Type.String(),
  sha256: Type.String(),
  sizeBytes: Type.Integer(),
  signature: Signature,
  metadata: JsonObject,
  trainingDataRef: Nullable(Type.String()),
  hasReferenceProfile: Type.Boolean(),
  metrics: JsonObject,
  createdBy: Nullable(Type.String()),
  createdAt: Timestamp,
});
export type ModelOut = Static<typeof ModelOut>;
export type VersionOut = Static<typeof VersionOut>;

export const RegisteredVersionOut = Type.Composite([VersionOut, RegistrationContract]);
export type RegisteredVersionOut = Static<typeof RegisteredVersionOut>;

/** A dry run's answer: what registration would store, with nothing stored. */
export const RegistrationPreviewOut = Type.Composite([
  Type.Object({
    model: Type.String(), version: Type.String(), sha256: Type.String(), sizeBytes: Type.Integer(), signature: Signature,
    dryRun: Type.Literal(true),
  }),
  RegistrationContract,
]);
export type RegistrationPreviewOut = Static<typeof RegistrationPreviewOut>;

export const VersionDetailOut = Type.Composite([VersionOut, Type.Object({ referenceProfile: Json })]);

/** The shape src/stats builds (buildReferenceProfile) and drift detection reads. */
export const ReferenceProfileBody = Type.Object({
  version: Type.Literal(1),
  rows: Type.Integer({ minimum: 0 }),
  bins: Type.Integer({ minimum: 2, maximum: 1000 }),
  sampleSize: Type.Integer({ minimum: 1 }),
  seed: Type.Union([Type.String({ maxLength: 200 }), Type.Number()]),
  features: Type.Array(Type.Object({
    name: Type.String({ minLength: 1, maxLength: 256 }),
    kind: Type.Union([Type.Literal('numeric'), Type.Literal('categorical')]),
  }, { additionalProperties: true }), { maxItems: 10_000 }),
  prediction: Nullable(Type.Object({ name: Type.String(), kind: Type.Union([Type.Literal('numeric'), Type.Literal('categorical')]) }, { additionalProperties: true })),
}, { additionalProperties: false, description: 'a reference profile: per-feature quantile bins, categorical frequencies and the prediction distribution (as src/stats builds it)' });

export const ReferenceDataBody = Type.Object({
  columns: Type.Record(Type.String({ minLength: 1, maxLength: 256 }), Type.Array(Type.Union([Type.Number(), Type.String({ maxLength: 256 }), Type.Boolean(), Type.Null()]), { maxItems: 1_000_000 }),
    { description: 'reference data by column; columns named as the contract\'s features (every input\'s) let the API run the model for the score\'s distribution' }),
  categorical: Type.Optional(Type.Array(Type.String({ maxLength: 256 }), { maxItems: 10_000 })),
  bins: Type.Optional(Type.Integer({ minimum: 2, maximum: 1000 })),
  sampleSize: Type.Optional(Type.Integer({ minimum: 10, maximum: 1_000_000 })),
  predict: Type.Optional(Type.Boolean({ description: 'run the model for the score: default when every feature it reads is given; true requires them (a missing one is named); false never' })),
}, { additionalProperties: false });

export const RegisterByUriBody = Type.Object({
  version: VersionName,
  artifactUri: Type.String({ minLength: 1, maxLength: 2048, description: 'file:// URI inside the artifact store, or sha256:<hex>' }),
  sha256: Sha256,
  metadata: Type.Optional(Type.Record(Type.String({ maxLength: 128 }), Type.Unknown())),
  trainingDataRef: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
  referenceProfile: Type.Optional(ReferenceProfileBody),
}, { additionalProperties: false });

export const UploadQuery = Type.Object({
  version: VersionName,
  dryRun: Type.Optional(Type.Boolean({ description: 'check the artifact and show the contract that would be stored, storing nothing' })),
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'lowercase hex SHA-256 of the body; the upload is refused when it differs' }),
  trainingDataRef: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
}, { additionalProperties: false });

export const RolloutStartBody = Type.Object({
  model: Type.String({ minLength: 1, maxLength: 128 }),
  version: Type.String({ minLength: 1, maxLength: 64, description: 'the candidate version' }),
  policy: Type.Optional(Type.Unknown({ description: 'a rollout policy (see the RolloutPolicy schema); defaults fill what is missing' })),
}, { additionalProperties: false });

export const OperatorBody = Type.Object({
  reason: Type.Optional(Type.String({ maxLength: 500 })),
}, { additionalProperties: false });

export const SetWeightsBody = Type.Object({
  weights: Type.Record(Type.String({ minLength: 1, maxLength: 64 }), Type.Number({ minimum: 0, maximum: 1 })),
  reason: Type.Optional(Type.String({ maxLength: 500 })),
}, { additionalProperties: false });

export const RolloutOut = Type.Object({
  id: Type.String(),
  workflowId: Type.String(),
  model: Type.String(),
  candidateVersion: Type.String(),
  baselineVersion: Nullable(Type.String()),
  status: Type.String(),
  phase: Type.String(),
  outcomeReason: Nullable(Type.String()),
  policy: JsonObject,
  startedBy: Type.String(),
  startedAt: Timestamp,
  endedAt: Nullable(Timestamp),
  temporalUiUrl: Nullable(Type.String()),
});

export type RolloutOut = Static<typeof RolloutOut>;

/** The workflow's state query answer, with the schema the workflow's messages module declares. */
export const RolloutStateOut = RolloutState;
export type RolloutStateOut = Static<typeof RolloutStateOut>;

export const RolloutDetailOut = Type.Composite([RolloutOut, Type.Object({
  state: Nullable(RolloutState),
  stateError: Nullable(Type.String()),
})]);
export type RolloutDetailOut = Static<typeof RolloutDetailOut>;

export const RolloutStartOut = Type.Composite([RolloutOut, Type.Object({ runId: Type.String() })]);
export type RolloutStartOut = Static<typeof RolloutStartOut>;

export const StepOut = Type.Object({
  seq: Type.Integer(), phase: Type.String(), step: Type.String(), verdict: Type.String(), reason: Type.String(), numbers: JsonObject, at: Timestamp,
});
export const LookOut = Type.Object({
  look: Type.Integer(), decision: Type.String(), armStats: Json, result: Json, at: Timestamp,
});
export const ExperimentOut = Type.Object({
  id: Type.String(), kind: Type.String(), salt: Type.String(), arms: Json, primaryMetric: Type.String(), config: JsonObject,
  status: Type.String(), decision: Json, startedAt: Timestamp, endedAt: Nullable(Timestamp),
});
export const HistoryOut = Type.Object({
  rollout: RolloutOut,
  steps: Type.Array(StepOut),
  experiments: Type.Array(Type.Composite([ExperimentOut, Type.Object({ looks: Type.Array(LookOut) })])),
});
export type HistoryOut = Static<typeof HistoryOut>;

export const GenerationOut = Type.Object({
  model: Type.String(),
  generation: Type.Integer(),
  weights: Weights,
  spec: JsonObject,
  reason: Type.String(),
  createdBy: Type.String(),
  createdAt: Timestamp,
});

export const ModelFleetOut = Type.Object({
  liveWorkers: Type.Integer({ description: 'serving workers with a heartbeat in the last 10 s' }),
  serving: Type.Integer({ description: 'of those, how many serve the current generation (or a newer one)' }),
  workers: Type.Array(Type.Object({
    worker: Type.String(),
    address: Type.String(),
    device: Type.String(),
    status: Type.String(),
    heartbeatAt: Timestamp,
    generation: Nullable(Type.Integer()),
    versions: Type.Array(Type.Object({ version: Type.String(), state: Type.String() })),
  })),
}, { description: 'the model as the live serving fleet serves it, as of each worker\'s last heartbeat (every 2 s by default)' });

export type GenerationOut = Static<typeof GenerationOut>;
export type ModelFleetOut = Static<typeof ModelFleetOut>;

export const ConfidencePoint = Type.Object({
  look: Type.Integer(),
  at: Timestamp,
  decision: Type.String(),
  estimate: Nullable(Type.Number()),
  lower: Nullable(Type.Number()),
  upper: Nullable(Type.Number()),
  pValue: Nullable(Type.Number()),
});

export type ConfidencePoint = Static<typeof ConfidencePoint>;

/** The report in typed numbers and words: what `sluice report` prints. */
export const ReportSummary = Type.Object({
  primaryMetric: Type.String(),
  metricType: Type.Union([Type.Literal('binary'), Type.Literal('continuous')]),
  arms: Type.Array(Type.Object({
    arm: Type.String(),
    version: Nullable(Type.String()),
    units: Nullable(Type.Integer({ description: 'units assigned to the arm (the sample-ratio check counts these)' })),
    n: Nullable(Type.Integer({ description: 'units counted for the primary metric' })),
    mean: Nullable(Type.Number({ description: 'the primary metric\'s mean per unit; for a binary metric, its rate' })),
  }), { description: 'per arm at the latest look' }),
  effect: Type.Object({
    look: Nullable(Type.Integer()),
    estimate: Nullable(Type.Number({ description: 'treatment − control' })),
    lower: Nullable(Type.Number()),
    upper: Nullable(Type.Number()),
    pValue: Nullable(Type.Number({ description: 'always-valid p-value' })),
    level: Nullable(Type.Number({ description: 'coverage of the always-valid interval (1 − alpha)' })),
  }, { description: 'the effect at the latest look with its always-valid interval' }),
  srm: Type.Object({
    checked: Type.Boolean(),
    pValue: Nullable(Type.Number()),
    threshold: Nullable(Type.Number()),
    mismatch: Nullable(Type.Boolean()),
    verdict: Type.String({ description: 'the sample-ratio-mismatch verdict in a sentence' }),
  }),
  guardrails: Type.Array(Type.Object({ name: Type.String(), effect: Nullable(Type.Number()), bound: Nullable(Type.Number()), verdict: Type.String() })),
  decision: Type.Object({
    action: Type.String({ description: 'promote, rollback, stop_no_effect, continue (still running) or none' }),
    reason: Nullable(Type.String()),
    look: Nullable(Type.Integer()),
    final: Type.Boolean({ description: 'whether the experiment has ended' }),
  }),
});
export type ReportSummary = Static<typeof ReportSummary>;

export const ExperimentReportOut = Type.Object({
  rolloutId: Type.String(),
  model: Type.String(),
  experiment: ExperimentOut,
  looks: Type.Integer({ description: 'how many looks were taken' }),
  arms: Type.Unknown({ description: 'per-arm statistics at the latest look' }),
  confidenceSequence: Type.Array(ConfidencePoint),
  srm: Type.Unknown({ description: 'the sample-ratio-mismatch check at the latest look' }),
  guardrails: Type.Unknown({ description: 'guardrail results at the latest look' }),
  latest: Type.Unknown({ description: 'the full result of the latest look' }),
  decision: Type.Unknown({ description: 'the experiment\'s decision, or the latest look\'s while it runs' }),
  summary: ReportSummary,
});
export type ExperimentReportOut = Static<typeof ExperimentReportOut>;

export const KeyCreateBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100 }),
  role: RoleName,
}, { additionalProperties: false });

export const KeyOut = Type.Object({
  id: Type.String(), project: Type.String(), name: Type.String(), role: Type.String(),
  createdAt: Timestamp, disabledAt: Nullable(Timestamp), lastUsedAt: Nullable(Timestamp),
});
export const KeyCreatedOut = Type.Composite([KeyOut, Type.Object({ token: Type.String({ description: 'the key, shown once: sk_<id>_<secret>' }) })]);
export type KeyOut = Static<typeof KeyOut>;
export type KeyCreatedOut = Static<typeof KeyCreatedOut>;

export const AuditOut = Type.Object({
  id: Type.String(), at: Timestamp, project: Nullable(Type.String()), actor: Type.String(), action: Type.String(),
  targetType: Type.String(), targetId: Type.String(), before: Json, after: Json, requestId: Nullable(Type.String()),
});
export type AuditOut = Static<typeof AuditOut>;

export const ReplayBody = Type.Object({
  rolloutId: Type.Optional(Type.String({ pattern: '^ro_[0-9a-f]{32}$' })),
  model: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  from: Type.Optional(Type.String({ format: 'date-time', minLength: 1, maxLength: 64 })),
  to: Type.Optional(Type.String({ format: 'date-time', minLength: 1, maxLength: 64 })),
  version: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'the version to replay against (default: the rollout\'s candidate)' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000, default: 10000 })),
  tolerance: Type.Optional(Type.Number({ minimum: 0, maximum: 1e6, default: 1e-5 })),
}, { additionalProperties: false });

export const ReplayOut = Type.Object({
  model: Type.String(),
  version: Type.String(),
  window: Type.Object({ from: Nullable(Timestamp), to: Nullable(Timestamp) }),
  requests: Type.Integer({ description: 'logged requests replayed' }),
  skipped: Type.Integer({ description: 'logged requests without inputs or outputs, or of the wrong size' }),
  differing: Type.Integer({ description: 'replayed requests whose outputs differ beyond the tolerance' }),
  classChanges: Type.Integer({ description: 'replayed requests whose predicted class changed' }),
  maxAbsDiff: Type.Number(),
  meanAbsDiff: Type.Number(),
  tolerance: Type.Number(),
  byLoggedVersion: Type.Record(Type.String(), Type.Object({ requests: Type.Integer(), differing: Type.Integer(), maxAbsDiff: Type.Number() })),
  rows: Type.Integer({ description: 'rows replayed (a request may carry several)' }),
  outputs: Type.Array(Type.Object({
    name: Type.String(),
    rows: Type.Integer(),
    differingRows: Type.Integer({ description: 'rows with an element of this output beyond the tolerance' }),
    maxAbsDiff: Type.Number(),
    meanAbsDiff: Type.Number(),
  }), { description: 'every output the log keeps (numeric ones), compared in float32' }),
  score: Nullable(Type.Object({
    task: Type.String(),
    rows: Type.Integer(),
    maxAbsDiff: Type.Number({ description: 'of the score as the contract reads it (multiclass: the top class index)' }),
    classChangedRows: Nullable(Type.Integer({ description: 'rows whose predicted class changed; null for regression' })),
    classChangeShare: Nullable(Type.Number()),
  }, { description: 'null when the model has no contract' })),
  unreplayable: Nullable(Type.String({ description: 'why the version\'s requests cannot be replayed from the log (a string input: nothing was run), or why replaying stopped (ONNX Runtime refused the logged rows: the counts hold what was compared before); null when all could' })),
  notes: Type.Array(Type.String()),
});
export type ReplayOut = Static<typeof ReplayOut>;
