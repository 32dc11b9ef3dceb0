/**
 * The serving worker as one Fastify app: Open Inference Protocol routes, feedback, /metrics and
 * the admin routes, over services hung on the instance as decorators. `server.ts` only reads the
 * environment and listens.
 *
 * Lifecycle: listening starts `join` (register in serving_workers, LISTEN, reconcile from
 * PostgreSQL, then ready); closing stops taking requests, marks the worker draining, lets queued
 * batches finish, flushes the inference log, marks the row stopped and releases the sessions.
 */
import http from 'node:http';
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { SetupError } from '../shared/errors.js';
import { defaultServingConfig, type ServingConfig, type ServingConfigOverrides } from './config.js';
import { createExecutor, type InferenceExecutor } from './execution/executor.js';
import { FastHttpServer } from './http/fast-http.js';
import { FleetMember } from './membership/fleet-member.js';
import { answerCollects, scrapeGroup } from './membership/group-metrics.js';
import { ModelHost } from './execution/host.js';
import { InferenceLog } from './log/inference-log.js';
import { kyselyLogWriter, threadLogWriter } from './log/log-writers.js';
import { InferenceService } from './inference.js';
import { Predicate } from '../traffic/generation.js';
import { ServingMetrics } from './metrics.js';
import { InferError } from './protocol/infer-error.js';
import type { Random } from '../traffic/routing.js';
import { adminRoutes } from './http/routes/admin.js';
import { feedbackRoutes } from './http/routes/feedback.js';
import { oipRoutes } from './http/routes/oip.js';
import { chooseExecutionProvider, type ProviderChoice } from './execution/session.js';

export interface ServingDeps {
  /** The registry and logs; null runs a standalone worker (admin-loaded models, no log, no reconcile). */
  db: Kysely<Database> | null;
  /** For LISTEN sluice_traffic (a dedicated connection); without it the worker reconciles on heartbeats only. */
  databaseUrl?: string | null;
  /** Closed with the app when the worker owns the pool. */
  closeDb?: () => Promise<void>;
  config?: ServingConfigOverrides;
  logger?: FastifyServerOptions['logger'];
  /** Randomness for keyless assignment and shadow sampling; Math.random by default. */
  random?: Random;
}

export interface ServingServices {
  config: ServingConfig;
  db: Kysely<Database> | null;
  provider: ProviderChoice;
  host: ModelHost;
  executor: InferenceExecutor;
  metrics: ServingMetrics;
  inferenceLog: InferenceLog;
  inference: InferenceService;
  member: FleetMember | null;
  /** Resolves once the worker has registered and reconciled (immediately without a database). */
  joined: Promise<void>;
  /** True once joined and until it starts closing. */
  ready: boolean;
  /** The URL this worker advertises (set when it starts listening). */
  address: string | null;
  /** With a shared port (config.sharedPort), the URL of this process's own listener; else null. */
  ownAddress: string | null;
}

declare module 'fastify' {
  interface FastifyInstance {
    serving: ServingServices;
  }
}

function statusOf(err: { statusCode?: number; code?: string }): number {
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return 413;
  const s = err.statusCode;
  return typeof s === 'number' && s >= 400 && s < 600 ? s : 500;
}

export async function buildServingApp(deps: ServingDeps): Promise<FastifyInstance> {
  const config = defaultServingConfig(deps.config);
  if (!config.adminToken && !config.insecureAdmin) {
    throw new SetupError('SLUICE_ADMIN_TOKEN is not set: the admin routes would be open to anyone.',
      'Set SLUICE_ADMIN_TOKEN to a long random secret, or SLUICE_INSECURE_ADMIN=1 for a local development worker.');
  }
  const provider = chooseExecutionProvider(config.executionProvider);
  // HTTP is read and written on the socket (fast-http.ts): infer requests are answered there,
  // everything else goes through this app by `inject`. With SLUICE_INFER_FAST_PATH=0 Node's HTTP
  // server and Fastify serve every request, for comparison.
  const fastHttp = config.fastPath ? new FastHttpServer({
    infer: (model, version, body, headerLength) => services.inference.infer(model, version, body, headerLength),
    other: async (r) => {
      const res = await app.inject({ method: r.method as 'GET', url: r.url, headers: r.headers, payload: r.body ?? undefined, remoteAddress: r.remoteAddress });
      return { statusCode: res.statusCode, headers: res.headers, body: res.rawPayload };
    },
    bodyLimitBytes: config.bodyLimitBytes,
    onError: (err) => app.log.error({ err }, 'request failed'),
  }) : null;
  // Fastify's handler, kept for the listener of this process's own (config.sharedPort).
  let requestHandler: http.RequestListener | null = null;
  let ownServer: http.Server | null = null;
  const app = Fastify({
    logger: deps.logger ?? false,
    bodyLimit: config.bodyLimitBytes,
    forceCloseConnections: 'idle',
    // No type coercion: a predicate's `equals: true` must stay a boolean, not become "true".
    ajv: { customOptions: { coerceTypes: false } },
    serverFactory: (handler) => {
      requestHandler = handler;
      const server = http.createServer(handler);
      fastHttp?.install(server);
      return server;
    },
  });

  const executor = createExecutor(config.executor, { intraOpThreads: config.intraOpThreads, threadAboveUs: config.threadAboveUs, probeRows: config.maxBatchRows });
  let metrics: ServingMetrics | null = null;
  const host = new ModelHost({
    provider: provider.provider,
    onProviderFallback: (note) => {
      provider.provider = 'cpu';
      provider.note = note;
      metrics?.setProvider('cpu', config.executionProvider);
      app.log.warn(note);
      // Loads happen after the app is built, so `services` exists by the time this runs.
      void services.member?.reportDevice('cpu');
    },
    maxBatchRows: config.maxBatchRows,
    maxWaitUs: config.maxBatchWaitUs,
    executor,
    warmupRuns: config.warmupRuns,
    onBatch: (model, version, rows, requests, us) => {
      const c = metrics?.forVersion(model, version);
      c?.batchRows.observe(rows);
      c?.batchRequests.observe(requests);
      c?.batchRun.observe(us / 1e6);
    },
  });
  // With a database URL the log writes from its own thread and connection; with only a pool
  // (tests, embedding) it writes on the event loop.
  const logWriter = !config.inferenceLog.enabled || deps.db === null ? null
    : deps.databaseUrl ? threadLogWriter(deps.databaseUrl, config.workerId) : kyselyLogWriter(deps.db, config.workerId);
  const inferenceLog = new InferenceLog(logWriter, {
    workerId: config.workerId,
    capacity: config.inferenceLog.capacity,
    capacityBytes: config.inferenceLog.capacityBytes,
    batchRows: config.inferenceLog.batchRows,
    flushMs: config.inferenceLog.flushMs,
    sampleRate: config.inferenceLog.sampleRate,
    inputSampleRate: config.inferenceLog.inputSampleRate,
    onWritten: (n) => metrics?.logWritten.inc(n),
    onDropped: (n, reason) => metrics?.logDropped.inc({ reason }, n),
    onInputsDropped: (n) => metrics?.logInputsDropped.inc(n),
    onError: (err) => app.log.warn({ err }, 'inference log write failed; rows dropped'),
  });
  metrics = new ServingMetrics(() => host.queueDepths(), () => ({ rows: inferenceLog.buffered, bytes: inferenceLog.bufferedBytes }));
  metrics.setProvider(provider.provider, config.executionProvider);
  // Counters exist from the start, so a scrape shows 0 rather than nothing.
  metrics.logDropped.inc({ reason: 'buffer_full' }, 0);
  metrics.logDropped.inc({ reason: 'database' }, 0);
  const m = metrics;

  const member = deps.db === null ? null : new FleetMember(deps.db, host, {
    workerId: config.workerId,
    databaseUrl: deps.databaseUrl ?? null,
    provider: provider.provider,
    heartbeatMs: config.heartbeatMs,
    notifyDelayMs: config.notifyDelayMs,
    models: config.models,
    log: { info: (s) => app.log.info(s), warn: (s) => app.log.warn(s), error: (s) => app.log.error(s) },
    onGeneration: (model, generation) => m.generation.set({ model }, generation),
  });
  const inference = new InferenceService(host, m, inferenceLog, {
    workerId: config.workerId,
    maxRequestRows: config.maxRequestRows,
    shadowQueueLimitRows: config.shadowQueueLimitRows,
    random: deps.random ?? Math.random,
  });

  let resolveJoined!: () => void;
  let rejectJoined!: (err: unknown) => void;
  const joined = new Promise<void>((resolve, reject) => { resolveJoined = resolve; rejectJoined = reject; });
  joined.catch(() => undefined);
  const services: ServingServices = { config, db: deps.db, provider, host, executor, metrics: m, inferenceLog, inference, member, joined, ready: false, address: null, ownAddress: null };
  app.decorate('serving', services);
  if (provider.note) app.log.warn(provider.note);

  app.addHook('onListen', async function onListen() {
    if (services.address !== null) return; // one registration, however many addresses we bind
    const bound = app.server.address();
    const port = typeof bound === 'object' && bound ? bound.port : 0;
    const hostName = typeof bound === 'object' && bound ? (bound.family === 'IPv6' ? `[${bound.address}]` : bound.address) : '127.0.0.1';
    const reachableHost = config.advertiseUrl !== null ? new URL(config.advertiseUrl).hostname
      : hostName === '0.0.0.0' || hostName === '[::]' ? '127.0.0.1' : hostName;
    const address = config.advertiseUrl ?? `http://${reachableHost}:${port}`;
    services.address = address;
    inferenceLog.start();
    try {
      let adminBase = address;
      if (config.sharedPort) {
        // Sibling processes share the port, so a push sent there would reach one of them: this
        // process also serves every route on a port of its own, and registers that for admin.
        const own = http.createServer(requestHandler ?? undefined);
        fastHttp?.install(own);
        ownServer = own;
        const ownPort = await new Promise<number>((resolve, reject) => {
          own.once('error', reject);
          // exclusive: in a cluster child, listen on this process's own socket, not the shared one.
          own.listen({ host: typeof bound === 'object' && bound ? bound.address : '127.0.0.1', port: config.ownPort, exclusive: true }, () => {
            own.off('error', reject);
            resolve((own.address() as { port: number }).port);
          });
        });
        adminBase = `http://${reachableHost}:${ownPort}`;
        services.ownAddress = adminBase;
      }
      if (member) await member.join(address, `${adminBase}/admin`);
      // A close that began while joining (join then stops early) leaves the worker not ready.
      services.ready = member === null || member.status === 'ready';
      resolveJoined();
    } catch (err) {
      app.log.error({ err }, 'joining the fleet failed');
      rejectJoined(err);
    }
  });

  app.addHook('preClose', async () => {
    services.ready = false;
    // Takes no new connections on the own port either; its open ones end as the shared port's do.
    ownServer?.close();
    ownServer?.closeIdleConnections();
    await member?.leave('draining');
  });
  // A process of a group answers the primary's requests for its metrics (group-metrics.ts).
  const stopAnsweringCollects = config.sharedPort ? answerCollects(m.registry) : null;
  app.addHook('onClose', async () => {
    stopAnsweringCollects?.();
    await host.drainAll();
    await inferenceLog.close();
    await member?.leave('stopped');
    await host.releaseAll();
    await executor.close();
    await deps.closeDb?.();
  });

  // One error shape for every route (the protocol's {"error": ...}); 5xx details stay in the log.
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string; validation?: unknown }, request, reply) => {
    if (error instanceof InferError) {
      return reply.status(error.statusCode).send({ error: error.message });
    }
    const status = statusOf(error);
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
      return reply.status(status).send({ error: `internal error (request ${request.id}); see the worker log` });
    }
    let message = error.message;
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') message = `request body is larger than this worker's limit of ${config.bodyLimitBytes} bytes`;
    else if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError) message = `malformed JSON body: ${error.message}`;
    return reply.status(status).send({ error: message });
  });
  app.setNotFoundHandler((request, reply) => reply.status(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}` }));

  app.addSchema(Predicate);
  await app.register(oipRoutes);
  await app.register(feedbackRoutes);
  await app.register(adminRoutes, { prefix: '/admin' });
  // One process's metrics, or in a group the sum over its processes (what a scrape of the shared
  // port should see); ?process=self for this process alone. X-Sluice-Processes says which:
  // "self", or answered/processes.
  app.get('/metrics', {
    schema: { hide: true, querystring: Type.Object({ process: Type.Optional(Type.Literal('self', { description: 'only the process that answers' })) }, { additionalProperties: false }) },
  }, async (req, reply) => {
    const self = (req.query as { process?: string }).process === 'self';
    const group = config.sharedPort && !self ? await scrapeGroup() : null;
    if (group !== null) return reply.type(group.contentType).header('x-sluice-processes', `${group.answered}/${group.processes}`).send(group.text);
    const body = await m.registry.metrics();
    return reply.type(m.registry.contentType).header('x-sluice-processes', 'self').send(body);
  });

  return app;
}
