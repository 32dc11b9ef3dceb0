// The control-plane API: one Fastify plugin (`sluiceApi`) holding every route, and
// `buildApiApp(deps)` that makes a Fastify instance (HTTP, or HTTPS with a configured
// certificate) around it. `server.ts` only listens.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyReply } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { ArtifactStore } from '../registry/artifacts.js';
import { installAuth, isMutating } from './plugins/auth.js';
import { installMetrics } from './plugins/metrics.js';
import { ApiError, installErrorHandling, installValidation, sendProblem } from './problem.js';
import { DATASET_CONTENT_TYPES, datasetRoutes } from './routes/datasets.js';
import { healthRoutes } from './routes/health.js';
import { keyRoutes } from './routes/keys.js';
import { lineageRoutes } from './routes/lineage.js';
import { modelRoutes } from './routes/models.js';
import { monitorRoutes } from './routes/monitor.js';
import { replayRoutes } from './routes/replay.js';
import { rolloutRoutes } from './routes/rollouts.js';
import { trafficRoutes } from './routes/traffic.js';
import { versionRoutes } from './routes/versions.js';
import { defaultInspector, type ModelInspector } from '../registry/inspect.js';
import { RolloutControl, type TemporalOptions } from './services/temporal.js';

export interface RateLimitOptions {
  /** Mutating requests allowed per key per window. */
  max: number;
  timeWindowMs: number;
}

export interface ApiDeps {
  db: Kysely<Database>;
  /** Closed with the app: the server owns its database pool. */
  closeDb?: () => Promise<void>;
  logger?: boolean;
  /** Temporal client settings, or a ready RolloutControl. Defaults from TEMPORAL_ADDRESS and SLUICE_TEMPORAL_UI_URL. */
  temporal?: TemporalOptions | RolloutControl;
  artifacts?: ArtifactStore;
  /** Reads an artifact's signature with ONNX Runtime; refuses what it cannot load. */
  inspectModel?: ModelInspector;
  /** Per-key limit on mutating requests; false turns it off. Default SLUICE_RATE_LIMIT_MAX per minute (120). */
  rateLimit?: RateLimitOptions | false;
  /** Serve HTTPS with this certificate and key (PEM). */
  https?: { cert: string | Buffer; key: string | Buffer };
  /** Largest JSON body, bytes (uploads have their own limits: the artifact store's). */
  bodyLimit?: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<Database>;
    artifacts: ArtifactStore;
    rollouts: RolloutControl;
    inspectModel: ModelInspector;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

function defaultRateLimit(): RateLimitOptions {
  const max = Number(process.env.SLUICE_RATE_LIMIT_MAX ?? 120);
  return { max: Number.isSafeInteger(max) && max > 0 ? max : 120, timeWindowMs: 60_000 };
}

function temporalFromEnv(): TemporalOptions {
  return {
    ...(process.env.TEMPORAL_ADDRESS ? { address: process.env.TEMPORAL_ADDRESS } : {}),
    uiUrl: process.env.SLUICE_TEMPORAL_UI_URL ?? null,
  };
}

/** Every route, its services and hooks, as one plugin (not encapsulated: it is the app). */
export const sluiceApi: FastifyPluginAsync<ApiDeps> = async (app, deps) => {
  const rollouts = deps.temporal instanceof RolloutControl ? deps.temporal : new RolloutControl(deps.temporal ?? temporalFromEnv());
  app.decorate('db', deps.db);
  app.decorate('artifacts', deps.artifacts ?? new ArtifactStore());
  app.decorate('rollouts', rollouts);
  app.decorate('inspectModel', deps.inspectModel ?? defaultInspector);
  app.addHook('onClose', async () => {
    if (!(deps.temporal instanceof RolloutControl)) await rollouts.close();
    await deps.closeDb?.();
  });

  installErrorHandling(app);
  installValidation(app);

  const limits = deps.rateLimit === undefined ? defaultRateLimit() : deps.rateLimit;
  // Before any route exists: document auth on /v1 routes and rate-limit the mutating ones.
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/v1/')) return;
    route.schema = { ...route.schema, security: [{ apiKey: [] }] };
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (limits && methods.some((m) => isMutating(m))) {
      route.config = { ...route.config, rateLimit: { max: limits.max, timeWindow: limits.timeWindowMs } } as typeof route.config;
    }
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Sluice control-plane API',
        version: '0.1.0',
        description: 'Models, versions, rollouts, traffic and experiment reports. Every /v1 route needs an API key '
          + '(Authorization: Bearer sk_<id>_<secret>); errors are application/problem+json.',
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'sk_<id>_<secret>' } } },
      tags: [
        { name: 'models' }, { name: 'versions' }, { name: 'datasets' }, { name: 'rollouts' }, { name: 'traffic' }, { name: 'experiments' },
        { name: 'keys' }, { name: 'audit' }, { name: 'replay' }, { name: 'monitor' }, { name: 'health' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  installAuth(app);
  if (limits) {
    await app.register(rateLimit, {
      global: false,
      keyGenerator: (request) => request.principal?.keyId ?? request.ip,
      errorResponseBuilder: (_request, context) => new ApiError(429, 'rate_limited',
        `too many changes from this key: ${context.max} per ${context.after}; retry after ${context.after}`),
    });
  }
  installMetrics(app);

  // Uploads: the route reads the stream itself (hashing and counting as it goes); any other
  // route refuses an octet-stream body.
  app.addContentTypeParser(['application/octet-stream', ...DATASET_CONTENT_TYPES], (request, payload, done) => {
    if (request.routeOptions.config?.rawUpload) done(null, payload);
    else done(new ApiError(415, 'unsupported_media_type', 'this route takes application/json'), undefined);
  });

  await app.register(healthRoutes);
  await app.register(modelRoutes);
  await app.register(versionRoutes);
  await app.register(lineageRoutes);
  await app.register(datasetRoutes);
  await app.register(rolloutRoutes);
  await app.register(trafficRoutes);
  await app.register(keyRoutes);
  await app.register(replayRoutes);
  await app.register(monitorRoutes);
};
(sluiceApi as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

/** The control-plane API as one Fastify app; `server.ts` only listens. */
export async function buildApiApp(deps: ApiDeps): Promise<FastifyInstance> {
  const options = {
    logger: deps.logger ?? false,
    bodyLimit: deps.bodyLimit ?? 8 * 1024 * 1024,
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : `req_${randomUUID()}`;
    },
    requestIdHeader: false as const,
    // Errors raised before routing (a URL that does not decode) get the problem format too.
    frameworkErrors: (error: Error & { code?: string; statusCode?: number }, _request: unknown, reply: FastifyReply) => {
      sendProblem(reply, error.statusCode ?? 400, error.code === 'FST_ERR_BAD_URL' ? 'bad_url' : 'bad_request', error.message);
    },
    routerOptions: { maxParamLength: 200 },
  };
  const app = (deps.https
    ? Fastify({ ...options, https: { cert: deps.https.cert, key: deps.https.key } })
    : Fastify(options)) as unknown as FastifyInstance;
  app.addHook('onSend', async (request, reply) => { void reply.header('x-request-id', request.id); });
  await app.register(sluiceApi, deps);
  return app;
}
