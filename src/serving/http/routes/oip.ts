/**
 * Open Inference Protocol (KServe v2 / Triton REST) routes: health, server and model metadata,
 * readiness, and infer, with the versioned forms `/v2/models/{m}/versions/{v}/...` that bypass
 * routing.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Static } from '@sinclair/typebox';
import type { HostedModel, HostedVersion } from '../../execution/host.js';
import { InferError } from '../../protocol/infer-error.js';
import { HEADER_LENGTH } from '../../protocol/protocol.js';
import { ErrorBody, InferRequest, InferResponse, Live, ModelMetadata, ModelParams, Ready, ServerMetadata, VersionParams } from '../schemas.js';
import { describeContract } from '../../protocol/signature.js';

const SERVER_VERSION = '0.1.0';

function versionMetadata(m: HostedModel, v: HostedVersion): Static<typeof ModelMetadata> {
  const g = m.generation;
  return {
    name: m.name,
    versions: [...m.versions.values()].filter((x) => x.ready).map((x) => x.version),
    platform: 'onnxruntime_onnx',
    inputs: v.signature.inputs.map(describeContract),
    outputs: v.signature.outputs.map(describeContract),
    parameters: {
      ...(g ? { generation: g.generation, weights: g.source.weights } : {}),
      version: v.version,
      execution_provider: v.provider,
      batchable: v.signature.batchable,
    },
  };
}

/** A model is ready when the version its routing would prefer is (the baseline, else any with traffic). */
function servingVersion(m: HostedModel): HostedVersion | undefined {
  const g = m.generation;
  if (g !== null) {
    for (const name of [g.baseline, ...g.order]) {
      const v = m.versions.get(name);
      if (v?.ready) return v;
    }
    return undefined;
  }
  const ready = [...m.versions.values()].filter((v) => v.ready);
  return ready.length === 1 ? ready[0] : undefined;
}

export async function oipRoutes(app: FastifyInstance): Promise<void> {
  const { serving } = app;

  // Infer bodies are read as raw bytes whatever their content type: JSON, or a JSON header plus
  // raw tensor bytes (binary extension; tritonclient sends application/octet-stream or nothing).
  // Parsing happens in protocol.ts, which knows the model contract and names what is wrong.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: serving.config.bodyLimitBytes }, (_req, body, done) => done(null, body));

  const notServed = (name: string) => new InferError(404, `model '${name}' is not served by this worker`);
  const modelOr404 = (name: string) => {
    const m = serving.host.models.get(name);
    if (!m || (m.versions.size === 0 && m.generation === null)) throw notServed(name);
    return m;
  };
  const versionOr404 = (model: string, version: string) => {
    const m = modelOr404(model);
    const v = m.versions.get(version);
    if (!v) throw new InferError(404, `version '${version}' of model '${model}' is not loaded on this worker`);
    return { m, v };
  };

  app.get('/v2/health/live', { schema: { summary: 'Liveness', response: { 200: Live } } }, async () => ({ live: true }));

  app.get('/v2/health/ready', { schema: { summary: 'Readiness: registered, reconciled and not draining', response: { 200: Ready, 400: Ready } } },
    async (_req, reply) => reply.status(serving.ready ? 200 : 400).send({ ready: serving.ready }));

  app.get('/v2', { schema: { summary: 'Server metadata', response: { 200: ServerMetadata } } }, async () => ({
    name: 'sluice',
    version: SERVER_VERSION,
    extensions: ['binary_tensor_data', 'sluice_routing', 'sluice_feedback'],
    parameters: {
      worker_id: serving.config.workerId,
      execution_provider: serving.provider.provider,
      requested_execution_provider: serving.config.executionProvider,
      executor: serving.config.executor,
    },
  }));

  app.get<{ Params: Static<typeof ModelParams> }>('/v2/models/:model', {
    schema: { summary: 'Model metadata (of the version routing prefers)', params: ModelParams, response: { 200: ModelMetadata, 404: ErrorBody, 503: ErrorBody } },
  }, async (req) => {
    const m = modelOr404(req.params.model);
    const v = servingVersion(m);
    if (!v) throw new InferError(503, `model '${m.name}' has no ready version to describe`, 'unavailable');
    return versionMetadata(m, v);
  });

  app.get<{ Params: Static<typeof ModelParams> }>('/v2/models/:model/ready', {
    schema: { summary: 'Model readiness', params: ModelParams, response: { 200: Ready, 400: Ready, 404: ErrorBody } },
  }, async (req, reply) => {
    const m = modelOr404(req.params.model);
    const ready = servingVersion(m) !== undefined;
    return reply.status(ready ? 200 : 400).send({ name: m.name, ready });
  });

  app.get<{ Params: Static<typeof VersionParams> }>('/v2/models/:model/versions/:version', {
    schema: { summary: 'Version metadata', params: VersionParams, response: { 200: ModelMetadata, 404: ErrorBody, 503: ErrorBody } },
  }, async (req) => {
    const { m, v } = versionOr404(req.params.model, req.params.version);
    if (v.state === 'loading') throw new InferError(503, `version '${v.version}' of model '${m.name}' is still loading`, 'unavailable');
    return versionMetadata(m, v);
  });

  app.get<{ Params: Static<typeof VersionParams> }>('/v2/models/:model/versions/:version/ready', {
    schema: { summary: 'Version readiness', params: VersionParams, response: { 200: Ready, 400: Ready, 404: ErrorBody } },
  }, async (req, reply) => {
    const { m, v } = versionOr404(req.params.model, req.params.version);
    return reply.status(v.ready ? 200 : 400).send({ name: m.name, ready: v.ready });
  });

  const send = (reply: FastifyReply, r: { body: string | Buffer; headerLength: number | null }) => {
    if (r.headerLength !== null) {
      return reply.header('inference-header-content-length', r.headerLength).header('content-type', 'application/octet-stream').send(r.body);
    }
    return reply.header('content-type', 'application/json; charset=utf-8').send(r.body);
  };
  const bodyOf = (body: unknown): Buffer => {
    if (!Buffer.isBuffer(body)) throw new InferError(400, 'the request body is empty; expected a JSON object with an "inputs" array');
    return body;
  };
  const inferSchema = (params: typeof ModelParams | typeof VersionParams, summary: string) => ({
    summary,
    params,
    // Documentation only: the body is read and validated by hand (see protocol.ts).
    description: 'Body: an Open Inference Protocol infer request (JSON, or JSON header + raw tensors with Inference-Header-Content-Length).',
    'x-request-body': InferRequest,
    response: { 200: InferResponse, 400: ErrorBody, 404: ErrorBody, 413: ErrorBody, 503: ErrorBody },
  });

  app.post<{ Params: Static<typeof ModelParams> }>('/v2/models/:model/infer', {
    schema: inferSchema(ModelParams, 'Infer, routed by the model\'s traffic generation'),
  }, async (req, reply) => {
    const r = await serving.inference.infer(req.params.model, null, bodyOf(req.body), req.headers[HEADER_LENGTH] as string | undefined);
    return send(reply, r);
  });

  app.post<{ Params: Static<typeof VersionParams> }>('/v2/models/:model/versions/:version/infer', {
    schema: inferSchema(VersionParams, 'Infer on one version, bypassing routing'),
  }, async (req, reply) => {
    const r = await serving.inference.infer(req.params.model, req.params.version, bodyOf(req.body), req.headers[HEADER_LENGTH] as string | undefined);
    return send(reply, r);
  });
}
