// A version's lineage: where it came from. Written once, with the version (model_versions.lineage),
// by a person's registration or by the retrain workflow; read by `GET /v1/models/{model}/lineage`,
// `sluice lineage` and the pages. Plain JSON, so workflows carry it as they are.
import { Type, type Static } from '@sinclair/typebox';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

/** What started a version: a person, a drift report, or a drop of a realised task metric. */
export const LineageCause = Type.Union([
  Type.Object({ kind: Type.Literal('registration'), by: Nullable(Type.String()) }, { additionalProperties: false }),
  Type.Object({
    kind: Type.Literal('drift'),
    reportId: Type.String({ description: 'the drift_reports row that completed the debounce' }),
    shareDrifted: Type.Number(),
    features: Type.Array(Type.String(), { description: 'the features (and score) that drifted' }),
  }, { additionalProperties: false }),
  Type.Object({
    kind: Type.Literal('metric_drop'),
    metric: Type.String(),
    realised: Type.Number(),
    expected: Type.Number({ description: 'the figure from validation' }),
    reportId: Type.Optional(Type.String()),
  }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('manual_retrain'), by: Type.String() }, { additionalProperties: false }),
]);
export type LineageCause = Static<typeof LineageCause>;

/** The rows a version was trained on. */
export const DataWindow = Type.Object({
  source: Type.Union([Type.Literal('inference_log'), Type.Literal('dataset')]),
  from: Type.Optional(Type.String({ description: 'ISO time; inference_log windows' })),
  to: Type.Optional(Type.String()),
  dataset: Type.Optional(Type.String({ description: 'the dataset id; dataset windows, and the training file a logged window was written to' })),
  rows: Type.Integer({ minimum: 0 }),
  sha256: Type.String({ description: 'of the training data exactly as the trainer read it' }),
}, { additionalProperties: false });
export type DataWindow = Static<typeof DataWindow>;

export const TrainerRef = Type.Object({
  kind: Type.Union([Type.Literal('builtin'), Type.Literal('command'), Type.Literal('webhook')]),
  name: Type.String({ description: 'builtin trainer name, argv[0], or the webhook URL' }),
  params: Type.Record(Type.String(), Type.Unknown()),
}, { additionalProperties: false });
export type TrainerRef = Static<typeof TrainerRef>;

export const VersionLineage = Type.Object({
  parent: Type.Union([Type.String(), Type.Null()], { description: 'the production version when this one was made' }),
  cause: LineageCause,
  dataWindow: Type.Optional(DataWindow),
  trainer: Type.Optional(TrainerRef),
  retrainId: Type.Optional(Type.String()),
}, { additionalProperties: false, $id: 'VersionLineage' });
export type VersionLineage = Static<typeof VersionLineage>;

/** How a retrain run stands or ended (the retrains table's status). */
export type RetrainStatus = 'running' | 'registered' | 'not_better' | 'failed' | 'skipped';
