/**
 * The inference log: one row per answered request (and per shadow answer) in `inference_log`,
 * written in batches off the request path. This is the side the request path sees: whether a
 * request is logged (sampling), appending its record, and the bounds that keep the log from ever
 * holding up or failing inference.
 *
 * The request path appends a record into column buffers (log-columns.ts): a few hundred
 * nanoseconds, no per-row objects kept. Every `flushMs`, or as soon as `batchRows` wait, the
 * columns are handed to the writer (log-writers.ts). With a database URL the writer is a worker
 * thread with its own connection that sends one binary COPY per batch (log-thread.ts,
 * copy-encoder.ts), so turning thousands of floats into bytes never blocks the HTTP event loop.
 *
 * Bounded: at most `capacity` rows wait (buffered or being written). Beyond that, or when a write
 * fails (database down or slow), rows are dropped and counted; inference never waits for, or
 * fails because of, the log.
 *
 * Row layout: `inputs` (bytea) holds the request's inputs as float32 little-endian, row-major (the
 * bytes of a Float32Array), each row's elements of every model input in signature order, string
 * (BYTES) inputs left out (a consumer reshapes by the row widths of the numeric inputs in the
 * version's signature); `outputs` (real[]) likewise,
 * as an array of floats. `scores` (real[]) holds one number per row, the score the version's
 * contract reads from every output (rowScores: P(positive), the top class's index, or the
 * prediction), computed by the request path from the outputs as the model returned them, so a
 * row whose label output is a string (left out of `outputs`) still has its score; NULL for a
 * version without a contract. A request the chosen version could not answer (its inputs broke the version's
 * contract, or the run failed) is logged with `error` set and no outputs, so canary and shadow
 * gates can compare error rates per version; error rows are never sampled away. Sampling is decided by a hash of the request id, so a request's primary and
 * shadow rows are kept or dropped together. Experiment traffic is never sampled away (its
 * analysis needs every row); only its `inputs` column follows the input sampling rate.
 */
import { murmur3 } from '../../shared/routing-hash.js';
import type { TensorContract } from '../protocol/signature.js';
import { halfToNumber, type TensorData, type TypedArray } from '../protocol/tensors.js';
import { LogColumns, type LogRecord, type PackedRows } from './log-columns.js';
import type { LogWriter } from './log-writers.js';

export interface InferenceLogOptions {
  workerId: string;
  /** Most rows waiting (buffered or being written); beyond it rows are dropped (and counted). */
  capacity: number;
  /**
   * Most bytes waiting: tensor values (inputs and outputs, 4 bytes each) and text (request ids,
   * key hashes, errors of at most 1,024 characters). A row that would go over keeps its place
   * without its inputs (counted by onInputsDropped): a wide model's rows cannot pile up hundreds
   * of megabytes while PostgreSQL lags, and an experiment still gets every row. One that does not
   * fit even without its inputs is dropped. Default 64 MiB.
   */
  capacityBytes?: number;
  /** Rows per INSERT, and the buffer level that triggers a flush before the timer. */
  batchRows: number;
  flushMs: number;
  /** Share of non-experiment requests logged, in [0, 1]. */
  sampleRate: number;
  /** Share of logged rows whose inputs are kept, in [0, 1]. */
  inputSampleRate: number;
  onWritten?: (rows: number) => void;
  onDropped?: (rows: number, reason: 'buffer_full' | 'database' | 'shutdown') => void;
  onInputsDropped?: (rows: number) => void;
  onError?: (err: unknown) => void;
}

/** Bytes a record's tensors take in the log's columns (every value is stored as a float32). */
function valueBytes(parts: TypedArray[] | null): number {
  if (parts === null) return 0;
  let n = 0;
  for (const p of parts) n += p.length;
  return n * 4;
}

const MAX_ERROR_CHARS = 1024;
const SAMPLE_SEED = 0x10651e;
const INPUT_SEED = 0x1f9a7c;
const UINT32 = 4294967296;

function keep(requestId: string, seed: number, rate: number): boolean {
  if (rate >= 1) return true;
  if (rate <= 0) return false;
  return murmur3(requestId, seed) / UINT32 < rate;
}

export class InferenceLog {
  private columns: LogColumns;
  private writing: Promise<void> | null = null;
  private writingRows = 0;
  private writingBytes = 0;
  private readonly capacityBytes: number;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private lastErrorAt = 0;
  /** The buffers of the last batch written, for the next take(). */
  private spare: PackedRows | null = null;

  constructor(private readonly writer: LogWriter | null, private readonly o: InferenceLogOptions) {
    this.columns = new LogColumns(Math.min(o.batchRows, 4096));
    this.capacityBytes = o.capacityBytes ?? 64 * 1024 * 1024;
  }

  /** Rows waiting: buffered plus being written. */
  get buffered(): number { return this.columns.n + this.writingRows; }

  /** Bytes waiting (tensor values and text): buffered plus being written. */
  get bufferedBytes(): number { return this.columns.valueBytes + this.writingBytes; }

  start(): void {
    if (this.timer !== null || this.writer === null) return;
    this.timer = setInterval(() => this.flushSoon(), this.o.flushMs);
    this.timer.unref();
  }

  /** Whether this request is logged at all (experiment rows always are). */
  sampled(requestId: string, experimentId: string | null): boolean {
    return this.writer !== null && (experimentId !== null || keep(requestId, SAMPLE_SEED, this.o.sampleRate));
  }

  /** Appends a record; false when it was dropped. Never throws, never waits. */
  append(r: LogRecord): boolean {
    if (this.writer === null) return false;
    if (this.closed || this.buffered >= this.o.capacity) {
      this.o.onDropped?.(1, this.closed ? 'shutdown' : 'buffer_full');
      return false;
    }
    if (r.inputs !== null && !keep(r.requestId, INPUT_SEED, this.o.inputSampleRate)) r.inputs = null;
    // An error's text can carry what the client sent (an input name): bounded per row.
    if (r.error !== null && r.error.length > MAX_ERROR_CHARS) r.error = `${r.error.slice(0, MAX_ERROR_CHARS)}…`;
    const room = this.capacityBytes - this.bufferedBytes;
    // The row without its inputs: outputs, request id, key hash, error.
    const rowBytes = valueBytes(r.outputs) + (r.scores?.length ?? 0) * 4 + r.requestId.length + (r.routingKeyHash?.length ?? 0) + (r.error?.length ?? 0);
    if (rowBytes > room) {
      this.o.onDropped?.(1, 'buffer_full');
      return false;
    }
    if (r.inputs !== null && rowBytes + valueBytes(r.inputs) > room) {
      r.inputs = null;
      this.o.onInputsDropped?.(1);
    }
    this.columns.append(r);
    if (this.columns.n >= this.o.batchRows && this.writing === null) this.flushSoon();
    return true;
  }

  private flushSoon(): void {
    if (this.writing !== null || this.columns.n === 0 || this.writer === null) return;
    this.writingBytes = this.columns.valueBytes;
    const rows = this.columns.take(this.spare);
    this.spare = null;
    this.writingRows = rows.n;
    this.writing = this.writer.write(rows).then(
      (back) => {
        if (back) this.spare = back;
        this.o.onWritten?.(rows.n);
      },
      (err: unknown) => {
        this.o.onDropped?.(rows.n, 'database');
        // One report per 10 s: an outage should not flood the worker's log.
        const t = Date.now();
        if (t - this.lastErrorAt > 10_000) {
          this.lastErrorAt = t;
          this.o.onError?.(err);
        }
      },
    ).finally(() => {
      this.writing = null;
      this.writingRows = 0;
      this.writingBytes = 0;
      if (this.columns.n >= this.o.batchRows) this.flushSoon();
    });
  }

  /** Flushes what is buffered (within `timeoutMs`) and stops; later appends are dropped. */
  async close(timeoutMs = 5000): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    const drain = async () => {
      while (this.columns.n > 0 || this.writing !== null) {
        if (this.writing === null) this.flushSoon();
        await this.writing;
      }
    };
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([drain(), new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs); })]);
    clearTimeout(timer);
    this.closed = true;
    const left = this.columns.n;
    if (left > 0) {
      this.columns.take();
      this.o.onDropped?.(left, 'shutdown');
    }
    await this.writer?.close();
  }
}

/**
 * Tensors as the log stores them, every value a float32, decided by each tensor's datatype: FP16
 * arrives as half-float bit patterns in a Uint16Array, which would read back as integers (1.0 as
 * 15360), so it is decoded first; strings (BYTES) have no place in a float column and are left out
 * (a string input, such as a category, is absent from `inputs`; a string label output from
 * `outputs`). The row's score does not depend on them being here: it is read from the outputs
 * before this (the `scores` column), so a model whose label output is a string still has one
 * score per row.
 */
export function loggable(contracts: readonly TensorContract[], arrays: readonly TensorData[]): TypedArray[] {
  let special = false;
  for (const c of contracts) if (c.datatype.oip === 'FP16' || c.datatype.oip === 'BYTES') special = true;
  if (!special) return arrays as TypedArray[];
  const out: TypedArray[] = [];
  arrays.forEach((a, i) => {
    const oip = contracts[i]?.datatype.oip;
    if (oip === 'FP16') out.push(Float32Array.from(a as Uint16Array, halfToNumber));
    else if (oip !== 'BYTES') out.push(a as TypedArray);
  });
  return out;
}
