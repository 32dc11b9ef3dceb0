/**
 * A packed batch in PostgreSQL's binary COPY format, for COPY_SQL (log-table.ts): what the log
 * thread (log-thread.ts) sends. No number ever becomes text, on either side, so neither the thread
 * nor the database spends its time printing and parsing floats.
 */
import { LITTLE_ENDIAN } from '../../shared/float32-bytes.js';
import { CODE_COLUMNS, type PackedRows } from './log-columns.js';
import { LOG_COLUMN_COUNT } from './log-table.js';

const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const PG_EPOCH_MS = 946_684_800_000; // 2000-01-01T00:00:00Z
const FLOAT4_OID = 700;
// The word-swapping of outputs and the raw copy of inputs (stored little-endian) assume a
// little-endian host (x86-64, arm64 as run).
if (!LITTLE_ENDIAN) throw new Error('the inference log COPY encoder needs a little-endian host');

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
    size += 2 + LOG_COLUMN_COUNT * 4 + 8 + 2 + 4 + worker.length;
    for (let c = 0; c < CODE_COLUMNS; c++) {
      const code = p.codes[i * CODE_COLUMNS + c] as number;
      if (code >= 0) size += (dict[code] as Buffer).length;
    }
    const inputStart = p.inputRange[i * 2] as number;
    if (inputStart >= 0) size += 4 * ((p.inputRange[i * 2 + 1] as number) - inputStart);
    const outputStart = p.outputRange[i * 2] as number;
    if (outputStart >= 0) size += 20 + 8 * ((p.outputRange[i * 2 + 1] as number) - outputStart);
    const scoreStart = p.scoreRange[i * 2] as number;
    if (scoreStart >= 0) size += 20 + 8 * ((p.scoreRange[i * 2 + 1] as number) - scoreStart);
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
    at = out.writeInt16BE(LOG_COLUMN_COUNT, at);
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
    floats(p.scoreValues, p.scoreRange, i);
  }
  at = out.writeInt16BE(-1, at);
  return at === out.length ? out : out.subarray(0, at);
}
