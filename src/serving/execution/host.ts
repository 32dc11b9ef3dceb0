/**
 * The models and versions one worker hosts, and the traffic generation applied to each model.
 *
 * A version is `loading` until its artifact's sha256 matched, ONNX Runtime opened it and warm-up
 * runs went through; only then is it `ready` and routable. Unloading marks it `draining` (no new
 * requests), waits for its queue and in-flight batches, then releases the session.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { MicroBatcher } from './batcher.js';
import type { TrafficGeneration } from '../../traffic/generation.js';
import type { ModelContract } from '../../contracts/index.js';
import { compileVersionInputChecks, type NamedInputChecks } from '../protocol/input-checks.js';
import { compileGeneration, supersedes, type CompiledGeneration } from '../../traffic/routing.js';
import type { BatchOutput, ExecutionProvider } from './session.js';
import type { VersionSignature } from '../protocol/signature.js';
import { allocateTensor, type TensorData } from '../protocol/tensors.js';
import type { InferenceExecutor, OpenedVersion } from './executor.js';
import { compileRowScorer, type RowScorer } from './row-scores.js';

/** Where a version's model comes from: the registry row, or an admin request that names it. */
export interface VersionSource {
  model: string;
  version: string;
  artifactUri: string;
  sha256: string;
  metadata?: Record<string, unknown>;
  referenceProfile?: unknown;
  /** The model's contract (models.contract): how to read each row's score, and each input's feature names. */
  contract?: ModelContract | null;
}

export type VersionState = 'loading' | 'ready' | 'draining';

export interface HostOptions {
  provider: ExecutionProvider;
  maxBatchRows: number;
  maxWaitUs: number;
  /** Runs on the event loop or a worker thread; see executor.ts. */
  executor: InferenceExecutor;
  warmupRuns: number;
  onBatch?: (model: string, version: string, rows: number, requests: number, runUs: number) => void;
  /** Called once when CUDA was asked for but a session fell back to CPU; later loads go straight to CPU. */
  onProviderFallback?: (note: string) => void;
}

export class HostError extends Error {
  override readonly name = 'HostError';
  constructor(readonly code: 'not_found' | 'conflict' | 'load_failed' | 'sha256_mismatch' | 'invalid_generation', message: string) {
    super(message);
  }
}

export class HostedVersion {
  state: VersionState = 'loading';
  signature!: VersionSignature;
  provider!: ExecutionProvider;
  batcher!: MicroBatcher;
  /** Reference-profile checks per numeric input (none without a profile). */
  inputChecks: NamedInputChecks[] = [];
  /** The model's contract as the version was loaded with it; null when the model has none. */
  readonly contract: ModelContract | null;
  /** Each answered row's score, by the contract; null without one (the log's `scores` is then NULL). */
  scorer: RowScorer | null = null;
  /** Whether NaN and ±Infinity may enter float inputs (metadata.allowNonFinite); forbidden by default. */
  allowNonFinite = false;
  loadMs = 0;
  release: () => Promise<void> = async () => undefined;
  /** Where its runs happen: versions in the same place take turns (shadow() reads this). */
  where: OpenedVersion['where'] = 'event-loop';
  /**
   * Its quickest warm-up run of a full batch (one row where it cannot batch): a fixed measure of
   * its cost, comparable between versions, where the batcher's running mean follows whatever
   * batch sizes traffic happens to form.
   */
  fullBatchUs = 0;
  /**
   * Requests routed here that have not reached the batcher yet: an injected fault delay sits
   * between routing and submitting, and the batcher's idle() cannot see a request it has not
   * been given. Retiring waits for these first. Only the fault path holds, so the plain hot path
   * pays nothing.
   */
  private holds = 0;
  private unheldWaiters: Array<() => void> = [];

  constructor(readonly model: string, readonly version: string, readonly source: VersionSource) {
    this.contract = source.contract ?? null;
  }

  get ready(): boolean { return this.state === 'ready'; }

  /** Keeps the session until the matching unhold(); call while the version is still routable. */
  hold(): void { this.holds++; }

  unhold(): void {
    if (--this.holds > 0 || this.unheldWaiters.length === 0) return;
    const waiters = this.unheldWaiters;
    this.unheldWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Resolves once no request holds this version. */
  unheld(): Promise<void> {
    if (this.holds === 0) return Promise.resolve();
    return new Promise((resolve) => this.unheldWaiters.push(resolve));
  }

  infer(inputs: TensorData[], shapes: number[][], rows: number): Promise<BatchOutput[]> {
    return this.batcher.submit(inputs, shapes, rows);
  }

  describe() {
    return {
      model: this.model, version: this.version, state: this.state, sha256: this.source.sha256,
      provider: this.state === 'loading' ? null : this.provider, runsOn: this.state === 'loading' ? null : this.where, loadMs: Math.round(this.loadMs),
      queueRows: this.state === 'loading' ? 0 : this.batcher.depthRows,
      meanBatchRunUs: this.state === 'loading' ? 0 : Math.round(this.batcher.meanRunUs),
    };
  }
}

export interface HostedModel {
  name: string;
  versions: Map<string, HostedVersion>;
  generation: CompiledGeneration | null;
}

function loadKey(model: string, version: string): string {
  return `${model}\u0000${version}`;
}

async function readArtifact(uri: string): Promise<Uint8Array> {
  let path: string;
  try {
    const url = new URL(uri);
    if (url.protocol !== 'file:') throw new HostError('load_failed', `artifact ${uri} is not a file:// URL; workers load local artifacts only`);
    path = fileURLToPath(url);
  } catch (err) {
    if (err instanceof HostError) throw err;
    throw new HostError('load_failed', `artifact URI ${uri} is not a valid URL`);
  }
  try {
    return await fs.readFile(path);
  } catch (err) {
    throw new HostError('load_failed', `cannot read artifact ${uri}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function conflictingSha(source: VersionSource, sha256: string): HostError {
  return new HostError('conflict', `${source.model} version ${source.version} is loaded with sha256 ${sha256}, not ${source.sha256}`);
}

/** A load in progress: what it loads (so a second load can be checked against it) and its result. */
interface PendingLoad {
  source: VersionSource;
  promise: Promise<HostedVersion>;
}

export class ModelHost {
  readonly models = new Map<string, HostedModel>();
  private readonly loads = new Map<string, PendingLoad>();

  constructor(private readonly o: HostOptions) {}

  model(name: string): HostedModel {
    let m = this.models.get(name);
    if (m === undefined) {
      m = { name, versions: new Map(), generation: null };
      this.models.set(name, m);
    }
    return m;
  }

  find(model: string, version: string): HostedVersion | undefined {
    return this.models.get(model)?.versions.get(version);
  }

  /**
   * Loads a version (or returns it when already loaded with the same sha256). Concurrent loads
   * of one version with the same sha256 share one promise; one with another sha256 is a
   * conflict, whether the first load has finished or not. Resolves once the version is ready.
   */
  load(source: VersionSource): Promise<HostedVersion> {
    const key = loadKey(source.model, source.version);
    const existing = this.find(source.model, source.version);
    if (existing && existing.state !== 'draining') {
      if (existing.source.sha256 !== source.sha256) return Promise.reject(conflictingSha(source, existing.source.sha256));
      if (existing.state === 'ready') return Promise.resolve(existing);
    }
    const inflight = this.loads.get(key);
    if (inflight) {
      if (inflight.source.sha256 !== source.sha256) return Promise.reject(conflictingSha(source, inflight.source.sha256));
      return inflight.promise;
    }
    const pending: PendingLoad = {
      source,
      promise: this.doLoad(source).finally(() => {
        if (this.loads.get(key) === pending) this.loads.delete(key);
      }),
    };
    this.loads.set(key, pending);
    return pending.promise;
  }

  private async doLoad(source: VersionSource): Promise<HostedVersion> {
    const started = performance.now();
    const bytes = await readArtifact(source.artifactUri);
    // Hash the very bytes ONNX Runtime will read, so nothing can change between check and load.
    const digest = createHash('sha256').update(bytes).digest('hex');
    if (digest !== source.sha256) {
      throw new HostError('sha256_mismatch', `artifact of ${source.model} version ${source.version} has sha256 ${digest}, expected ${source.sha256}`);
    }
    const v = new HostedVersion(source.model, source.version, source);
    let opened: OpenedVersion;
    try {
      opened = await this.o.executor.open(`${source.model}/${source.version}/${digest.slice(0, 12)}`, bytes, this.o.provider);
    } catch (err) {
      throw new HostError('load_failed', (err as Error).message);
    }
    v.signature = opened.signature;
    v.provider = opened.provider;
    const requested = this.o.provider;
    if (opened.provider !== requested) {
      this.o.provider = opened.provider;
      this.o.onProviderFallback?.(opened.providerNote ?? `the ${requested} execution provider was not available; using ${opened.provider}`);
    }
    v.release = opened.release;
    v.where = opened.where;
    v.allowNonFinite = source.metadata?.allowNonFinite === true;
    v.inputChecks = compileVersionInputChecks(source.referenceProfile, source.metadata, opened.signature.inputs, v.contract);
    v.scorer = compileRowScorer(v.contract, opened.signature);
    v.batcher = new MicroBatcher(opened.run, {
      maxBatchRows: this.o.maxBatchRows,
      maxWaitUs: this.o.maxWaitUs,
      concurrency: opened.concurrency,
      batchable: opened.signature.batchable,
      inputTypes: opened.signature.inputs.map((c) => c.datatype),
      onBatch: (rows, requests, us) => this.o.onBatch?.(source.model, source.version, rows, requests, us),
    });
    try {
      await this.warmUp(v, opened.run);
    } catch (err) {
      await v.release();
      throw new HostError('load_failed', `warm-up of ${source.model} version ${source.version} failed: ${(err as Error).message}`);
    }
    v.loadMs = performance.now() - started;
    const m = this.model(source.model);
    const previous = m.versions.get(source.version);
    v.state = 'ready';
    m.versions.set(source.version, v);
    // A draining predecessor with the same name finishes on its own; nothing routes to it now.
    if (previous && previous !== v) void this.retire(previous);
    return v;
  }

  /**
   * Warm-up: a one-row run and a full-batch run, `warmupRuns` times each (the full batch at least
   * three times, for `fullBatchUs`), with zeros (empty strings for a string input). The first
   * runs allocate ONNX Runtime's buffers and JIT nothing else; their timings seed the wait
   * estimate used for segment latency budgets.
   */
  private async warmUp(v: HostedVersion, run: (inputs: TensorData[], shapes: number[][]) => Promise<BatchOutput[]>): Promise<void> {
    const sig = v.signature;
    const sizes = sig.batchable ? [1, this.o.maxBatchRows] : [1];
    const fullRows = sizes[sizes.length - 1];
    let lastUs = 0;
    let fullBatchUs = Infinity;
    for (const rows of sizes) {
      const shapes = sig.inputs.map((c) => c.shape.map((d, i) => (d >= 0 ? d : i === 0 ? rows : 1)));
      const inputs = sig.inputs.map((c, i) => allocateTensor(c.datatype, (shapes[i] as number[]).reduce((a, b) => a * b, 1)));
      // The full batch runs at least three times: its quickest run is the version's fixed cost.
      const runs = rows === fullRows ? Math.max(3, this.o.warmupRuns) : Math.max(1, this.o.warmupRuns);
      for (let k = 0; k < runs; k++) {
        const t = performance.now();
        await run(inputs, shapes);
        lastUs = (performance.now() - t) * 1000;
        if (rows === fullRows) fullBatchUs = Math.min(fullBatchUs, lastUs);
      }
    }
    v.batcher.seedRunTime(lastUs);
    v.fullBatchUs = fullBatchUs;
  }

  /**
   * Unloads a version: refuses while the model's generation still sends it traffic (unless
   * `force`), then drains and releases it. A version whose load is still in flight is waited for
   * and then unloaded (so a rolled-back canary's load cannot finish into a ready version after
   * its unload answered); if that load fails, the answer is as for a version not loaded (false).
   * The traffic check is made again once the load has settled.
   */
  async unload(model: string, version: string, opts: { force?: boolean } = {}): Promise<boolean> {
    const key = loadKey(model, version);
    for (;;) {
      const m = this.models.get(model);
      const v = m?.versions.get(version);
      const pending = this.loads.get(key);
      if (!v && !pending) return false;
      if (!opts.force && m?.generation?.referenced.includes(version)) {
        throw new HostError('conflict', `${model} version ${version} still receives traffic in generation ${m.generation.generation}; publish a generation without it first`);
      }
      if (pending) {
        // The load's own promise removes it from `loads` before this resumes; look again.
        await pending.promise.catch(() => undefined);
        continue;
      }
      if (!m || !v) return false;
      // Check and removal happen in one synchronous step, so applyGeneration (also synchronous)
      // sees either the version ready or it gone, never one that is about to go.
      m.versions.delete(version);
      await this.retire(v);
      return true;
    }
  }

  private async retire(v: HostedVersion): Promise<void> {
    v.state = 'draining';
    // Held requests were routed here before the state changed; once they let go they are in the
    // batcher's queue, where idle() waits for them.
    await v.unheld();
    await v.batcher.idle();
    await v.release();
  }

  /**
   * Applies a generation if it is newer than the model's current one. Atomic: requests read
   * `model.generation` once, so each sees either the old or the new one whole.
   *
   * A newer generation that references a version not ready here is refused: the answer is
   * `applied: false` with the `missing` versions, and the current generation stays. The check and
   * the swap happen in one synchronous step, as do unload's traffic check and removal, so a
   * version cannot be unloaded between "it is ready" and "the generation routes to it": callers
   * that load first (FleetMember.applyWithLoad) load what is missing and try again.
   */
  applyGeneration(model: string, g: TrafficGeneration): { applied: boolean; current: number; missing?: string[] } {
    let compiled: CompiledGeneration;
    try {
      compiled = compileGeneration(model, g);
    } catch (err) {
      throw new HostError('invalid_generation', (err as Error).message);
    }
    const m = this.model(model);
    if (!supersedes(m.generation, compiled)) return { applied: false, current: m.generation?.generation ?? 0 };
    const missing = this.missing(model, compiled);
    if (missing.length > 0) return { applied: false, current: m.generation?.generation ?? 0, missing };
    m.generation = compiled;
    return { applied: true, current: compiled.generation };
  }

  /** Versions the generation references that are not ready here. */
  missing(model: string, g: CompiledGeneration | TrafficGeneration): string[] {
    let referenced: string[];
    try {
      referenced = 'referenced' in g ? g.referenced : compileGeneration(model, g).referenced;
    } catch (err) {
      throw new HostError('invalid_generation', (err as Error).message);
    }
    return referenced.filter((v) => !this.find(model, v)?.ready);
  }

  async drainAll(): Promise<void> {
    const all = [...this.models.values()].flatMap((m) => [...m.versions.values()]);
    for (const v of all) v.state = 'draining';
    // As in retire: releaseAll follows, so requests still on their way to a batcher must arrive first.
    await Promise.all(all.map(async (v) => {
      await v.unheld();
      await v.batcher?.idle();
    }));
  }

  async releaseAll(): Promise<void> {
    await Promise.all([...this.loads.values()].map((p) => p.promise.catch(() => undefined)));
    const all = [...this.models.values()].flatMap((m) => [...m.versions.values()]);
    await Promise.all(all.map((v) => v.release().catch(() => undefined)));
    this.models.clear();
  }

  *queueDepths(): Iterable<{ model: string; version: string; rows: number }> {
    for (const m of this.models.values()) {
      for (const v of m.versions.values()) if (v.state !== 'loading') yield { model: m.name, version: v.version, rows: v.batcher.depthRows };
    }
  }
}

