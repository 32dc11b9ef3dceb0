/**
 * Admin routes, behind a bearer token: load and unload versions, set a model's generation,
 * reconcile, status. The fleet client (src/fleet) drives these on every live worker.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { TrafficGeneration } from '../../../traffic/generation.js';
import { parseContract, type ModelContract } from '../../../contracts/index.js';
import { HostError, type VersionSource } from '../../execution/host.js';
import { InferError } from '../../protocol/infer-error.js';
import { ErrorBody, GenerationAck, LoadBody, ModelParams, ReconcileResult, UnloadResult, VersionParams, VersionStatus, WorkerStatus } from '../schemas.js';
import { Type } from '@sinclair/typebox';

/** Compares digests, so neither the token's length nor its content leaks through timing. */
function tokenMatches(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function hostErrorStatus(err: HostError): number {
  switch (err.code) {
    case 'not_found': return 404;
    case 'conflict': return 409;
    case 'invalid_generation': return 400;
    case 'sha256_mismatch': return 422;
    default: return 422;
  }
}

function asInferError(err: unknown): unknown {
  if (err instanceof HostError) return new InferError(hostErrorStatus(err), err.message, err.code);
  return err;
}

export async function adminRoutes(app: FastifyInstance): Promise<void> {
  const { serving } = app;
  const token = serving.config.adminToken;

  app.addHook('onRequest', async (req, reply) => {
    if (token === null) return; // SLUICE_INSECURE_ADMIN: a local development worker
    const header = req.headers.authorization ?? '';
    const presented = header.startsWith('Bearer ') ? header.slice(7) : '';
    if (presented === '' || !tokenMatches(presented, token)) {
      return reply.status(401).header('www-authenticate', 'Bearer').send({ error: 'admin routes need Authorization: Bearer <SLUICE_ADMIN_TOKEN>' });
    }
  });

  app.get('/status', { schema: { summary: 'What this worker hosts and serves', response: { 200: WorkerStatus, 401: ErrorBody } } }, async () => ({
    workerId: serving.config.workerId,
    status: serving.member?.status ?? (serving.ready ? 'ready' : 'starting'),
    ready: serving.ready,
    executionProvider: serving.provider.provider,
    requestedExecutionProvider: serving.config.executionProvider,
    providerNote: serving.provider.note,
    executor: serving.config.executor,
    models: [...serving.host.models.values()].map((m) => ({
      name: m.name,
      generation: m.generation?.generation ?? null,
      weights: m.generation?.source.weights ?? null,
      versions: [...m.versions.values()].map((v) => v.describe()),
    })),
    inferenceLog: { buffered: serving.inferenceLog.buffered },
  }));

  app.put<{ Params: Static<typeof ModelParams>; Body: Static<typeof TrafficGeneration> }>('/models/:model/generation', {
    schema: {
      summary: 'Apply a traffic generation (loads referenced versions first); older generations are ignored',
      params: ModelParams, body: TrafficGeneration,
      response: { 200: GenerationAck, 400: ErrorBody, 401: ErrorBody, 409: ErrorBody, 422: ErrorBody },
    },
  }, async (req) => {
    const model = req.params.model;
    try {
      const result = serving.member
        ? await serving.member.applyWithLoad(model, req.body)
        : (() => {
          const missing = serving.host.missing(model, req.body);
          if (missing.length > 0) throw new HostError('conflict', `versions ${missing.join(', ')} of ${model} are not loaded; load them first`);
          return serving.host.applyGeneration(model, req.body);
        })();
      if (result.applied) serving.metrics.generation.set({ model }, result.current);
      return { model, generation: result.current, applied: result.applied, workerId: serving.config.workerId };
    } catch (err) {
      throw asInferError(err);
    }
  });

  app.post<{ Params: Static<typeof VersionParams>; Body: Static<typeof LoadBody> }>('/models/:model/versions/:version/load', {
    schema: {
      summary: 'Load a version and warm it up; answers when it is ready',
      params: VersionParams, body: LoadBody,
      response: { 200: VersionStatus, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody },
    },
    // No body means "load it as registered".
    preValidation: async (req) => { req.body ??= {}; },
  }, async (req) => {
    const { model, version } = req.params;
    const body = req.body;
    let source: VersionSource;
    if (body.artifactUri !== undefined || body.sha256 !== undefined) {
      if (body.artifactUri === undefined || body.sha256 === undefined) throw new InferError(400, 'artifactUri and sha256 go together');
      let contract: ModelContract | null = null;
      if (body.contract !== undefined) {
        const parsed = parseContract(body.contract);
        if (!parsed.ok) throw new InferError(400, `contract${parsed.problems[0]?.field ?? ''}: ${parsed.problems[0]?.message ?? 'is not a model contract'}`);
        contract = parsed.contract;
      }
      source = { model, version, artifactUri: body.artifactUri, sha256: body.sha256, metadata: body.metadata, referenceProfile: body.referenceProfile, contract };
    } else if (serving.member) {
      try {
        [source] = (await serving.member.resolveVersions(model, [version])) as [VersionSource];
      } catch (err) {
        throw new InferError(404, (err as Error).message);
      }
    } else {
      throw new InferError(400, 'this worker has no registry; give artifactUri and sha256');
    }
    try {
      const v = await serving.host.load(source);
      return v.describe();
    } catch (err) {
      throw asInferError(err);
    }
  });

  app.delete<{ Params: Static<typeof VersionParams>; Querystring: { force?: 'true' | 'false' } }>('/models/:model/versions/:version', {
    schema: {
      summary: 'Unload a version: stops routing to it, drains its queue, releases the session',
      params: VersionParams, querystring: Type.Object({ force: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])) }),
      response: { 200: UnloadResult, 401: ErrorBody, 409: ErrorBody },
    },
  }, async (req) => {
    const { model, version } = req.params;
    try {
      const unloaded = await serving.host.unload(model, version, { force: req.query.force === 'true' });
      return { model, version, unloaded };
    } catch (err) {
      throw asInferError(err);
    }
  });

  const FaultBody = Type.Object({
    errorRate: Type.Number({ minimum: 0, maximum: 1, default: 0, description: 'share of requests that fail with 503' }),
    latencyMs: Type.Number({ minimum: 0, maximum: 60_000, default: 0, description: 'delay added to every request' }),
  }, { additionalProperties: false });
  const FaultState = Type.Object({ model: Type.String(), version: Type.String(), errorRate: Type.Number(), latencyMs: Type.Number() });
  app.put<{ Params: Static<typeof VersionParams>; Body: Static<typeof FaultBody> }>('/models/:model/versions/:version/faults', {
    schema: { summary: 'Inject failures or delay into one version (chaos rehearsal); zeros clear it', params: VersionParams, body: FaultBody, response: { 200: FaultState, 400: ErrorBody, 401: ErrorBody } },
  }, async (req) => {
    const { model, version } = req.params;
    const spec = { errorRate: req.body.errorRate ?? 0, latencyMs: req.body.latencyMs ?? 0 };
    serving.inference.faults.set(model, version, spec);
    req.log.warn({ model, version, ...spec }, 'fault injection changed');
    return { model, version, ...spec };
  });
  app.delete<{ Params: Static<typeof VersionParams> }>('/models/:model/versions/:version/faults', {
    schema: { summary: 'Clear injected faults of one version', params: VersionParams, response: { 200: FaultState, 401: ErrorBody } },
  }, async (req) => {
    const { model, version } = req.params;
    serving.inference.faults.set(model, version, null);
    return { model, version, errorRate: 0, latencyMs: 0 };
  });

  app.post('/reconcile', {
    schema: { summary: 'Reconcile every model from PostgreSQL now', response: { 200: ReconcileResult, 401: ErrorBody, 503: ErrorBody } },
  }, async () => {
    if (!serving.member) throw new InferError(503, 'this worker has no registry to reconcile from', 'unavailable');
    return { models: await serving.member.reconcileAll() };
  });
}
