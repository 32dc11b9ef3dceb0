import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMigrator, migrateAllDown, migrateToLatest } from '../../src/db/migrate.js';
import { InferenceLog } from '../../src/serving/log/inference-log.js';
import type { LogRecord } from '../../src/serving/log/log-columns.js';
import { kyselyLogWriter } from '../../src/serving/log/log-writers.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

const TABLES = ['models', 'model_versions', 'traffic_generations', 'serving_workers', 'rollouts', 'rollout_steps',
  'experiments', 'experiment_looks', 'inference_log', 'feedback', 'drift_reports', 'audit_log', 'api_keys', 'projects', 'datasets', 'retrains'];

async function tableNames(t: TestDatabase): Promise<string[]> {
  const { rows } = await sql<{ table_name: string }>`
    SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name NOT LIKE 'kysely_%'`.execute(t.db);
  return rows.map((r) => r.table_name).sort();
}

describe('migrations on a real PostgreSQL', () => {
  let t: TestDatabase;
  beforeAll(async () => { t = await createTestDatabase({ migrate: false }); });
  afterAll(async () => { await t?.drop(); });

  it('migrates up to latest, down to nothing, and up again', async () => {
    const applied = await migrateToLatest(t.db as Kysely<unknown>);
    expect(applied.length).toBeGreaterThan(0);
    expect(await tableNames(t)).toEqual([...TABLES].sort());
    expect(await migrateToLatest(t.db as Kysely<unknown>)).toEqual([]);

    const reverted = await migrateAllDown(t.db as Kysely<unknown>);
    expect(reverted).toEqual([...applied].reverse());
    expect(await tableNames(t)).toEqual([]);

    await migrateToLatest(t.db as Kysely<unknown>);
    expect(await tableNames(t)).toEqual([...TABLES].sort());
  });

  describe('constraints reject bad rows', () => {
    let modelId: string;
    let v1: string;
    beforeAll(async () => {
      const model = await t.db.insertInto('models').values({ project_id: 'default', name: 'credit' }).returning('id').executeTakeFirstOrThrow();
      modelId = model.id;
      const version = (v: string) => ({
        model_id: modelId, version: v, artifact_uri: `file:///a/${v}`, sha256: 'a'.repeat(64), size_bytes: 10,
        signature: { inputs: [], outputs: [] },
      });
      v1 = (await t.db.insertInto('model_versions').values({ ...version('v1'), status: 'production' }).returning('id').executeTakeFirstOrThrow()).id;
      await t.db.insertInto('model_versions').values(version('v2')).execute();
    });

    it('weights outside [0,1] or not summing to 1', async () => {
      const gen = (generation: number, weights: Record<string, number>) =>
        t.db.insertInto('traffic_generations').values({ model_id: modelId, generation, weights, created_by: 'test' }).execute();
      await expect(gen(1, { v1: 1.5, v2: -0.5 })).rejects.toThrow(/sluice_weights_valid|check constraint/);
      await expect(gen(1, { v1: 0.5, v2: 0.4 })).rejects.toThrow(/check constraint/);
      await expect(gen(1, {})).rejects.toThrow(/check constraint/);
      await gen(1, { v1: 0.95, v2: 0.05 });
      await expect(gen(1, { v1: 1 })).rejects.toThrow(/unique/i);
      const rows = await t.db.selectFrom('traffic_generations').selectAll().execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]?.weights).toEqual({ v1: 0.95, v2: 0.05 });
    });

    it('a second production version for the same model', async () => {
      await expect(t.db.updateTable('model_versions').set({ status: 'production' }).where('version', '=', 'v2').execute())
        .rejects.toThrow(/model_versions_one_production/);
    });

    it('a duplicate version, a bad sha256, an unknown model', async () => {
      const base = { model_id: modelId, artifact_uri: 'file:///x', size_bytes: 1, signature: { inputs: [], outputs: [] } };
      await expect(t.db.insertInto('model_versions').values({ ...base, version: 'v1', sha256: 'b'.repeat(64) }).execute()).rejects.toThrow(/unique/i);
      await expect(t.db.insertInto('model_versions').values({ ...base, version: 'v9', sha256: 'XYZ' }).execute()).rejects.toThrow(/check constraint/);
      await expect(t.db.insertInto('model_versions').values({ ...base, model_id: 999999, version: 'v9', sha256: 'c'.repeat(64) }).execute()).rejects.toThrow(/foreign key/);
    });

    it('a second running rollout for the same model', async () => {
      const rollout = (id: string) => ({ id, workflow_id: 'rollout:credit', model_id: modelId, candidate_version_id: v1, policy: {}, started_by: 'test' });
      await t.db.insertInto('rollouts').values(rollout('r1')).execute();
      await expect(t.db.insertInto('rollouts').values(rollout('r2')).execute()).rejects.toThrow(/rollouts_one_running/);
    });

    it('feedback with NaN or no join key', async () => {
      await expect(t.db.insertInto('feedback').values({ model: 'credit', request_id: 'r', metric: 'converted', value: Number.NaN }).execute()).rejects.toThrow(/check constraint/);
      await expect(t.db.insertInto('feedback').values({ model: 'credit', metric: 'converted', value: 1 }).execute()).rejects.toThrow(/check constraint/);
    });
  });
});

/** A real[] literal that keeps -0 (String(-0) is "0"). */
const realLiteral = (xs: Float32Array) => `{${Array.from(xs, (x) => (Object.is(x, -0) ? '-0' : String(x))).join(',')}}`;

describe('inference_log.inputs as float32 little-endian bytea (migration 0003)', () => {
  let t: TestDatabase;
  beforeAll(async () => { t = await createTestDatabase({ migrate: false }); });
  afterAll(async () => { await t?.drop(); });

  // Edge values (zeros, extremes, subnormals, infinities, NaN) and random bit patterns.
  const edges = Float32Array.of(0, -0, 1, -1, 1.5, 0.1, -2.75, 3.4028234663852886e38, -3.4028234663852886e38, 1.1754943508222875e-38,
    1e-45, -1e-45, 1.1754942106924411e-38, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN);
  const random = new Float32Array(new Uint32Array(Array.from({ length: 2000 }, (_, i) => (Math.imul(i + 1, 2654435761) ^ (i << 7)) >>> 0)).buffer)
    .map((x) => (Number.isNaN(x) ? 0.5 : x)); // NaN payloads are not kept by real[] text; tested above as plain NaN
  const rows = [edges, random, Float32Array.of(42), new Float32Array(0)];

  it('converts logged real[] inputs to their float32 little-endian bytes, and back on down', async () => {
    const db = t.db as Kysely<unknown>;
    const to0002 = await createMigrator(db).migrateTo('2026_11_23_0002_lifecycle');
    expect(to0002.error).toBeUndefined();
    for (const [i, xs] of [...rows, null].entries()) {
      await sql`INSERT INTO inference_log (request_id, at, model, version, inputs, outputs, latency_us, worker_id)
        VALUES (${`m-${i}`}, now(), 'credit', 'v1', ${xs === null ? null : realLiteral(xs)}::real[], '{0.25}', 1, 'w')`.execute(db);
    }
    const to0003 = await createMigrator(db).migrateTo('2026_12_04_0003_inference_log_inputs_bytea');
    expect(to0003.error).toBeUndefined();
    expect(to0003.results?.map((r) => r.migrationName)).toEqual(['2026_12_04_0003_inference_log_inputs_bytea']);

    const after = await t.db.selectFrom('inference_log').select(['request_id', 'inputs', 'outputs']).orderBy('id').execute();
    expect(after.map((r) => r.inputs)).toEqual([...rows.map((xs) => Buffer.from(xs.buffer)), null]);
    expect(after.map((r) => r.outputs)).toEqual(after.map(() => [0.25]));
    const { rows: [comment] } = await sql<{ c: string }>`SELECT col_description('inference_log'::regclass, attnum) AS c FROM pg_attribute
      WHERE attrelid = 'inference_log'::regclass AND attname = 'inputs'`.execute(db);
    expect(comment?.c).toMatch(/^float32 little-endian, row-major/);
    const { rows: fns } = await sql`SELECT proname FROM pg_proc WHERE proname LIKE 'sluice_%f32le%'`.execute(db);
    expect(fns).toEqual([]);

    // Down: back to the same real[] values (bit for bit, -0 and subnormals included).
    const down = await createMigrator(db).migrateDown();
    expect(down.error).toBeUndefined();
    const { rows: before } = await sql<{ inputs: number[] | null }>`SELECT inputs FROM inference_log ORDER BY id`.execute(db);
    const bits = (xs: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(xs).buffer));
    expect(before.map((r) => (r.inputs === null ? null : bits(r.inputs)))).toEqual([...rows.map(bits), null]);
    expect(await migrateToLatest(db)).toEqual(['2026_12_04_0003_inference_log_inputs_bytea', '2026_12_04_0004_inference_log_one_model_index', '2026_12_04_0005_inference_log_brin', '2026_12_04_0006_inference_log_inline_rows', '2026_12_07_0007_model_contract', '2026_12_08_0008_datasets', '2026_12_08_0009_inference_log_scores', '2026_12_08_0011_lineage_and_retrains', '2026_12_08_0012_model_contract_hints', '2026_12_08_0013_drift_monitor']);
  });

  it('leaves inference_log with its primary key and one BRIN index on time, and puts the B-trees back on down', async () => {
    const db = t.db as Kysely<unknown>;
    const indexes = async () => (await sql<{ indexname: string; indexdef: string }>`
      SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'inference_log' ORDER BY indexname`.execute(db)).rows;
    expect((await indexes()).map((r) => r.indexname)).toEqual(['inference_log_at_brin', 'inference_log_pkey']);
    expect((await indexes())[0]?.indexdef).toMatch(/USING brin \(at\)/);
    const down = await createMigrator(db).migrateTo('2026_12_04_0004_inference_log_one_model_index');
    expect(down.error).toBeUndefined();
    expect((await indexes()).map((r) => r.indexname)).toEqual([
      'inference_log_experiment_idx', 'inference_log_model_version_at_idx', 'inference_log_pkey', 'inference_log_request_idx']);
    expect(await migrateToLatest(db)).toEqual(['2026_12_04_0005_inference_log_brin', '2026_12_04_0006_inference_log_inline_rows', '2026_12_07_0007_model_contract', '2026_12_08_0008_datasets', '2026_12_08_0009_inference_log_scores', '2026_12_08_0011_lineage_and_retrains', '2026_12_08_0012_model_contract_hints', '2026_12_08_0013_drift_monitor']);
  });

  it('keeps a 64-row request\'s log row inline, untoasted (migration 0006), and restores the defaults on down', async () => {
    const db = t.db as Kysely<unknown>;
    const settings = async () => (await sql<{ options: string[] | null; storage: string; toast: string }>`
      SELECT c.reloptions AS options, a.attstorage AS storage, c.reltoastrelid::regclass::text AS toast
      FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'inputs' WHERE c.relname = 'inference_log'`.execute(db)).rows[0];
    const toastRows = async (toast: string) => Number((await sql<{ n: string }>`SELECT count(*) AS n FROM ${sql.table(toast)}`.execute(db)).rows[0]?.n);
    const logWide = async (id: string) => {
      // 64 rows of 19 float32 features: 4,864 bytes, over the default 2 kB TOAST threshold.
      const inputs = Buffer.from(Float32Array.from({ length: 64 * 19 }, (_, i) => Math.sin(i) * 1000).buffer);
      await sql`INSERT INTO inference_log (request_id, at, model, version, inputs, outputs, latency_us, worker_id)
        VALUES (${id}, now(), 'credit', 'v1', ${inputs}, '{0.25}', 1, 'w')`.execute(db);
    };
    const latest = await settings();
    expect(latest?.options).toContain('toast_tuple_target=8160');
    expect(latest?.storage).toBe('e');
    const toast = latest?.toast as string;
    const before = await toastRows(toast);
    await logWide('wide-inline');
    expect(await toastRows(toast)).toBe(before);

    const down = await createMigrator(db).migrateTo('2026_12_04_0005_inference_log_brin');
    expect(down.error).toBeUndefined();
    const defaults = await settings();
    expect(defaults?.options).toBeNull();
    expect(defaults?.storage).toBe('x');
    await logWide('wide-toasted'); // the default would move it out of line
    expect(await toastRows(toast)).toBeGreaterThan(before);
    await sql`DELETE FROM inference_log WHERE request_id IN ('wide-inline', 'wide-toasted')`.execute(db);
    expect(await migrateToLatest(db)).toEqual(['2026_12_04_0006_inference_log_inline_rows', '2026_12_07_0007_model_contract', '2026_12_08_0008_datasets', '2026_12_08_0009_inference_log_scores', '2026_12_08_0011_lineage_and_retrains', '2026_12_08_0012_model_contract_hints', '2026_12_08_0013_drift_monitor']);
  });

  it('the INSERT writer stores inputs that read back as the exact Float32Array bytes', async () => {
    const log = new InferenceLog(kyselyLogWriter(t.db, 'w-insert'), { workerId: 'w-insert', capacity: 100, batchRows: 100, flushMs: 1000, sampleRate: 1, inputSampleRate: 1 });
    const record = (requestId: string, extra: Partial<LogRecord>): LogRecord => ({
      requestId, atMs: Date.now(), model: 'credit', version: 'v1', arm: null, experimentId: null, routingKeyHash: null, segment: null,
      shadow: false, fallback: false, rows: 1, inputs: null, outputs: [Float32Array.of(0.5)], scores: null, latencyUs: 10, error: null, ...extra,
    });
    log.append(record('ins-0', { inputs: [edges], scores: Float64Array.of(0.5) }));
    log.append(record('ins-1', { inputs: [Float32Array.of(1, 2, 3, 4), Float32Array.of(9, 8)], rows: 2, outputs: [Float32Array.of(0.1, 0.2)], scores: Float64Array.of(0.1, 2) }));
    log.append(record('ins-2', { inputs: null }));
    await log.close();
    const got = await t.db.selectFrom('inference_log').select(['request_id', 'inputs', 'outputs', 'scores']).where('worker_id', '=', 'w-insert').orderBy('request_id').execute();
    expect(got.map((r) => r.inputs)).toEqual([Buffer.from(edges.buffer), Buffer.from(Float32Array.of(1, 2, 9, 3, 4, 8).buffer), null]);
    expect(got[1]?.outputs?.map(Math.fround)).toEqual([Math.fround(0.1), Math.fround(0.2)]);
    // One score per row of each request (real[]: float32), NULL where there is none.
    expect(got.map((r) => r.scores?.map(Math.fround) ?? null)).toEqual([[0.5], [Math.fround(0.1), 2], null]);
  });
});
