/**
 * Per-version micro-batching. ONNX Runtime charges about the same for a 64-row run as for a
 * 1-row run, so requests that arrive together are concatenated along dimension 0 into one run
 * and the outputs are handed back as views (subarrays) of the batch's output, without copying
 * (string tensors, plain arrays, are concatenated and split by copying their elements).
 *
 * When to run: as soon as `maxBatchRows` are queued, else when `maxWaitUs` has passed since the
 * oldest queued request. With the default wait of 0 the batch closes on the event loop's next
 * check phase, so it holds exactly the requests parsed in the same I/O turn: no added latency when
 * idle, large batches under load. While `concurrency` batches are running, new requests queue and
 * leave in the next batch the moment one finishes.
 *
 * Requests are validated before they get here (protocol.ts), so every row is well formed; if a
 * batch still fails, each of its requests is retried alone so one bad row cannot fail the others.
 */
import type { BatchOutput } from './session.js';
import { allocate, type DatatypeInfo, type TensorData, type TypedArray } from '../protocol/tensors.js';

/** Runs one batch: inputs and shapes in the model's input order; outputs in its output order. */
export type BatchRun = (inputs: TensorData[], shapes: number[][]) => Promise<BatchOutput[]>;

export interface BatcherOptions {
  maxBatchRows: number;
  maxWaitUs: number;
  /** Batches running at once: 1 on the event loop (runs there are serial anyway), 2 with a worker thread (one running, one ready). */
  concurrency: number;
  /** Whether requests may share a run (the model has an open batch dimension). */
  batchable: boolean;
  /** Input element types, to allocate the concatenated arrays. */
  inputTypes: DatatypeInfo[];
  /** Called after every run with its size and duration; feeds metrics and the wait estimate. */
  onBatch?: (rows: number, requests: number, runUs: number) => void;
}

interface Pending {
  inputs: TensorData[];
  shapes: number[][];
  rows: number;
  resolve: (outputs: BatchOutput[]) => void;
  reject: (err: unknown) => void;
}

const now = () => performance.now();

export class MicroBatcher {
  private queue: Array<Pending | null> = [];
  private head = 0;
  private queuedRows = 0;
  private running = 0;
  private scheduled = false;
  private waitStarted = 0;
  private idleWaiters: Array<() => void> = [];
  /** Exponentially weighted mean run time of a batch, in microseconds. */
  private runUsEwma = 0;

  constructor(private readonly run: BatchRun, private readonly o: BatcherOptions) {}

  get depthRows(): number { return this.queuedRows; }
  get inflight(): number { return this.running; }
  get meanRunUs(): number { return this.runUsEwma; }

  /** Seeds the run-time estimate (from warm-up runs) before traffic arrives. */
  seedRunTime(us: number): void { this.runUsEwma = us; }

  /**
   * Microseconds a request arriving now would wait before its results: the batches queued ahead
   * of it plus its own, each at the measured mean run time, plus the batching wait.
   */
  estimatedWaitUs(): number {
    const batchesAhead = Math.ceil(this.queuedRows / this.o.maxBatchRows) + this.running;
    return (batchesAhead + 1) * this.runUsEwma + this.o.maxWaitUs;
  }

  submit(inputs: TensorData[], shapes: number[][], rows: number): Promise<BatchOutput[]> {
    return new Promise<BatchOutput[]>((resolve, reject) => {
      if (this.queue.length === this.head) this.waitStarted = now();
      this.queue.push({ inputs, shapes, rows, resolve, reject });
      this.queuedRows += rows;
      if (this.running >= this.o.concurrency) return; // a finishing batch picks these up
      if (this.queuedRows >= this.o.maxBatchRows) this.flush();
      else this.schedule();
    });
  }

  /** Resolves when nothing is queued or running (for unload and shutdown). */
  idle(): Promise<void> {
    if (this.queue.length === this.head && this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.tick);
  }

  // An arrow so setImmediate needs no bind per call.
  private readonly tick = (): void => {
    this.scheduled = false;
    if (this.queue.length === this.head) return;
    // Sub-millisecond waits poll on the check phase: timers have 1 ms resolution.
    if (this.o.maxWaitUs > 0 && this.queuedRows < this.o.maxBatchRows && (now() - this.waitStarted) * 1000 < this.o.maxWaitUs) {
      if (this.o.maxWaitUs >= 1000) {
        this.scheduled = true;
        setTimeout(this.tick, Math.max(1, Math.floor((this.o.maxWaitUs - (now() - this.waitStarted) * 1000) / 1000)));
      } else {
        this.schedule();
      }
      return;
    }
    this.flush();
  };

  private flush(): void {
    while (this.queue.length > this.head && this.running < this.o.concurrency) {
      const batch = this.take();
      this.running++;
      // execute() settles every request itself; anything it throws past that (splitting a batch's
      // outputs, say) fails the requests still waiting instead of escaping as an unhandled
      // rejection, which would end the process. Settling a settled promise does nothing.
      void this.execute(batch).catch((err: unknown) => {
        for (const p of batch) p.reject(err);
      }).finally(() => {
        this.running--;
        if (this.queue.length > this.head) this.flush();
        else if (this.running === 0) this.notifyIdle();
      });
    }
  }

  /** Takes whole requests from the front, up to maxBatchRows (at least one request). */
  private take(): Pending[] {
    const batch: Pending[] = [];
    let rows = 0;
    const limit = this.o.batchable ? this.o.maxBatchRows : 1;
    while (this.queue.length > this.head) {
      const p = this.queue[this.head] as Pending;
      if (batch.length > 0 && (!this.o.batchable || rows + p.rows > limit)) break;
      batch.push(p);
      rows += p.rows;
      this.queue[this.head++] = null;
    }
    this.queuedRows -= rows;
    // Taken requests leave the queue at once (null above, reset when empty): a served request
    // still referenced here (its inputs, its promise) lived through young-generation collections
    // and got promoted, which made every scavenge several milliseconds long and was most of the
    // p99 at moderate load.
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (this.queue.length > this.head) this.waitStarted = now();
    return batch;
  }

  private async execute(batch: Pending[]): Promise<void> {
    if (batch.length === 1) {
      const p = batch[0] as Pending;
      try {
        p.resolve(await this.timed(p.inputs, p.shapes, p.rows, 1));
      } catch (err) {
        p.reject(err);
      }
      return;
    }
    const { inputs, shapes, rows } = this.concatenate(batch);
    let outputs: BatchOutput[];
    try {
      outputs = await this.timed(inputs, shapes, rows, batch.length);
    } catch {
      // Isolate the failure: every request gets its own run and its own verdict.
      for (const p of batch) {
        try {
          p.resolve(await this.timed(p.inputs, p.shapes, p.rows, 1));
        } catch (err) {
          p.reject(err);
        }
      }
      return;
    }
    let offset = 0;
    for (const p of batch) {
      p.resolve(outputs.map((o) => slice(o, offset, p.rows)));
      offset += p.rows;
    }
  }

  private async timed(inputs: TensorData[], shapes: number[][], rows: number, requests: number): Promise<BatchOutput[]> {
    const started = now();
    const out = await this.run(inputs, shapes);
    const us = (now() - started) * 1000;
    this.runUsEwma = this.runUsEwma === 0 ? us : this.runUsEwma * 0.9 + us * 0.1;
    this.o.onBatch?.(rows, requests, us);
    return out;
  }

  private concatenate(batch: Pending[]): { inputs: TensorData[]; shapes: number[][]; rows: number } {
    let rows = 0;
    for (const p of batch) rows += p.rows;
    const first = batch[0] as Pending;
    const inputs: TensorData[] = [];
    const shapes: number[][] = [];
    for (let i = 0; i < first.inputs.length; i++) {
      const d = this.o.inputTypes[i] as DatatypeInfo;
      const shape = [...(first.shapes[i] as number[])];
      shape[0] = rows;
      shapes.push(shape);
      if (d.array === null) {
        // Strings (BYTES): one array of every request's strings, row-major as the typed ones.
        const strings: string[] = [];
        for (const p of batch) for (const v of p.inputs[i] as string[]) strings.push(v);
        inputs.push(strings);
        continue;
      }
      const rowElements = (first.inputs[i] as TypedArray).length / first.rows;
      const out = allocate(d, rows * rowElements);
      let at = 0;
      for (const p of batch) {
        const src = p.inputs[i] as TypedArray;
        (out as Float32Array).set(src as Float32Array, at);
        at += src.length;
      }
      inputs.push(out);
    }
    return { inputs, shapes, rows };
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

/** Rows [offset, offset + rows) of a batch output, as a view. */
function slice(o: BatchOutput, offset: number, rows: number): BatchOutput {
  const total = o.shape[0] ?? 1;
  const per = total > 0 ? o.data.length / total : 0;
  const shape = [...o.shape];
  shape[0] = rows;
  // A string output is a plain array: its rows are a copy (slice); a typed one's are a view.
  const data = Array.isArray(o.data) ? o.data.slice(offset * per, (offset + rows) * per) : o.data.subarray(offset * per, (offset + rows) * per) as TypedArray;
  return { data, shape };
}
