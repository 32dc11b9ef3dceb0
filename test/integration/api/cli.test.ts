// The `sluice` CLI as a person runs it: real processes against the real API, database and
// Temporal, checking output, --json and exit codes (0 ok, 1 refused, 2 usage).
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type FleetClient } from '../../../src/activities/index.js';
import type { ExperimentReportOut } from '../../../src/api/schemas.js';
import { formatPValue } from '../../../src/api/services/report.js';
import { exporterFixtureModel } from '../../../src/models/fixtures.js';
import { loadModelSession, runFloatMatrix } from '../../../src/models/onnx-runtime.js';
import { decideLook, initialLookState, type ExperimentConfig, type LookDecision, type LookState } from '../../../src/stats/index.js';
import { lookInput } from '../../../src/workflows/experiment.js';
import { seedFixtureModel, seedRollout } from '../../support/seed.js';
import { fixturesDir, readManifest, startHarness, type Harness } from './harness.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const MODEL = `cli-${Date.now().toString(36)}`;

interface Run { code: number; stdout: string; stderr: string }

describe('sluice CLI', () => {
  let h: Harness;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    h = await startHarness();
    const { DATABASE_URL: _db, SLUICE_API_KEY: _key, ...rest } = process.env;
    env = { ...rest, SLUICE_API_URL: h.url, SLUICE_API_KEY: h.keys.admin, NO_COLOR: '1' };
  });
  afterAll(async () => { await h?.close(); });

  /** Runs the CLI; `printed` is what it has written to stdout so far, for waits on a running command. */
  const sluiceLive = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => {
    let printed = '';
    const done = new Promise<Run>((resolve) => {
      const child = execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, env: { ...env, ...extraEnv }, timeout: 120_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      });
      child.stdout?.on('data', (chunk: Buffer | string) => { printed += chunk.toString(); });
    });
    return { done, printed: () => printed };
  };
  const sluice = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => sluiceLive(args, extraEnv).done;

  it('creates a key in the database directly (bootstrap), shown once, and uses it', async () => {
    const run = await sluice(['keys', 'create', '--role', 'deployer', '--name', 'cli-test', '--database-url', h.t.url, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const key = JSON.parse(run.stdout) as { token: string; role: string; project: string };
    expect(key).toMatchObject({ role: 'deployer', project: 'default' });
    const who = await sluice(['whoami', '--json'], { SLUICE_API_KEY: key.token });
    expect(who.code).toBe(0);
    expect(JSON.parse(who.stdout)).toMatchObject({ role: 'deployer', name: 'cli-test' });
    const tenant = await sluice(['keys', 'create', '--role', 'viewer', '--project', 'acme', '--database-url', h.t.url]);
    expect(tenant.code, tenant.stderr).toBe(0);
    expect(tenant.stdout).toMatch(/created viewer key [0-9a-f]{16} \(cli\) in project acme/);
    expect(tenant.stdout).toMatch(/sk_[0-9a-f]{16}_/);
    const badRole = await sluice(['keys', 'create', '--role', 'god', '--database-url', h.t.url]);
    expect(badRole.code).toBe(2);
    const viaApi = await sluice(['keys', 'create', '--role', 'approver', '--json']);
    expect(viaApi.code, viaApi.stderr).toBe(0);
    expect(JSON.parse(viaApi.stdout).role).toBe('approver');
  });

  it('registers versions with upload progress, lists them, and refuses with exit code 1', async () => {
    const manifest = await readManifest();
    for (const m of manifest.models) {
      const run = await sluice(['versions', 'register', MODEL, path.join(fixturesDir, m.file), '--version', m.version, '--create-model', '--metadata', '{"trainer":"cli"}']);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`registered ${MODEL} ${m.version}`));
      expect(run.stdout).toMatch(/inputs:\s+input:float32\[-1,19\]/);
      expect(run.stderr).toMatch(/uploaded/);
    }
    const list = await sluice(['versions', 'list', MODEL, '--json']);
    expect(JSON.parse(list.stdout).versions).toHaveLength(manifest.models.length);
    const table = await sluice(['versions', 'list', MODEL]);
    expect(table.stdout).toMatch(/^VERSION\s+STATUS/m);
    const again = await sluice(['versions', 'register', MODEL, path.join(fixturesDir, manifest.models[0]!.file), '--version', manifest.models[0]!.version]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/409.*already registered/);
    const missingFile = await sluice(['versions', 'register', MODEL, '/no/such/file.onnx', '--version', 'x']);
    expect(missingFile.code).toBe(2);
    const noKey = await sluice(['models', 'list'], { SLUICE_API_KEY: '' });
    expect(noKey.code).toBe(2);
    const unreachable = await sluice(['models', 'list', '--api', 'http://127.0.0.1:9']);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/cannot reach the Sluice API/);
    const golden = JSON.parse(await fs.readFile(path.join(fixturesDir, 'credit-golden.json'), 'utf8')) as { featureNames: string[]; matrix: number[][] };
    const dataFile = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'sluice-cli-')), 'reference.json');
    await fs.writeFile(dataFile, JSON.stringify(Object.fromEntries(golden.featureNames.map((n, j) => [n, golden.matrix.slice(0, 200).map((r) => r[j])]))));
    const profile = await sluice(['versions', 'profile', MODEL, '1', '--data', dataFile]);
    expect(profile.code, profile.stderr).toBe(0);
    expect(profile.stdout).toMatch(/with the model's prediction distribution/);
    const models = await sluice(['models']);
    expect(models.stdout).toContain(MODEL);
  });

  it('shows the contract before anything is saved: create with hints, register --dry-run, register, show, set-contract', async () => {
    const twoInputs = exporterFixtureModel('two-inputs');
    const numeric = twoInputs.entry.inputs[0]!.features!;
    const model = `${MODEL}-contract`;
    const created = await sluice(['models', 'create', model, '--features', `numeric=${numeric.join(',')}`, '--features', 'employment=employment']);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/contract: inferred from the first version registered/);
    const badFeatures = await sluice(['models', 'create', `${model}-x`, '--features', 'a,b']);
    expect(badFeatures.code).toBe(2);
    expect(badFeatures.stderr).toMatch(/--features a,b: write input=name1,name2/);

    const dry = await sluice(['versions', 'register', model, twoInputs.path, '--version', '1', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/dry run: .* 1 would register \(nothing stored\)/);
    expect(dry.stdout).toMatch(/contract \(inferred from this version \(stored with it\)\): Binary classification: the score is the probability of class 1, read from output probability/);
    expect(dry.stdout).toContain(`numeric (float32, 8 features: ${numeric.slice(0, 6).join(', ')} and 2 more)`);
    const versionsAfterDryRun = await h.t.db.selectFrom('model_versions as v').innerJoin('models as m', 'm.id', 'v.model_id').select('v.version').where('m.name', '=', model).execute();
    expect(versionsAfterDryRun).toEqual([]);
    expect((await h.t.db.selectFrom('models').select('contract').where('name', '=', model).executeTakeFirstOrThrow()).contract).toBeNull();

    const real = await sluice(['versions', 'register', model, twoInputs.path, '--version', '1']);
    expect(real.code, real.stderr).toBe(0);
    expect(real.stdout).toMatch(/registered .* 1\n/);
    expect(real.stdout).toMatch(/contract \(inferred from this version \(stored with it\)\): Binary classification/);
    const shown = await sluice(['models', 'show', model]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/task:\s+binary_classification/);
    expect(shown.stdout).toMatch(/contract: Binary classification: .* It takes 2 inputs: numeric .*; employment \(int64, one value per row\)\./);

    const stored = (await h.t.db.selectFrom('models').select('contract').where('name', '=', model).executeTakeFirstOrThrow()).contract!;
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sluice-cli-'));
    const contractFile = path.join(dir, 'contract.json');
    await fs.writeFile(contractFile, JSON.stringify({ ...stored, threshold: 0.3 }));
    const set = await sluice(['models', 'set-contract', model, contractFile, '--reason', 'a lower cut']);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/A row is predicted positive when its score is at least 0\.3\./);
    await fs.writeFile(contractFile, JSON.stringify({ ...stored, threshold: 2 }));
    const badCreate = await sluice(['models', 'create', `${model}-declared`, '--contract', contractFile]);
    expect(badCreate.code).toBe(1);
    expect(badCreate.stderr).toMatch(/400 invalid_request — body\/contract\/threshold: /);
    const both = await sluice(['models', 'create', `${model}-declared`, '--contract', contractFile, '--task', 'regression']);
    expect(both.code).toBe(2);
    await fs.writeFile(contractFile, JSON.stringify(stored));
    const declared = await sluice(['models', 'create', `${model}-declared`, '--contract', contractFile]);
    expect(declared.code, declared.stderr).toBe(0);
    expect(declared.stdout).toMatch(/contract \(declared; checked against the first version registered\): Binary classification/);
    await fs.writeFile(contractFile, JSON.stringify({ ...stored, score: { output: 'probabilities', transform: 'none' } }));
    const breaks = await sluice(['models', 'set-contract', model, contractFile]);
    expect(breaks.code).toBe(1);
    expect(breaks.stderr).toMatch(/409 conflict — the contract does not fit version 1 of model .*output probabilities is not among the model's outputs \(probability\)/);
  });

  it('sets a model\'s golden set from a JSON file (the fixture\'s matrix too), refusing a bad one with the field named', async () => {
    const fixtureFile = path.join(fixturesDir, 'credit-golden.json');
    const fixtureRows = (JSON.parse(await fs.readFile(fixtureFile, 'utf8')) as { matrix: number[][] }).matrix;
    const set = await sluice(['models', 'golden-set', MODEL, fixtureFile]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain(`golden set of ${MODEL}: ${fixtureRows.length} rows of ${fixtureRows[0]!.length} values`);

    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sluice-cli-'));
    const file = async (name: string, body: unknown) => { const f = path.join(dir, name); await fs.writeFile(f, typeof body === 'string' ? body : JSON.stringify(body)); return f; };
    const segmented = await sluice(['models', 'golden-set', MODEL, await file('segmented.json', { features: [[1, 2], [3, 4]], labels: [0, 1], segments: ['b', 'a'] }), '--json']);
    expect(segmented.code, segmented.stderr).toBe(0);
    expect(JSON.parse(segmented.stdout)).toEqual({ model: MODEL, rows: 2, width: 2, segments: ['a', 'b'] });

    const ragged = await sluice(['models', 'golden-set', MODEL, await file('ragged.json', { features: [[1, 2], [3]], labels: [0, 1] })]);
    expect(ragged.code).toBe(1);
    expect(ragged.stderr).toMatch(/body\/features\/1: has 1 values; row 0 has 2/);
    const noLabels = await sluice(['models', 'golden-set', MODEL, await file('nolabels.json', { features: [[1, 2]] })]);
    expect(noLabels.code).toBe(2);
    expect(noLabels.stderr).toMatch(/needs "features" \(or "matrix"\) and "labels"/);
    const notJson = await sluice(['models', 'golden-set', MODEL, await file('broken.json', '{"features": [')]);
    expect(notJson.code).toBe(2);
    // The refusals left the last good golden set in place.
    const stored = await h.t.db.selectFrom('models').select('golden_set').where('name', '=', MODEL).executeTakeFirstOrThrow();
    expect(stored.golden_set).toEqual({ features: [[1, 2], [3, 4]], labels: [0, 1], segments: ['b', 'a'] });
  });

  it('starts, shows, steers and watches a rollout to its outcome', async () => {
    await h.t.db.updateTable('model_versions').set({ status: 'production' }).where('version', '=', '1').execute();
    const policyFile = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'sluice-cli-')), 'policy.json');
    await fs.writeFile(policyFile, JSON.stringify({ experiment: { kind: 'ab', alpha: 0.7, primaryMetric: { name: 'repaid' } } }));
    const badPolicy = await sluice(['rollout', 'start', MODEL, '2', '--policy', policyFile]);
    expect(badPolicy.code).toBe(1);
    expect(badPolicy.stderr).toMatch(/400 invalid_policy — policy: \/experiment\/alpha/);
    await fs.writeFile(policyFile, JSON.stringify({ canary: { steps: [{ weight: 0.1, bakeSeconds: 1 }, { weight: 0.3, bakeSeconds: 1 }] }, experiment: { primaryMetric: { name: 'repaid' } } }));
    const start = await sluice(['rollout', 'start', MODEL, '2', '--policy', policyFile]);
    expect(start.code, start.stderr).toBe(0);
    expect(start.stdout).toMatch(/started rollout ro_[0-9a-f]{32}: .* 1 → 2/);
    expect(start.stdout).toMatch(/temporal ui\s+http:\/\/temporal-ui\.test\/namespaces\/default\/workflows\/rollout%3A/);
    const status = await sluice(['rollout', 'status', MODEL]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/phase:\s+canary/);
    expect(status.stdout).toMatch(/weights:\s+1=100%/);
    const pause = await sluice(['rollout', 'pause', MODEL, '--reason', 'look at p99']);
    expect(pause.code, pause.stderr).toBe(0);
    expect(pause.stdout).toMatch(/pause: ok .*paused/);
    const pauseAgain = await sluice(['rollout', 'pause', MODEL]);
    expect(pauseAgain.code).toBe(1);
    expect(pauseAgain.stderr).toMatch(/already paused/);
    expect((await sluice(['rollout', 'resume', MODEL])).code).toBe(0);
    expect((await sluice(['rollout', 'approve', MODEL])).code).toBe(0);
    const weights = await sluice(['rollout', 'weights', MODEL, '1=90%', '2=10%']);
    expect(weights.code, weights.stderr).toBe(0);
    expect(weights.stdout).toMatch(/weights now 1=90% 2=10%/);
    const badWeights = await sluice(['rollout', 'weights', MODEL, '1:0.9']);
    expect(badWeights.code).toBe(2);
    const list = await sluice(['rollout', 'list', '--model', MODEL, '--json']);
    const rolloutId = JSON.parse(list.stdout).rollouts[0].id as string;

    // watch: ends with the outcome once the rollout row says so (here: the test plays the orchestrator).
    // The outcome is written once watch has shown the canary (a fixed sleep raced the CLI's start on a busy machine).
    const watching = sluiceLive(['rollout', 'watch', rolloutId, '--interval', '0.3']);
    for (const deadline = Date.now() + 90_000; !/step canary 1\/2/.test(watching.printed());) {
      if (Date.now() > deadline) throw new Error(`rollout watch never showed the canary: ${watching.printed()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await h.t.db.updateTable('rollouts').set({ status: 'promoted', phase: 'completed', outcome_reason: 'treatment won', ended_at: new Date() }).where('id', '=', rolloutId).execute();
    const watched = await watching.done;
    expect(watched.code).toBe(0);
    expect(watched.stdout).toMatch(/canary \| step canary 1\/2 \| weights 1=90% 2=10% \(gen 2\)/);
    expect(watched.stdout).toMatch(/outcome: promoted — treatment won/);

    const abortEnded = await sluice(['rollout', 'abort', rolloutId]);
    expect(abortEnded.code).toBe(1);
    const history = await sluice(['rollout', 'history', rolloutId, '--json']);
    expect(history.code).toBe(0);
    expect(JSON.parse(history.stdout).rollout.id).toBe(rolloutId);
    const audit = await sluice(['audit', '--target-id', rolloutId]);
    expect(audit.stdout).toMatch(/rollout\.set_weights/);
    expect(audit.stdout).toMatch(/rollout\.start/);
    const traffic = await sluice(['traffic', MODEL]);
    expect(traffic.stdout).toMatch(/no traffic generation yet/);
    expect(traffic.stdout).toMatch(/served by 0 of 0 live workers/);
    // A live worker's row: the table names it, its generation and the versions it holds.
    await h.t.db.insertInto('serving_workers').values({
      id: 'cli-worker', address: 'http://127.0.0.1:8101', admin_address: 'http://127.0.0.1:8101/admin', device: 'cpu', status: 'ready',
      models: JSON.stringify([{ model: MODEL, version: '2', state: 'ready' }]) as never, generations: JSON.stringify({ [MODEL]: 3 }) as never,
      started_at: new Date(), heartbeat_at: new Date(),
    }).execute();
    const withWorker = await sluice(['traffic', MODEL]);
    await h.t.db.deleteFrom('serving_workers').where('id', '=', 'cli-worker').execute();
    expect(withWorker.stdout).toMatch(/served by 0 of 1 live workers/);
    expect(withWorker.stdout).toMatch(/cli-worker\s+ready\s+cpu\s+3\s+2 \(ready\)\s+http:\/\/127\.0\.0\.1:8101/);
    const report = await sluice(['report', rolloutId]);
    expect(report.code).toBe(1);
    expect(report.stderr).toMatch(/no experiment/);
  });

  it('shows why a rollout was rejected: the outcome in status and watch, the failed check in history', async () => {
    // Recorded as the workflow records a validation check that threw: the same activities.
    const model = `${MODEL}-rejected`;
    const seeded = await seedFixtureModel(h.t.db, { model, versions: { 1: 'logreg', 2: 'mlp' }, production: '1' });
    const rolloutId = `ro_${'0123456789abcdef'.repeat(2)}`;
    await seedRollout(h.t.db, { id: rolloutId, modelId: seeded.modelId, candidateId: seeded.versionIds['2'] ?? '', baselineId: seeded.versionIds['1'] ?? '', model, policy: {} });
    const activities = createActivities({ db: h.t.db, fleet: {} as FleetClient });
    const thrown = 'check accuracy threw RangeError: output label is not float32';
    await activities.recordRolloutStep({ rolloutId, seq: 1, at: new Date().toISOString(), phase: 'validating', step: 'validate:accuracy', verdict: 'failed', reason: thrown, numbers: { failureType: 'ValidationCheckError' } });
    await activities.completeRollout({ rolloutId, status: 'rejected', reason: `validation failed: ${thrown}` });

    const status = await sluice(['rollout', 'status', rolloutId]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/status:\s+rejected/);
    expect(status.stdout).toContain(`validation failed: ${thrown}`);
    const watched = await sluice(['rollout', 'watch', rolloutId, '--interval', '0.3']);
    expect(watched.code).toBe(1);
    expect(watched.stdout).toContain(`outcome: rejected — validation failed: ${thrown}`);
    const history = await sluice(['rollout', 'history', rolloutId]);
    expect(history.code, history.stderr).toBe(0);
    const row = history.stdout.split('\n').find((l) => l.includes('validate:accuracy'));
    expect(row, history.stdout).toMatch(/validating\s+validate:accuracy\s+failed\s+check accuracy threw RangeError: output label is not float32/);
  });

  it('replays logged requests against a version and reports the differences', async () => {
    const manifest = await readManifest();
    const golden = JSON.parse(await fs.readFile(path.join(fixturesDir, 'credit-golden.json'), 'utf8')) as { matrix: number[][] };
    const rows = golden.matrix.slice(0, 40);
    const v1 = await loadModelSession(path.join(fixturesDir, manifest.models[0]!.file));
    const outputs = await runFloatMatrix(v1, Float32Array.from(rows.flat()), rows.length);
    await v1.session.release();
    // Logged during the rollout of the previous test, so --rollout finds them too.
    const rollout = await h.t.db.selectFrom('rollouts as r').innerJoin('models as m', 'm.id', 'r.model_id').select('r.started_at').where('m.name', '=', MODEL).executeTakeFirstOrThrow();
    const at = new Date(rollout.started_at.getTime() + 500);
    await h.t.db.insertInto('inference_log').values(rows.map((r, i) => ({
      request_id: `req-${i}`, at, model: MODEL, version: '1', inputs: Buffer.from(Float32Array.from(r).buffer), outputs: [outputs[i] as number], latency_us: 100, worker_id: 'w1',
    }))).execute();
    const from = new Date(at.getTime() - 60_000).toISOString();
    const same = await sluice(['replay', '--from', from, '--to', 'now', '--version', `${MODEL}/1`, '--json']);
    expect(same.code, same.stderr).toBe(0);
    expect(JSON.parse(same.stdout)).toMatchObject({ requests: 40, rows: 40, differing: 0, classChanges: 0, skipped: 0, unreplayable: null });
    expect(JSON.parse(same.stdout).outputs).toEqual([expect.objectContaining({ rows: 40, differingRows: 0, maxAbsDiff: 0 })]);
    const other = await sluice(['replay', '--model', MODEL, '--from', '10m', '--version', '2']);
    expect(other.code, other.stderr).toBe(0);
    expect(other.stdout).toMatch(/replayed:\s+40/);
    expect(other.stdout).toMatch(/differing:\s+\d+ \(\d+\.\d%\) beyond 0.00001/);
    expect(other.stdout).toMatch(/by the version that answered/);
    expect(other.stdout).toMatch(/by output:\nOUTPUT\s+ROWS\s+DIFFERING ROWS\s+MAX \|DIFF\|\s+MEAN \|DIFF\|\nprobability\s+40\s+\d+/);
    expect(other.stdout).toMatch(/score:\s+binary_classification: max \|diff\| \d\.\d+, class changed in \d+\.\d% of 40 rows/);
    const viaRollout = await sluice(['replay', '--rollout', MODEL, '--json']);
    expect(viaRollout.code, viaRollout.stderr).toBe(0);
    expect(JSON.parse(viaRollout.stdout)).toMatchObject({ version: '2', requests: 40 });
    const usageError = await sluice(['replay', '--from', '1h']);
    expect(usageError.code).toBe(2);
  });
  it('prints a finished rollout\'s report as tables and sentences whose numbers are the API\'s', async () => {
    // The A/B test of the rollout above, recorded as the workflow records it: the same activities,
    // per-look arm statistics and the stats engine's decision on them.
    const rollout = await h.t.db.selectFrom('rollouts as r').innerJoin('models as m', 'm.id', 'r.model_id').select('r.id').where('m.name', '=', MODEL).executeTakeFirstOrThrow();
    const activities = createActivities({ db: h.t.db, fleet: {} as FleetClient });
    const experimentId = `${rollout.id}:ab`;
    const config: ExperimentConfig = { alpha: 0.05, expectedSampleSize: 2000, primary: { name: 'repaid', direction: 'increase' }, treatmentShare: 0.5, minSamplePerArm: 100, maxSamplePerArm: 5000 };
    await activities.startExperiment({
      experimentId, rolloutId: rollout.id, model: MODEL, kind: 'ab', salt: rollout.id, primaryMetric: 'repaid',
      arms: [{ name: 'control', version: '1' }, { name: 'treatment', version: '2' }], config: config as unknown as Record<string, unknown>,
    });
    const primary = { name: 'repaid', type: 'binary' as const, direction: 'increase' as const };
    let state: LookState = initialLookState();
    let last: LookDecision | undefined;
    let snapshot = { assigned: {}, metrics: {} } as Parameters<typeof lookInput>[0];
    for (let look = 1; look <= 10 && last?.action !== 'promote'; look++) {
      const n = 300 * look;
      const arm = (rate: number, units: number) => ({ n: units, successes: Math.round(units * rate), sum: Math.round(units * rate), sumSquares: Math.round(units * rate) });
      snapshot = { assigned: { control: n, treatment: n + look }, metrics: { repaid: { control: arm(0.3, n), treatment: arm(0.42, n + look) } } };
      const result = decideLook(config, lookInput(snapshot, primary, [], look * 2), state);
      if (!result.ok) throw new Error(result.message);
      state = result.state;
      last = result;
      await activities.recordExperimentLook({ experimentId, look, armStats: snapshot, result, decision: result.action });
    }
    if (last?.action !== 'promote') throw new Error('the scripted experiment did not promote');
    await activities.finishExperiment({ experimentId, status: 'decided', decision: { action: last.action, trigger: last.trigger, reason: last.reason, look: last.look } });

    const api = (await h.call('GET', `/v1/rollouts/${rollout.id}/report`)).body as ExperimentReportOut;
    const run = await sluice(['report', rollout.id]);
    expect(run.code, run.stderr).toBe(0);
    const out = run.stdout;
    expect(out).not.toMatch(/[{}]/); // no JSON blob anywhere
    // Per arm: units, n and the rate, as the API computed them and as recorded.
    const arms = snapshot.metrics.repaid ?? {};
    for (const a of api.summary.arms) {
      const row = out.split('\n').find((l) => l.startsWith(`${a.arm} `));
      expect(row, out).toBeDefined();
      const [name, version, units, n, rate] = (row as string).trim().split(/\s+/);
      expect([name, version]).toEqual([a.arm, a.version]);
      expect(Number(units)).toBe(a.units);
      expect(Number(units)).toBe((snapshot.assigned as Record<string, number>)[a.arm]);
      expect(Number(n)).toBe(a.n);
      expect(Number(rate)).toBeCloseTo(a.mean as number, 4);
      expect(Number(rate)).toBeCloseTo((arms[a.arm]?.successes ?? NaN) / (arms[a.arm]?.n ?? NaN), 4);
    }
    expect(out).toMatch(/^ARM\s+VERSION\s+UNITS\s+N\s+RATE$/m);
    // The effect with its always-valid interval and p: the API's numbers, which are the engine's.
    const e = api.summary.effect;
    expect(e.estimate).toBeCloseTo(last.primary.effect as number, 12);
    expect(e.lower).toBeCloseTo(last.primary.confidenceSequence?.lower as number, 12);
    expect(e.pValue).toBe(last.primary.pValue);
    const sign = (x: number) => (x >= 0 ? '+' : '') + x.toFixed(4);
    expect(out).toContain(`effect (treatment − control): ${sign(e.estimate as number)}, always-valid 95% interval [${sign(e.lower as number)}, ${sign(e.upper as number)}], p = ${formatPValue(e.pValue as number)} (look ${last.look})`);
    // Every look in the confidence-sequence table.
    for (const p of api.confidenceSequence) expect(out).toMatch(new RegExp(`^${p.look}\\s+${p.at}\\s+\\${sign(p.estimate as number)}`, 'm'));
    // SRM in a sentence, with its numbers; the decision with its reason.
    const assigned = snapshot.assigned as Record<string, number>;
    expect(out).toContain(`SRM: No sample-ratio mismatch: the arms' units match the planned split (control ${assigned.control} and treatment ${assigned.treatment} units against a planned 50% treatment share), p = ${formatPValue(last.srm.pValue as number)} ≥ 0.001.`);
    expect(api.summary.srm).toMatchObject({ checked: true, mismatch: false, pValue: last.srm.pValue });
    expect(out).toContain(`decision: promote at look ${last.look} — ${last.reason}`);
    expect(api.summary.decision).toEqual({ action: 'promote', reason: last.reason, look: last.look, final: true });
    // --json is the API's report as it is.
    const json = await sluice(['report', MODEL, '--json']);
    expect(JSON.parse(json.stdout)).toEqual(api);
  });
});
