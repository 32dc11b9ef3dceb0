// The readers of inference_log (experiment looks, shadow agreement) on a real PostgreSQL. The log
// is indexed by time only (migration 0005), so each reader bounds its scans by time; these tests
// pin that the bounds keep every row that belongs to the answer.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExperimentActivities } from '../../src/activities/experiments.js';
import { createMetricsActivities } from '../../src/activities/metrics.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

let t: TestDatabase;
beforeAll(async () => { t = await createTestDatabase(); });
afterAll(async () => { await t.drop(); });

interface Row { requestId: string; at: string; version: string; arm?: string; experimentId?: string; key?: string; shadow?: boolean; output?: number; error?: string }
async function log(rows: Row[]): Promise<void> {
  await t.db.insertInto('inference_log').values(rows.map((r) => ({
    request_id: r.requestId, at: new Date(r.at), model: 'credit', version: r.version, arm: r.arm ?? null,
    experiment_id: r.experimentId ?? null, routing_key_hash: r.key ?? null, shadow: r.shadow ?? false,
    outputs: r.error ? null : [r.output ?? 0.9], error: r.error ?? null, latency_us: 100, worker_id: 'w1',
  }))).execute();
}
const seconds = (iso: string, s: number) => new Date(Date.parse(iso) + s * 1000).toISOString();

describe('collectExperimentStats', () => {
  it('counts units per arm and joins feedback by routing key and by request id, rows logged by a slow worker clock included', async () => {
    const model = await t.db.insertInto('models').values({ project_id: 'default', name: 'credit' }).returning('id').executeTakeFirstOrThrow();
    const version = await t.db.insertInto('model_versions').values({
      model_id: model.id, version: 'v2', artifact_uri: 'file:///a/v2', sha256: 'a'.repeat(64), size_bytes: 10, signature: { inputs: [], outputs: [] },
    }).returning('id').executeTakeFirstOrThrow();
    await t.db.insertInto('rollouts').values({ id: 'r1', workflow_id: 'rollout:credit', model_id: model.id, candidate_version_id: version.id, policy: {}, started_by: 'test' }).execute();
    const activities = createExperimentActivities(t.db);
    const { startedAt } = await activities.startExperiment({
      experimentId: 'e1', rolloutId: 'r1', model: 'credit', kind: 'ab', salt: 's',
      arms: [{ name: 'control', version: 'v1' }, { name: 'treatment', version: 'v2' }], primaryMetric: 'converted', config: {},
    });
    await log([
      // Logged by a worker whose clock runs 30 s behind the database's: k5's only request.
      { requestId: 'q7', at: seconds(startedAt, -30), version: 'v2', arm: 'treatment', experimentId: 'e1', key: 'k5' },
      { requestId: 'q1', at: seconds(startedAt, 1), version: 'v1', arm: 'control', experimentId: 'e1', key: 'k1' },
      { requestId: 'q2', at: seconds(startedAt, 5), version: 'v1', arm: 'control', experimentId: 'e1', key: 'k1' },
      { requestId: 'q3', at: seconds(startedAt, 6), version: 'v1', arm: 'control', experimentId: 'e1', key: 'k2' },
      { requestId: 'q4', at: seconds(startedAt, 7), version: 'v2', arm: 'treatment', experimentId: 'e1', key: 'k3' },
      { requestId: 'q5', at: seconds(startedAt, 8), version: 'v2', arm: 'treatment', experimentId: 'e1', key: 'k4' },
      // Not this experiment's: another experiment, a shadow copy, traffic before any experiment.
      { requestId: 'q6', at: seconds(startedAt, 9), version: 'v2', arm: 'treatment', experimentId: 'e0', key: 'k9' },
      { requestId: 'q5', at: seconds(startedAt, 8), version: 'v3', experimentId: 'e1', key: 'k4', shadow: true },
      { requestId: 'q0', at: seconds(startedAt, -3600), version: 'v1', key: 'k1' },
    ]);
    await t.db.insertInto('feedback').values([
      { model: 'credit', routing_key_hash: 'k1', metric: 'converted', value: 1, at: new Date(seconds(startedAt, 10)) },
      { model: 'credit', request_id: 'q3', metric: 'converted', value: 2, at: new Date(seconds(startedAt, 10)) },
      { model: 'credit', request_id: 'q4', metric: 'converted', value: 1, at: new Date(seconds(startedAt, 10)) },
      { model: 'credit', request_id: 'q4', metric: 'converted', value: 1, at: new Date(seconds(startedAt, 11)) },
    ]).execute();

    const snapshot = await activities.collectExperimentStats({ experimentId: 'e1', model: 'credit', metrics: ['converted'], since: startedAt });
    expect(snapshot.assigned).toEqual({ control: 2, treatment: 3 });
    expect(snapshot.metrics.converted).toEqual({
      control: { n: 2, successes: 2, sum: 3, sumSquares: 1 + 4 },
      treatment: { n: 3, successes: 1, sum: 2, sumSquares: 4 },
    });
  });
});

describe('measureShadowWindow', () => {
  it('pairs each shadow answer in the window with its primary answer', async () => {
    const from = '2026-12-04T10:00:00.000Z';
    const to = '2026-12-04T10:01:00.000Z';
    await log([
      { requestId: 's1', at: seconds(from, 1), version: 'v1', output: 0.9 },
      { requestId: 's1', at: seconds(from, 1), version: 'v2', shadow: true, output: 0.8 },
      { requestId: 's2', at: seconds(from, 59.999), version: 'v1', output: 0.9 },
      { requestId: 's2', at: seconds(from, 59.999), version: 'v2', shadow: true, output: 0.1 },
      { requestId: 's3', at: from, version: 'v1', output: 0.2 },
      { requestId: 's3', at: from, version: 'v2', shadow: true, error: 'inference_failed: boom' },
      // Outside the window, on both sides.
      { requestId: 's4', at: to, version: 'v1', output: 0.9 },
      { requestId: 's4', at: to, version: 'v2', shadow: true, output: 0.9 },
    ]);
    const shadow = await createMetricsActivities(t.db).measureShadowWindow({ model: 'credit', primary: 'v1', shadow: 'v2', from, to });
    // The model has no contract: the first output on the same side of 0.5 decides.
    expect(shadow).toEqual({ compared: 2, agreed: 1, agreement: 0.5, shadowErrors: 1, rule: 'first output on the same side of 0.5' });
  });
});

it('inference_log is read through its BRIN index on time once the table is large', async () => {
  await sql`INSERT INTO inference_log (request_id, at, model, version, outputs, latency_us, worker_id)
    SELECT 'bulk-' || i, timestamptz '2026-01-01' + i * interval '10 ms', 'credit', 'v1', '{0.5}', 1, 'w'
    FROM generate_series(1, 200000) AS i`.execute(t.db);
  await sql`ANALYZE inference_log`.execute(t.db);
  const { rows } = await sql<{ 'QUERY PLAN': string }>`EXPLAIN SELECT count(*) FROM inference_log
    WHERE model = 'credit' AND version = 'v1' AND at >= '2026-01-01T00:10:00Z' AND at < '2026-01-01T00:11:00Z'`.execute(t.db);
  expect(rows.map((r) => r['QUERY PLAN']).join('\n')).toContain('Bitmap Index Scan on inference_log_at_brin');
});
