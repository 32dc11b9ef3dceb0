/**
 * The worker as a member of the fleet: its row in `serving_workers` (address, device, models,
 * generations, heartbeat) and reconciliation from PostgreSQL.
 *
 * Pushes from the orchestrator are the fast path for a new generation; this is the one that makes
 * the fleet converge anyway: at start (a restarted worker serves the current split as soon as its
 * versions are loaded), on every `sluice_traffic` notification, after the LISTEN connection comes
 * back, and on each heartbeat as a last resort against a lost notification.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { latestGeneration, latestGenerations, listenForGenerations, type GenerationListener, type GenerationRecord } from '../../registry/traffic.js';
import { findVersionsByName } from '../../registry/versions.js';
import { heartbeatWorker, markWorker, setWorkerDevice, upsertWorker, type HeldVersion } from '../../registry/workers.js';
import type { TrafficGeneration } from '../../traffic/generation.js';
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

/** Load-then-apply rounds before applyWithLoad gives up (each round loses only to a concurrent unload). */
const APPLY_ATTEMPTS = 3;

export class FleetMember {
  private heartbeat: NodeJS.Timeout | null = null;
  private listener: GenerationListener | null = null;
  /** Identifies the current LISTEN attempt: a loss reported by an older one is not acted on. */
  private listenAttempt: object | null = null;
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
    await upsertWorker(this.db, {
      id: this.o.workerId, address: this.address, adminAddress: this.adminAddress, device: this.o.provider,
      status, models: this.loadedModels(), generations: this.generations(),
    });
  }

  loadedModels(): HeldVersion[] {
    const out: HeldVersion[] = [];
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
      await heartbeatWorker(this.db, this.o.workerId, { status: this.status, models: this.loadedModels(), generations: this.generations() });
      // Converge on anything a lost notification left behind.
      const latest = await latestGenerations(this.db, this.o.models);
      if (this.stopping) return;
      for (const record of latest) {
        const have = this.host.models.get(record.model)?.generation?.generation ?? 0;
        // reconcileModel logs its own failure; the rejection is handled here so it is not unhandled.
        if (record.traffic.generation > have) this.reconcileModel(record.model, record).catch(() => undefined);
      }
    } catch (err) {
      this.o.log.warn(`heartbeat failed: ${(err as Error).message}`);
    }
  }

  /** Reconciles every hosted model from its latest generation. */
  async reconcileAll(): Promise<Array<{ model: string; generation: number; error?: string }>> {
    const records = await latestGenerations(this.db, this.o.models);
    const results = await Promise.all(records.map(async (record) => {
      const generation = record.traffic.generation;
      try {
        await this.reconcileModel(record.model, record);
        return { model: record.model, generation };
      } catch (err) {
        return { model: record.model, generation, error: (err as Error).message };
      }
    }));
    return results;
  }

  /**
   * Loads what the model's latest generation references, then applies it. Runs one at a time per
   * model; a call queued behind another re-reads the latest row, so bursts collapse.
   */
  reconcileModel(model: string, latest?: GenerationRecord): Promise<void> {
    if (this.o.models !== null && !this.o.models.includes(model)) return Promise.resolve();
    const previous = this.chains.get(model) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(async () => {
      if (this.stopping) return;
      const current = (latest ?? await latestGeneration(this.db, model))?.traffic;
      if (current === undefined || this.stopping) return;
      const have = this.host.models.get(model)?.generation?.generation ?? 0;
      if (current.generation <= have) return;
      await this.applyWithLoad(model, current);
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

  /** Registry rows for versions of a model, with the model's contract; throws naming any that are not registered. */
  async resolveVersions(model: string, versions: string[]): Promise<VersionSource[]> {
    const rows = await findVersionsByName(this.db, model, versions);
    const found = new Map(rows.map((r) => [r.version, r]));
    const absent = versions.filter((v) => !found.has(v));
    if (absent.length > 0) throw new Error(`model ${model} has no registered version ${absent.join(', ')}`);
    return versions.map((version) => {
      const r = found.get(version) as (typeof rows)[number];
      return { model, version, artifactUri: r.artifact_uri, sha256: r.sha256, metadata: r.metadata, referenceProfile: r.reference_profile ?? undefined, contract: r.contract };
    });
  }

  private async startListener(): Promise<void> {
    if (this.o.databaseUrl === null || this.stopping) return;
    const attempt = {};
    this.listenAttempt = attempt;
    let listener: GenerationListener;
    try {
      listener = await listenForGenerations(this.o.databaseUrl, {
        onGeneration: (model, generation) => this.heard(model, generation),
        onLost: (err) => {
          if (this.listenAttempt !== attempt) return;
          this.listener = null;
          this.o.log.warn(`LISTEN connection lost: ${err?.message ?? 'the connection ended'}`);
          this.listenAgain();
        },
      });
    } catch (err) {
      if (this.listenAttempt !== attempt) return;
      this.o.log.warn(`LISTEN sluice_traffic failed: ${(err as Error).message}; retrying`);
      this.listenAgain();
      return;
    }
    if (this.stopping || this.listenAttempt !== attempt) {
      await listener.close();
      return;
    }
    this.listener = listener;
    this.reconnectDelayMs = 250;
  }

  /** Listens again after a backoff, then reconciles whatever was published meanwhile. */
  private listenAgain(): void {
    if (this.stopping) return;
    const delay = this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(10_000, delay * 2);
    setTimeout(() => {
      if (this.stopping) return;
      void this.startListener().then(() => (this.stopping ? undefined : this.reconcileAll())).catch(() => undefined);
    }, delay).unref();
  }

  /** A notification: a generation of `model` was written. */
  private heard(model: string, generation: number): void {
    // Pushes are the fast path and usually land within milliseconds of the NOTIFY; waiting a
    // moment before reading PostgreSQL keeps the database and this worker's CPU free for them
    // at the moment of a change, and usually finds the generation applied already.
    const converge = () => {
      const have = this.host.models.get(model)?.generation?.generation ?? 0;
      if (generation > have && !this.stopping) this.reconcileModel(model).catch(() => undefined);
    };
    if (this.o.notifyDelayMs > 0) setTimeout(converge, this.o.notifyDelayMs).unref();
    else converge();
  }

  /** The execution provider changed (CUDA fell back to CPU): the row says what the worker runs on. */
  async reportDevice(device: ExecutionProvider): Promise<void> {
    this.o.provider = device;
    try {
      await setWorkerDevice(this.db, this.o.workerId, device);
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
      this.listenAttempt = null;
      await l?.close();
    }
    await this.markRow(status);
  }

  private async markRow(status: 'draining' | 'stopped'): Promise<void> {
    try {
      await markWorker(this.db, this.o.workerId, status, this.loadedModels());
    } catch (err) {
      this.o.log.warn(`could not mark worker ${status}: ${(err as Error).message}`);
    }
  }
}
