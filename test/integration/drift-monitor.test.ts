// The drift monitor on the real Temporal dev server and a real registry database: windows of the
// inference log seeded as serving workers log them (float32 inputs of the exporter-shaped binary
// credit model, one score per row), drawn from the synthetic credit population or from it shifted
// (src/models/drift.ts). The monitor's activities judge them against the version's reference
// profile, write drift reports, and ask for retrains through the real gating; the retrain
// workflow itself is tested in test/integration/loop/retrain.test.ts, so here a started
// `retrain:<model>` workflow (held at its first step) is what is checked.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createMonitorActivities } from '../../src/activities/monitor.js';
import type { LineageCause } from '../../src/loop/lineage.js';
import { projectRoot } from '../../src/config.js';
import { INITIAL_MONITOR_STATE } from '../../src/loop/monitor.js';
import { parseLoopPolicy } from '../../src/loop/validate.js';
import { CREDIT_FEATURE_NAMES } from '../../src/models/dataset.js';
import type { CreditDrift } from '../../src/models/drift.js';
import { exporterFixtureModel, type ExporterFixtureKind } from '../../src/models/fixtures.js';
import { ArtifactStore } from '../../src/registry/artifacts.js';
import { readMonitorWindow } from '../../src/registry/monitor-window.js';
import { computeReferenceProfile } from '../../src/registry/profiles.js';
import { getVersion } from '../../src/registry/versions.js';
import { listDriftReports } from '../../src/registry/drift-reports.js';
import { setLoopPolicy } from '../../src/registry/models.js';
import { finishRetrain, listRetrains } from '../../src/registry/retrains.js';
import { parseRolloutPolicy } from '../../src/policy/index.js';
import { monitorStateQuery, monitorWorkflowId, retrainWorkflowId, rolloutWorkflowId, type DriftMonitorInput, type ModelLifecycleInput } from '../../src/workflows/messages.js';
import { modelLifecycle } from '../../src/workflows/lifecycle.js';
import { driftMonitor } from '../../src/workflows/monitor.js';
import { creditReferenceProfile, creditRows } from '../support/credit-traffic.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { exporterFixtureContract, exporterReferenceColumns, exporterVersionRow } from '../support/exporter-contracts.js';
import { startTestOrchestrator, type TestOrchestrator } from '../support/orchestrator.js';
import { ackingFleet, passingValidator } from '../support/stub-activities.js';
import { seedFixtureModel, seedRollout } from '../support/seed.js';
import { createNotifier } from '../../src/loop/notify.js';

const fleet = ackingFleet;
const validator = passingValidator;

const KIND = 'binary-label-probabilities';
/**
 * A shift of the credit population: every numeric feature moves by one standard deviation (8 of
 * the 19 features, and the score with them), above the default dataset share of 0.3.
 */
const SHIFT: CreditDrift = {
  meanShiftStd: { age: 1, income: 1, debt_ratio: 1, credit_history_months: 1, num_open_accounts: 1, late_payments: 1, loan_amount: 1, credit_utilization: 1 },
};

describe('drift monitor (real workflow, real activities, real PostgreSQL)', () => {
  let t: TestDatabase;
  let orchestrator: TestOrchestrator;
  let client: Client;
  const taskQueue = `drift-monitor-${randomUUID()}`;
  const profile = creditReferenceProfile();
  let activities: ReturnType<typeof createMonitorActivities>;
  const events: Array<Record<string, unknown>> = [];
  const started: string[] = [];

  beforeAll(async () => {
    t = await createTestDatabase();
    // The retrain workflow is not under test here: its first step waits until it is cancelled (the
    // worker's shutdown at the end cancels it), so a started retrain stays running for the gating to
    // see, instead of failing at once for want of labelled rows, which would race the assertions.
    const retrainWaits = {
      async gatherTrainingData(): Promise<never> {
        await Context.current().cancelled;
        throw new Error('cancelled');
      },
    };
    // Every event the loop sends, as the notifier logs it (no webhook is set).
    const notifier = createNotifier({ log: (line) => { events.push(JSON.parse(line) as Record<string, unknown>); } });
    orchestrator = await startTestOrchestrator({ temporalAddress: inject('temporalAddress'), db: t.db, taskQueue, fleet, validator, activities: retrainWaits, notifier });
    client = orchestrator.client;
    activities = createMonitorActivities(t.db, { client, taskQueue });
  });

  afterAll(async () => {
    for (const id of started) await client.workflow.getHandle(id).terminate('test over').catch(() => undefined);
    await orchestrator?.close();
    await t?.drop();
  });

  async function seedModel(model: string, policy: unknown): Promise<{ modelId: string; versionIds: Record<string, string> }> {
    const seeded = await seedFixtureModel(t.db, {
      model, production: 'v1', contract: exporterFixtureContract(KIND),
      versions: { v1: { artifact: KIND, referenceProfile: profile }, v2: { artifact: KIND, referenceProfile: profile } },
    });
    const parsed = parseLoopPolicy(policy, exporterFixtureContract(KIND));
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    await setLoopPolicy(t.db, seeded.modelId, parsed.policy);
    started.push(monitorWorkflowId(model), retrainWorkflowId(model));
    return seeded;
  }

  /** Logs `rows` one-row requests of v1, as serving workers do; returns their request ids. */
  async function logRows(model: string, rows: number, seed: number, drift?: CreditDrift, at = new Date()): Promise<string[]> {
    const { matrix, scores } = creditRows(rows, seed, drift);
    const width = CREDIT_FEATURE_NAMES.length;
    const ids = Array.from({ length: rows }, () => randomUUID());
    await t.db.insertInto('inference_log').values(ids.map((request_id, r) => ({
      request_id, at, model, version: 'v1', outputs: [0, 1 - (scores[r] as number), scores[r] as number], scores: [scores[r] as number],
      inputs: Buffer.from(matrix.slice(r * width, (r + 1) * width).buffer), latency_us: 1000, worker_id: 'seed',
    }))).execute();
    return ids;
  }

  const windowPolicy = { intervalSeconds: 1, window: { kind: 'rows', rows: 300 }, minRows: 200 };
  const retrainPolicy = { trainer: { kind: 'builtin', name: 'logistic_regression', params: {} } };

  it('judges unshifted windows as no drift: the false-alarm rate over 30 windows', async () => {
    const model = 'drift-none';
    await seedModel(model, { drift: { ...windowPolicy } });
    const decisions: string[] = [];
    for (let w = 0; w < 30; w++) {
      await logRows(model, 300, 1000 + w);
      const judged = await activities.judgeDriftWindow({ model, version: 'v1', consecutive: 0 });
      expect(judged.rows).toBe(300);
      decisions.push(judged.decision);
    }
    const falseAlarms = decisions.filter((d) => d === 'drift').length;
    console.log(`drift monitor false alarms: ${falseAlarms}/30 windows (${decisions.filter((d) => d === 'warning').length} warnings)`);
    expect(falseAlarms).toBe(0);
    const reports = await listDriftReports(t.db, (await seedModelId(model)), { limit: 100 });
    expect(reports).toHaveLength(30);
    expect(reports[0]).toMatchObject({ window_kind: 'rows', window_size: 300, rows: 300 });
    expect((reports[0]?.features as unknown[]).length).toBe(CREDIT_FEATURE_NAMES.length);
    expect(reports[0]?.score_drift).toMatchObject({ feature: 'prediction', status: 'ok' });
  });

  async function seedModelId(model: string): Promise<string> {
    return (await t.db.selectFrom('models').select('id').where('name', '=', model).executeTakeFirstOrThrow()).id;
  }

  it('records a window too small to judge, and a version without a reference profile, with the reason', async () => {
    const model = 'drift-small';
    const { modelId } = await seedModel(model, { drift: { ...windowPolicy } });
    await logRows(model, 50, 7);
    const small = await activities.judgeDriftWindow({ model, version: 'v1', consecutive: 2 });
    expect(small).toMatchObject({ decision: 'insufficient_data', rows: 50 });
    expect(small.reason).toMatch(/50 rows in the window, fewer than minRows \(200\)/);
    await t.db.updateTable('model_versions').set({ reference_profile: null }).where('model_id', '=', modelId).where('version', '=', 'v1').execute();
    await logRows(model, 300, 8);
    const bare = await activities.judgeDriftWindow({ model, version: 'v1', consecutive: 0 });
    expect(bare.decision).toBe('insufficient_data');
    expect(bare.reason).toMatch(/no reference profile/);
    const [latest, first] = await listDriftReports(t.db, modelId);
    expect(first).toMatchObject({ decision: 'insufficient_data', consecutive: 2, rows: 50 });
    expect(latest?.reason).toMatch(/no reference profile/);
  });

  it('reads a time window: only the requests of its last seconds', async () => {
    const model = 'drift-time';
    const { modelId } = await seedModel(model, { drift: { intervalSeconds: 1, window: { kind: 'time', seconds: 60 }, minRows: 200 } });
    await logRows(model, 300, 51, SHIFT, new Date(Date.now() - 10 * 60_000));
    await logRows(model, 250, 52);
    const judged = await activities.judgeDriftWindow({ model, version: 'v1', consecutive: 0 });
    // The shifted rows ten minutes ago are outside the window: 250 unshifted rows, no drift.
    expect(judged).toMatchObject({ rows: 250, decision: 'none' });
    const [report] = await listDriftReports(t.db, modelId);
    expect(report).toMatchObject({ window_kind: 'time', window_size: 60, rows: 250 });
    expect((report?.window_end.getTime() ?? 0) - (report?.window_start.getTime() ?? 0)).toBe(60_000);
  });

  it('says labels are not due before the label delay, and judges the realised metric once they are', async () => {
    const model = 'drift-labels';
    const { modelId, versionIds } = await seedModel(model, { drift: { ...windowPolicy, performance: { metric: 'roc_auc', maxDrop: 0.05, labelDelaySeconds: 3600, minLabels: 100 } } });
    await t.db.updateTable('model_versions').set({ metrics: JSON.stringify({ roc_auc: 0.9 }) }).where('id', '=', versionIds.v1 ?? '').execute();
    const ids = await logRows(model, 300, 11);
    const notDue = await activities.judgeDriftWindow({ model, version: 'v1', consecutive: 0 });
    expect(notDue.performance).toMatchObject({ status: 'labels_not_due', metric: 'roc_auc' });
    expect(notDue.performance?.reason).toMatch(/labels not due until \d{4}-/);

    // Labels that have nothing to do with the scores: the realised AUC is near 0.5, far below 0.9.
    await t.db.insertInto('feedback').values(ids.map((id, i) => ({ model, request_id: id, metric: 'label', value: i % 2, at: new Date() }))).execute();
    const parsed = parseLoopPolicy({ drift: { ...windowPolicy, performance: { metric: 'roc_auc', maxDrop: 0.05, labelDelaySeconds: 0, minLabels: 100 } } }, exporterFixtureContract(KIND));
    if (!parsed.ok) throw new Error('policy');
    await setLoopPolicy(t.db, modelId, parsed.policy);
    const due = await activities.judgeDriftWindow({ model, version: 'v1', consecutive: 0 });
    expect(due.performance).toMatchObject({ status: 'judged', expected: 0.9, labelled: 300, dropped: true });
    expect(due.performance?.realised).toBeLessThan(0.7);
    const [report] = await listDriftReports(t.db, modelId);
    expect(report?.performance).toMatchObject({ status: 'judged', dropped: true });
  });

  it('gates retrains: one at a time, no policy, a running rollout, the cooldown and the day\'s budget, each recorded', async () => {
    const cause: LineageCause = { kind: 'metric_drop', metric: 'roc_auc', realised: 0.6, expected: 0.9 };
    const id = () => `rt_${randomUUID().replaceAll('-', '')}`;
    const ask = (model: string) => activities.requestRetrain({ retrainId: id(), model, cause, parentVersion: 'v1', requestedBy: 'test' });

    const none = 'retrain-none';
    await seedModel(none, { drift: windowPolicy });
    expect(await ask(none)).toMatchObject({ started: false, reason: expect.stringMatching(/no retrain policy/) });

    // Two triggers in quick succession: one retrain.
    const twice = 'retrain-twice';
    const { modelId } = await seedModel(twice, { drift: { ...windowPolicy, cooldownSeconds: 3600 }, retrain: retrainPolicy });
    const [first, second] = [await ask(twice), await ask(twice)];
    expect(first).toMatchObject({ started: true, reason: null });
    expect(second.started).toBe(false);
    expect(second.reason).toMatch(/running/);
    const described = await client.workflow.getHandle(retrainWorkflowId(twice)).describe();
    expect(described.type).toBe('modelRetrain');
    expect(described.status.name).toBe('RUNNING');
    // A retried request (same id) does not start a second one.
    expect(await activities.requestRetrain({ retrainId: first.retrainId, model: twice, cause, parentVersion: 'v1', requestedBy: 'test' })).toMatchObject({ started: true, retrainId: first.retrainId });

    // The first ends; the cooldown still holds.
    await client.workflow.getHandle(retrainWorkflowId(twice)).terminate('test: the retrain ends');
    await finishRetrain(t.db, first.retrainId, { status: 'failed', reason: 'test' });
    const cooled = await ask(twice);
    expect(cooled.started).toBe(false);
    expect(cooled.reason).toMatch(/^cooldown: retrain rt_\w+ started .*, the next may start at/);
    const rows = await listRetrains(t.db, modelId);
    expect(rows.filter((r) => r.status !== 'skipped')).toHaveLength(1);
    expect(rows.filter((r) => r.status === 'skipped').map((r) => r.reason)).toHaveLength(2);

    // The day's budget: no cooldown, one retrain a day.
    const budget = 'retrain-budget';
    await seedModel(budget, { drift: { ...windowPolicy, cooldownSeconds: 0, dailyRetrainBudget: 1 }, retrain: retrainPolicy });
    const b1 = await ask(budget);
    expect(b1.started).toBe(true);
    await client.workflow.getHandle(retrainWorkflowId(budget)).terminate('test: the retrain ends');
    await finishRetrain(t.db, b1.retrainId, { status: 'failed', reason: 'test' });
    expect((await ask(budget)).reason).toMatch(/the day's retrain budget is spent: 1 of 1/);

    // No retrain while a rollout runs.
    const rolling = 'retrain-rollout';
    const seeded = await seedModel(rolling, { drift: { ...windowPolicy, cooldownSeconds: 0 }, retrain: retrainPolicy });
    await seedRollout(t.db, { modelId: seeded.modelId, candidateId: seeded.versionIds.v2 ?? '', baselineId: seeded.versionIds.v1 ?? '', model: rolling, policy: {} });
    expect((await ask(rolling)).reason).toMatch(/rollout ro_\w+ is running/);
  });

  /** Polls the database until `check` holds (the workflow runs on its own clock; a deadline, never a fixed sleep). */
  async function until<T>(what: string, read: () => Promise<T>, check: (v: T) => boolean, ms = 90_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await read();
      if (check(v)) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  it('calls a shift drift after the debounce, across continue-as-new, and starts exactly one retrain', async () => {
    const model = 'drift-shift';
    const { modelId } = await seedModel(model, { drift: { ...windowPolicy, debounceWindows: 3, cooldownSeconds: 3600 }, retrain: retrainPolicy });
    await logRows(model, 300, 21, SHIFT);
    const input: DriftMonitorInput = { model, version: 'v1', state: INITIAL_MONITOR_STATE, windowsPerRun: 2 };
    const handle = await client.workflow.start(driftMonitor, { taskQueue, workflowId: monitorWorkflowId(model), args: [input] });

    const retrains = await until('a retrain', () => listRetrains(t.db, modelId), (rs) => rs.length > 0);
    expect(retrains).toHaveLength(1);
    const retrain = retrains[0];
    expect(retrain?.status).toBe('running');
    const reports = await listDriftReports(t.db, modelId, { limit: 100 });
    const ordered = [...reports].reverse();
    // Three drifting windows in a row, the third (judged in the second run: continue-as-new every
    // two windows) completing the debounce.
    expect(ordered.slice(0, 3).map((r) => [r.decision, r.consecutive])).toEqual([['drift', 1], ['drift', 2], ['drift', 3]]);
    expect(retrain?.cause).toMatchObject({ kind: 'drift', reportId: ordered[2]?.id });
    expect(events.find((e) => e.event === 'drift' && e.model === model)).toMatchObject({ version: 'v1', cause: { kind: 'drift', reportId: ordered[2]?.id } });
    expect((retrain?.cause as { features: string[] }).features).toEqual(expect.arrayContaining(['age', 'income']));
    expect((await client.workflow.getHandle(retrainWorkflowId(model)).describe()).status.name).toBe('RUNNING');

    // It goes on judging: the count starts again, and the next completed debounce is skipped with its reason.
    const skipped = await until('a skipped trigger', () => listRetrains(t.db, modelId), (rs) => rs.some((r) => r.status === 'skipped'));
    expect(skipped.filter((r) => r.status !== 'skipped')).toHaveLength(1);
    expect(skipped.find((r) => r.status === 'skipped')?.reason).toMatch(/running|cooldown/);
    const state = await handle.query(monitorStateQuery);
    expect(state.windowsJudged).toBeGreaterThanOrEqual(6);
    expect(state.lastRetrain?.started).toBe(false);
    // The cooldown set by the retrain that started survived every continue-as-new since.
    expect(Date.parse(state.cooldownUntil ?? '')).toBeGreaterThan(Date.now() + 3000 * 1000);
    expect(state.version).toBe('v1');
    await handle.terminate('test over');
  });

  it('starts a retrain on a realised metric drop of its own, with no drift', async () => {
    const model = 'drift-metric';
    const { modelId, versionIds } = await seedModel(model, {
      drift: { ...windowPolicy, performance: { metric: 'roc_auc', maxDrop: 0.05, labelDelaySeconds: 0, minLabels: 100 } }, retrain: retrainPolicy,
    });
    await t.db.updateTable('model_versions').set({ metrics: JSON.stringify({ roc_auc: 0.9 }) }).where('id', '=', versionIds.v1 ?? '').execute();
    const ids = await logRows(model, 300, 41);
    // The population did not move, but the outcomes no longer follow the scores (concept drift).
    await t.db.insertInto('feedback').values(ids.map((id, i) => ({ model, request_id: id, metric: 'label', value: (i * 7) % 3 === 0 ? 1 : 0, at: new Date() }))).execute();
    const handle = await client.workflow.start(driftMonitor, { taskQueue, workflowId: monitorWorkflowId(model), args: [{ model, version: 'v1', state: INITIAL_MONITOR_STATE }] });
    const [retrain] = await until('a retrain', () => listRetrains(t.db, modelId), (rs) => rs.length > 0);
    expect(retrain?.status).toBe('running');
    expect(retrain?.cause).toMatchObject({ kind: 'metric_drop', metric: 'roc_auc', expected: 0.9 });
    expect((retrain?.cause as { realised: number }).realised).toBeLessThan(0.7);
    const [report] = await listDriftReports(t.db, modelId, { limit: 100 }).then((rs) => [...rs].reverse());
    expect(report?.decision).toBe('none');
    expect((retrain?.cause as { reportId: string }).reportId).toBe(report?.id);
    // The drop stays open: later windows do not ask again.
    await until('three windows', () => handle.query(monitorStateQuery), (st) => st.windowsJudged >= 3);
    expect(await listRetrains(t.db, modelId)).toHaveLength(1);
    expect((await handle.query(monitorStateQuery)).metricDropOpen).toBe(true);
    await handle.terminate('test over');
  });

  it('watches an unshifted model without a retrain, and is replaced when the next version is promoted', async () => {
    const model = 'drift-quiet';
    const { modelId } = await seedModel(model, { drift: { ...windowPolicy, debounceWindows: 2 }, retrain: retrainPolicy });
    await logRows(model, 300, 31);
    const first = await activities.startDriftMonitor({ model, version: 'v1' });
    expect(first.started).toBe(true);
    const handle = client.workflow.getHandle(monitorWorkflowId(model));
    await until('four windows', () => handle.query(monitorStateQuery), (s) => s.windowsJudged >= 4);
    expect(await listRetrains(t.db, modelId)).toEqual([]);
    const runBefore = (await handle.describe()).runId;

    await activities.startDriftMonitor({ model, version: 'v2' });
    const replaced = client.workflow.getHandle(monitorWorkflowId(model));
    await until('the v2 monitor', () => replaced.query(monitorStateQuery), (s) => s.version === 'v2');
    expect((await replaced.describe()).runId).not.toBe(runBefore);
    expect((await client.workflow.getHandle(monitorWorkflowId(model), runBefore).describe()).status.name).toBe('TERMINATED');
    await replaced.terminate('test over');
  });

  it('starts the monitor when the lifecycle promotes a version', async () => {
    const model = 'drift-promoted';
    const seeded = await seedFixtureModel(t.db, { model, contract: exporterFixtureContract(KIND), versions: { v1: { artifact: KIND, referenceProfile: profile } } });
    started.push(monitorWorkflowId(model));
    const parsed = parseRolloutPolicy({});
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const rolloutId = await seedRollout(t.db, { modelId: seeded.modelId, candidateId: seeded.versionIds.v1 ?? '', baselineId: null, model, policy: parsed.policy });
    const input: ModelLifecycleInput = { rolloutId, model, candidateVersion: 'v1', baselineVersion: null, policy: parsed.policy, startedBy: 'test' };
    const result = await client.workflow.execute(modelLifecycle, { taskQueue, workflowId: rolloutWorkflowId(model), args: [input] });
    expect(result.status).toBe('promoted');
    const monitorHandle = client.workflow.getHandle(monitorWorkflowId(model));
    expect((await monitorHandle.describe()).type).toBe('driftMonitor');
    const state = await until('the first window', () => monitorHandle.query(monitorStateQuery), (s) => s.windowsJudged >= 1);
    expect(state).toMatchObject({ model, version: 'v1', consecutive: 0 });
    // No traffic yet: the first window is recorded as too small to judge.
    expect(state.lastReport).toMatchObject({ decision: 'insufficient_data', rows: 0 });
  });

  /**
   * An exporter fixture's evaluation rows logged as a serving worker logs them (every numeric
   * input's row in signature order, string inputs left out, no score), judged against the profile
   * registration computes from the same rows with the real model.
   */
  async function judgeFixtureRows(kind: ExporterFixtureKind) {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'sluice-monitor-'));
    try {
      const store = new ArtifactStore({ root });
      const uri = (await store.putBytes(await fs.readFile(exporterFixtureModel(kind).path))).uri;
      const contract = exporterFixtureContract(kind);
      const columns = exporterReferenceColumns(kind);
      const { profile: fixtureProfile } = await computeReferenceProfile(store, exporterVersionRow(kind, uri), { columns }, contract);
      const model = `drift-${kind}`;
      const { modelId } = await seedFixtureModel(t.db, { model, production: 'v1', contract, versions: { v1: { artifact: kind, referenceProfile: fixtureProfile } } });
      const parsed = parseLoopPolicy({ drift: { window: { kind: 'rows', rows: 500 }, minRows: 100 } }, contract);
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
      await setLoopPolicy(t.db, modelId, parsed.policy);
      const numeric = contract.inputs.filter((i) => i.elementType !== 'string').flatMap((i) => i.features ?? [i.name]);
      const rows = (columns[numeric[0] as string] ?? []).length;
      await t.db.insertInto('inference_log').values(Array.from({ length: rows }, (_, r) => ({
        request_id: randomUUID(), at: new Date(), model, version: 'v1', outputs: [], latency_us: 1000, worker_id: 'seed',
        inputs: Buffer.from(Float32Array.from(numeric.map((f) => Number(columns[f]?.[r]))).buffer),
      }))).execute();
      const version = await getVersion(t.db, modelId, 'v1');
      const window = await readMonitorWindow(t.db, { model, version, contract, window: parsed.policy.drift.window, until: new Date() });
      const judged = await activities.judgeDriftWindow({ model, version: 'v1', consecutive: 0 });
      const [report] = await listDriftReports(t.db, modelId);
      return { window, judged, report, numeric, columns };
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  }

  it('reads a two-input model\'s logged rows back into its contract\'s features and judges them against its profile', async () => {
    const { window, judged, report, numeric, columns } = await judgeFixtureRows('two-inputs');
    expect(numeric).toContain('employment');
    expect(window.rows).toBe(200);
    // The int64 input follows the float32 matrix in each logged row.
    for (const f of numeric) expect(window.columns[f]?.slice(0, 3)).toEqual(columns[f]?.slice(0, 3).map((v) => Math.fround(Number(v))));
    expect(judged).toMatchObject({ decision: 'none', rows: 200 });
    const features = report?.features as Array<{ feature: string; status: string }>;
    expect(features.filter((f) => f.status === 'ok').map((f) => f.feature).sort()).toEqual([...numeric].sort());
  });

  it('says a string input is not in the log, and judges the numeric features without it', async () => {
    const { window, judged, report, numeric } = await judgeFixtureRows('string-category');
    expect(numeric).not.toContain('employment');
    expect(window.columns.employment).toBeUndefined();
    expect(judged.decision).toBe('none');
    expect(judged.reason).toMatch(/input employment is string: the inference log does not keep it/);
    const features = report?.features as Array<{ feature: string; status: string }>;
    expect(features.find((f) => f.feature === 'employment')?.status).not.toBe('ok');
    expect(features.filter((f) => f.status === 'ok')).toHaveLength(numeric.length);
  });

  it('survives a SIGKILL of the orchestrator without losing its debounce count or cooldown', async () => {
    const model = 'drift-crash';
    const { modelId } = await seedModel(model, { drift: { ...windowPolicy, debounceWindows: 3, cooldownSeconds: 3600 }, retrain: retrainPolicy });
    await logRows(model, 300, 61, SHIFT);
    // The orchestrator as its own process, on its own task queue, so it can be killed.
    const queue = `drift-crash-${randomUUID()}`;
    const env = { ...process.env, DATABASE_URL: t.url, TEMPORAL_ADDRESS: inject('temporalAddress'), SLUICE_TASK_QUEUE: queue };
    const spawnOrchestrator = (): ChildProcess => spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src/orchestrator/main.ts')], { cwd: projectRoot, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const ready = (child: ChildProcess) => new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (c: Buffer) => { out += c.toString(); if (out.includes('SLUICE_READY')) resolve(); });
      child.once('exit', (code) => reject(new Error(`orchestrator exited ${code}: ${out}`)));
    });
    const kill = async (child: ChildProcess) => {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    };
    let child = spawnOrchestrator();
    try {
      await ready(child);
      const handle = await client.workflow.start(driftMonitor, { taskQueue: queue, workflowId: monitorWorkflowId(model), args: [{ model, version: 'v1', state: INITIAL_MONITOR_STATE, windowsPerRun: 2 }] });
      await until('two drifting windows', () => handle.query(monitorStateQuery), (st) => st.consecutive === 2, 60_000);
      await kill(child);
      child = spawnOrchestrator();
      await ready(child);
      const [retrain] = await until('a retrain', () => listRetrains(t.db, modelId), (rs) => rs.length > 0, 200_000);
      const ordered = [...await listDriftReports(t.db, modelId, { limit: 100 })].reverse();
      // The third drifting window completed the debounce: the count of two survived the kill.
      expect(ordered.slice(0, 3).map((r) => r.consecutive)).toEqual([1, 2, 3]);
      expect(retrain?.cause).toMatchObject({ kind: 'drift', reportId: ordered[2]?.id });
      const before = await handle.query(monitorStateQuery);
      expect(before.cooldownUntil).not.toBeNull();

      await kill(child);
      child = spawnOrchestrator();
      await ready(child);
      const after = await until('a window after the second kill', () => handle.query(monitorStateQuery), (st) => st.windowsJudged > before.windowsJudged, 200_000);
      expect(after.cooldownUntil).toBe(before.cooldownUntil);
      expect(after.lastRetrain?.retrainId === retrain?.id || after.lastRetrain?.started === false).toBe(true);
      expect((await listRetrains(t.db, modelId)).filter((r) => r.status !== 'skipped')).toHaveLength(1);
      await handle.terminate('test over');
    } finally {
      child.kill('SIGTERM');
    }
  }, 480_000);
});
