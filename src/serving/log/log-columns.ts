/**
 * The inference log's rows in columns, on the request path: a record appended into growable
 * column buffers (typed arrays for numbers and tensor values, dictionary codes for the few
 * distinct model/version/arm names, byte pools for strings), and a batch of them taken out whole
 * for a writer. Appending is a few hundred nanoseconds and keeps no per-row objects; the buffers
 * are SharedArrayBuffers, so the log thread reads a batch where it lies (log-writers.ts).
 */
import type { TypedArray } from '../protocol/tensors.js';

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
  /**
   * One score per row, as the version's contract reads it from every output (contracts/score.ts
   * rowScores), or null: an error, or a version without a contract (or whose outputs the
   * contract could not read).
   */
  scores: Float64Array | null;
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
  /** Scores (one per request row) as the real[] column keeps them, with per-row [start, end) (start -1 for NULL). */
  scoreValues: Float32Array;
  scoreRange: Int32Array;
}

/** Columns held as dictionary codes, per row in PackedRows.codes: model, version, arm, experiment, segment. */
export const CODE_COLUMNS = 5;
const utf8 = new TextEncoder();

type ColumnType<T> = { new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number };

/** A column buffer of `n` elements in shared memory: the log thread reads it where it lies (threadLogWriter). */
function column<T>(Type: ColumnType<T>, n: number): T {
  return new Type(new SharedArrayBuffer(n * Type.BYTES_PER_ELEMENT));
}

/** A growable pool of UTF-8 bytes. */
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
export class LogColumns {
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
  private scoreValues = new Float32Array(0);
  private scoreUsed = 0;
  private scoreRange = new Int32Array(0);

  constructor(private rowCapacity: number) {
    this.allocate(rowCapacity, rowCapacity * 32, rowCapacity * 4, rowCapacity);
  }

  /** Bytes appended so far: tensor values (each stored as a float32) and text (ids, key hashes, errors). */
  get valueBytes(): number { return (this.inputUsed + this.outputUsed + this.scoreUsed) * 4 + this.requestIds.used + this.keyHashes.used + this.errors.used; }

  /**
   * Columns for `rows` rows: the whole buffers of `spare` (a batch the writer is done with, at
   * least `rows` rows) when given, else fresh ones. Their buffers go to the writer whole (take()).
   */
  private allocate(rows: number, inputValues: number, outputValues: number, scoreValues: number, spare: PackedRows | null = null): void {
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
    this.scoreRange = int32(rows * 2, s?.scoreRange);
    this.scoreValues = reuse((b) => new Float32Array(b), () => column(Float32Array, scoreValues), s?.scoreValues);
    this.scoreUsed = 0;
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
    this.scoreRange = copy(this.scoreRange, 2);
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
    const scores = r.scores;
    if (scores === null || scores.length === 0) { this.scoreRange[i * 2] = -1; this.scoreRange[i * 2 + 1] = -1; }
    else {
      if (this.scoreUsed + scores.length > this.scoreValues.length) {
        const bigger = column(Float32Array, Math.max(this.scoreValues.length * 2, this.scoreUsed + scores.length));
        bigger.set(this.scoreValues.subarray(0, this.scoreUsed));
        this.scoreValues = bigger;
      }
      // Float64 to float32 in the copy: the column is real[].
      this.scoreValues.set(scores, this.scoreUsed);
      this.scoreRange[i * 2] = this.scoreUsed;
      this.scoreUsed += scores.length;
      this.scoreRange[i * 2 + 1] = this.scoreUsed;
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
      scoreValues: this.scoreValues.subarray(0, this.scoreUsed),
      scoreRange: this.scoreRange.subarray(0, n * 2),
    };
    this.n = 0;
    this.dictionary = [];
    this.dictIndex = new Map();
    const fits = spare !== null && spare.requestIdLengths.buffer.byteLength / 4 >= this.rowCapacity;
    this.allocate(this.rowCapacity, this.inputValues.length, this.outputValues.length, this.scoreValues.length, fits ? spare : null);
    return packed;
  }
}
