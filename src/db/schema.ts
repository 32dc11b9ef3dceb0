import type { ColumnType, Insertable, Selectable } from 'kysely';
import type { InputElementType, ModelContract, StoredSignature, TensorSpec } from '../contracts/contract.js';
import type { ContractHints } from '../contracts/infer.js';
import type { DataWindow, LineageCause, RetrainStatus, TrainerRef, VersionLineage } from '../loop/lineage.js';
import type { DriftDecision } from '../loop/monitor.js';
import type { LoopPolicy } from '../loop/policy.js';

/** Timestamps: Postgres returns Date, and we may insert Date or ISO strings (or let the default run). */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** bigint ids come back from pg as strings (int8 exceeds a JS number's exact range). */
type BigId = ColumnType<string, never, never>;
type BigRef = ColumnType<string, string | number | bigint, string | number | bigint>;
// pg serialises objects as JSON but arrays as Postgres arrays: JSON-encode arrays before writing jsonb.
type Json<T> = ColumnType<T, T | string, T | string>;
type JsonWithDefault<T> = ColumnType<T, T | string | undefined, T | string>;

export type VersionStatus = 'registered' | 'validating' | 'validated' | 'rejected' | 'candidate' | 'production' | 'rolled_back' | 'retired';
export type RolloutStatus = 'running' | 'promoted' | 'rolled_back' | 'rejected' | 'aborted' | 'kept_baseline' | 'failed';
export type StepVerdict = 'successful' | 'failed' | 'inconclusive' | 'error' | 'info';
export type LookDecision = 'continue' | 'promote' | 'rollback' | 'stop_no_effect';
export type Role = 'viewer' | 'deployer' | 'approver' | 'admin';
export type Device = 'cpu' | 'cuda';

export interface ProjectsTable { id: string; name: string; created_at: Timestamp }

export interface ModelsTable {
  id: BigId;
  project_id: string;
  name: string;
  description: ColumnType<string, string | undefined, string>;
  task: ColumnType<string, string | undefined, string>;
  /** Rows the validation activity scores every candidate on: {features: number[][], labels: number[], segments?: string[]} */
  golden_set: ColumnType<GoldenSet | null, GoldenSet | string | null | undefined, GoldenSet | string | null>;
  /** What every version must keep (src/contracts/); null until declared or inferred from the first version registered. */
  contract: ColumnType<ModelContract | null, ModelContract | string | null | undefined, ModelContract | string | null>;
  /** Hints the first version's contract is inferred with (task, feature names...), as declared at creation; null for none. */
  contract_hints: ColumnType<ContractHints | null, ContractHints | string | null | undefined, ContractHints | string | null>;
  /** When the drift monitor calls drift and how a retrain runs (src/loop/policy.ts); null: monitor with the defaults, no retrain. */
  loop_policy: ColumnType<LoopPolicy | null, LoopPolicy | string | null | undefined, LoopPolicy | string | null>;
  /** The dataset that is the golden set (it wins over golden_set); null when none is attached. */
  golden_dataset_id: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: Timestamp;
}

export interface GoldenSet { features: number[][]; labels: number[]; segments?: string[] }

// A version's signature has one home, beside the contract that is checked against it.
export type { TensorSpec };
export type ModelSignature = StoredSignature;

export interface ModelVersionsTable {
  id: BigId;
  model_id: BigRef;
  version: string;
  artifact_uri: string;
  sha256: string;
  size_bytes: ColumnType<string, number | bigint | string, number | bigint | string>;
  signature: Json<ModelSignature>;
  metadata: JsonWithDefault<Record<string, unknown>>;
  training_data_ref: string | null;
  reference_profile: ColumnType<unknown, unknown, unknown> | null;
  metrics: JsonWithDefault<Record<string, unknown>>;
  status: ColumnType<VersionStatus, VersionStatus | undefined, VersionStatus>;
  created_by: string | null;
  created_at: Timestamp;
  /** Where the version came from (src/loop/lineage.ts); null for versions registered before lineage was kept. */
  lineage: ColumnType<VersionLineage | null, VersionLineage | string | null | undefined, VersionLineage | string | null>;
}

export type DatasetFormat = 'csv' | 'jsonl';

/** A dataset column: its name, what it is to the model, and the kind of its values. */
export interface DatasetColumn {
  name: string;
  role: 'feature' | 'label' | 'segment';
  kind: 'numeric' | 'categorical' | 'boolean';
  /** A feature's element type, as the contract's input reads it. */
  type?: InputElementType;
}

export interface DatasetsTable {
  id: string;
  project_id: string;
  model_id: BigRef;
  name: string;
  sha256: string;
  format: DatasetFormat;
  size_bytes: ColumnType<string, number | bigint | string, number | bigint | string>;
  rows: number;
  columns: Json<DatasetColumn[]>;
  label_column: string;
  segment_column: string | null;
  artifact_uri: string;
  created_by: string | null;
  created_at: Timestamp;
}

export interface TrafficGenerationsTable {
  id: BigId;
  model_id: BigRef;
  generation: number;
  weights: Json<Record<string, number>>;
  spec: JsonWithDefault<Record<string, unknown>>;
  reason: ColumnType<string, string | undefined, string>;
  created_by: string;
  created_at: Timestamp;
}

export interface ServingWorkersTable {
  id: string;
  address: string;
  admin_address: string;
  device: Device;
  models: JsonWithDefault<unknown[]>;
  generations: JsonWithDefault<Record<string, number>>;
  status: ColumnType<'starting' | 'ready' | 'draining' | 'stopped', 'starting' | 'ready' | 'draining' | 'stopped' | undefined>;
  started_at: Timestamp;
  heartbeat_at: Timestamp;
}

export interface RolloutsTable {
  id: string;
  workflow_id: string;
  model_id: BigRef;
  candidate_version_id: BigRef;
  baseline_version_id: BigRef | null;
  policy: Json<Record<string, unknown>>;
  status: ColumnType<RolloutStatus, RolloutStatus | undefined, RolloutStatus>;
  phase: ColumnType<string, string | undefined, string>;
  outcome_reason: string | null;
  started_by: string;
  started_at: Timestamp;
  ended_at: NullableTimestamp;
}

export interface RolloutStepsTable {
  id: BigId;
  rollout_id: string;
  seq: number;
  phase: string;
  step: string;
  verdict: StepVerdict;
  numbers: JsonWithDefault<Record<string, unknown>>;
  reason: ColumnType<string, string | undefined, string>;
  at: Timestamp;
}

export interface ExperimentsTable {
  id: string;
  rollout_id: string;
  model_id: BigRef;
  kind: 'ab' | 'bandit';
  salt: string;
  arms: Json<unknown[]>;
  primary_metric: string;
  config: Json<Record<string, unknown>>;
  status: ColumnType<'running' | 'decided' | 'stopped', 'running' | 'decided' | 'stopped' | undefined>;
  decision: ColumnType<unknown, unknown, unknown> | null;
  started_at: Timestamp;
  ended_at: NullableTimestamp;
}

export interface ExperimentLooksTable {
  id: BigId;
  experiment_id: string;
  look: number;
  arm_stats: Json<unknown>;
  result: Json<unknown>;
  decision: LookDecision;
  at: Timestamp;
}

export interface InferenceLogTable {
  id: BigId;
  request_id: string;
  at: Timestamp;
  model: string;
  version: string;
  arm: string | null;
  experiment_id: string | null;
  routing_key_hash: string | null;
  segment: string | null;
  shadow: ColumnType<boolean, boolean | undefined, boolean>;
  fallback: ColumnType<boolean, boolean | undefined, boolean>;
  /**
   * float32 little-endian, row-major (the bytes of a Float32Array): each row's elements of every
   * model input in signature order; reshape by the row width from the version's signature.
   */
  inputs: Buffer | null;
  outputs: number[] | null;
  /** One per row: the score the version's contract reads (contracts/score.ts rowScores); null for errors or no contract. */
  scores: ColumnType<number[] | null, number[] | null | undefined, number[] | null>;
  latency_us: number;
  worker_id: string;
  /** null for a served request; the failure's message otherwise */
  error: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface FeedbackTable {
  id: BigId;
  model: string;
  request_id: string | null;
  routing_key_hash: string | null;
  metric: string;
  value: number;
  at: Timestamp;
}


/** One run of the retrain workflow, from its trigger to its end. */
export interface RetrainsTable {
  id: string;
  model_id: BigRef;
  workflow_id: string;
  status: RetrainStatus;
  cause: Json<LineageCause>;
  parent_version: string | null;
  produced_version: string | null;
  /** Why it ended as it did (the trainer's error, "not better on the holdout: …", the skip's reason). */
  reason: string | null;
  data_window: ColumnType<DataWindow | null, DataWindow | string | null | undefined, DataWindow | string | null>;
  trainer: ColumnType<TrainerRef | null, TrainerRef | string | null | undefined, TrainerRef | string | null>;
  evaluation: ColumnType<unknown, unknown, unknown> | null;
  started_at: ColumnType<Date, Date | string | undefined, Date | string>;
  ended_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export interface DriftReportsTable {
  id: BigId;
  model_id: BigRef;
  version_id: BigRef;
  window_start: Timestamp;
  window_end: Timestamp;
  rows: number;
  features: Json<unknown>;
  dataset_drift: boolean;
  share_drifted: number;
  created_at: Timestamp;
  /** What the monitor decided about the window (src/loop/monitor.ts). */
  decision: ColumnType<DriftDecision, DriftDecision | undefined, DriftDecision>;
  /** Why a window was not judged (too few rows, no reference profile), or what the decision rests on. */
  reason: string | null;
  window_kind: ColumnType<'time' | 'rows', 'time' | 'rows' | undefined, 'time' | 'rows'>;
  /** Seconds (a time window) or rows (a rows window) the policy asked for. */
  window_size: ColumnType<number, number | undefined, number>;
  drifted_features: ColumnType<string[], string[] | undefined, string[]>;
  /** The score's (prediction column's) own drift, apart from the features'. */
  score_drift: ColumnType<unknown, unknown, unknown> | null;
  /** Drifting windows in a row, this one included (the debounce count after it). */
  consecutive: ColumnType<number, number | undefined, number>;
  /** The realised task metric on labelled rows, or why it was not judged (labels not due). */
  performance: ColumnType<unknown, unknown, unknown> | null;
  /** The drift policy the window was judged with. */
  policy: ColumnType<unknown, unknown, unknown> | null;
}

export interface ApiKeysTable {
  id: string;
  project_id: string;
  name: string;
  role: Role;
  secret_hash: string;
  created_at: Timestamp;
  disabled_at: NullableTimestamp;
  last_used_at: NullableTimestamp;
}

export interface AuditLogTable {
  id: BigId;
  at: Timestamp;
  project_id: string | null;
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  before: ColumnType<unknown, unknown, unknown> | null;
  after: ColumnType<unknown, unknown, unknown> | null;
  request_id: string | null;
}

export interface Database {
  projects: ProjectsTable;
  models: ModelsTable;
  model_versions: ModelVersionsTable;
  datasets: DatasetsTable;
  traffic_generations: TrafficGenerationsTable;
  serving_workers: ServingWorkersTable;
  rollouts: RolloutsTable;
  rollout_steps: RolloutStepsTable;
  experiments: ExperimentsTable;
  experiment_looks: ExperimentLooksTable;
  inference_log: InferenceLogTable;
  feedback: FeedbackTable;
  drift_reports: DriftReportsTable;
  retrains: RetrainsTable;
  api_keys: ApiKeysTable;
  audit_log: AuditLogTable;
}

export type Model = Selectable<ModelsTable>;
export type ModelVersion = Selectable<ModelVersionsTable>;
export type NewModelVersion = Insertable<ModelVersionsTable>;
export type Dataset = Selectable<DatasetsTable>;
export type TrafficGeneration = Selectable<TrafficGenerationsTable>;
export type Rollout = Selectable<RolloutsTable>;
export type Retrain = Selectable<RetrainsTable>;
export type DriftReportRow = Selectable<DriftReportsTable>;
