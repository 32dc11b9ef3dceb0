import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateAllDown, migrateToLatest } from '../../src/db/migrate.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

const TABLES = ['models', 'model_versions', 'traffic_generations', 'serving_workers', 'rollouts', 'rollout_steps',
  'experiments', 'experiment_looks', 'inference_log', 'feedback', 'drift_reports', 'audit_log', 'api_keys', 'projects'];

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
