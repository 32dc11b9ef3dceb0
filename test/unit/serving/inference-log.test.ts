import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, type CompiledQuery, type DatabaseConnection, type QueryResult } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { Database } from '../../../src/db/schema.js';
import { InferenceLog, kyselyLogWriter, type LogRecord } from '../../../src/serving/inference-log.js';

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
  segment: null, shadow: false, fallback: false, rows: 1, inputs: [Float32Array.of(1.5, 2)], outputs: [Float32Array.of(0.25)], latencyUs: 120, error: null, ...extra,
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
    // Array literals: quoted strings with escapes, NULLs, row-major interleaving of two inputs.
    expect(q.parameters).toContain('{"tr\\"eat\\\\ment"}');
    expect(q.parameters).toContain('{"{1,2,9,3,4,8}"}');
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
});
