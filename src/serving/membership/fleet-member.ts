/**
 * The worker as a member of the fleet: its row in `serving_workers` (address, device, models,
 * generations, heartbeat) and reconciliation from PostgreSQL.
 *
 * Pushes from the orchestrator are the fast path for a new generation; this is the one that makes
 * the fleet converge anyway: at start (a restarted worker serves the current split as soon as its
 * versions are loaded), on every `sluice_traffic` notification, after the LISTEN connection comes
 * back, and on each heartbeat as a last resort against a lost notification.
 */
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import type { Database } from '../../db/schema.js';
import { generationFromRow, type TrafficGeneration } from '../../traffic/generation.js';
import { HostError, type ModelHost, type VersionSource } from '../execution/host.js';
import type { ExecutionProvider } from '../execution/session.js';

export interface FleetMemberOptions {
  workerId: string;
  databaseUrl: string | null;
  provider: ExecutionProvider;
  heartbeatMs: number;
  /** Delay between a NOTIFY and reading PostgreSQL for it (a push usually gets there first). */
  notifyDelayMs: number;
  /** Only these models are hosted; null for every model that has a generation. */
  models: string[] | null;
  log: { info(msg: string): void; warn(msg: string): void; error(msg: string): void };
  onGeneration?: (model: string, generation: number) => void;
}

interface LatestRow { model: string; generation: number; weights: Record<string, number>; spec: Record<string, unknown> }

/** Load-then-apply rounds before applyWithLoad gives up (each round loses only to a concurrent unload). */
const APPLY_ATTEMPTS = 3;

export class FleetMember {
  private heartbeat: NodeJS.Timeout | null = null;
  private listener: pg.Client | null = null;
  private stopping = false;
  private reconnectDelayMs = 250;
  private readonly chains = new Map<string, Promise<void>>();
  private address = '';
  private adminAddress = '';
  status: 'starting' | 'ready' | 'draining' | 'stopped' = 'starting';

  constructor(private readonly db: Kysely<Database>, private readonly host: ModelHost, private readonly o: FleetMemberOptions) {}

  /**
   * Registers, starts LISTEN, reconciles every model, then marks the worker ready and starts the
   * heartbeat. A `leave` that comes while this is under way wins: after each step join checks
   * whether the worker has left and, if so, stops there (no 'ready' row, no heartbeat).
   */
  async join(address: string, adminAddress: string): Promise<void> {
    this.address = address;
    this.adminAddress = adminAddress;
    await this.upsert('starting');
    if (this.left()) return;
    await this.startListener();
    if (this.left()) return;
    await this.reconcileAll();
    if (this.left()) return;
    this.status = 'ready';
    await this.upsert('ready');
    if (this.left()) {
      // leave() ran while the 'ready' row was being written, and its own write may have landed
      // first: write its status again so the row does not say ready with a fresh heartbeat.
      await this.markRow(this.stopping ? 'stopped' : 'draining');
      return;
    }
    this.heartbeat = setInterval(() => { void this.beat(); }, this.o.heartbeatMs);
    this.heartbeat.unref();
  }

  /** Whether leave() has been called (draining or stopped). */
  private left(): boolean {
    return this.stopping || this.status === 'draining' || this.status === 'stopped';
  }

  private async upsert(status: FleetMember['status']): Promise<void> {
    const row = {
      id: this.o.workerId, address: this.address, admin_address: this.adminAddress, device: this.o.provider,
      models: JSON.stringify(this.loadedModels()), generations: JSON.stringify(this.generations()), status,
      heartbeat_at: sql<Date>`now()`, started_at: sql<Date>`now()`,
    };
    await this.db.insertInto('serving_workers').values(row as never)
      .onConflict((oc) => oc.column('id').doUpdateSet({
        address: row.address, admin_address: row.admin_address, device: row.device, models: row.models as never,
        generations: row.generations as never, status, heartbeat_at: sql<Date>`now()`,
        ...(status === 'starting' ? { started_at: sql<Date>`now()` } : {}),
      } as never))
      .execute();
  }

  loadedModels(): Array<{ model: string; version: string; state: string }> {
    const out: Array<{ model: string; version: string; state: string }> = [];
    for (const m of this.host.models.values()) for (const v of m.versions.values()) out.push({ model: m.name, version: v.version, state: v.state });
    return out;
  }

  generations(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const m of this.host.models.values()) if (m.generation) out[m.name] = m.generation.generation;
    return out;
  }

  private async beat(): Promise<void> {
    if (this.stopping) return;
    try {
      await this.db.updateTable('serving_workers').set({
        heartbeat_at: sql<Date>`now()` as never, status: this.status,
        models: JSON.stringify(this.loadedModels()) as never, generations: JSON.stringify(this.generations()) as never,
      }).where('id', '=', this.o.workerId).execute();
      // Converge on anything a lost notification left behind.
      const latest = await this.latest();
      if (this.stopping) return;
      for (const row of latest) {
        const have = this.host.models.get(row.model)?.generation?.generation ?? 0;
        // reconcileModel logs its own failure; the rejection is handled here so it is not unhandled.
        if (row.generation > have) this.reconcileModel(row.model, row).catch(() => undefined);
      }
    } catch (err) {
      this.o.log.warn(`heartbeat failed: ${(err as Error).message}`);
    }
  }

  private async latest(model?: string): Promise<LatestRow[]> {
    let q = this.db.selectFrom('traffic_generations as g').innerJoin('models as m', 'm.id', 'g.model_id')
      .select(['m.name as model', 'g.generation', 'g.weights', 'g.spec'])
      .distinctOn('g.model_id').orderBy('g.model_id').orderBy('g.generation', 'desc');
    if (model !== undefined) q = q.where('m.name', '=', model);
    else if (this.o.models !== null) q = q.where('m.name', 'in', this.o.models.length ? this.o.models : ['\u0000']);
    return (await q.execute()) as LatestRow[];
  }

  /** Reconciles every hosted model from its latest generation. */
  async reconcileAll(): Promise<Array<{ model: string; generation: number; error?: string }>> {
    const rows = await this.latest();
    const results = await Promise.all(rows.map(async (row) => {
      try {
        await this.reconcileModel(row.model, row);
        return { model: row.model, generation: row.generation };
      } catch (err) {
        return { model: row.model, generation: row.generation, error: (err as Error).message };
      }
    }));
    return results;
  }

  /**
   * Loads what the model's latest generation references, then applies it. Runs one at a time per
   * model; a call queued behind another re-reads the latest row, so bursts collapse.
   */
  reconcileModel(model: string, row?: LatestRow): Promise<void> {
    if (this.o.models !== null && !this.o.models.includes(model)) return Promise.resolve();
    const previous = this.chains.get(model) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(async () => {
      if (this.stopping) return;
      const current = row ?? (await this.latest(model))[0];
      if (current === undefined || this.stopping) return;
      const have = this.host.models.get(model)?.generation?.generation ?? 0;
      if (current.generation <= have) return;
      await this.applyWithLoad(model, generationFromRow(current));
    });
    const tracked = next.catch((err: unknown) => {
      this.o.log.error(`reconcile of ${model} failed: ${(err as Error).message}`);
      throw err;
    });
    this.chains.set(model, tracked.catch(() => undefined));
    return tracked;
  }

  /**
   * Loads any referenced version that is not ready here (from the registry), then applies.
   *
   * Loading and applying are separate steps, and an unload may come between them (the current
   * generation does not route to the version, so unload allows it). host.applyGeneration
   * therefore checks readiness and swaps in one synchronous step and refuses, naming the missing
   * versions, when one is not ready; this loads those and tries again, a few rounds at most.
   */
  async applyWithLoad(model: string, g: TrafficGeneration): Promise<{ applied: boolean; current: number }> {
    let missing = this.host.missing(model, g);
    for (let attempt = 1; ; attempt++) {
      if (missing.length > 0) {
        if (this.stopping) throw new Error(`worker ${this.o.workerId} is stopping; not loading ${missing.join(', ')} of ${model}`);
        const sources = await this.resolveVersions(model, missing);
        await Promise.all(sources.map((s) => this.host.load(s)));
      }
      const result = this.host.applyGeneration(model, g);
      if (result.missing === undefined) {
        if (result.applied) this.o.onGeneration?.(model, result.current);
        return { applied: result.applied, current: result.current };
      }
      if (attempt >= APPLY_ATTEMPTS) {
        throw new HostError('conflict', `versions ${result.missing.join(', ')} of ${model} were unloaded while generation ${g.generation} was being applied (${attempt} attempts); try again`);
      }
      missing = result.missing;
    }
  }

  /** Registry rows for versions of a model; throws naming any that are not registered. */
  async resolveVersions(model: string, versions: string[]): Promise<VersionSource[]> {
    const rows = await this.db.selectFrom('model_versions as v').innerJoin('models as m', 'm.id', 'v.model_id')
      .select(['v.version', 'v.artifact_uri', 'v.sha256', 'v.metadata', 'v.reference_profile'])
      .where('m.name', '=', model).where('v.version', 'in', versions).execute();
    const found = new Map(rows.map((r) => [r.version, r]));
    const absent = versions.filter((v) => !found.has(v));
    if (absent.length > 0) throw new Error(`model ${model} has no registered version ${absent.join(', ')}`);
    return versions.map((version) => {
      const r = found.get(version) as (typeof rows)[number];
      return { model, version, artifactUri: r.artifact_uri, sha256: r.sha256, metadata: r.metadata, referenceProfile: r.reference_profile ?? undefined };
    });
  }

  private async startListener(): Promise<void> {
    if (this.o.databaseUrl === null || this.stopping) return;
    const client = new pg.Client({ connectionString: this.o.databaseUrl, connectionTimeoutMillis: 5000 });
    const retry = () => {
      if (this.listener !== client) return;
      this.listener = null;
      client.removeAllListeners();
      client.on('error', () => undefined);
      client.end().catch(() => undefined);
      if (this.stopping) return;
      const delay = this.reconnectDelayMs;
      this.reconnectDelayMs = Math.min(10_000, delay * 2);
      setTimeout(() => {
        if (this.stopping) return;
        void this.startListener().then(() => (this.stopping ? undefined : this.reconcileAll())).catch(() => undefined);
      }, delay).unref();
    };
    this.listener = client;
    client.on('error', (err) => { this.o.log.warn(`LISTEN connection lost: ${err.message}`); retry(); });
    client.on('end', retry);
    client.on('notification', (n) => {
      if (n.channel !== 'sluice_traffic' || !n.payload) return;
      try {
        const { model, generation } = JSON.parse(n.payload) as { model?: unknown; generation?: unknown };
        if (typeof model !== 'string' || typeof generation !== 'number') return;
        // Pushes are the fast path and usually land within milliseconds of the NOTIFY; waiting a
        // moment before reading PostgreSQL keeps the database and this worker's CPU free for them
        // at the moment of a change, and usually finds the generation applied already.
        const converge = () => {
          const have = this.host.models.get(model)?.generation?.generation ?? 0;
          if (generation > have && !this.stopping) this.reconcileModel(model).catch(() => undefined);
        };
        if (this.o.notifyDelayMs > 0) setTimeout(converge, this.o.notifyDelayMs).unref();
        else converge();
      } catch {
        // A payload that is not ours: nothing to do.
      }
    });
    try {
      await client.connect();
      await client.query('LISTEN sluice_traffic');
      this.reconnectDelayMs = 250;
    } catch (err) {
      this.o.log.warn(`LISTEN sluice_traffic failed: ${(err as Error).message}; retrying`);
      retry();
    }
  }

  /** The execution provider changed (CUDA fell back to CPU): the row says what the worker runs on. */
  async reportDevice(device: ExecutionProvider): Promise<void> {
    this.o.provider = device;
    try {
      await this.db.updateTable('serving_workers').set({ device }).where('id', '=', this.o.workerId).execute();
    } catch (err) {
      this.o.log.warn(`could not update the device: ${(err as Error).message}`);
    }
  }

  /** Stops listening and heartbeats, and marks the row. */
  async leave(status: 'draining' | 'stopped'): Promise<void> {
    this.status = status;
    if (status === 'stopped') {
      this.stopping = true;
      if (this.heartbeat) clearInterval(this.heartbeat);
      this.heartbeat = null;
      const l = this.listener;
      this.listener = null;
      if (l) { l.removeAllListeners(); l.on('error', () => undefined); await l.end().catch(() => undefined); }
    }
    await this.markRow(status);
  }

  private async markRow(status: 'draining' | 'stopped'): Promise<void> {
    try {
      await this.db.updateTable('serving_workers').set({ status, heartbeat_at: sql<Date>`now()` as never, models: JSON.stringify(this.loadedModels()) as never })
        .where('id', '=', this.o.workerId).execute();
    } catch (err) {
      this.o.log.warn(`could not mark worker ${status}: ${(err as Error).message}`);
    }
  }
}
