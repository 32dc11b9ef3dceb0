// Repository functions that used to be queries inside activities, routes and the serving worker,
// on a real PostgreSQL: workers' rows, experiments and their looks, feedback, the canary window's
// numbers from inference_log rows, rollout bookkeeping, version promotion, golden sets, health.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelContract } from '../../../src/contracts/index.js';
import type { Model } from '../../../src/db/schema.js';
import { deleteAuditEntry, listAudit, recordAudit } from '../../../src/registry/audit.js';
import { RegistryError } from '../../../src/registry/errors.js';
import {
  experimentStats, findExperiment, finishExperiment, listExperimentLooks, listRolloutExperiments, recordExperimentLook, startExperiment,
} from '../../../src/registry/experiments.js';
import { insertFeedback } from '../../../src/registry/feedback.js';
import { pingDatabase, probeDatabase } from '../../../src/registry/health.js';
import { canaryWindow, PREDICTION_BINS } from '../../../src/registry/inference-windows.js';
import { createModel, findModel, goldenSetProblem, setGoldenSet, setModelContract } from '../../../src/registry/models.js';
import {
  completeRollout, findRollout, insertRollout, listRolloutSteps, newRolloutId, recordRolloutStep, runningRolloutWithVersion, setRolloutPhase,
} from '../../../src/registry/rollouts.js';
import { findVersion, findVersionsByName, insertVersion, isArtifactReferenced, markVersionStatus, productionVersion, promoteVersion, setVersionStatus } from '../../../src/registry/versions.js';
import { heartbeatWorker, liveWorkers, markWorker, modelOnFleet, setWorkerDevice, upsertWorker } from '../../../src/registry/workers.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';

let t: TestDatabase;
let credit: Model;
const ids: Record<string, string> = {};

beforeAll(async () => {
  t = await createTestDatabase();
  credit = await createModel(t.db, { projectId: 'default', name: 'credit' });
  for (const [version, sha] of [['v1', 'a'], ['v2', 'b'], ['v3', 'c']] as const) {
    const row = await insertVersion(t.db, {
      modelId: credit.id, version, artifactUri: `file:///nowhere/${version}.onnx`, sha256: sha.repeat(64), sizeBytes: 1,
      signature: { inputs: [{ name: 'input', datatype: 'float32', shape: [-1, 2] }], outputs: [{ name: 'probability', datatype: 'float32', shape: [-1, 1] }] },
    });
    ids[version] = row.id;
  }
  await setVersionStatus(t.db, ids.v1 as string, 'production');
});
afterAll(async () => { await t?.drop(); });

describe('serving workers', () => {
  it('a worker\'s row is live while it beats, shows what it serves, and leaves the live set when it stops', async () => {
    const base = { address: 'http://127.0.0.1:1', adminAddress: 'http://127.0.0.1:2', device: 'cpu' as const };
    await upsertWorker(t.db, { id: 'w-a', ...base, status: 'starting', models: [], generations: {} });
    await upsertWorker(t.db, { id: 'w-b', ...base, status: 'ready', models: [{ model: 'credit', version: 'v1', state: 'ready' }], generations: { credit: 3 } });
    expect((await liveWorkers(t.db)).map((w) => [w.id, w.status])).toEqual([['w-a', 'starting'], ['w-b', 'ready']]);

    await heartbeatWorker(t.db, 'w-a', { status: 'ready', models: [{ model: 'credit', version: 'v1', state: 'ready' }, { model: 'credit', version: 'v2', state: 'loading' }, { model: 'other', version: 'z', state: 'ready' }], generations: { credit: 4, other: 1 } });
    await setWorkerDevice(t.db, 'w-a', 'cuda');
    const [a] = await liveWorkers(t.db);
    expect(a).toMatchObject({ id: 'w-a', status: 'ready', device: 'cuda', generations: { credit: 4, other: 1 } });
    expect(a?.models).toHaveLength(3);

    expect(await modelOnFleet(t.db, 'credit')).toEqual([
      expect.objectContaining({ worker: 'w-a', device: 'cuda', generation: 4, versions: [{ version: 'v1', state: 'ready' }, { version: 'v2', state: 'loading' }] }),
      expect.objectContaining({ worker: 'w-b', generation: 3, versions: [{ version: 'v1', state: 'ready' }] }),
    ]);
    expect((await modelOnFleet(t.db, 'fraud')).map((w) => w.generation)).toEqual([null, null]);

    // A restart under the same id resets started_at; a stopped worker is not live.
    const startedBefore = (await t.db.selectFrom('serving_workers').select('started_at').where('id', '=', 'w-b').executeTakeFirstOrThrow()).started_at;
    await new Promise((r) => setTimeout(r, 20));
    await upsertWorker(t.db, { id: 'w-b', ...base, status: 'starting', models: [], generations: {} });
    const startedAfter = (await t.db.selectFrom('serving_workers').select('started_at').where('id', '=', 'w-b').executeTakeFirstOrThrow()).started_at;
    expect(startedAfter.getTime()).toBeGreaterThan(startedBefore.getTime());
    await markWorker(t.db, 'w-b', 'stopped', []);
    expect((await liveWorkers(t.db)).map((w) => w.id)).toEqual(['w-a']);

    // A heartbeat older than the limit is not live either.
    await t.db.updateTable('serving_workers').set({ heartbeat_at: new Date(Date.now() - 60_000) }).where('id', '=', 'w-a').execute();
    expect(await liveWorkers(t.db)).toEqual([]);
    expect((await liveWorkers(t.db, { maxHeartbeatAgeMs: 600_000 })).map((w) => w.id)).toEqual(['w-a']);
  });
});

describe('experiments and feedback', () => {
  it('starts an experiment once, records each look once, finishes once, and reads them back within the project', async () => {
    const rollout = await insertRollout(t.db, { id: newRolloutId(), workflowId: 'rollout:credit', modelId: credit.id, candidateVersionId: ids.v2 as string, baselineVersionId: ids.v1 as string, policy: {}, startedBy: 'test' });
    const experiment = { experimentId: 'exp-1', rolloutId: rollout.id, model: 'credit', kind: 'ab' as const, salt: 's1', arms: [{ name: 'control', version: 'v1' }, { name: 'treatment', version: 'v2' }], primaryMetric: 'converted', config: { alpha: 0.05 } };
    const first = await startExperiment(t.db, experiment);
    const retried = await startExperiment(t.db, { ...experiment, salt: 'changed' });
    expect(retried.startedAt.getTime()).toBe(first.startedAt.getTime());
    const [stored] = await listRolloutExperiments(t.db, rollout.id);
    expect(stored).toMatchObject({ id: 'exp-1', salt: 's1', status: 'running', arms: experiment.arms, config: { alpha: 0.05 } });
    const unknownModel = await startExperiment(t.db, { ...experiment, experimentId: 'exp-x', model: 'nope' }).catch((e: unknown) => e);
    expect(unknownModel).toBeInstanceOf(RegistryError);

    await recordExperimentLook(t.db, { experimentId: 'exp-1', look: 1, armStats: [{ arm: 'control', n: 10 }], result: { p: 0.5 }, decision: 'continue' });
    await recordExperimentLook(t.db, { experimentId: 'exp-1', look: 1, armStats: [], result: { p: 0.01 }, decision: 'promote' });
    await recordExperimentLook(t.db, { experimentId: 'exp-1', look: 2, armStats: [], result: { p: 0.01 }, decision: 'promote' });
    const looks = await listExperimentLooks(t.db, 'exp-1');
    expect(looks.map((l) => [l.look, l.decision, l.result])).toEqual([[1, 'continue', { p: 0.5 }], [2, 'promote', { p: 0.01 }]]);
    expect(looks[0]?.arm_stats).toEqual([{ arm: 'control', n: 10 }]);

    await finishExperiment(t.db, 'exp-1', 'decided', { winner: 'treatment' });
    await finishExperiment(t.db, 'exp-1', 'stopped', { winner: null });
    const found = await findExperiment(t.db, 'exp-1', 'default');
    expect(found).toMatchObject({ model: 'credit', project_id: 'default', status: 'decided', decision: { winner: 'treatment' } });
    expect(found?.ended_at).toBeInstanceOf(Date);
    expect(await findExperiment(t.db, 'exp-1', 'other')).toBeUndefined();
    await completeRollout(t.db, rollout.id, 'promoted', 'done');
  });

  it('stores feedback events in one insert, and experiment statistics join them to the arms', async () => {
    const at = new Date();
    const since = new Date(at.getTime() - 60_000).toISOString();
    await t.db.insertInto('inference_log').values([
      { request_id: 'r1', at, model: 'credit', version: 'v1', arm: 'control', experiment_id: 'exp-f', routing_key_hash: 'h1', latency_us: 10, worker_id: 'w' },
      { request_id: 'r2', at, model: 'credit', version: 'v2', arm: 'treatment', experiment_id: 'exp-f', routing_key_hash: 'h2', latency_us: 10, worker_id: 'w' },
      { request_id: 'r3', at, model: 'credit', version: 'v2', arm: 'treatment', experiment_id: 'exp-f', routing_key_hash: 'h3', latency_us: 10, worker_id: 'w' },
    ]).execute();
    await insertFeedback(t.db, []);
    await insertFeedback(t.db, [
      { model: 'credit', requestId: null, routingKeyHash: 'h2', metric: 'revenue', value: 3, at },
      { model: 'credit', requestId: 'r3', routingKeyHash: null, metric: 'revenue', value: 4, at },
      { model: 'credit', requestId: 'r3', routingKeyHash: null, metric: 'revenue', value: 1, at },
      { model: 'credit', requestId: 'r1', routingKeyHash: null, metric: 'other', value: 9, at },
    ]);
    const rows = await t.db.selectFrom('feedback').selectAll().orderBy('id').execute();
    expect(rows.map((r) => [r.request_id, r.routing_key_hash, r.metric, r.value])).toEqual([[null, 'h2', 'revenue', 3], ['r3', null, 'revenue', 4], ['r3', null, 'revenue', 1], ['r1', null, 'other', 9]]);

    const stats = await experimentStats(t.db, { experimentId: 'exp-f', model: 'credit', metrics: ['revenue'], since });
    expect(stats.assigned).toEqual({ control: 1, treatment: 2 });
    expect(stats.metrics.revenue).toEqual({
      control: { n: 1, successes: 0, sum: 0, sumSquares: 0 },
      treatment: { n: 2, successes: 2, sum: 8, sumSquares: 9 + 25 },
    });
    // The table refuses what no experiment could use.
    await expect(insertFeedback(t.db, [{ model: 'credit', requestId: 'r1', routingKeyHash: null, metric: 'Bad Metric', value: 1, at }])).rejects.toThrow();
  });
});

describe('canaryWindow', () => {
  it('counts requests, errors, p99 and the prediction histogram of primary requests in the window only', async () => {
    const from = new Date(Date.parse('2026-01-01T00:00:00Z'));
    const to = new Date(from.getTime() + 60_000);
    const inside = (s: number) => new Date(from.getTime() + s * 1000);
    const row = (version: string, at: Date, o: { latency?: number; output?: number; error?: string; shadow?: boolean } = {}) => ({
      request_id: `req-${version}-${at.getTime()}-${o.latency ?? 0}-${o.output ?? 'x'}`, at, model: 'canary', version, shadow: o.shadow ?? false,
      outputs: o.error ? null : [o.output ?? 0.5], error: o.error ?? null, latency_us: o.latency ?? 1000, worker_id: 'w',
    });
    await t.db.insertInto('inference_log').values([
      // Baseline: 100 served requests, latencies 1..100 ms, outputs spread over the bins.
      ...Array.from({ length: 100 }, (_, i) => row('base', inside(1 + (i % 50)), { latency: (i + 1) * 1000, output: (i % 10) / 10 + 0.05 })),
      // Candidate: 3 served (one at exactly 1.0, the top bin), 1 error.
      row('cand', inside(2), { latency: 2000, output: 0.95 }),
      row('cand', inside(3), { latency: 4000, output: 1 }),
      row('cand', inside(4), { latency: 6000, output: 0.05 }),
      row('cand', inside(5), { error: 'boom' }),
      // Not counted: shadows, other versions, before the window, at its end (exclusive).
      row('cand', inside(6), { shadow: true, output: 0.5 }),
      row('other', inside(7)),
      row('cand', new Date(from.getTime() - 1), { output: 0.5 }),
      row('cand', to, { output: 0.5 }),
    ]).execute();

    const w = await canaryWindow(t.db, { model: 'canary', baseline: 'base', candidate: 'cand', from: from.toISOString(), to: to.toISOString() });
    expect(w.baseline.requests).toBe(100);
    expect(w.baseline.errors).toBe(0);
    expect(w.baseline.p99LatencyMs).toBeCloseTo(99.01, 2); // percentile_cont(0.99) of 1..100 ms
    expect(w.baseline.predictionHistogram).toEqual(new Array(PREDICTION_BINS).fill(10));
    expect(w.candidate).toMatchObject({ requests: 4, errors: 1 });
    expect(w.candidate.p99LatencyMs).toBeCloseTo(5.96, 2); // of 2, 4, 6 ms; the error's latency is left out
    expect(w.candidate.predictionHistogram).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 2]);

    const empty = await canaryWindow(t.db, { model: 'canary', baseline: 'base', candidate: 'cand', from: '2020-01-01T00:00:00Z', to: '2020-01-01T00:01:00Z' });
    expect(empty.candidate).toEqual({ requests: 0, errors: 0, p99LatencyMs: null, predictionHistogram: new Array(PREDICTION_BINS).fill(0) });
  });
});

describe('rollouts, versions and the audit log', () => {
  it('records each rollout step once, moves the phase only while running, and completes once', async () => {
    const rollout = await insertRollout(t.db, { id: newRolloutId(), workflowId: 'rollout:credit-2', modelId: credit.id, candidateVersionId: ids.v3 as string, baselineVersionId: ids.v1 as string, policy: {}, startedBy: 'test' });
    const step = { rolloutId: rollout.id, seq: 1, at: new Date().toISOString(), phase: 'validating', step: 'validate', verdict: 'successful' as const, reason: 'ok', numbers: { accuracy: 0.9 } };
    await recordRolloutStep(t.db, step);
    await recordRolloutStep(t.db, { ...step, reason: 'a retry' });
    expect((await listRolloutSteps(t.db, rollout.id)).map((s) => [s.seq, s.reason, s.numbers])).toEqual([[1, 'ok', { accuracy: 0.9 }]]);

    expect(await runningRolloutWithVersion(t.db, ids.v3 as string)).toEqual({ id: rollout.id });
    expect(await runningRolloutWithVersion(t.db, ids.v1 as string)).toEqual({ id: rollout.id }); // the baseline takes part too
    await setRolloutPhase(t.db, rollout.id, 'canary');
    expect((await findRollout(t.db, rollout.id))?.phase).toBe('canary');
    expect((await completeRollout(t.db, rollout.id, 'promoted', 'better'))?.status).toBe('promoted');
    expect(await completeRollout(t.db, rollout.id, 'failed', 'late')).toBeUndefined();
    await setRolloutPhase(t.db, rollout.id, 'canary');
    expect(await findRollout(t.db, rollout.id)).toMatchObject({ status: 'promoted', phase: 'completed', outcome_reason: 'better' });
    expect(await runningRolloutWithVersion(t.db, ids.v3 as string)).toBeUndefined();
  });

  it('marks versions without touching production, and promotes with an audit entry in the same transaction', async () => {
    expect((await markVersionStatus(t.db, credit.id, 'v2', 'validated'))?.status).toBe('validated');
    expect(await markVersionStatus(t.db, credit.id, 'v1', 'rejected')).toBeUndefined();
    expect((await findVersion(t.db, credit.id, 'v1'))?.status).toBe('production');

    expect(await promoteVersion(t.db, credit, 'v2', 'system:test')).toEqual({ previous: 'v1' });
    expect((await productionVersion(t.db, credit.id))?.version).toBe('v2');
    expect((await findVersion(t.db, credit.id, 'v1'))?.status).toBe('validated');
    expect(await promoteVersion(t.db, credit, 'v2', 'system:test')).toEqual({ previous: 'v2' }); // a retry changes nothing
    const audit = await listAudit(t.db, { projectId: 'default', action: 'version.promote' });
    expect(audit.map((a) => [a.actor, a.target_id, a.before, a.after])).toEqual([['system:test', 'credit', { production: 'v1' }, { production: 'v2' }]]);

    // A version that does not exist: nothing moves, nothing is audited.
    const missing = await promoteVersion(t.db, credit, 'v9', 'system:test').catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 'not_found', field: 'version' });
    expect((await productionVersion(t.db, credit.id))?.version).toBe('v2');
    expect(await listAudit(t.db, { projectId: 'default', action: 'version.promote' })).toHaveLength(1);

    expect((await findVersionsByName(t.db, 'credit', ['v3', 'v1', 'v9'])).map((v) => v.version).sort()).toEqual(['v1', 'v3']);
    // Each with its model's contract (what a serving worker scores and checks by): none yet, then the one set.
    expect((await findVersionsByName(t.db, 'credit', ['v1'])).map((v) => v.contract)).toEqual([null]);
    const contract: ModelContract = { task: 'regression', inputs: [{ name: 'x', elementType: 'float32' }], score: { output: 'y', transform: 'none' } };
    await setModelContract(t.db, credit.id, contract);
    expect((await findVersionsByName(t.db, 'credit', ['v1', 'v3'])).map((v) => v.contract)).toEqual([contract, contract]);
    expect(await findVersionsByName(t.db, 'credit', [])).toEqual([]);
    expect(await isArtifactReferenced(t.db, 'c'.repeat(64))).toBe(true);
    expect(await isArtifactReferenced(t.db, 'd'.repeat(64))).toBe(false);
  });

  it('takes an audit entry back by id', async () => {
    const id = await recordAudit(t.db, { projectId: 'default', actor: 'key:x', action: 'rollout.start', targetType: 'rollout', targetId: 'ro_gone' });
    expect(await listAudit(t.db, { projectId: 'default', targetId: 'ro_gone' })).toHaveLength(1);
    await deleteAuditEntry(t.db, id);
    expect(await listAudit(t.db, { projectId: 'default', targetId: 'ro_gone' })).toHaveLength(0);
  });
});

describe('golden sets', () => {
  it('names the field of the first problem, and stores only a usable golden set', async () => {
    expect(goldenSetProblem({ features: [[1, 2], [3, 4]], labels: [0, 1] })).toBeNull();
    expect(goldenSetProblem({ features: [], labels: [] })).toMatchObject({ field: 'features' });
    expect(goldenSetProblem({ features: [[1, 2], [3]], labels: [0, 1] })).toEqual({ field: 'features/1', message: 'has 1 values; row 0 has 2' });
    expect(goldenSetProblem({ features: [[1, Infinity]], labels: [0] })).toMatchObject({ field: 'features/0/1' });
    expect(goldenSetProblem({ features: [[1, 2]], labels: [0, 1] })).toMatchObject({ field: 'labels' });
    expect(goldenSetProblem({ features: [[1, 2]], labels: [Number.NaN] })).toMatchObject({ field: 'labels/0' });
    expect(goldenSetProblem({ features: [[1, 2]], labels: [1], segments: ['a', 'b'] })).toMatchObject({ field: 'segments' });

    await expect(setGoldenSet(t.db, credit.id, { features: [[1, 2], [3]], labels: [0, 1] })).rejects.toMatchObject({ code: 'invalid', field: 'features/1' });
    expect((await findModel(t.db, 'credit'))?.golden_set).toBeNull();
    const stored = await setGoldenSet(t.db, credit.id, { features: [[0.5, 1.5], [2, 3]], labels: [1, 0], segments: ['a', 'b'] });
    expect(stored.golden_set).toEqual({ features: [[0.5, 1.5], [2, 3]], labels: [1, 0], segments: ['a', 'b'] });
    expect((await findModel(t.db, 'credit'))?.golden_set).toEqual(stored.golden_set);
    await expect(setGoldenSet(t.db, '999999', { features: [[1]], labels: [1] })).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe('health', () => {
  it('pings and probes the database, counting the applied migrations', async () => {
    await pingDatabase(t.db);
    const probe = await probeDatabase(t.db);
    expect(probe.serverVersion).toMatch(/^\d+/);
    expect(probe.migrations).toBeGreaterThanOrEqual(6);
  });
});
