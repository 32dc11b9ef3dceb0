/**
 * The inference log: one row per answered request (and per shadow answer) in `inference_log`,
 * written in batches off the request path.
 *
 * The request path appends a record into column buffers (typed arrays for numbers and tensor
 * values, dictionary codes for the few distinct model/version/arm names): a few hundred
 * nanoseconds, no per-row objects kept. Every `flushMs`, or as soon as `batchRows` wait, the
 * columns are handed to the writer, which builds one multi-row INSERT over `unnest` of array
 * parameters. With a database URL the writer is a worker thread with its own connection, so
 * turning thousands of floats into SQL text never blocks the HTTP event loop (see log-thread.ts).
 *
 * Bounded: at most `capacity` rows wait (buffered or being written). Beyond that, or when a write
 * fails (database down or slow), rows are dropped and counted; inference never waits for, or
 * fails because of, the log.
 *
 * Row layout: `inputs` (bytea) holds the request's inputs as float32 little-endian, row-major (the
 * bytes of a Float32Array), each row's elements of every model input in signature order (a
 * consumer reshapes by the row width from the version's signature); `outputs` (real[]) likewise,
 * as an array of floats. A request the chosen version could not answer (its inputs broke the version's
 * contract, or the run failed) is logged with `error` set and no outputs, so canary and shadow
 * gates can compare error rates per version; error rows are never sampled away. Sampling is decided by a hash of the request id, so a request's primary and
 * shadow rows are kept or dropped together. Experiment traffic is never sampled away (its
 * analysis needs every row); only its `inputs` column follows the input sampling rate.
 */
import { CompiledQuery, type Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { murmur3 } from '../../shared/routing-hash.js';
import type { TensorContract } from '../protocol/signature.js';
import { halfToNumber, type TypedArray } from '../protocol/tensors.js';
import { startModuleThread } from '../execution/threads.js';
import type { Worker } from 'node:worker_threads';
import { LITTLE_ENDIAN } from '../../shared/float32-bytes.js';

export interface LogRecord {
  requestId: string;
  /** Epoch milliseconds (with a fractional part) when the request arrived. */
  atMs: number;
  model: string;
  version: string;
  arm: string | null;
  experimentId: string | null;
  routingKeyHash: string | null;
  segment: string | null;
  shadow: boolean;
  fallback: boolean;
  rows: number;
  inputs: TypedArray[] | null;
  outputs: TypedArray[] | null;
  latencyUs: number;
  /** Why the version failed this request (outputs are then null), or null. */
  error: string | null;
}

/**
 * A batch of log rows in columns, ready to post to a thread: numbers in typed arrays, names
 * as codes into `dictionary`, unique strings (request ids, key hashes, errors) as UTF-8 bytes
 * with per-row byte lengths, tensor values in one Float32Array each with per-row [start, end)
 * (start -1 for NULL).
 */
export interface PackedRows {
  n: number;
  dictionary: string[];
  /** Per row: model, version, arm, experiment, segment as dictionary codes (-1 for NULL). */
  codes: Int32Array;
  requestIds: Uint8Array;
  requestIdLengths: Int32Array;
  keyHashes: Uint8Array;
  /** -1 for NULL. */
  keyHashLengths: Int32Array;
  errors: Uint8Array;
  /** -1 for NULL. */
  errorLengths: Int32Array;
  atMs: Float64Array;
  latencyUs: Int32Array;
  /** bit 0: shadow, bit 1: fallback. */
  flags: Uint8Array;
  inputValues: Float32Array;
  inputRange: Int32Array;
  outputValues: Float32Array;
  outputRange: Int32Array;
}

const CODE_COLUMNS = 5;
const utf8 = new TextEncoder();

/** A growable pool of UTF-8 bytes. */
type ColumnType<T> = { new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number };

/** A column buffer of `n` elements in shared memory: the log thread reads it where it lies (threadLogWriter). */
function column<T>(Type: ColumnType<T>, n: number): T {
  return new Type(new SharedArrayBuffer(n * Type.BYTES_PER_ELEMENT));
}

class TextPool {
  used = 0;
  constructor(public bytes: Uint8Array) {}

  /** Appends `s`; returns its length in bytes. ASCII (ids, hex hashes) is copied char by char. */
  append(s: string): number {
    if (this.used + s.length * 3 > this.bytes.length) {
      const bigger = column(Uint8Array, Math.max(this.bytes.length * 2, this.used + s.length * 3));
      bigger.set(this.bytes.subarray(0, this.used));
      this.bytes = bigger;
    }
    const start = this.used;
    const out = this.bytes;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80 || c === 0) return this.appendUtf8(s, start);
      out[start + i] = c;
    }
    this.used = start + s.length;
    return s.length;
  }

  private appendUtf8(s: string, start: number): number {
    // PostgreSQL text cannot hold NUL, and one in a COPY fails the whole batch: U+FFFD instead.
    const { written } = utf8.encodeInto(s.replaceAll('\0', '\uFFFD'), this.bytes.subarray(start));
    this.used = start + written;
    return written;
  }
}

/**
 * Appends records into growable column buffers; `take()` hands them over and starts fresh ones.
 *
 * Nothing a record leaves behind is a JavaScript object: strings go into byte pools, numbers into
 * typed arrays. Rows wait up to a flush interval (100 ms), long enough to live through a few
 * young-generation collections; as strings (a concatenated rope of ids and hashes) they were
 * copied by every scavenge and promoted, and the scavenges under load doubled to about 2 ms,
 * a direct cost to the p99 of every request.
 */
class LogColumns {
  n = 0;
  private dictionary: string[] = [];
  private dictIndex = new Map<string, number>();
  private codes = new Int32Array(0);
  private requestIds = new TextPool(new Uint8Array(0));
  private requestIdLengths = new Int32Array(0);
  private keyHashes = new TextPool(new Uint8Array(0));
  private keyHashLengths = new Int32Array(0);
  private errors = new TextPool(new Uint8Array(0));
  private errorLengths = new Int32Array(0);
  private atMs = new Float64Array(0);
  private latencyUs = new Int32Array(0);
  private flags = new Uint8Array(0);
  private inputValues = new Float32Array(0);
  private inputUsed = 0;
  private inputRange = new Int32Array(0);
  private outputValues = new Float32Array(0);
  private outputUsed = 0;
  private outputRange = new Int32Array(0);

  constructor(private rowCapacity: number) {
    this.allocate(rowCapacity, rowCapacity * 32, rowCapacity * 4);
  }

  /** Bytes appended so far: tensor values (each stored as a float32) and text (ids, key hashes, errors). */
  get valueBytes(): number { return (this.inputUsed + this.outputUsed) * 4 + this.requestIds.used + this.keyHashes.used + this.errors.used; }

  /**
   * Columns for `rows` rows: the whole buffers of `spare` (a batch the writer is done with, at
   * least `rows` rows) when given, else fresh ones. Their buffers go to the writer whole (take()).
   */
  private allocate(rows: number, inputValues: number, outputValues: number, spare: PackedRows | null = null): void {
    const reuse = <T>(make: (b: ArrayBuffer) => T, fresh: () => T, view: { buffer: ArrayBufferLike } | undefined): T =>
      view !== undefined ? make(view.buffer as ArrayBuffer) : fresh();
    const int32 = (n: number, v?: Int32Array) => reuse((b) => new Int32Array(b), () => column(Int32Array, n), v);
    const bytes = (n: number, v?: Uint8Array) => reuse((b) => new Uint8Array(b), () => column(Uint8Array, n), v);
    const s = spare ?? undefined;
    this.rowCapacity = s ? s.requestIdLengths.buffer.byteLength / 4 : rows;
    this.codes = int32(rows * CODE_COLUMNS, s?.codes);
    this.requestIds = new TextPool(bytes(rows * 36, s?.requestIds));
    this.requestIdLengths = int32(rows, s?.requestIdLengths);
    this.keyHashes = new TextPool(bytes(rows * 16, s?.keyHashes));
    this.keyHashLengths = int32(rows, s?.keyHashLengths);
    this.errors = new TextPool(bytes(64, s?.errors));
    this.errorLengths = int32(rows, s?.errorLengths);
    this.atMs = reuse((b) => new Float64Array(b), () => column(Float64Array, rows), s?.atMs);
    this.latencyUs = int32(rows, s?.latencyUs);
    this.flags = bytes(rows, s?.flags);
    this.inputRange = int32(rows * 2, s?.inputRange);
    this.outputRange = int32(rows * 2, s?.outputRange);
    this.inputValues = reuse((b) => new Float32Array(b), () => column(Float32Array, inputValues), s?.inputValues);
    this.inputUsed = 0;
    this.outputValues = reuse((b) => new Float32Array(b), () => column(Float32Array, outputValues), s?.outputValues);
    this.outputUsed = 0;
  }

  private grow(): void {
    const rows = this.rowCapacity * 2;
    const copy = <T extends Int32Array | Float64Array | Uint8Array>(a: T, per: number): T => {
      const b = column(a.constructor as ColumnType<T>, rows * per);
      b.set(a);
      return b;
    };
    this.codes = copy(this.codes, CODE_COLUMNS);
    this.requestIdLengths = copy(this.requestIdLengths, 1);
    this.keyHashLengths = copy(this.keyHashLengths, 1);
    this.errorLengths = copy(this.errorLengths, 1);
    this.atMs = copy(this.atMs, 1);
    this.latencyUs = copy(this.latencyUs, 1);
    this.flags = copy(this.flags, 1);
    this.inputRange = copy(this.inputRange, 2);
    this.outputRange = copy(this.outputRange, 2);
    this.rowCapacity = rows;
  }

  private code(s: string | null): number {
    if (s === null) return -1;
    let c = this.dictIndex.get(s);
    if (c === undefined) {
      c = this.dictionary.length;
      this.dictionary.push(s);
      this.dictIndex.set(s, c);
    }
    return c;
  }

  /** Copies `parts` (one per model input, `rows` rows each) row-major into `values`; returns [start, end). */
  private static pack(pool: { values: Float32Array; used: number }, parts: TypedArray[], rows: number): [number, number] {
    let total = 0;
    for (const p of parts) total += p.length;
    if (pool.used + total > pool.values.length) {
      const bigger = column(Float32Array, Math.max(pool.values.length * 2, pool.used + total));
      bigger.set(pool.values.subarray(0, pool.used));
      pool.values = bigger;
    }
    const start = pool.used;
    const out = pool.values;
    if (parts.length === 1 && parts[0] instanceof Float32Array) {
      out.set(parts[0], start);
    } else {
      let k = start;
      const widths = parts.map((p) => (rows > 0 ? p.length / rows : 0));
      for (let r = 0; r < rows; r++) {
        for (let i = 0; i < parts.length; i++) {
          const p = parts[i] as Float32Array;
          const w = widths[i] as number;
          for (let j = 0; j < w; j++) out[k++] = Number(p[r * w + j]);
        }
      }
    }
    pool.used = start + total;
    return [start, start + total];
  }

  append(r: LogRecord): void {
    if (this.n === this.rowCapacity) this.grow();
    const i = this.n++;
    const c = i * CODE_COLUMNS;
    this.codes[c] = this.code(r.model);
    this.codes[c + 1] = this.code(r.version);
    this.codes[c + 2] = this.code(r.arm);
    this.codes[c + 3] = this.code(r.experimentId);
    this.codes[c + 4] = this.code(r.segment);
    this.requestIdLengths[i] = this.requestIds.append(r.requestId);
    this.keyHashLengths[i] = r.routingKeyHash === null ? -1 : this.keyHashes.append(r.routingKeyHash);
    this.errorLengths[i] = r.error == null ? -1 : this.errors.append(r.error);
    this.atMs[i] = r.atMs;
    this.latencyUs[i] = Math.max(0, Math.min(2147483647, Math.round(r.latencyUs)));
    this.flags[i] = (r.shadow ? 1 : 0) | (r.fallback ? 2 : 0);
    if (r.inputs === null || r.inputs.length === 0) { this.inputRange[i * 2] = -1; this.inputRange[i * 2 + 1] = -1; }
    else {
      const pool = { values: this.inputValues, used: this.inputUsed };
      const [s, e] = LogColumns.pack(pool, r.inputs, r.rows);
      this.inputValues = pool.values; this.inputUsed = pool.used;
      this.inputRange[i * 2] = s; this.inputRange[i * 2 + 1] = e;
    }
    if (r.outputs === null || r.outputs.length === 0) { this.outputRange[i * 2] = -1; this.outputRange[i * 2 + 1] = -1; }
    else {
      const pool = { values: this.outputValues, used: this.outputUsed };
      const [s, e] = LogColumns.pack(pool, r.outputs, r.rows);
      this.outputValues = pool.values; this.outputUsed = pool.used;
      this.outputRange[i * 2] = s; this.outputRange[i * 2 + 1] = e;
    }
  }

  /**
   * The buffered rows as a batch for the writer: views over the filled (shared) buffers
   * themselves, not copies. The columns start over on `spare`, the
   * buffers of a batch the writer has finished with (two sets take turns, so a steady load
   * allocates nothing), or on fresh ones of the same sizes.
   */
  take(spare: PackedRows | null = null): PackedRows {
    const n = this.n;
    const packed: PackedRows = {
      n,
      dictionary: this.dictionary,
      codes: this.codes.subarray(0, n * CODE_COLUMNS),
      requestIds: this.requestIds.bytes.subarray(0, this.requestIds.used),
      requestIdLengths: this.requestIdLengths.subarray(0, n),
      keyHashes: this.keyHashes.bytes.subarray(0, this.keyHashes.used),
      keyHashLengths: this.keyHashLengths.subarray(0, n),
      errors: this.errors.bytes.subarray(0, this.errors.used),
      errorLengths: this.errorLengths.subarray(0, n),
      atMs: this.atMs.subarray(0, n),
      latencyUs: this.latencyUs.subarray(0, n),
      flags: this.flags.subarray(0, n),
      inputValues: this.inputValues.subarray(0, this.inputUsed),
      inputRange: this.inputRange.subarray(0, n * 2),
      outputValues: this.outputValues.subarray(0, this.outputUsed),
      outputRange: this.outputRange.subarray(0, n * 2),
    };
    this.n = 0;
    this.dictionary = [];
    this.dictIndex = new Map();
    const fits = spare !== null && spare.requestIdLengths.buffer.byteLength / 4 >= this.rowCapacity;
    this.allocate(this.rowCapacity, this.inputValues.length, this.outputValues.length, fits ? spare : null);
    return packed;
  }
}

/** A Postgres array literal element: NULL, or a double-quoted string with \ and " escaped. */
function quoted(s: string | null): string {
  if (s === null) return 'NULL';
  return /["\\]/.test(s) ? `"${s.replace(/["\\]/g, '\\$&')}"` : `"${s}"`;
}

function realArray(values: Float32Array, range: Int32Array, i: number): string {
  const start = range[i * 2] as number;
  if (start < 0) return 'NULL';
  return `"{${values.subarray(start, range[i * 2 + 1]).join(',')}}"`;
}

/** A bytea[] literal element: NULL, or the values' float32 little-endian bytes in hex ("\\x..."). */
function byteaHex(values: Float32Array, range: Int32Array, i: number): string {
  const start = range[i * 2] as number;
  if (start < 0) return 'NULL';
  const end = range[i * 2 + 1] as number;
  return `"\\\\x${Buffer.from(values.buffer, values.byteOffset + start * 4, (end - start) * 4).toString('hex')}"`;
}

export const INSERT_SQL = `
  INSERT INTO inference_log (request_id, at, model, version, arm, experiment_id, routing_key_hash, segment, shadow, fallback, inputs, outputs, latency_us, error, worker_id)
  SELECT r, to_timestamp(t), m, v, a, e, k, s, sh, f, i, o::real[], l, err, $15
  FROM unnest($1::text[], $2::float8[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bool[], $10::bool[], $11::bytea[], $12::text[], $13::int[], $14::text[])
    AS u(r, t, m, v, a, e, k, s, sh, f, i, o, l, err)`;

/**
 * The 15 parameters of INSERT_SQL for a packed batch: array literals built as single strings
 * (inputs as a bytea[] of hex elements, outputs as a text[] of real[] literals).
 */
export function insertParameters(p: PackedRows, workerId: string): string[] {
  const n = p.n;
  const requestIds = new Array<string>(n);
  const at = new Array<string>(n);
  const cols = Array.from({ length: CODE_COLUMNS }, () => new Array<string>(n));
  const keys = new Array<string>(n);
  const errors = new Array<string>(n);
  const shadow = new Array<string>(n);
  const fallback = new Array<string>(n);
  const inputs = new Array<string>(n);
  const outputs = new Array<string>(n);
  const quotedDictionary = p.dictionary.map(quoted);
  const text = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const idText = text(p.requestIds);
  const keyText = text(p.keyHashes);
  const errorText = text(p.errors);
  let idAt = 0;
  let keyAt = 0;
  let errorAt = 0;
  for (let i = 0; i < n; i++) {
    const errorLength = p.errorLengths[i] as number;
    if (errorLength < 0) errors[i] = 'NULL';
    else { errors[i] = quoted(errorText.toString('utf8', errorAt, errorAt + errorLength)); errorAt += errorLength; }
    const idLength = p.requestIdLengths[i] as number;
    requestIds[i] = quoted(idText.toString('utf8', idAt, idAt + idLength));
    idAt += idLength;
    const keyLength = p.keyHashLengths[i] as number;
    if (keyLength < 0) keys[i] = 'NULL';
    else { keys[i] = quoted(keyText.toString('utf8', keyAt, keyAt + keyLength)); keyAt += keyLength; }
    at[i] = String((p.atMs[i] as number) / 1000);
    for (let c = 0; c < CODE_COLUMNS; c++) {
      const code = p.codes[i * CODE_COLUMNS + c] as number;
      (cols[c] as string[])[i] = code < 0 ? 'NULL' : (quotedDictionary[code] as string);
    }
    const f = p.flags[i] as number;
    shadow[i] = f & 1 ? 't' : 'f';
    fallback[i] = f & 2 ? 't' : 'f';
    inputs[i] = byteaHex(p.inputValues, p.inputRange, i);
    outputs[i] = realArray(p.outputValues, p.outputRange, i);
  }
  const lit = (xs: ArrayLike<unknown> & { join?: (s: string) => string }) => `{${Array.prototype.join.call(xs, ',')}}`;
  const [models, versions, arms, experiments, segments] = cols as [string[], string[], string[], string[], string[]];
  return [lit(requestIds), lit(at), lit(models), lit(versions), lit(arms), lit(experiments), lit(keys), lit(segments), lit(shadow), lit(fallback), lit(inputs), lit(outputs), lit(p.latencyUs), lit(errors), workerId];
}

/**
 * Writes one packed batch; rejects when the database did not take it. May resolve to the batch
 * (its buffers, which the log then reuses for a later batch) once nothing reads it any more.
 */
export type LogWriter = { write(rows: PackedRows): Promise<PackedRows | void>; close(): Promise<void> };

/** A writer on this event loop, through the app's Kysely pool (no database URL, or tests). */
export function kyselyLogWriter(db: Kysely<Database>, workerId: string): LogWriter {
  return {
    async write(rows) {
      // The parameters are built (the buffers read) before the query goes out.
      await db.executeQuery(CompiledQuery.raw(INSERT_SQL, insertParameters(rows, workerId)));
      return rows;
    },
    async close() {},
  };
}

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
    const rowBytes = valueBytes(r.outputs) + r.requestId.length + (r.routingKeyHash?.length ?? 0) + (r.error?.length ?? 0);
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
 * A writer on a worker thread with its own connection (see log-thread.ts). A batch's columns
 * live in SharedArrayBuffers, so posting one copies and transfers nothing: the thread reads the
 * same memory, and once it has acked, the event loop fills those buffers again. (Transferring
 * them to and fro made each isolate adopt tens of megabytes of "new" external memory a second,
 * which kept both in back-to-back full collections: measured with 64-row requests.)
 */
export function threadLogWriter(databaseUrl: string, workerId: string, statementTimeoutMs = 10_000): LogWriter {
  let thread: Worker | null = null;
  let nextId = 1;
  const waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  const failAll = (err: Error) => {
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  const start = (): Worker => {
    if (thread) return thread;
    const t = startModuleThread(import.meta.url, './log-thread', { databaseUrl, workerId, statementTimeoutMs });
    t.unref();
    t.on('message', (m: { id: number; ok: boolean; error?: string }) => {
      const w = waiting.get(m.id);
      waiting.delete(m.id);
      if (m.ok) w?.resolve(); else w?.reject(new Error(m.error ?? 'log write failed'));
    });
    t.on('error', (err) => failAll(err));
    t.on('exit', () => { thread = null; failAll(new Error('the log thread exited')); });
    thread = t;
    return t;
  };
  const call = (message: Record<string, unknown>) => new Promise<void>((resolve, reject) => {
    const id = nextId++;
    waiting.set(id, { resolve, reject });
    start().postMessage({ ...message, id });
  });
  return {
    // Acked means the thread is done reading the batch: its buffers may be filled again.
    write: (rows) => call({ op: 'write', rows }).then(() => rows),
    async close(): Promise<void> {
      if (!thread) return;
      const t = thread;
      await Promise.race([call({ op: 'close' }), new Promise((r) => setTimeout(r, 2000))]);
      await t.terminate();
      thread = null;
    },
  };
}

// Binary COPY (PostgreSQL's binary copy format): no number ever becomes text, on either side.
const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const PG_EPOCH_MS = 946_684_800_000; // 2000-01-01T00:00:00Z
const FLOAT4_OID = 700;
// The word-swapping of outputs and the raw copy of inputs (stored little-endian) assume a
// little-endian host (x86-64, arm64 as run).
if (!LITTLE_ENDIAN) throw new Error('the inference log COPY encoder needs a little-endian host');
const COPY_COLUMNS = 15;

export const COPY_SQL = 'COPY inference_log (request_id, at, model, version, arm, experiment_id, routing_key_hash, segment, shadow, fallback, inputs, outputs, latency_us, error, worker_id) FROM STDIN (FORMAT binary)';

/**
 * One COPY payload (header, tuples, trailer) for a packed batch: in `into` when it is large
 * enough (a writer reuses one buffer across batches), else in a fresh one.
 */
export function encodeCopy(p: PackedRows, workerId: string, into?: Buffer): Buffer {
  const dict = p.dictionary.map((s) => Buffer.from(s, 'utf8'));
  const worker = Buffer.from(workerId, 'utf8');
  const n = p.n;
  // Size: fixed parts per tuple, plus strings and arrays.
  let size = COPY_SIGNATURE.length + 8 + 2 + p.requestIds.length + p.keyHashes.length + p.errors.length;
  for (let i = 0; i < n; i++) {
    size += 2 + COPY_COLUMNS * 4 + 8 + 2 + 4 + worker.length;
    for (let c = 0; c < CODE_COLUMNS; c++) {
      const code = p.codes[i * CODE_COLUMNS + c] as number;
      if (code >= 0) size += (dict[code] as Buffer).length;
    }
    const inputStart = p.inputRange[i * 2] as number;
    if (inputStart >= 0) size += 4 * ((p.inputRange[i * 2 + 1] as number) - inputStart);
    const outputStart = p.outputRange[i * 2] as number;
    if (outputStart >= 0) size += 20 + 8 * ((p.outputRange[i * 2 + 1] as number) - outputStart);
  }
  const out = into !== undefined && into.length >= size ? into : Buffer.allocUnsafe(size);
  let at = COPY_SIGNATURE.copy(out, 0);
  at = out.writeInt32BE(0, at);
  at = out.writeInt32BE(0, at);
  const bytes = (b: Uint8Array | null) => {
    if (b === null) { at = out.writeInt32BE(-1, at); return; }
    at = out.writeInt32BE(b.length, at);
    out.set(b, at);
    at += b.length;
  };
  const code = (i: number, c: number) => { const k = p.codes[i * CODE_COLUMNS + c] as number; bytes(k < 0 ? null : (dict[k] as Buffer)); };
  // The inputs bytea: the values' own bytes (float32 little-endian, as this host stores them).
  const floatBytes = (values: Float32Array, range: Int32Array, i: number) => {
    const s = range[i * 2] as number;
    if (s < 0) { at = out.writeInt32BE(-1, at); return; }
    const length = 4 * ((range[i * 2 + 1] as number) - s);
    at = out.writeInt32BE(length, at);
    out.set(new Uint8Array(values.buffer, values.byteOffset + s * 4, length), at);
    at += length;
  };
  // Element i of a real[] is a 4-byte length (4) and the float, both big-endian. Built as 32-bit
  // words in an aligned scratch (byte-swapped on this little-endian machine), then copied in one go.
  let scratch = new Uint32Array(256);
  const floats = (values: Float32Array, range: Int32Array, i: number) => {
    const s = range[i * 2] as number;
    if (s < 0) { at = out.writeInt32BE(-1, at); return; }
    const e = range[i * 2 + 1] as number;
    const count = e - s;
    at = out.writeInt32BE(20 + 8 * count, at);
    at = out.writeInt32BE(1, at); // dimensions
    at = out.writeInt32BE(0, at); // no NULLs
    at = out.writeInt32BE(FLOAT4_OID, at);
    at = out.writeInt32BE(count, at);
    at = out.writeInt32BE(1, at); // lower bound
    if (scratch.length < count * 2) scratch = new Uint32Array(count * 2);
    const words = new Uint32Array(values.buffer, values.byteOffset + s * 4, count);
    for (let k = 0; k < count; k++) {
      const x = words[k] as number;
      scratch[2 * k] = 0x04000000;
      scratch[2 * k + 1] = ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
    }
    out.set(new Uint8Array(scratch.buffer, 0, count * 8), at);
    at += count * 8;
  };
  let idAt = 0;
  let keyAt = 0;
  let errorAt = 0;
  for (let i = 0; i < n; i++) {
    at = out.writeInt16BE(COPY_COLUMNS, at);
    const idLength = p.requestIdLengths[i] as number;
    bytes(p.requestIds.subarray(idAt, idAt + idLength));
    idAt += idLength;
    // timestamptz: microseconds since 2000-01-01 as an int64, written as two 32-bit halves
    // (exact below 2^53; no BigInt per row).
    const us = Math.round(((p.atMs[i] as number) - PG_EPOCH_MS) * 1000);
    const high = Math.floor(us / 4294967296);
    at = out.writeInt32BE(8, at);
    at = out.writeInt32BE(high, at);
    at = out.writeUInt32BE(us - high * 4294967296, at);
    code(i, 0); code(i, 1); code(i, 2); code(i, 3);
    const keyLength = p.keyHashLengths[i] as number;
    if (keyLength < 0) bytes(null);
    else { bytes(p.keyHashes.subarray(keyAt, keyAt + keyLength)); keyAt += keyLength; }
    code(i, 4);
    const f = p.flags[i] as number;
    at = out.writeInt32BE(1, at); at = out.writeUInt8(f & 1, at);
    at = out.writeInt32BE(1, at); at = out.writeUInt8(f & 2 ? 1 : 0, at);
    floatBytes(p.inputValues, p.inputRange, i);
    floats(p.outputValues, p.outputRange, i);
    at = out.writeInt32BE(4, at); at = out.writeInt32BE(p.latencyUs[i] as number, at);
    const errorLength = p.errorLengths[i] as number;
    if (errorLength < 0) bytes(null);
    else { bytes(p.errors.subarray(errorAt, errorAt + errorLength)); errorAt += errorLength; }
    bytes(worker);
  }
  at = out.writeInt16BE(-1, at);
  return at === out.length ? out : out.subarray(0, at);
}

/**
 * Tensors as the log stores them, every value a float32, decided by each tensor's datatype: FP16
 * arrives as half-float bit patterns in a Uint16Array, which would read back as integers (1.0 as
 * 15360), so it is decoded first; strings (BYTES) have no place in a float column and are left out.
 */
export function loggable(contracts: readonly TensorContract[], arrays: TypedArray[]): TypedArray[] {
  let special = false;
  for (const c of contracts) if (c.datatype.oip === 'FP16' || c.datatype.oip === 'BYTES') special = true;
  if (!special) return arrays;
  const out: TypedArray[] = [];
  arrays.forEach((a, i) => {
    const oip = contracts[i]?.datatype.oip;
    if (oip === 'FP16') out.push(Float32Array.from(a as Uint16Array, halfToNumber));
    else if (oip !== 'BYTES') out.push(a);
  });
  return out;
}
