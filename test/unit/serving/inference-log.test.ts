import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, type CompiledQuery, type DatabaseConnection, type QueryResult } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { Database } from '../../../src/db/schema.js';
import { encodeCopy } from '../../../src/serving/log/copy-encoder.js';
import { InferenceLog, loggable } from '../../../src/serving/log/inference-log.js';
import type { LogRecord, PackedRows } from '../../../src/serving/log/log-columns.js';
import { LOG_COLUMNS } from '../../../src/serving/log/log-table.js';
import { kyselyLogWriter } from '../../../src/serving/log/log-writers.js';
import { signatureFromMetadata } from '../../../src/serving/protocol/signature.js';
import { float32sFromBytes } from '../../../src/shared/float32-bytes.js';

/** A database whose queries hang (a stalled server), fail, or succeed, recording what was sent. */
function fakeDb(mode: { current: 'hang' | 'fail' | 'ok' }, sent: CompiledQuery[]) {
  class Connection implements DatabaseConnection {
    async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
      sent.push(q);
      if (mode.current === 'hang') return new Promise(() => undefined);
      if (mode.current === 'fail') throw new Error('connection refused');
      return { rows: [] };
    }
    // eslint-disable-next-line require-yield
    async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> { throw new Error('not supported'); }
  }
  class Driver extends DummyDriver {
    override async acquireConnection(): Promise<DatabaseConnection> { return new Connection(); }
  }
  return new Kysely<Database>({
    dialect: { createAdapter: () => new PostgresAdapter(), createDriver: () => new Driver(), createIntrospector: (db) => new PostgresIntrospector(db), createQueryCompiler: () => new PostgresQueryCompiler() },
  });
}

const record = (i: number, extra: Partial<LogRecord> = {}): LogRecord => ({
  requestId: `r${i}`, atMs: 1_700_000_000_000 + i, model: 'credit', version: 'v1', arm: null, experimentId: null, routingKeyHash: null,
  segment: null, shadow: false, fallback: false, rows: 1, inputs: [Float32Array.of(1.5, 2)], outputs: [Float32Array.of(0.25)], scores: null, latencyUs: 120, error: null, ...extra,
});

describe('InferenceLog', () => {
  it('a hanging database fills the bounded buffer; the overflow is dropped and counted, never awaited', async () => {
    const mode = { current: 'hang' as 'hang' | 'fail' | 'ok' };
    const drops: Record<string, number> = {};
    const log = new InferenceLog(kyselyLogWriter(fakeDb(mode, []), 'w'), {
      workerId: 'w', capacity: 10, batchRows: 5, flushMs: 5, sampleRate: 1, inputSampleRate: 1,
      onDropped: (n, reason) => { drops[reason] = (drops[reason] ?? 0) + n; },
    });
    const accepted = Array.from({ length: 30 }, (_, i) => log.append(record(i))).filter(Boolean).length;
    // 5 went into the (hanging) write and still count against the bound; 5 more fill it; the
    // other 20 are dropped.
    expect(accepted).toBe(10);
    expect(drops.buffer_full).toBe(20);
    expect(log.buffered).toBe(10);
  });

  it('a failing write drops its rows (counted) and later writes go through', async () => {
    const mode = { current: 'fail' as 'hang' | 'fail' | 'ok' };
    const sent: CompiledQuery[] = [];
    let written = 0;
    const drops: Record<string, number> = {};
    const log = new InferenceLog(kyselyLogWriter(fakeDb(mode, sent), 'worker-1'), {
      workerId: 'worker-1', capacity: 100, batchRows: 100, flushMs: 5, sampleRate: 1, inputSampleRate: 1,
      onWritten: (n) => { written += n; }, onDropped: (n, reason) => { drops[reason] = (drops[reason] ?? 0) + n; }, onError: () => undefined,
    });
    log.start();
    for (let i = 0; i < 3; i++) log.append(record(i));
    await new Promise((r) => setTimeout(r, 30));
    expect(drops.database).toBe(3);
    mode.current = 'ok';
    log.append(record(3, { arm: 'tr"eat\\ment', experimentId: 'e1', routingKeyHash: 'abc', inputs: [Float32Array.of(1, 2, 3, 4), Float32Array.of(9, 8)], rows: 2, outputs: null }));
    await log.close();
    expect(written).toBe(1);
    const q = sent[sent.length - 1] as CompiledQuery;
    expect(q.sql).toMatch(/INSERT INTO inference_log .* FROM unnest\(/s);
    // Array literals: quoted strings with escapes, NULLs, row-major interleaving of two inputs
    // (inputs as a bytea[] element: the float32 little-endian bytes in hex).
    expect(q.parameters).toContain('{"tr\\"eat\\\\ment"}');
    expect(q.sql).toContain('$11::bytea[]');
    expect(q.parameters).toContain(`{"\\\\x${Buffer.from(Float32Array.of(1, 2, 9, 3, 4, 8).buffer).toString('hex')}"}`);
    expect(q.parameters).toContain('{NULL}');
    expect(q.parameters).toContain('worker-1');
    expect(q.sql).toContain('error');
  });

  it('samples by request id, so a request\'s primary and shadow rows agree, and keeps every experiment row', () => {
    const log = new InferenceLog(kyselyLogWriter(fakeDb({ current: 'ok' }, []), 'w'), { workerId: 'w', capacity: 10, batchRows: 10, flushMs: 1000, sampleRate: 0.3, inputSampleRate: 1 });
    let kept = 0;
    for (let i = 0; i < 10_000; i++) {
      const a = log.sampled(`req-${i}`, null);
      expect(log.sampled(`req-${i}`, null)).toBe(a);
      if (a) kept++;
      expect(log.sampled(`req-${i}`, 'exp')).toBe(true);
    }
    expect(Math.abs(kept / 10_000 - 0.3)).toBeLessThan(0.02);
  });

  it('keeps a logged row\'s inputs at the input sample rate, by request id, experiment rows included; outputs always', () => {
    const log = new InferenceLog(kyselyLogWriter(fakeDb({ current: 'ok' }, []), 'w'), { workerId: 'w', capacity: 20_000, batchRows: 20_000, flushMs: 1000, sampleRate: 1, inputSampleRate: 0.25 });
    const n = 8000;
    let withInputs = 0;
    for (let i = 0; i < n; i++) {
      const primary = record(i, { experimentId: i % 2 === 0 ? 'exp' : null });
      const shadow = record(i, { shadow: true });
      expect(log.append(primary)).toBe(true);
      expect(log.append(shadow)).toBe(true);
      // The row stays (experiment rows are never sampled away); only its inputs may go, and a
      // request's primary and shadow rows keep or drop them together.
      expect(primary.outputs).not.toBeNull();
      expect(primary.inputs === null).toBe(shadow.inputs === null);
      if (primary.inputs !== null) withInputs++;
    }
    // Binomial(8000, 0.25): sd 38.7 rows; 5 sd either side.
    expect(Math.abs(withInputs - n * 0.25)).toBeLessThan(5 * Math.sqrt(n * 0.25 * 0.75));
    expect(log.buffered).toBe(2 * n);
  });
});

/** The tuples of a binary COPY payload: per row, each field's bytes (null for NULL). */
function decodeCopy(payload: Buffer): Array<Array<Buffer | null>> {
  expect(payload.subarray(0, 11).toString('latin1')).toBe('PGCOPY\n\xff\r\n\0');
  let at = 11;
  expect(payload.readInt32BE(at)).toBe(0); // flags
  at += 4;
  at += 4 + payload.readInt32BE(at); // header extension
  const rows: Array<Array<Buffer | null>> = [];
  for (;;) {
    const fields = payload.readInt16BE(at);
    at += 2;
    if (fields === -1) break;
    const row: Array<Buffer | null> = [];
    for (let f = 0; f < fields; f++) {
      const length = payload.readInt32BE(at);
      at += 4;
      if (length < 0) { row.push(null); continue; }
      row.push(payload.subarray(at, at + length));
      at += length;
    }
    rows.push(row);
  }
  expect(at).toBe(payload.length);
  return rows;
}

/** A binary real[] (one dimension, no NULLs) as numbers. */
function decodeRealArray(b: Buffer): number[] {
  expect(b.readInt32BE(0)).toBe(1); // dimensions
  expect(b.readInt32BE(8)).toBe(700); // float4
  const n = b.readInt32BE(12);
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    expect(b.readInt32BE(20 + 8 * k)).toBe(4);
    out.push(b.readFloatBE(24 + 8 * k));
  }
  return out;
}

describe('encodeCopy', () => {
  it('writes inputs as a bytea of exactly the Float32Array bytes, outputs as real[]', async () => {
    const batches: PackedRows[] = [];
    const log = new InferenceLog({ write: async (rows) => { batches.push(rows); }, close: async () => undefined }, {
      workerId: 'w', capacity: 100, batchRows: 100, flushMs: 1000, sampleRate: 1, inputSampleRate: 1,
    });
    const a = Float32Array.of(1.5, -2, 0.1, Number.NaN, -0, 3.4e38, 1e-45);
    const b1 = Float32Array.of(1, 2, 3, 4);
    const b2 = Float32Array.of(9, 8);
    log.append(record(0, { inputs: [a], outputs: [Float32Array.of(0.25)] }));
    log.append(record(1, { inputs: null, outputs: null, error: 'bad_request: nope' }));
    // Two model inputs, two rows: interleaved row-major (row 0: 1, 2, 9; row 1: 3, 4, 8).
    log.append(record(2, { rows: 2, inputs: [b1, b2], outputs: [Float32Array.of(0.5, 0.75)], requestId: 'réq-2', routingKeyHash: '9f86d081884c7d65' }));
    // Before PostgreSQL's epoch (2000-01-01): a negative count of microseconds.
    log.append(record(3, { atMs: Date.UTC(1999, 11, 31, 23, 59, 59, 500) + 0.25, requestId: 'r3', routingKeyHash: 'ü' }));
    await log.close();
    expect(batches).toHaveLength(1);
    const rows = decodeCopy(encodeCopy(batches[0] as PackedRows, 'worker-7'));
    expect(rows).toHaveLength(4);
    // timestamptz as int64 microseconds since 2000-01-01.
    expect(rows.map((r) => r[1]?.readBigInt64BE(0))).toEqual([
      BigInt((1_700_000_000_000 - 946_684_800_000) * 1000), BigInt((1_700_000_000_001 - 946_684_800_000) * 1000),
      BigInt((1_700_000_000_002 - 946_684_800_000) * 1000), -499_750n,
    ]);
    expect(rows.map((r) => r[6]?.toString() ?? null)).toEqual([null, null, '9f86d081884c7d65', 'ü']);
    expect(rows.map((r) => r[0]?.toString())).toEqual(['r0', 'r1', 'réq-2', 'r3']);
    for (const r of rows) expect(r).toHaveLength(16);
    const [r0, r1, r2] = rows as [Array<Buffer | null>, Array<Buffer | null>, Array<Buffer | null>];
    expect(r0[10]).toEqual(Buffer.from(a.buffer));
    expect(decodeRealArray(r0[11] as Buffer)).toEqual([0.25]);
    expect(r1[10]).toBeNull();
    expect(r1[11]).toBeNull();
    expect(r1[13]?.toString()).toBe('bad_request: nope');
    expect(r2[10]).toEqual(Buffer.from(Float32Array.of(1, 2, 9, 3, 4, 8).buffer));
    expect(decodeRealArray(r2[11] as Buffer)).toEqual([0.5, 0.75]);
    expect(r2[0]?.toString()).toBe('réq-2');
    expect(r2[14]?.toString()).toBe('worker-7');
  });
});

describe('scores', () => {
  const COPY_SCORES = LOG_COLUMNS.indexOf('scores');
  const appendScored = (log: InferenceLog) => {
    log.append(record(0, { scores: Float64Array.of(0.25) }));
    // Two rows, two scores; a multiclass top-class index is a score like any other.
    log.append(record(1, { rows: 2, outputs: [Float32Array.of(0.5, 0.75)], scores: Float64Array.of(0.1, 2) }));
    // An error, and a version without a contract: NULL.
    log.append(record(2, { outputs: null, error: 'inference_failed: x' }));
    log.append(record(3, { scores: null }));
    log.append(record(4, { scores: Float64Array.of(Number.NaN, -1.5e300) }));
  };

  it('the COPY encoder writes one real per row in the scores column, NULL where there are none', async () => {
    const batches: PackedRows[] = [];
    const log = new InferenceLog({ write: async (rows) => { batches.push(rows); }, close: async () => undefined }, {
      workerId: 'w', capacity: 100, batchRows: 100, flushMs: 1000, sampleRate: 1, inputSampleRate: 1,
    });
    appendScored(log);
    await log.close();
    const rows = decodeCopy(encodeCopy(batches[0] as PackedRows, 'w'));
    expect(COPY_SCORES).toBeGreaterThanOrEqual(0);
    expect(rows.map((r) => (r[COPY_SCORES] === null ? null : decodeRealArray(r[COPY_SCORES] as Buffer)))).toEqual([
      [0.25], [Math.fround(0.1), 2], null, null, [Number.NaN, -Infinity],
    ]);
    // The other columns are where they were.
    expect(decodeRealArray(rows[1]?.[11] as Buffer)).toEqual([0.5, 0.75]);
    expect(rows[1]?.[14]?.toString()).toBe('w');
  });

  it('the INSERT encoder sends the scores as a text[] of real[] literals, cast in the statement', async () => {
    const sent: CompiledQuery[] = [];
    const log = new InferenceLog(kyselyLogWriter(fakeDb({ current: 'ok' }, sent), 'w'), {
      workerId: 'w', capacity: 100, batchRows: 100, flushMs: 1000, sampleRate: 1, inputSampleRate: 1,
    });
    appendScored(log);
    await log.close();
    const q = sent[0] as CompiledQuery;
    expect(q.sql).toMatch(/worker_id, scores\)/);
    expect(q.sql).toContain('sc::real[]');
    expect(q.sql).toContain('$16::text[]');
    expect(q.parameters).toHaveLength(16);
    expect(q.parameters[15]).toBe(`{"{0.25}","{${Math.fround(0.1)},2}",NULL,NULL,"{NaN,-Infinity}"}`);
    expect(q.parameters[14]).toBe('w');
  });

  it('counts the scores against the byte budget', () => {
    const log = new InferenceLog({ write: async () => undefined, close: async () => undefined }, {
      workerId: 'w', capacity: 100, batchRows: 100, flushMs: 1000, sampleRate: 1, inputSampleRate: 1,
    });
    log.append(record(0, { inputs: null, scores: null }));
    const without = log.bufferedBytes;
    log.append(record(1, { inputs: null, scores: Float64Array.of(1, 2, 3) }));
    expect(log.bufferedBytes - without).toBe(without + 12);
  });
});

describe('buffer reuse', () => {
  it('fills the buffers of a written batch again, and every batch reads back exactly what was appended', async () => {
    const seen: Array<{ buffer: ArrayBufferLike; rows: Array<Array<Buffer | null>> }> = [];
    const log = new InferenceLog({
      // Decode at write time (as the log thread does), then hand the buffers back.
      write: async (rows) => { seen.push({ buffer: rows.codes.buffer, rows: decodeCopy(encodeCopy(rows, 'w')) }); return rows; },
      close: async () => undefined,
    }, { workerId: 'w', capacity: 100, batchRows: 2, flushMs: 1000, sampleRate: 1, inputSampleRate: 1 });
    // Ids of decreasing length: a reused text pool must not leave an earlier id's tail behind.
    const ids = ['request-aaaa', 'request-bbb', 'rq-cc', 'rq-d', 'e', 'f'];
    for (const [i, requestId] of ids.entries()) {
      log.append(record(i, { requestId, routingKeyHash: i % 2 ? null : `k${i}`, inputs: [Float32Array.of(i, -i)], outputs: [Float32Array.of(i / 10)] }));
      await new Promise((r) => setImmediate(r));
    }
    await log.close();
    expect(seen).toHaveLength(3);
    // Batch 3 was written in batch 1's buffers (batch 2's were fresh: batch 1 was still being written).
    expect(seen[2]?.buffer).toBe(seen[0]?.buffer);
    const decoded = seen.flatMap((b) => b.rows);
    expect(decoded.map((r) => r[0]?.toString())).toEqual(ids);
    expect(decoded.map((r) => r[6]?.toString() ?? null)).toEqual(['k0', null, 'k2', null, 'k4', null]);
    expect(decoded.map((r) => Array.from(new Float32Array(new Uint8Array(r[10] as Buffer).buffer)))).toEqual(ids.map((_, i) => [i, -i]));
    expect(decoded.map((r) => decodeRealArray(r[11] as Buffer)[0])).toEqual(ids.map((_, i) => Math.fround(i / 10)));
  });
});

describe('byte budget', () => {
  it('keeps rows past its byte budget without their inputs (counted), drops a row whose outputs alone do not fit, and frees the budget once a batch is written', async () => {
    const seen: Array<Array<Buffer | null>> = [];
    let release!: () => void;
    const written = new Promise<void>((r) => { release = r; });
    const counts = { inputsDropped: 0, bufferFull: 0 };
    const log = new InferenceLog({
      write: async (rows) => { seen.push(...decodeCopy(encodeCopy(rows, 'w'))); await written; return rows; },
      close: async () => undefined,
    }, {
      workerId: 'w', capacity: 1000, capacityBytes: 1024, batchRows: 1000, flushMs: 1000, sampleRate: 1, inputSampleRate: 1,
      onInputsDropped: (n) => { counts.inputsDropped += n; },
      onDropped: (n, reason) => { if (reason === 'buffer_full') counts.bufferFull += n; },
    });
    // A 64-value input, one output and a 2-character id: 262 bytes a row, so three fit in 1,024 with their inputs.
    const wide = (i: number) => record(i, { inputs: [new Float32Array(64).fill(i)], outputs: [Float32Array.of(i)] });
    const accepted = [0, 1, 2, 3, 4].map((i) => log.append(wide(i)));
    expect(accepted).toEqual([true, true, true, true, true]);
    expect(counts.inputsDropped).toBe(2);
    expect(log.bufferedBytes).toBe(3 * 262 + 2 * 6);
    // 300 output values (1,200 bytes) cannot fit even alone: the row goes, counted.
    expect(log.append(record(5, { inputs: null, outputs: [new Float32Array(300)] }))).toBe(false);
    expect(counts.bufferFull).toBe(1);

    // While the batch is being written its bytes still count; once written they are free again.
    const closing = log.close();
    await new Promise((r) => setImmediate(r));
    expect(log.bufferedBytes).toBe(3 * 262 + 2 * 6);
    release();
    await closing;
    expect(log.bufferedBytes).toBe(0);
    expect(seen.map((r) => r[0]?.toString())).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
    expect(seen.map((r) => (r[10] === null ? null : (r[10] as Buffer).length))).toEqual([256, 256, 256, null, null]);
    expect(seen.map((r) => decodeRealArray(r[11] as Buffer))).toEqual([[0], [1], [2], [3], [4]]);
  });
});

describe('text the database cannot take', () => {
  it('writes NUL as U+FFFD (one NUL would fail the whole COPY) and cuts an error to 1,024 characters', async () => {
    const seen: Array<Array<Buffer | null>> = [];
    const log = new InferenceLog({ write: async (rows) => { seen.push(...decodeCopy(encodeCopy(rows, 'w'))); return rows; }, close: async () => undefined },
      { workerId: 'w', capacity: 10, batchRows: 10, flushMs: 1000, sampleRate: 1, inputSampleRate: 1 });
    log.append(record(0, { requestId: 'a\u0000b', routingKeyHash: 'k\u0000', error: `bad_request: input 'x\u0000${'y'.repeat(5000)}'` }));
    await log.close();
    expect(seen[0]?.[0]?.toString()).toBe('a\uFFFDb');
    expect(seen[0]?.[6]?.toString()).toBe('k\uFFFD');
    const error = seen[0]?.[13]?.toString() ?? '';
    expect(error.includes('\u0000')).toBe(false);
    expect(error.startsWith("bad_request: input 'x\uFFFDyyy")).toBe(true);
    expect([...error].length).toBe(1025);
    expect(error.endsWith('y…')).toBe(true);
  });
});

describe('loggable', () => {
  it('decodes FP16 bit patterns to the numbers they stand for, and leaves other tensors as they are', () => {
    const sig = signatureFromMetadata([{ name: 'h', isTensor: true, type: 'float16', shape: ['b', 2] }, { name: 'n', isTensor: true, type: 'uint16', shape: ['b', 1] }], []);
    const half = Uint16Array.of(0x3c00, 0xc000); // 1.0, -2.0
    const plain = Uint16Array.of(15360);
    const [h, n] = loggable(sig.inputs, [half, plain]);
    expect(Array.from(h as Float32Array)).toEqual([1, -2]);
    expect(n).toBe(plain);
    const f = Float32Array.of(0.5);
    expect(loggable(signatureFromMetadata([{ name: 'x', isTensor: true, type: 'float32', shape: ['b', 1] }], []).inputs, [f])[0]).toBe(f);
    // Strings have no place in the float column: the numeric outputs are kept, in order.
    const outs = signatureFromMetadata([], [{ name: 'label', isTensor: true, type: 'string', shape: ['b'] }, { name: 'p', isTensor: true, type: 'float32', shape: ['b', 1] }]).outputs;
    expect(loggable(outs, [['cat'] as unknown as Float32Array, f])).toEqual([f]);
  });
});

describe('float32sFromBytes (reading a logged inputs column back)', () => {
  it('copies little-endian floats out of a Buffer at any offset, and refuses a partial float', () => {
    const values = Float32Array.of(1.5, -0, 3.4028234663852886e38, Number.NaN);
    const pooled = Buffer.alloc(3 + values.byteLength);
    Buffer.from(values.buffer).copy(pooled, 3); // an odd offset, as in a shared pool
    const decoded = float32sFromBytes(pooled.subarray(3));
    expect(decoded).not.toBeNull();
    expect(Array.from(decoded as Float32Array)).toEqual(Array.from(values));
    expect(Object.is((decoded as Float32Array)[1], -0)).toBe(true);
    expect(float32sFromBytes(pooled.subarray(3, 9))).toBeNull();
  });
});
