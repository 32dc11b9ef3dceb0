// Serving workers' rows: each worker keeps its own current (address, device, the versions it
// holds, the generation it applied per model, a heartbeat); the fleet client and the API read them
// to know who is live and what it serves.
import { sql } from 'kysely';
import type { Device } from '../db/schema.js';
import { jsonb, type Db } from './db.js';

export type WorkerStatus = 'starting' | 'ready' | 'draining' | 'stopped';

/** A version a worker holds, and its state there (loading, ready, draining...). */
export interface HeldVersion { model: string; version: string; state: string }

export interface WorkerRow {
  id: string;
  address: string;
  adminAddress: string;
  device: Device;
  status: WorkerStatus;
  models: HeldVersion[];
  generations: Record<string, number>;
}

/**
 * Writes a worker's row, creating it on first start. `started_at` is reset whenever a worker
 * (re)starts under its id, i.e. on every 'starting' write.
 */
export async function upsertWorker(db: Db, w: WorkerRow): Promise<void> {
  const values = {
    address: w.address, admin_address: w.adminAddress, device: w.device,
    models: jsonb(w.models), generations: jsonb(w.generations), status: w.status,
  };
  await db.insertInto('serving_workers')
    .values({ id: w.id, ...values, heartbeat_at: sql<Date>`now()`, started_at: sql<Date>`now()` })
    .onConflict((oc) => oc.column('id').doUpdateSet({
      ...values, heartbeat_at: sql<Date>`now()`,
      ...(w.status === 'starting' ? { started_at: sql<Date>`now()` } : {}),
    }))
    .execute();
}

/** A heartbeat: the row says the worker is alive now, with what it holds and serves. */
export async function heartbeatWorker(db: Db, id: string, w: { status: WorkerStatus; models: HeldVersion[]; generations: Record<string, number> }): Promise<void> {
  await db.updateTable('serving_workers')
    .set({ heartbeat_at: sql<Date>`now()`, status: w.status, models: jsonb(w.models), generations: jsonb(w.generations) })
    .where('id', '=', id).execute();
}

/** A worker leaving (draining or stopped): its status, and what it still holds. */
export async function markWorker(db: Db, id: string, status: 'draining' | 'stopped', models: HeldVersion[]): Promise<void> {
  await db.updateTable('serving_workers').set({ status, heartbeat_at: sql<Date>`now()`, models: jsonb(models) })
    .where('id', '=', id).execute();
}

export async function setWorkerDevice(db: Db, id: string, device: Device): Promise<void> {
  await db.updateTable('serving_workers').set({ device }).where('id', '=', id).execute();
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
  models: HeldVersion[];
}

/** Workers that are starting or ready and have sent a heartbeat within `maxHeartbeatAgeMs` (default 10 s). */
export async function liveWorkers(db: Db, opts: { maxHeartbeatAgeMs?: number } = {}): Promise<LiveWorker[]> {
  const ageMs = opts.maxHeartbeatAgeMs ?? 10_000;
  const rows = await db.selectFrom('serving_workers').selectAll()
    .where('status', 'in', ['starting', 'ready'])
    .where('heartbeat_at', '>', sql<Date>`now() - make_interval(secs => ${ageMs / 1000})`)
    .orderBy('id').execute();
  return rows.map((r) => ({
    id: r.id, address: r.address, adminAddress: r.admin_address, device: r.device, status: r.status, heartbeatAt: r.heartbeat_at, generations: r.generations,
    models: (r.models as HeldVersion[] | null) ?? [],
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
export async function modelOnFleet(db: Db, model: string, opts: { maxHeartbeatAgeMs?: number } = {}): Promise<ModelOnWorker[]> {
  return (await liveWorkers(db, opts)).map((w) => ({
    worker: w.id, address: w.address, device: w.device, status: w.status, heartbeatAt: w.heartbeatAt,
    generation: w.generations[model] ?? null,
    versions: w.models.filter((m) => m.model === model).map((m) => ({ version: m.version, state: m.state })),
  }));
}
