/**
 * The fleet client: how the orchestrator's activities change what the serving workers do. Plain
 * functions taking `db` first (repository style), plus `createFleetClient` adapting them to the
 * activities' FleetClient port.
 *
 * Weights change in two steps. `publishGeneration` writes the generation row (idempotent on its
 * number, so a retried activity is harmless; the insert's trigger notifies every worker's LISTEN).
 * `pushGeneration` then sends it to every live worker's admin endpoint in parallel and reports
 * each ack, so the caller knows the split is served fleet-wide rather than hoping so.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { AppliedGeneration, FleetClient, PrewarmResult, WorkerAck } from '../activities/fleet.js';
import type { Database } from '../db/schema.js';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { Predicate, TrafficGeneration, type GenerationSpec } from '../traffic/generation.js';
import { compileGeneration, GenerationError } from '../traffic/routing.js';
import { adminRequest } from './admin-client.js';

export class FleetError extends Error {
  override readonly name = 'FleetError';
  constructor(readonly code: 'not_found' | 'conflict' | 'invalid' | 'not_acked', message: string) {
    super(message);
  }
}

export interface PublishGenerationInput {
  model: string;
  weights: Record<string, number>;
  spec?: GenerationSpec | Record<string, unknown>;
  reason?: string;
  createdBy: string;
  /** The number to write (a workflow chooses it, so retries write the same row); next free one when absent. */
  generation?: number;
}

export interface PublishedGeneration {
  model: string;
  generation: number;
  weights: Record<string, number>;
  spec: Record<string, unknown>;
  /** False when the same generation was already there (a retry). */
  created: boolean;
}

function sameJson(a: unknown, b: unknown): boolean {
  const canon = (v: unknown): unknown => Array.isArray(v) ? v.map(canon)
    : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : 1)).map(([k, x]) => [k, canon(x)]))
      : v;
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === '23505';
}

// The schema the workers' PUT /models/:model/generation route validates against (compiled on
// first use). What a worker would refuse must be refused here, before it is written: a written
// row reaches every worker by NOTIFY and reconcile whatever the push answered.
let generationSchema: TypeCheck<typeof TrafficGeneration> | undefined;

/** Why `g` fails the workers' generation schema, or null when it passes. */
function schemaProblem(g: unknown): string | null {
  generationSchema ??= TypeCompiler.Compile(TrafficGeneration, [Predicate]);
  if (generationSchema.Check(g)) return null;
  const first = generationSchema.Errors(g).First();
  return first ? `${first.path || '/'}: ${first.message}` : 'does not match the generation schema';
}

/**
 * Writes a model's traffic generation. Validates it as the workers will (their route's schema;
 * weights in [0,1] summing to 1, experiment arms covering the versions with traffic, well-formed
 * predicates with one condition each) and
 * checks every referenced version is registered, so no worker is asked to load what is not there.
 * Writing the same generation number twice is harmless when the content is the same, and a
 * FleetError('conflict') when it differs.
 */
export async function publishGeneration(db: Kysely<Database>, input: PublishGenerationInput): Promise<PublishedGeneration> {
  const spec = (input.spec ?? {}) as Record<string, unknown>;
  const candidate = { ...(spec as GenerationSpec), generation: input.generation ?? 1, weights: input.weights } as TrafficGeneration;
  let referenced: string[];
  try {
    // The compiler first: its messages name the problem; the schema then catches anything else
    // a worker's route would refuse.
    referenced = compileGeneration(input.model, candidate).referenced;
  } catch (err) {
    if (err instanceof GenerationError) throw new FleetError('invalid', `generation for ${input.model} is invalid: ${err.message}`);
    throw err;
  }
  const problem = schemaProblem(candidate);
  if (problem !== null) throw new FleetError('invalid', `generation for ${input.model} is invalid: ${problem}`);
  const versions = [...new Set(referenced)];
  const weights = JSON.stringify(input.weights);
  const specJson = JSON.stringify(spec);
  for (let attempt = 0; ; attempt++) {
    // One statement, one round trip on the path a change takes every time: the row goes in only
    // when the model and every version the generation sends traffic to are registered. Without a
    // number, the next one is taken in the INSERT itself (a race loses on the unique key and
    // retries). Only when nothing went in does a second query find out why.
    let inserted: { generation: number } | undefined;
    try {
      const generation = input.generation !== undefined
        ? sql<number>`${input.generation}::int`
        : sql<number>`(SELECT coalesce(max(g.generation), 0) + 1 FROM traffic_generations g WHERE g.model_id = m.id)`;
      const { rows } = await sql<{ generation: number }>`
        INSERT INTO traffic_generations (model_id, generation, weights, spec, reason, created_by)
        SELECT m.id, ${generation}, ${weights}::jsonb, ${specJson}::jsonb, ${input.reason ?? ''}, ${input.createdBy}
        FROM models m
        WHERE m.name = ${input.model}
          AND (SELECT count(*) FROM model_versions v WHERE v.model_id = m.id AND v.version = ANY(${versions}::text[])) = ${versions.length}
        ON CONFLICT (model_id, generation) DO NOTHING
        RETURNING generation`.execute(db);
      inserted = rows[0];
    } catch (err) {
      if (!isUniqueViolation(err) || attempt >= 5) throw err;
      continue;
    }
    if (inserted) return { model: input.model, generation: inserted.generation, weights: input.weights, spec, created: true };

    const found = await sql<{ id: string; versions: string[] }>`
      SELECT m.id, coalesce(array_agg(v.version) FILTER (WHERE v.version IS NOT NULL), '{}') AS versions
      FROM models m LEFT JOIN model_versions v ON v.model_id = m.id AND v.version = ANY(${versions}::text[])
      WHERE m.name = ${input.model} GROUP BY m.id`.execute(db);
    const model = found.rows[0];
    if (!model) throw new FleetError('not_found', `model ${input.model} is not registered`);
    const missing = versions.filter((v) => !model.versions.includes(v));
    if (missing.length > 0) throw new FleetError('not_found', `model ${input.model} has no registered version ${missing.join(', ')}`);
    if (input.generation === undefined) {
      if (attempt >= 5) throw new FleetError('conflict', `could not find a free generation number for ${input.model}`);
      continue; // another writer took the number: take the next one
    }
    // The row exists: a retry of the same write is fine, anything else is a conflict.
    const existing = await db.selectFrom('traffic_generations').select(['weights', 'spec']).where('model_id', '=', model.id).where('generation', '=', input.generation).executeTakeFirstOrThrow();
    if (!sameJson(existing.weights, input.weights) || !sameJson(existing.spec, spec)) {
      throw new FleetError('conflict', `generation ${input.generation} of ${input.model} already exists with different weights or spec`);
    }
    return { model: input.model, generation: input.generation, weights: existing.weights, spec: existing.spec, created: false };
  }
}

/** The latest generation of a model, or a given one. */
export async function readGeneration(db: Kysely<Database>, model: string, generation?: number): Promise<TrafficGeneration | undefined> {
  let q = db.selectFrom('traffic_generations as g').innerJoin('models as m', 'm.id', 'g.model_id')
    .select(['g.generation', 'g.weights', 'g.spec']).where('m.name', '=', model);
  q = generation !== undefined ? q.where('g.generation', '=', generation) : q.orderBy('g.generation', 'desc').limit(1);
  const row = await q.executeTakeFirst();
  return row ? { ...(row.spec as GenerationSpec), generation: row.generation, weights: row.weights } : undefined;
}

export interface LiveWorker {
  id: string;
  address: string;
  adminAddress: string;
  device: string;
  status: string;
  heartbeatAt: Date;
  generations: Record<string, number>;
  /** The versions it holds, as it last reported them (heartbeat). */
  models: Array<{ model: string; version: string; state: string }>;
}

export interface FleetCallOptions {
  /** Bearer token for the workers' admin routes; defaults to SLUICE_ADMIN_TOKEN (none: insecure dev workers). */
  adminToken?: string | null;
  /** Workers whose last heartbeat is older than this are not live. Default 10 s. */
  maxHeartbeatAgeMs?: number;
  timeoutMs?: number;
  /** Use this fetch instead of the built-in keep-alive client (tests, proxies). */
  fetch?: typeof fetch;
}

/** Workers that are starting or ready and have sent a heartbeat within `maxHeartbeatAgeMs`. */
export async function liveWorkers(db: Kysely<Database>, opts: { maxHeartbeatAgeMs?: number } = {}): Promise<LiveWorker[]> {
  const ageMs = opts.maxHeartbeatAgeMs ?? 10_000;
  const rows = await db.selectFrom('serving_workers').selectAll()
    .where('status', 'in', ['starting', 'ready'])
    .where('heartbeat_at', '>', sql<Date>`now() - make_interval(secs => ${ageMs / 1000})`)
    .orderBy('id').execute();
  return rows.map((r) => ({
    id: r.id, address: r.address, adminAddress: r.admin_address, device: r.device, status: r.status, heartbeatAt: r.heartbeat_at, generations: r.generations,
    models: (r.models as Array<{ model: string; version: string; state: string }>) ?? [],
  }));
}

/** What one live worker serves of a model: its generation (null: none yet) and the versions it holds. */
export interface ModelOnWorker {
  worker: string;
  address: string;
  device: string;
  status: string;
  heartbeatAt: Date;
  generation: number | null;
  versions: Array<{ version: string; state: string }>;
}

/**
 * A model as the live fleet serves it: per worker, the generation it applied and the versions it
 * holds (from the rows workers keep current: generation on every apply, versions every heartbeat).
 */
export async function modelOnFleet(db: Kysely<Database>, model: string, opts: { maxHeartbeatAgeMs?: number } = {}): Promise<ModelOnWorker[]> {
  return (await liveWorkers(db, opts)).map((w) => ({
    worker: w.id, address: w.address, device: w.device, status: w.status, heartbeatAt: w.heartbeatAt,
    generation: w.generations[model] ?? null,
    versions: w.models.filter((m) => m.model === model).map((m) => ({ version: m.version, state: m.state })),
  }));
}

export interface WorkerResult {
  workerId: string;
  address: string;
  ok: boolean;
  latencyMs: number;
  /** Admin response body on success (the ack). */
  body?: Record<string, unknown>;
  error?: string;
}

async function callWorker(w: LiveWorker, method: string, path: string, body: unknown, o: FleetCallOptions): Promise<WorkerResult> {
  const token = o.adminToken === undefined ? (process.env.SLUICE_ADMIN_TOKEN ?? null) : o.adminToken;
  const timeoutMs = o.timeoutMs ?? 10_000;
  const started = performance.now();
  try {
    let status: number;
    let parsed: Record<string, unknown>;
    let text: string;
    if (o.fetch) {
      const res = await o.fetch(`${w.adminAddress}${path}`, {
        method,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = res.status;
      text = await res.text();
      try { parsed = JSON.parse(text) as Record<string, unknown>; } catch { parsed = {}; }
    } else {
      ({ status, body: parsed, text } = await adminRequest(`${w.adminAddress}${path}`, method, body, { token, timeoutMs }));
    }
    const latencyMs = performance.now() - started;
    if (status < 200 || status >= 300) return { workerId: w.id, address: w.address, ok: false, latencyMs, error: `HTTP ${status}: ${typeof parsed.error === 'string' ? parsed.error : text.slice(0, 200)}` };
    return { workerId: w.id, address: w.address, ok: true, latencyMs, body: parsed };
  } catch (err) {
    const e = err as Error;
    return { workerId: w.id, address: w.address, ok: false, latencyMs: performance.now() - started, error: e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : e.message };
  }
}

export interface PushResult {
  model: string;
  generation: number;
  workers: number;
  acked: number;
  allAcked: boolean;
  acks: WorkerResult[];
}

/**
 * Pushes a model's generation (the latest, or `generation`) to every live worker in parallel. A
 * worker acks when it serves that generation or a newer one; it loads referenced versions first
 * if it lacks them, so prewarm before pushing to keep the push fast.
 */
export async function pushGeneration(db: Kysely<Database>, args: { model: string; generation?: number | TrafficGeneration; workers?: LiveWorker[] } & FleetCallOptions): Promise<PushResult> {
  // The generation as just published saves a read; the worker list is read at the same time
  // (or was, by a caller that read it beside the publish).
  const [g, workers] = await Promise.all([
    typeof args.generation === 'object' ? args.generation : readGeneration(db, args.model, args.generation),
    args.workers ?? liveWorkers(db, args),
  ]);
  if (!g) throw new FleetError('not_found', `model ${args.model} has no generation${args.generation !== undefined ? ` ${String(args.generation)}` : ''}`);
  const acks = await Promise.all(workers.map(async (w) => {
    const r = await callWorker(w, 'PUT', `/models/${encodeURIComponent(args.model)}/generation`, g, { timeoutMs: 30_000, ...args });
    if (r.ok && !(typeof r.body?.generation === 'number' && r.body.generation >= g.generation)) {
      return { ...r, ok: false, error: `worker serves generation ${String(r.body?.generation)}, not ${g.generation}` };
    }
    return r;
  }));
  const acked = acks.filter((a) => a.ok).length;
  return { model: args.model, generation: g.generation, workers: workers.length, acked, allAcked: acked === workers.length, acks };
}

export interface FleetOperationResult {
  workers: number;
  succeeded: number;
  allSucceeded: boolean;
  results: WorkerResult[];
}

function summarise(results: WorkerResult[]): FleetOperationResult {
  const succeeded = results.filter((r) => r.ok).length;
  return { workers: results.length, succeeded, allSucceeded: succeeded === results.length, results };
}

/** Tells every live worker to load a version (sha256 check, session, warm-up); returns when each answered. */
export async function prewarmVersion(db: Kysely<Database>, args: { model: string; version: string } & FleetCallOptions): Promise<FleetOperationResult> {
  const workers = await liveWorkers(db, args);
  return summarise(await Promise.all(workers.map((w) =>
    callWorker(w, 'POST', `/models/${encodeURIComponent(args.model)}/versions/${encodeURIComponent(args.version)}/load`, {}, { timeoutMs: 120_000, ...args }))));
}

/**
 * Tells every live worker to unload a version (after draining it). Workers refuse (409) while
 * their generation still routes to it, unless `force`.
 */
export async function unloadVersion(db: Kysely<Database>, args: { model: string; version: string; force?: boolean } & FleetCallOptions): Promise<FleetOperationResult> {
  const workers = await liveWorkers(db, args);
  const query = args.force ? '?force=true' : '';
  return summarise(await Promise.all(workers.map((w) =>
    callWorker(w, 'DELETE', `/models/${encodeURIComponent(args.model)}/versions/${encodeURIComponent(args.version)}${query}`, undefined, { timeoutMs: 60_000, ...args }))));
}

const toAck = (r: WorkerResult): WorkerAck => ({ worker: r.workerId, ok: r.ok, ms: Math.round(r.latencyMs * 1000) / 1000, ...(r.error ? { error: r.error } : {}) });

/** The activities' FleetClient port over these functions. */
export function createFleetClient(db: Kysely<Database>, options: FleetCallOptions = {}): FleetClient {
  return {
    async applyGeneration(args): Promise<AppliedGeneration> {
      // The worker list is read while the generation commits: a worker that registers in between
      // reads the latest generation itself after it starts listening, so it misses nothing.
      const [published, workers] = await Promise.all([publishGeneration(db, args), liveWorkers(db, options)]);
      const pushed = await pushGeneration(db, { ...options, model: args.model, workers, generation: { ...(published.spec as GenerationSpec), generation: published.generation, weights: published.weights } });
      return { generation: pushed.generation, workers: pushed.workers, acked: pushed.acked, allAcked: pushed.allAcked, acks: pushed.acks.map(toAck) };
    },
    async prewarm(args): Promise<PrewarmResult> {
      const r = await prewarmVersion(db, { ...options, ...args });
      return { workers: r.workers, ready: r.succeeded, allReady: r.allSucceeded, results: r.results.map(toAck) };
    },
    async unload(args): Promise<void> {
      const r = await unloadVersion(db, { ...options, ...args });
      if (!r.allSucceeded) {
        throw new FleetError('not_acked', `unload of ${args.model} ${args.version}: ${r.results.filter((x) => !x.ok).map((x) => `${x.workerId}: ${x.error}`).join('; ')}`);
      }
    },
  };
}
