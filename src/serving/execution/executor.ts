/**
 * Where ONNX Runtime runs: on the HTTP event loop, or on a worker thread.
 *
 * Measured on the 2-core development machine (a real worker process, the credit MLP fixture,
 * autocannon in another process, alternating the two modes 3-4 times; see bench/serving.ts):
 *   - A run costs 10-15 µs whether it holds 1 row or 64, and under load a batch holds about 6
 *     requests, so inference is a few µs of a request's ~60 µs of CPU.
 *   - Single-row requests: event loop 11.5k req/s, worker thread 12.7k req/s, 78 vs 73 µs of CPU
 *     per request: equal within this machine's noise (±15% between identical runs).
 *   - 64-row requests: event loop 2.7k req/s, worker thread 2.2k req/s, 404 vs 527 µs per request:
 *     the thread loses. Two postMessage hops and the copies cost more than the run they move.
 * With two cores shared by the HTTP loop, the load generator and PostgreSQL, the thread has no
 * idle core to win back, so small models stay on the event loop. It pays off once one run is long
 * enough to stall HTTP handling (hundreds of µs and up), and then it also keeps p99 down.
 *
 * `auto` (the default) therefore decides per version from a timing at load: versions whose
 * full-batch run takes under `threadAboveUs` (500 µs) stay on the event loop, slower ones are
 * opened again on the worker thread. `event-loop` and `worker-thread` force one or the other
 * (SLUICE_INFERENCE_EXECUTOR).
 */
import type { Worker } from 'node:worker_threads';
import { createSession, runSession, type BatchOutput, type ExecutionProvider } from './session.js';
import { signatureFromMetadata, type OrtValueMetadata, type VersionSignature } from '../protocol/signature.js';
import { allocateTensor, datatypeByOrt, type TensorData, type TypedArray } from '../protocol/tensors.js';
import { startModuleThread } from './threads.js';

export interface OpenedVersion {
  signature: VersionSignature;
  provider: ExecutionProvider;
  /** Why CUDA was asked for and CPU was used, when that happened. */
  providerNote: string | null;
  run: (inputs: TensorData[], shapes: number[][]) => Promise<BatchOutput[]>;
  /** Batches that may be in flight at once. */
  concurrency: number;
  /** Where this version runs. */
  where: 'event-loop' | 'worker-thread';
  release: () => Promise<void>;
}

export interface InferenceExecutor {
  open(key: string, bytes: Uint8Array, provider: ExecutionProvider): Promise<OpenedVersion>;
  close(): Promise<void>;
}

export type ExecutorMode = 'auto' | 'event-loop' | 'worker-thread';

/** Runs on the event loop: no hop, no copy; `session.run` yields once (setImmediate) per batch. */
export class EventLoopExecutor implements InferenceExecutor {
  constructor(private readonly intraOpThreads = 1) {}

  async open(key: string, bytes: Uint8Array, provider: ExecutionProvider): Promise<OpenedVersion> {
    const { session, signature, provider: got, providerNote } = await createSession(bytes, { provider, intraOpThreads: this.intraOpThreads }, key);
    return {
      signature, provider: got, providerNote, concurrency: 1, where: 'event-loop',
      run: (inputs, shapes) => runSession(session, signature, inputs, shapes),
      release: () => session.release(),
    };
  }

  async close(): Promise<void> {}
}

interface ThreadReply {
  id: number;
  ok: boolean;
  error?: string;
  inputs?: OrtValueMetadata[];
  outputs?: OrtValueMetadata[];
  provider?: ExecutionProvider;
  providerNote?: string | null;
  /** Per output: its bytes (transferred), or for a string output its strings (cloned). */
  results?: Array<{ type: string; dims: number[]; buffer?: ArrayBuffer; strings?: string[] }>;
}

/** Copies a view into a fresh, exactly sized buffer we own and may transfer. */
function owned(a: TypedArray): ArrayBuffer {
  if (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && !(a.buffer instanceof SharedArrayBuffer)) {
    // Still copy: the caller may hold a view over it (a pass-through request input).
    return (a.buffer as ArrayBuffer).slice(0);
  }
  return (a.buffer as ArrayBuffer).slice(a.byteOffset, a.byteOffset + a.byteLength);
}

/**
 * One worker thread holding its own sessions. Inputs are copied into fresh buffers and
 * transferred (never the request body's pooled memory); outputs are transferred back.
 */
export class ThreadExecutor implements InferenceExecutor {
  private worker: Worker | null = null;
  /** Bumped when the thread exits: sessions opened in an earlier thread are gone. */
  private threadEpoch = 0;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: ThreadReply) => void; reject: (e: Error) => void }>();

  constructor(private readonly intraOpThreads = 1) {}

  private thread(): Worker {
    if (this.worker) return this.worker;
    const w = startModuleThread(import.meta.url, './inference-thread', { intraOpThreads: this.intraOpThreads });
    w.unref();
    w.on('message', (r: ThreadReply) => {
      const p = this.waiting.get(r.id);
      if (!p) return;
      this.waiting.delete(r.id);
      p.resolve(r);
    });
    w.on('error', (err) => this.failAll(err));
    w.on('exit', (code) => {
      this.worker = null;
      this.threadEpoch++;
      this.failAll(new Error(`inference thread exited with code ${code}`));
    });
    this.worker = w;
    return w;
  }

  private failAll(err: Error): void {
    for (const p of this.waiting.values()) p.reject(err);
    this.waiting.clear();
  }

  private call(message: Record<string, unknown>, transfer: ArrayBuffer[]): Promise<ThreadReply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.thread().postMessage({ ...message, id }, transfer);
    });
  }

  async open(key: string, bytes: Uint8Array, provider: ExecutionProvider): Promise<OpenedVersion> {
    // The model's bytes stay here: if the thread dies (an uncaught error, its heap exhausted), the
    // next run starts a new one, and the version opens again in it instead of failing every
    // request while it still reports ready.
    // Copies, not views (Buffer's slice() is a view): each open transfers, and so detaches, its copy.
    const model = new Uint8Array(bytes);
    const openInThread = async (): Promise<ThreadReply> => {
      const copy = new Uint8Array(model).buffer;
      const epoch = this.threadEpoch;
      const reply = await this.call({ op: 'open', key, bytes: copy, provider }, [copy]);
      if (!reply.ok) throw new Error(reply.error ?? 'the inference thread could not open the model');
      openedIn = epoch;
      return reply;
    };
    let openedIn = -1;
    let reopening: Promise<unknown> | null = null;
    const r = await openInThread();
    const signature = signatureFromMetadata(r.inputs ?? [], r.outputs ?? []);
    const run = async (inputs: TensorData[], shapes: number[][]): Promise<BatchOutput[]> => {
      if (openedIn !== this.threadEpoch) {
        reopening ??= openInThread().finally(() => { reopening = null; });
        await reopening;
      }
      // Strings (BYTES) travel as arrays, cloned by postMessage; typed arrays as owned buffers, transferred.
      const buffers = inputs.map((a) => (Array.isArray(a) ? null : owned(a)));
      const reply = await this.call({
        op: 'run', key,
        inputs: signature.inputs.map((c, i) => {
          const buffer = buffers[i];
          return buffer ? { name: c.name, type: c.datatype.ort, dims: shapes[i], buffer } : { name: c.name, type: c.datatype.ort, dims: shapes[i], strings: inputs[i] };
        }),
      }, buffers.filter((b): b is ArrayBuffer => b !== null));
      if (!reply.ok) throw new Error(reply.error ?? 'inference failed');
      return (reply.results ?? []).map((o) => {
        if (o.strings) return { data: o.strings, shape: o.dims };
        const d = datatypeByOrt(o.type);
        if (!d?.array || !o.buffer) throw new Error(`output type ${o.type} is not supported`);
        return { data: new d.array(o.buffer, 0, o.buffer.byteLength / d.bytes), shape: o.dims };
      });
    };
    return {
      signature, provider: r.provider ?? provider, providerNote: r.providerNote ?? null, run, concurrency: 2, where: 'worker-thread',
      release: async () => { if (this.worker) await this.call({ op: 'release', key }, []); },
    };
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}

/**
 * The `auto` executor: opens every version on the event loop, times a full batch, and moves it to
 * the worker thread when that run is slow enough to stall the HTTP loop.
 */
export class AutoExecutor implements InferenceExecutor {
  private readonly loop: EventLoopExecutor;
  private readonly thread: ThreadExecutor;

  constructor(private readonly o: { intraOpThreads: number; threadAboveUs: number; probeRows: number }) {
    this.loop = new EventLoopExecutor(o.intraOpThreads);
    this.thread = new ThreadExecutor(o.intraOpThreads);
  }

  async open(key: string, bytes: Uint8Array, provider: ExecutionProvider): Promise<OpenedVersion> {
    const local = await this.loop.open(key, bytes, provider);
    if (!local.signature.batchable && local.signature.inputs.some((c) => c.shape.some((d) => d < 0))) return local;
    const rows = local.signature.batchable ? this.o.probeRows : 1;
    const shapes = local.signature.inputs.map((c) => c.shape.map((d, i) => (d >= 0 ? d : i === 0 ? rows : 1)));
    const inputs = local.signature.inputs.map((c, i) => allocateTensor(c.datatype, (shapes[i] as number[]).reduce((a, b) => a * b, 1)));
    // The first run of a session is slow, and a busy machine slows any one run: a fast model that
    // lands on the thread shares it with the slow ones and waits behind them. So one untimed run,
    // then up to five, and one under the threshold keeps the version on the event loop.
    await local.run(inputs, shapes);
    for (let k = 0; k < 5; k++) {
      const t = performance.now();
      await local.run(inputs, shapes);
      if ((performance.now() - t) * 1000 < this.o.threadAboveUs) return local;
    }
    await local.release();
    return await this.thread.open(key, bytes, provider);
  }

  async close(): Promise<void> {
    await this.thread.close();
  }
}

export function createExecutor(mode: ExecutorMode, o: { intraOpThreads: number; threadAboveUs: number; probeRows: number }): InferenceExecutor {
  if (mode === 'event-loop') return new EventLoopExecutor(o.intraOpThreads);
  if (mode === 'worker-thread') return new ThreadExecutor(o.intraOpThreads);
  return new AutoExecutor(o);
}
