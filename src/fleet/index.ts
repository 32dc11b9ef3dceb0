/**
 * The fleet client: how the orchestrator changes what the serving workers do, over their admin
 * HTTP routes. Plain functions taking `db` first; the generations and the workers' rows they read
 * are the registry's (src/registry/traffic.ts, src/registry/workers.ts), and the activities reach
 * these through the FleetClient port the orchestrator builds (src/orchestrator/fleet-client.ts).
 *
 * Weights change in two steps. `publishGeneration` (registry) writes the generation row
 * (idempotent on its number, so a retried activity is harmless; the insert's trigger notifies every
 * worker's LISTEN). `pushGeneration` then sends it to every live worker's admin endpoint in
 * parallel and reports each ack, so the caller knows the split is served fleet-wide rather than
 * hoping so.
 */
import type { Db } from '../registry/db.js';
import { findGeneration, latestGeneration } from '../registry/traffic.js';
import { liveWorkers, type LiveWorker } from '../registry/workers.js';
import type { TrafficGeneration } from '../traffic/generation.js';
import { adminRequest } from './admin-client.js';

export class FleetError extends Error {
  override readonly name = 'FleetError';
  constructor(readonly code: 'not_found' | 'not_acked', message: string) {
    super(message);
  }
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

/** A model's latest generation, or a given one, as the workers hold it. */
async function readTraffic(db: Db, model: string, generation?: number): Promise<TrafficGeneration | undefined> {
  const record = generation === undefined ? await latestGeneration(db, model) : await findGeneration(db, model, generation);
  return record?.traffic;
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
export async function pushGeneration(db: Db, args: { model: string; generation?: number | TrafficGeneration; workers?: LiveWorker[] } & FleetCallOptions): Promise<PushResult> {
  // The generation as just published saves a read; the worker list is read at the same time
  // (or was, by a caller that read it beside the publish).
  const [g, workers] = await Promise.all([
    typeof args.generation === 'object' ? args.generation : readTraffic(db, args.model, args.generation),
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
export async function prewarmVersion(db: Db, args: { model: string; version: string } & FleetCallOptions): Promise<FleetOperationResult> {
  const workers = await liveWorkers(db, args);
  return summarise(await Promise.all(workers.map((w) =>
    callWorker(w, 'POST', `/models/${encodeURIComponent(args.model)}/versions/${encodeURIComponent(args.version)}/load`, {}, { timeoutMs: 120_000, ...args }))));
}

/**
 * Tells every live worker to unload a version (after draining it). Workers refuse (409) while
 * their generation still routes to it, unless `force`.
 */
export async function unloadVersion(db: Db, args: { model: string; version: string; force?: boolean } & FleetCallOptions): Promise<FleetOperationResult> {
  const workers = await liveWorkers(db, args);
  const query = args.force ? '?force=true' : '';
  return summarise(await Promise.all(workers.map((w) =>
    callWorker(w, 'DELETE', `/models/${encodeURIComponent(args.model)}/versions/${encodeURIComponent(args.version)}${query}`, undefined, { timeoutMs: 60_000, ...args }))));
}
