// Rollouts over real HTTP against the real Temporal dev server: start (row + workflow + search
// attributes), state, list, the operator updates and their refusals, history and the report.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inferContract } from '../../../src/contracts/index.js';
import { setModelContract } from '../../../src/registry/models.js';
import { exporterFixtureSignature, seedFixtureModel } from '../../support/seed.js';
import { rowCounts, startHarness, type Harness } from './harness.js';

// A model name of its own: workflow ids (rollout:<model>) are shared by every file on the dev server.
const MODEL = `credit-${Date.now().toString(36)}`;
const policy = {
  canary: { steps: [{ weight: 0.05, bakeSeconds: 1, requireApproval: true }, { weight: 0.2, bakeSeconds: 1 }] },
  experiment: { kind: 'ab', primaryMetric: { name: 'repaid', type: 'binary', direction: 'increase' } },
};

describe('rollout API', () => {
  let h: Harness;
  let rolloutId: string;
  beforeAll(async () => {
    h = await startHarness();
    // Version 1 serves production; version 3 failed validation in an earlier rollout.
    await seedFixtureModel(h.t.db, { model: MODEL, versions: { 1: 'logreg', 2: 'mlp', 3: 'bad' }, production: '1' });
    await h.t.db.updateTable('model_versions').set({ status: 'rejected' }).where('version', '=', '3').execute();
  });
  afterAll(async () => { await h?.close(); });

  it('refuses a policy that does not validate, naming the field, and writes nothing', async () => {
    const before = await rowCounts(h.t);
    const bad = await h.call('POST', '/v1/rollouts', { key: h.keys.deployer, body: { model: MODEL, version: '2', policy: { canary: { steps: [{ weight: 0.5 }, { weight: 0.2 }] } } } });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('invalid_policy');
    expect(bad.body.field).toBe('body/policy/canary/steps/1/weight');
    const typo = await h.call('POST', '/v1/rollouts', { key: h.keys.deployer, body: { model: MODEL, version: '2', policy: { canary: { stepz: [] } } } });
    expect(typo.status).toBe(400);
    expect(typo.body.detail).toMatch(/canary/);
    const rejected = await h.call('POST', '/v1/rollouts', { key: h.keys.deployer, body: { model: MODEL, version: '3', policy } });
    expect(rejected.status).toBe(409);
    expect(rejected.body.code).toBe('version_rejected');
    const production = await h.call('POST', '/v1/rollouts', { key: h.keys.deployer, body: { model: MODEL, version: '1', policy } });
    expect(production.status).toBe(409);
    const missing = await h.call('POST', '/v1/rollouts', { key: h.keys.deployer, body: { model: MODEL, version: '42', policy } });
    expect(missing.status).toBe(404);
    const viewer = await h.call('POST', '/v1/rollouts', { key: h.keys.viewer, body: { model: MODEL, version: '2', policy } });
    expect(viewer.status).toBe(403);
    const otherTenant = await h.call('POST', '/v1/rollouts', { key: h.keys.other, body: { model: MODEL, version: '2', policy } });
    expect(otherTenant.status).toBe(404);
    expect(await rowCounts(h.t)).toEqual(before);
  });

  it('refuses a validation metric the model\'s task does not have, naming the field, and writes nothing', async () => {
    const regressor = `${MODEL}-regressor`;
    const { modelId } = await seedFixtureModel(h.t.db, { model: regressor, versions: { 1: 'regressor-column', 2: 'regressor-column' }, production: '1' });
    const inferred = inferContract(exporterFixtureSignature('regressor-column'), { task: 'regression' });
    if (!inferred.ok) throw new Error(inferred.message);
    await setModelContract(h.t.db, modelId, inferred.contract);
    const before = await rowCounts(h.t);
    const bad = await h.call('POST', '/v1/rollouts', { key: h.keys.deployer, body: { model: regressor, version: '2', policy: { ...policy, validation: { metrics: { rmse: { max: 2 }, roc_auc: { min: 0.7 } } } } } });
    expect(bad.status, bad.text).toBe(400);
    expect(bad.body).toMatchObject({ code: 'invalid_policy', field: 'body/policy/validation/metrics/roc_auc' });
    expect(bad.body.detail).toContain('roc_auc is not a metric of a regression model (its metrics: rmse, mae, r2)');
    const compared = await h.call('POST', '/v1/rollouts', { key: h.keys.deployer, body: { model: regressor, version: '2', policy: { ...policy, validation: { championChallenger: { metric: 'macro_f1' } } } } });
    expect(compared.status, compared.text).toBe(400);
    expect(compared.body.field).toBe('body/policy/validation/championChallenger/metric');
    expect(await rowCounts(h.t)).toEqual(before);
  });

  it('starts a rollout: row, workflow with search attributes, Temporal UI link; a second start is 409', async () => {
    const res = await h.call('POST', '/v1/rollouts', { key: h.keys.deployer, body: { model: MODEL, version: '2', policy } });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ model: MODEL, candidateVersion: '2', baselineVersion: '1', status: 'running', workflowId: `rollout:${MODEL}` });
    expect(res.body.temporalUiUrl).toBe(`http://temporal-ui.test/namespaces/default/workflows/rollout%3A${MODEL}/${res.body.runId}/history`);
    expect(res.body.policy.canary.gates.maxErrorRate).toBe(0.02); // defaults filled
    rolloutId = res.body.id;

    const described = await h.client.workflow.getHandle(`rollout:${MODEL}`).describe();
    expect(described.status.name).toBe('RUNNING');
    expect(described.typedSearchAttributes.getAll().map((p) => [p.key.name, p.value])).toEqual(expect.arrayContaining([
      ['SluiceModel', MODEL], ['SluiceVersion', '2'],
    ]));

    const again = await h.call('POST', '/v1/rollouts', { key: h.keys.deployer, body: { model: MODEL, version: '2', policy } });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('rollout_running');
    const audit = await h.t.db.selectFrom('audit_log').selectAll().where('action', '=', 'rollout.start').execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ target_id: rolloutId, actor: expect.stringMatching(/^key:/) });
  });

  it('rolls the row back when the workflow cannot start (already running in Temporal)', async () => {
    // Simulate a row lost while its workflow runs: the API must not leave a second row behind.
    await h.t.db.updateTable('rollouts').set({ status: 'failed', ended_at: new Date() }).where('id', '=', rolloutId).execute();
    const before = await rowCounts(h.t);
    const res = await h.call('POST', '/v1/rollouts', { key: h.keys.deployer, body: { model: MODEL, version: '2', policy } });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('rollout_running');
    expect(await rowCounts(h.t)).toEqual(before);
    await h.t.db.updateTable('rollouts').set({ status: 'running', ended_at: null }).where('id', '=', rolloutId).execute();
  });

  it('reads the live state, lists and filters', async () => {
    const got = await h.call('GET', `/v1/rollouts/${rolloutId}`, { key: h.keys.viewer });
    expect(got.status).toBe(200);
    expect(got.body.state).toMatchObject({ rolloutId, phase: 'canary', paused: false, weights: { 1: 1 } });
    expect(got.body.stateError).toBeNull();
    const state = await h.call('GET', `/v1/rollouts/${rolloutId}/state`, { key: h.keys.viewer });
    expect(state.body.phase).toBe('canary');
    const list = await h.call('GET', `/v1/rollouts?model=${MODEL}&status=running`, { key: h.keys.viewer });
    expect(list.body.rollouts.map((r: { id: string }) => r.id)).toEqual([rolloutId]);
    const none = await h.call('GET', '/v1/rollouts?status=promoted', { key: h.keys.viewer });
    expect(none.body.rollouts).toEqual([]);
    const byPhase = await h.call('GET', '/v1/rollouts?phase=pending', { key: h.keys.viewer });
    expect(byPhase.body.rollouts).toHaveLength(1);
    const badStatus = await h.call('GET', '/v1/rollouts?status=exploded', { key: h.keys.viewer });
    expect(badStatus.status).toBe(400);
    expect(badStatus.body.field).toBe('query/status');
    const other = await h.call('GET', `/v1/rollouts/${rolloutId}`, { key: h.keys.other });
    expect(other.status).toBe(404);
    const otherList = await h.call('GET', '/v1/rollouts', { key: h.keys.other });
    expect(otherList.body.rollouts).toEqual([]);
  });

  it('pauses, refuses a second pause with the workflow\'s reason, resumes, approves; each audited', async () => {
    const viewer = await h.call('POST', `/v1/rollouts/${rolloutId}/pause`, { key: h.keys.viewer, body: {} });
    expect(viewer.status).toBe(403);
    const approverPause = await h.call('POST', `/v1/rollouts/${rolloutId}/pause`, { key: h.keys.approver, body: {} });
    expect(approverPause.status).toBe(403);
    const paused = await h.call('POST', `/v1/rollouts/${rolloutId}/pause`, { key: h.keys.deployer, body: { reason: 'investigating latency' } });
    expect(paused.status, paused.text).toBe(200);
    expect(paused.body.paused).toBe(true);
    const again = await h.call('POST', `/v1/rollouts/${rolloutId}/pause`, { key: h.keys.deployer });
    expect(again.status).toBe(409);
    expect(again.body.detail).toMatch(/already paused/);
    const resumed = await h.call('POST', `/v1/rollouts/${rolloutId}/resume`, { key: h.keys.deployer, body: {} });
    expect(resumed.body.paused).toBe(false);

    const deployerApprove = await h.call('POST', `/v1/rollouts/${rolloutId}/approve`, { key: h.keys.deployer, body: {} });
    expect(deployerApprove.status).toBe(403);
    const approved = await h.call('POST', `/v1/rollouts/${rolloutId}/approve`, { key: h.keys.approver, body: {} });
    expect(approved.status).toBe(200);
    expect(approved.body.waitingFor).toBeNull();
    const nothing = await h.call('POST', `/v1/rollouts/${rolloutId}/approve`, { key: h.keys.approver, body: {} });
    expect(nothing.status).toBe(409);
    expect(nothing.body.detail).toMatch(/nothing is waiting/);

    const actions = (await h.t.db.selectFrom('audit_log').select(['action', 'before', 'after']).where('target_id', '=', rolloutId).orderBy('id').execute());
    expect(actions.map((a) => a.action)).toEqual(['rollout.start', 'rollout.pause', 'rollout.resume', 'rollout.approve']);
    expect(actions[1]?.before).toMatchObject({ paused: false });
    expect(actions[1]?.after).toMatchObject({ paused: true, reason: 'investigating latency' });
  });

  it('overrides weights (admin only; sums checked; workflow refusals are 409)', async () => {
    const deployer = await h.call('PUT', `/v1/rollouts/${rolloutId}/weights`, { key: h.keys.deployer, body: { weights: { 1: 0.5, 2: 0.5 } } });
    expect(deployer.status).toBe(403);
    const badSum = await h.call('PUT', `/v1/rollouts/${rolloutId}/weights`, { body: { weights: { 1: 0.5, 2: 0.6 } } });
    expect(badSum.status).toBe(400);
    expect(badSum.body.field).toBe('body/weights');
    const unknownVersion = await h.call('PUT', `/v1/rollouts/${rolloutId}/weights`, { body: { weights: { 1: 0.5, 77: 0.5 } } });
    expect(unknownVersion.status).toBe(400);
    const refused = await h.call('PUT', `/v1/rollouts/${rolloutId}/weights`, { body: { weights: { 1: 0.5, 3: 0.5 } } });
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/takes no part/);
    const ok = await h.call('PUT', `/v1/rollouts/${rolloutId}/weights`, { body: { weights: { 1: 0.8, 2: 0.2 }, reason: 'hold at 20%' } });
    expect(ok.status).toBe(200);
    expect(ok.body.weights).toEqual({ 1: 0.8, 2: 0.2 });
  });

  it('shows history and the experiment report from the recorded rows', async () => {
    await h.t.db.insertInto('rollout_steps').values([
      { rollout_id: rolloutId, seq: 0, phase: 'validating', step: 'validate', verdict: 'successful', reason: 'accuracy 0.73 >= 0.6', numbers: { accuracy: 0.73 } },
      { rollout_id: rolloutId, seq: 1, phase: 'canary', step: 'canary-1', verdict: 'successful', reason: 'gates passed' },
    ]).execute();
    const model = await h.t.db.selectFrom('models').select('id').where('name', '=', MODEL).executeTakeFirstOrThrow();
    await h.t.db.insertInto('experiments').values({
      id: 'exp_1', rollout_id: rolloutId, model_id: model.id, kind: 'ab', salt: 's1', primary_metric: 'repaid',
      arms: JSON.stringify([{ name: 'control', version: '1' }, { name: 'treatment', version: '2' }]), config: { alpha: 0.05 },
    }).execute();
    for (const look of [1, 2]) {
      await h.t.db.insertInto('experiment_looks').values({
        experiment_id: 'exp_1', look, decision: look === 2 ? 'promote' : 'continue',
        arm_stats: JSON.stringify({ control: { n: 100 * look, successes: 50 * look }, treatment: { n: 100 * look, successes: 60 * look } }),
        result: JSON.stringify({ primary: { effect: 0.1, ci: { lower: look === 1 ? -0.05 : 0.01, upper: 0.2 }, pValue: look === 1 ? 0.3 : 0.01 }, srm: { pValue: 0.9, mismatch: false }, guardrails: [{ name: 'latency', ok: true }] }),
      }).execute();
    }
    const history = await h.call('GET', `/v1/rollouts/${rolloutId}/history`, { key: h.keys.viewer });
    expect(history.status).toBe(200);
    expect(history.body.steps.map((s: { step: string }) => s.step)).toEqual(['validate', 'canary-1']);
    expect(history.body.experiments[0].looks).toHaveLength(2);
    const report = await h.call('GET', `/v1/rollouts/${rolloutId}/report`, { key: h.keys.viewer });
    expect(report.status).toBe(200);
    expect(report.body.looks).toBe(2);
    expect(report.body.confidenceSequence).toEqual([
      expect.objectContaining({ look: 1, estimate: 0.1, lower: -0.05, upper: 0.2, pValue: 0.3, decision: 'continue' }),
      expect.objectContaining({ look: 2, estimate: 0.1, lower: 0.01, upper: 0.2, pValue: 0.01, decision: 'promote' }),
    ]);
    expect(report.body.srm).toEqual({ pValue: 0.9, mismatch: false });
    expect(report.body.guardrails).toEqual([{ name: 'latency', ok: true }]);
    expect(report.body.arms.treatment.n).toBe(200);
    const byId = await h.call('GET', '/v1/experiments/exp_1', { key: h.keys.viewer });
    expect(byId.body.experiment.id).toBe('exp_1');
    const otherTenant = await h.call('GET', '/v1/experiments/exp_1', { key: h.keys.other });
    expect(otherTenant.status).toBe(404);
  });

  it('aborts; afterwards the workflow refuses and the traffic route answers', async () => {
    const aborted = await h.call('POST', `/v1/rollouts/${rolloutId}/abort`, { key: h.keys.deployer, body: { reason: 'enough' } });
    expect(aborted.status).toBe(200);
    expect(aborted.body.outcome).toMatchObject({ status: 'aborted' });
    // The stand-in workflow has ended; the real one's activity marks the row too.
    const paused = await h.call('POST', `/v1/rollouts/${rolloutId}/pause`, { key: h.keys.deployer, body: {} });
    expect(paused.status).toBe(409);
    await h.t.db.updateTable('rollouts').set({ status: 'aborted', phase: 'completed', ended_at: new Date() }).where('id', '=', rolloutId).execute();
    const notRunning = await h.call('POST', `/v1/rollouts/${rolloutId}/resume`, { key: h.keys.deployer, body: {} });
    expect(notRunning.status).toBe(409);
    expect(notRunning.body.code).toBe('rollout_not_running');
    const got = await h.call('GET', `/v1/rollouts/${rolloutId}`, { key: h.keys.viewer });
    expect(got.body).toMatchObject({ status: 'aborted', state: null });

    const noTraffic = await h.call('GET', `/v1/models/${MODEL}/traffic`, { key: h.keys.viewer });
    expect(noTraffic.body).toEqual({ model: MODEL, current: null, fleet: { liveWorkers: 0, serving: 0, workers: [] } });
    const model = await h.t.db.selectFrom('models').select('id').where('name', '=', MODEL).executeTakeFirstOrThrow();
    for (const [generation, weights] of [[1, { 1: 1 }], [2, { 1: 0.95, 2: 0.05 }]] as const) {
      await h.t.db.insertInto('traffic_generations').values({ model_id: model.id, generation, weights: weights as Record<string, number>, created_by: 'orchestrator', reason: `step ${generation}` }).execute();
    }
    // The fleet as the workers' rows say: live ones only (a recent heartbeat, not stopped), with
    // their generation of this model and its versions they hold (other models' left out).
    const now = Date.now();
    const worker = (id: string, status: 'ready' | 'stopped', heartbeatAgoMs: number, generation: number | null) => ({
      id, address: `http://10.0.0.${id.length}:8001`, admin_address: `http://10.0.0.${id.length}:9001/admin`, device: 'cpu' as const, status,
      models: JSON.stringify([{ model: MODEL, version: '1', state: 'ready' }, { model: MODEL, version: '2', state: 'loading' }, { model: 'other-model', version: 'x', state: 'ready' }]) as never,
      generations: JSON.stringify({ ...(generation !== null ? { [MODEL]: generation } : {}), 'other-model': 9 }) as never,
      started_at: new Date(now - 60_000), heartbeat_at: new Date(now - heartbeatAgoMs),
    });
    await h.t.db.insertInto('serving_workers').values([
      worker('fleet-a', 'ready', 500, 2), worker('fleet-bb', 'ready', 1000, 1), worker('fleet-ccc', 'ready', 60_000, 2), worker('fleet-dddd', 'stopped', 500, 2),
    ]).execute();
    const traffic = await h.call('GET', `/v1/models/${MODEL}/traffic`, { key: h.keys.viewer });
    expect(traffic.body.current).toMatchObject({ generation: 2, weights: { 1: 0.95, 2: 0.05 } });
    expect(traffic.body.fleet).toMatchObject({ liveWorkers: 2, serving: 1 });
    expect(traffic.body.fleet.workers).toEqual([
      { worker: 'fleet-a', address: 'http://10.0.0.7:8001', device: 'cpu', status: 'ready', heartbeatAt: expect.any(String), generation: 2, versions: [{ version: '1', state: 'ready' }, { version: '2', state: 'loading' }] },
      { worker: 'fleet-bb', address: 'http://10.0.0.8:8001', device: 'cpu', status: 'ready', heartbeatAt: expect.any(String), generation: 1, versions: [{ version: '1', state: 'ready' }, { version: '2', state: 'loading' }] },
    ]);
    expect(traffic.text).not.toContain('9001/admin');
    await h.t.db.deleteFrom('serving_workers').where('id', 'like', 'fleet-%').execute();
    const trafficHistory = await h.call('GET', `/v1/models/${MODEL}/traffic/history?limit=1`, { key: h.keys.viewer });
    expect(trafficHistory.body.generations.map((g: { generation: number }) => g.generation)).toEqual([2]);
  });

  it('closes a stale running row that has no workflow, then starts; a fresh one still blocks', async () => {
    const model = await h.t.db.selectFrom('models').select('id').where('name', '=', MODEL).executeTakeFirstOrThrow();
    const v2 = await h.t.db.selectFrom('model_versions').select('id').where('model_id', '=', model.id).where('version', '=', '2').executeTakeFirstOrThrow();
    const v1 = await h.t.db.selectFrom('model_versions').select('id').where('model_id', '=', model.id).where('version', '=', '1').executeTakeFirstOrThrow();
    const orphan = `ro_${'a'.repeat(32)}`;
    await h.t.db.insertInto('rollouts').values({
      id: orphan, workflow_id: `rollout:${MODEL}`, model_id: model.id, candidate_version_id: v2.id, baseline_version_id: v1.id,
      policy: {}, started_by: 'key:lost', started_at: new Date(Date.now() - 5 * 60_000),
    }).execute();
    const res = await h.call('POST', '/v1/rollouts', { key: h.keys.deployer, body: { model: MODEL, version: '2', policy } });
    expect(res.status, res.text).toBe(201);
    const closed = await h.t.db.selectFrom('rollouts').selectAll().where('id', '=', orphan).executeTakeFirstOrThrow();
    expect(closed).toMatchObject({ status: 'failed', phase: 'completed' });
    const reconcile = await h.t.db.selectFrom('audit_log').selectAll().where('action', '=', 'rollout.reconcile').execute();
    expect(reconcile.map((a) => a.target_id)).toEqual([orphan]);
    // The new rollout's row is young and its workflow runs: it blocks.
    const again = await h.call('POST', '/v1/rollouts', { key: h.keys.deployer, body: { model: MODEL, version: '2', policy } });
    expect(again.status).toBe(409);
  });
});
