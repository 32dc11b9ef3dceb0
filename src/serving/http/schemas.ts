/**
 * TypeBox schemas of the worker's HTTP surface: the Open Inference Protocol bodies, feedback, and
 * the admin routes. The infer route is checked by hand (protocol.ts) and these describe it.
 */
import { Type, type Static } from '@sinclair/typebox';

/** The protocol's error body: `{"error": "..."}`. */
export const ErrorBody = Type.Object({ error: Type.String() });

export const ModelParams = Type.Object({ model: Type.String({ minLength: 1, maxLength: 128 }) });
export const VersionParams = Type.Object({ model: Type.String({ minLength: 1, maxLength: 128 }), version: Type.String({ minLength: 1, maxLength: 64 }) });

const TensorMeta = Type.Object({ name: Type.String(), datatype: Type.String(), shape: Type.Array(Type.Integer()) });

export const ServerMetadata = Type.Object({
  name: Type.String(),
  version: Type.String(),
  extensions: Type.Array(Type.String()),
  parameters: Type.Object({ worker_id: Type.String(), execution_provider: Type.String(), requested_execution_provider: Type.String(), executor: Type.String() }),
});

export const ModelMetadata = Type.Object({
  name: Type.String(),
  versions: Type.Array(Type.String()),
  platform: Type.String(),
  inputs: Type.Array(TensorMeta),
  outputs: Type.Array(TensorMeta),
  parameters: Type.Object({
    generation: Type.Optional(Type.Integer()),
    weights: Type.Optional(Type.Record(Type.String(), Type.Number())),
    version: Type.Optional(Type.String()),
    execution_provider: Type.Optional(Type.String()),
    batchable: Type.Optional(Type.Boolean()),
  }),
});

export const Ready = Type.Object({ name: Type.Optional(Type.String()), ready: Type.Boolean() });
export const Live = Type.Object({ live: Type.Boolean() });

const InferTensor = Type.Object({
  name: Type.String(),
  shape: Type.Array(Type.Integer({ minimum: 0 })),
  datatype: Type.String(),
  parameters: Type.Optional(Type.Object({ binary_data_size: Type.Optional(Type.Integer({ minimum: 0 })) }, { additionalProperties: true })),
  data: Type.Optional(Type.Array(Type.Unknown())),
});

/** The infer request (documentation; validated by hand). */
export const InferRequest = Type.Object({
  id: Type.Optional(Type.String()),
  parameters: Type.Optional(Type.Object({
    routing_key: Type.Optional(Type.String({ description: 'A stable user id: every worker sends it to the same version' })),
    attributes: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]), { description: 'Targeting attributes (region, tier, ...)' })),
    binary_data_output: Type.Optional(Type.Boolean()),
  }, { additionalProperties: true })),
  inputs: Type.Array(InferTensor, { minItems: 1 }),
  outputs: Type.Optional(Type.Array(Type.Object({ name: Type.String(), parameters: Type.Optional(Type.Object({ binary_data: Type.Optional(Type.Boolean()) }, { additionalProperties: true })) }))),
});

export const InferResponse = Type.Object({
  model_name: Type.String(),
  model_version: Type.String(),
  id: Type.String(),
  parameters: Type.Object({
    routing: Type.Union([Type.Literal('routed'), Type.Literal('pinned')]),
    generation: Type.Optional(Type.Integer()),
    arm: Type.Optional(Type.String()),
    experiment_id: Type.Optional(Type.String()),
    segment: Type.Optional(Type.String()),
    fallback: Type.Optional(Type.Boolean()),
  }),
  outputs: Type.Array(Type.Object({
    name: Type.String(), datatype: Type.String(), shape: Type.Array(Type.Integer()),
    data: Type.Optional(Type.Array(Type.Unknown())),
    parameters: Type.Optional(Type.Object({ binary_data_size: Type.Integer() })),
  })),
});

export const FeedbackEvent = Type.Object({
  model: Type.String({ minLength: 1, maxLength: 128 }),
  request_id: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  /** A blank key ("" or whitespace) counts as none, as it does for routing; a request_id is then required. */
  routing_key: Type.Optional(Type.String({ maxLength: 512 })),
  metric: Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' }),
  value: Type.Number(),
  /** When the outcome happened: ISO 8601, or epoch milliseconds. Defaults to now. */
  time: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Number({ minimum: 0 })])),
}, { additionalProperties: false });
export type FeedbackEvent = Static<typeof FeedbackEvent>;

export const FeedbackBody = Type.Union([FeedbackEvent, Type.Array(FeedbackEvent, { minItems: 1, maxItems: 10_000 })]);
export const FeedbackAccepted = Type.Object({ accepted: Type.Integer() });

// Admin

export const LoadBody = Type.Object({
  artifactUri: Type.Optional(Type.String({ minLength: 1 })),
  sha256: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
  metadata: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  referenceProfile: Type.Optional(Type.Unknown()),
  contract: Type.Optional(Type.Unknown({ description: 'the model contract (src/contracts) to score logged rows and check each input by; checked on arrival' })),
}, { additionalProperties: false });

export const VersionStatus = Type.Object({
  model: Type.String(), version: Type.String(), state: Type.String(), sha256: Type.String(),
  provider: Type.Union([Type.String(), Type.Null()]), loadMs: Type.Number(), queueRows: Type.Number(), meanBatchRunUs: Type.Number(),
});

export const GenerationAck = Type.Object({
  model: Type.String(),
  /** The generation this worker now serves (≥ the one pushed when ok). */
  generation: Type.Integer(),
  applied: Type.Boolean(),
  workerId: Type.String(),
});

export const UnloadResult = Type.Object({ model: Type.String(), version: Type.String(), unloaded: Type.Boolean() });

export const WorkerStatus = Type.Object({
  workerId: Type.String(),
  status: Type.String(),
  ready: Type.Boolean(),
  executionProvider: Type.String(),
  requestedExecutionProvider: Type.String(),
  providerNote: Type.Union([Type.String(), Type.Null()]),
  executor: Type.String(),
  models: Type.Array(Type.Object({
    name: Type.String(),
    generation: Type.Union([Type.Integer(), Type.Null()]),
    weights: Type.Union([Type.Record(Type.String(), Type.Number()), Type.Null()]),
    versions: Type.Array(VersionStatus),
  })),
  inferenceLog: Type.Object({ buffered: Type.Integer() }),
});

export const ReconcileResult = Type.Object({
  models: Type.Array(Type.Object({ model: Type.String(), generation: Type.Integer(), error: Type.Optional(Type.String()) })),
});
