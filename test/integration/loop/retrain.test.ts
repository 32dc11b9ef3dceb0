// The retrain workflow end to end on the real Temporal dev server, the real orchestrator worker,
// PostgreSQL and ONNX Runtime: logged inputs of the credit model (the inference log's float32
// rows) joined with feedback labels, trained by the built-in trainer or by an external command
// (a small Node script run with process.execPath, so CI stays Python-free), judged on the holdout
// against production, registered with lineage, and the new version's lifecycle started. Every
// failing trainer ends the retrains row `failed` with its reason, production untouched.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { inferContract } from '../../../src/contracts/index.js';
import type { LineageCause, VersionLineage } from '../../../src/loop/lineage.js';
import type { RetrainPolicy, TrainerSpec } from '../../../src/loop/policy.js';
import { BASE_CREDIT_POPULATION, CREDIT_FEATURE_NAMES, CREDIT_SCHEMA, generateCreditData, type CreditPopulation } from '../../../src/models/dataset.js';
import { encodeColumns } from '../../../src/models/features.js';
import { exporterFixtureModel, fixtureModel } from '../../../src/models/fixtures.js';
import { ArtifactStore } from '../../../src/registry/artifacts.js';
import { setModelContract } from '../../../src/registry/models.js';
import { createRetrain, newRetrainId } from '../../../src/registry/retrains.js';
import { retrainStateQuery, retrainWorkflowId, rolloutWorkflowId, type RetrainInput, type RetrainResult } from '../../../src/workflows/messages.js';
import { modelRetrain } from '../../../src/workflows/retrain.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';
import { ackingFleet, passingValidator } from '../../support/stub-activities.js';
import { startTestOrchestrator, type TestOrchestrator } from '../../support/orchestrator.js';
import { exporterFixtureContract } from '../../support/exporter-contracts.js';
import { attachGoldenDataset } from '../../support/golden-dataset.js';
import { exporterFixtureSignature, fixtureSignature, seedFixtureModel, seedRollout } from '../../support/seed.js';
import { oneFeatureBinaryClassifier } from '../../support/weak-models.js';


/** Concept drift: income and late payments now point the other way, so production's model is out of date. */
const SHIFTED: CreditPopulation = {
  ...BASE_CREDIT_POPULATION,
  labelRelationship: {
    ...BASE_CREDIT_POPULATION.labelRelationship,
    numericWeights: { ...BASE_CREDIT_POPULATION.labelRelationship.numericWeights, income: 0.9, late_payments: -0.7, debt_ratio: -0.9 },
  },
};

const CAUSE: LineageCause = { kind: 'drift', reportId: '42', shareDrifted: 0.5, features: ['income', 'late_payments'] };

const creditContract = () => {
  const inferred = inferContract(fixtureSignature(), { task: 'binary_classification', featureNames: [...CREDIT_FEATURE_NAMES] });
  if (!inferred.ok) throw new Error(inferred.message);
  return inferred.contract;
};

describe('retrain workflow (real Temporal, PostgreSQL, ONNX Runtime)', () => {
  let t: TestDatabase;
  let orchestrator: TestOrchestrator;
  let client: Client;
  const taskQueue = `retrain-${randomUUID()}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-retrain-'));

  beforeAll(async () => {
    t = await createTestDatabase();
    orchestrator = await startTestOrchestrator({
      temporalAddress: inject('temporalAddress'), db: t.db, taskQueue, fleet: ackingFleet, validator: passingValidator, artifacts: new ArtifactStore({ root: path.join(tmp, 'artifacts') }),
    });
    client = orchestrator.client;
  });

  afterAll(async () => {
    await orchestrator?.close();
    await t?.drop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** The credit model with v1 (the logreg fixture) in production, `rows` logged one-row requests with their labels, one traffic generation. */
  async function seed(model: string, rows: number, population: CreditPopulation = BASE_CREDIT_POPULATION) {
    const { modelId, versionIds } = await seedFixtureModel(t.db, { model, versions: { v1: 'logreg' }, production: 'v1' });
    await setModelContract(t.db, modelId, creditContract());
    await t.db.insertInto('traffic_generations').values({ model_id: modelId, generation: 1, weights: { v1: 1 }, created_by: 'seed' }).execute();
    const data = generateCreditData(rows, 7, population);
    const features = encodeColumns(CREDIT_SCHEMA, data);
    const width = CREDIT_FEATURE_NAMES.length;
    const at = new Date(Date.now() - 60_000);
    for (let start = 0; start < rows; start += 500) {
      const batch = Array.from({ length: Math.min(500, rows - start) }, (_, k) => start + k);
      await t.db.insertInto('inference_log').values(batch.map((i) => ({
        request_id: `${model}-${i}`, at, model, version: 'v1', inputs: Buffer.from(features.slice(i * width, (i + 1) * width).buffer),
        outputs: [0.5], latency_us: 1000, worker_id: 'seed',
      }))).execute();
      await t.db.insertInto('feedback').values(batch.map((i) => ({ model, request_id: `${model}-${i}`, metric: 'label', value: data.labels[i] as number, at }))).execute();
    }
    return { modelId, v1: versionIds.v1 ?? '' };
  }

  async function retrain(model: string, modelId: string, policy: Partial<RetrainPolicy> & Pick<RetrainPolicy, 'trainer'>): Promise<{ result: RetrainResult; retrainId: string; history: () => Promise<unknown> }> {
    const retrainId = newRetrainId();
    const workflowId = retrainWorkflowId(model);
    await createRetrain(t.db, { id: retrainId, modelId, workflowId, cause: CAUSE, parentVersion: 'v1' });
    const input: RetrainInput = {
      retrainId, model, cause: CAUSE, parentVersion: 'v1', requestedBy: 'test',
      policy: { data: { kind: 'logged', windowSeconds: 3600, minRows: 100, labelMetric: 'label' }, holdoutShare: 0.25, minImprovement: 0, ...policy },
    };
    const handle = await client.workflow.start(modelRetrain, { taskQueue, workflowId, args: [input] });
    const result = await handle.result();
    expect((await handle.query(retrainStateQuery)).phase).toBe('finished');
    return { result, retrainId, history: () => handle.fetchHistory() };
  }

  const retrainRow = async (id: string) => await t.db.selectFrom('retrains').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  /** Production as it was: v1 only, serving the one generation, no rollout. */
  async function expectProductionUntouched(modelId: string) {
    const versions = await t.db.selectFrom('model_versions').select(['version', 'status']).where('model_id', '=', modelId).execute();
    expect(versions).toEqual([{ version: 'v1', status: 'production' }]);
    expect(await t.db.selectFrom('traffic_generations').select('generation').where('model_id', '=', modelId).execute()).toEqual([{ generation: 1 }]);
    expect(await t.db.selectFrom('rollouts').select('id').where('model_id', '=', modelId).execute()).toEqual([]);
  }

  /** A trainer script in the test's directory, run as `node script ...`. */
  function script(name: string, body: string): string[] {
    const file = path.join(tmp, `${name}.mjs`);
    fs.writeFileSync(file, body);
    return [process.execPath, file];
  }
  /** Whether a process runs (exists and is not a zombie). */
  function running(pid: number): boolean {
    try {
      process.kill(pid, 0);
    } catch {
      return false;
    }
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  }
  const OUT_ARG = "const arg = (n) => process.argv[process.argv.indexOf('--' + n) + 1];\n";

  it('retrains with the built-in trainer after concept drift: a better version registered with lineage and its rollout started', async () => {
    const model = 'credit-rt-builtin';
    const { modelId, v1 } = await seed(model, 1600, SHIFTED);
    const { result, retrainId, history } = await retrain(model, modelId, { trainer: { kind: 'builtin', name: 'logistic_regression', params: { epochs: 40, seed: 3 } } });

    expect(result.status, result.reason).toBe('registered');
    expect(result.version).toBe('v2');
    expect(result.reason).toMatch(/^registered v2 \(better on the holdout: candidate roc_auc 0\.\d{4} vs production 0\.\d{4} \(min improvement 0\.00\)\); rollout ro_\w+ started$/);
    const row = await retrainRow(retrainId);
    expect(row).toMatchObject({ status: 'registered', produced_version: 'v2', reason: result.reason });
    expect(row.ended_at).not.toBeNull();
    const evaluation = row.evaluation as { candidate: number; production: number; metric: string; rows: number };
    expect(evaluation.metric).toBe('roc_auc');
    expect(evaluation.candidate).toBeGreaterThan(evaluation.production);

    const version = await t.db.selectFrom('model_versions').selectAll().where('model_id', '=', modelId).where('version', '=', 'v2').executeTakeFirstOrThrow();
    const lineage = version.lineage as VersionLineage;
    expect(lineage).toMatchObject({ parent: 'v1', cause: CAUSE, retrainId, trainer: { kind: 'builtin', name: 'logistic_regression', params: { epochs: 40, seed: 3 } } });
    expect(lineage.dataWindow).toMatchObject({ source: 'inference_log', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    // The window's sha256 is the training file's, exactly as the trainer read it; its rows are the training rows.
    const store = new ArtifactStore({ root: path.join(tmp, 'artifacts') });
    const trainCsv = await store.read(lineage.dataWindow?.dataset ?? '');
    expect(trainCsv.toString('utf8').split('\n')[0]).toBe([...CREDIT_FEATURE_NAMES, 'label'].join(','));
    expect(trainCsv.toString('utf8').trim().split('\n')).toHaveLength((lineage.dataWindow?.rows ?? 0) + 1);
    expect(lineage.dataWindow?.rows).toBeGreaterThan(1000);
    expect(lineage.dataWindow?.rows).toBeLessThan(1600 - evaluation.rows + 1);
    expect(version.training_data_ref).toBe(`sha256:${lineage.dataWindow?.sha256}`);
    expect(version.reference_profile).toMatchObject({ prediction: expect.anything() });
    expect(version.signature).toEqual(fixtureSignature());

    // The rollout: its row as the API writes one, and the lifecycle workflow running under the model's rollout id.
    const rollout = await t.db.selectFrom('rollouts').selectAll().where('id', '=', result.rolloutId ?? '').executeTakeFirstOrThrow();
    expect(rollout).toMatchObject({ model_id: modelId, candidate_version_id: version.id, baseline_version_id: v1, workflow_id: rolloutWorkflowId(model), started_by: 'test' });
    const lifecycle = client.workflow.getHandle(rolloutWorkflowId(model));
    const described = await lifecycle.describe();
    expect(described.type).toBe('modelLifecycle');
    expect(described.parentExecution?.workflowId).toBe(retrainWorkflowId(model));
    await lifecycle.terminate('the test does not wait for the rollout');
    // Deterministic: the history replays, the child's start included.
    await Worker.runReplayHistory({ workflowsPath: createRequire(import.meta.url).resolve('../../../src/workflows/index.ts') }, await history() as Parameters<typeof Worker.runReplayHistory>[1], 'retrain-replay');
  });

  it('a better version registered while a rollout already runs for the model is registered without a rollout, and says so', async () => {
    const model = 'credit-rt-busy';
    const { modelId, v1 } = await seed(model, 1200, SHIFTED);
    const busy = await seedRollout(t.db, { modelId, candidateId: v1, baselineId: null, model, policy: {} });
    const { result, retrainId } = await retrain(model, modelId, { trainer: { kind: 'builtin', name: 'logistic_regression', params: {} } });
    expect(result).toMatchObject({ status: 'registered', version: 'v2', rolloutId: null });
    expect(result.reason).toContain(`model ${model} already has a running rollout (${busy}), so version v2 was registered without one`);
    expect(await retrainRow(retrainId)).toMatchObject({ status: 'registered', produced_version: 'v2' });
    expect(await t.db.selectFrom('rollouts').select('id').where('model_id', '=', modelId).execute()).toEqual([{ id: busy }]);
  });

  it('a candidate not better on the holdout ends not_better: no version, no rollout', async () => {
    const model = 'credit-rt-not-better';
    const { modelId } = await seed(model, 800);
    const { result, retrainId } = await retrain(model, modelId, { trainer: { kind: 'builtin', name: 'logistic_regression', params: {} }, minImprovement: 0.2 });
    expect(result).toMatchObject({ status: 'not_better', version: null, rolloutId: null });
    expect(result.reason).toMatch(/^not better on the holdout: candidate roc_auc 0\.\d{4} vs production 0\.\d{4} \(min improvement 0\.20\)$/);
    const row = await retrainRow(retrainId);
    expect(row).toMatchObject({ status: 'not_better', reason: result.reason, produced_version: null });
    // The candidate judged stays in the artifact store, named by the evaluation, for a person to look at.
    const judged = (row.evaluation as { artifact: { uri: string; sha256: string } }).artifact;
    expect(await new ArtifactStore({ root: path.join(tmp, 'artifacts') }).resolve(judged.uri, judged.sha256)).toMatchObject({ sha256: judged.sha256 });
    await expectProductionUntouched(modelId);
  });

  it('too few labelled rows in the window ends failed, naming the count', async () => {
    const model = 'credit-rt-few';
    const { modelId } = await seed(model, 150);
    const { result, retrainId } = await retrain(model, modelId, {
      trainer: { kind: 'builtin', name: 'logistic_regression', params: {} }, data: { kind: 'logged', windowSeconds: 3600, minRows: 500, labelMetric: 'label' },
    });
    expect(result.status).toBe('failed');
    expect(result.reason).toMatch(/data window \S+ \.\. \S+ of the inference log has 150 rows, needs 500/);
    expect(await retrainRow(retrainId)).toMatchObject({ status: 'failed', reason: result.reason });
    await expectProductionUntouched(modelId);
  });

  it('a command trainer that writes a model is run with the data paths and its params, and its model registered', async () => {
    const model = 'credit-rt-command';
    const { modelId } = await seed(model, 600, SHIFTED);
    const seen = path.join(tmp, 'seen.json');
    const argv = script('copy-trainer', `${OUT_ARG}import fs from 'node:fs';
const train = fs.readFileSync(arg('train'), 'utf8');
fs.writeFileSync(${JSON.stringify(seen)}, JSON.stringify({ header: train.split('\\n')[0], params: JSON.parse(arg('params')), env: process.env.SLUICE_TRAINER_PARAMS, holdout: fs.existsSync(arg('holdout')) }));
fs.copyFileSync(${JSON.stringify(fixtureModel('logreg').path)}, arg('out'));
`);
    // The "trained" model is production's own artifact: it scores the holdout exactly as production
    // does, an improvement of 0, which minImprovement 0 accepts. The point is the command's contract.
    const { result } = await retrain(model, modelId, { trainer: { kind: 'command', argv, timeoutSeconds: 60, params: { depth: 3 } } });
    expect(JSON.parse(fs.readFileSync(seen, 'utf8'))).toEqual({ header: [...CREDIT_FEATURE_NAMES, 'label'].join(','), params: { depth: 3 }, env: '{"depth":3}', holdout: true });
    expect(result.status, result.reason).toBe('registered');
    expect(result.reason).toMatch(/better on the holdout: candidate roc_auc (0\.\d{4}) vs production \1 \(min improvement 0\.00\)/);
    const version = await t.db.selectFrom('model_versions').select(['lineage']).where('model_id', '=', modelId).where('version', '=', 'v2').executeTakeFirstOrThrow();
    expect((version.lineage as VersionLineage).trainer).toEqual({ kind: 'command', name: process.execPath, params: { depth: 3 } });
    await client.workflow.getHandle(rolloutWorkflowId(model)).terminate('not under test');
  });

  describe('a failing external trainer ends the retrain failed with the reason, production untouched', () => {
    it('non-zero exit: the stderr is kept', async () => {
      const model = 'credit-rt-exit';
      const { modelId } = await seed(model, 300);
      const argv = script('exit-trainer', "process.stderr.write('loading data\\n'); process.stderr.write('ValueError: boom, the trainer broke\\n'); process.exit(3);\n");
      const { result, retrainId } = await retrain(model, modelId, { trainer: { kind: 'command', argv, timeoutSeconds: 60, params: {} } });
      expect(result.status).toBe('failed');
      expect(result.reason).toContain(`trainer command ${process.execPath} exited with code 3; its stderr ends:\nloading data\nValueError: boom, the trainer broke`);
      const row = await retrainRow(retrainId);
      expect(row).toMatchObject({ status: 'failed', reason: result.reason, trainer: { kind: 'command', name: process.execPath } });
      await expectProductionUntouched(modelId);
    });

    it('timeout: the trainer (and what it started) is killed', async () => {
      const model = 'credit-rt-timeout';
      const { modelId } = await seed(model, 300);
      const pidFile = path.join(tmp, 'sleeper.pid');
      const argv = script('slow-trainer', `import { spawn } from 'node:child_process'; import fs from 'node:fs';
const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)'], { stdio: 'ignore' });
fs.writeFileSync(${JSON.stringify(pidFile)}, String(child.pid));
process.stderr.write('epoch 1 of 1000\\n');
setTimeout(() => {}, 600000);
`);
      const { result } = await retrain(model, modelId, { trainer: { kind: 'command', argv, timeoutSeconds: 2, params: {} } });
      expect(result.status).toBe('failed');
      expect(result.reason).toContain('timed out after 2 s and was killed; its stderr ends:\nepoch 1 of 1000');
      const grandchild = Number(fs.readFileSync(pidFile, 'utf8'));
      // Killed with its group: gone, or a zombie nobody has reaped yet (a container's init may not reap).
      await expect.poll(() => running(grandchild), { timeout: 10_000 }).toBe(false);
      await expectProductionUntouched(modelId);
    });

    it('output that is not ONNX is refused by ONNX Runtime', async () => {
      const model = 'credit-rt-not-onnx';
      const { modelId } = await seed(model, 300);
      const argv = script('text-trainer', `${OUT_ARG}import fs from 'node:fs'; fs.writeFileSync(arg('out'), 'this is not a model');\n`);
      const { result } = await retrain(model, modelId, { trainer: { kind: 'command', argv, timeoutSeconds: 60, params: {} } });
      expect(result.status).toBe('failed');
      expect(result.reason).toMatch(/trainModel: RetrainFailed: the artifact is not a loadable ONNX model/);
      await expectProductionUntouched(modelId);
    });

    it('no model written at --out', async () => {
      const model = 'credit-rt-no-out';
      const { modelId } = await seed(model, 300);
      const argv = script('lazy-trainer', "process.exit(0);\n");
      const { result } = await retrain(model, modelId, { trainer: { kind: 'command', argv, timeoutSeconds: 60, params: {} } });
      expect(result.status).toBe('failed');
      expect(result.reason).toContain('exited 0 but wrote no model to --out');
      await expectProductionUntouched(modelId);
    });

    it('a model whose signature breaks the contract: checkVersion\'s message', async () => {
      const model = 'credit-rt-shape';
      const { modelId } = await seed(model, 300);
      const wrong = exporterFixtureModel('multiclass-logits').path;
      const argv = script('wrong-shape-trainer', `${OUT_ARG}import fs from 'node:fs'; fs.copyFileSync(${JSON.stringify(wrong)}, arg('out'));\n`);
      const { result } = await retrain(model, modelId, { trainer: { kind: 'command', argv, timeoutSeconds: 60, params: {} } });
      expect(result.status).toBe('failed');
      expect(result.reason).toMatch(/breaks the model's contract: .*The contract expects .*; version trained by command trainer .* has /s);
      await expectProductionUntouched(modelId);
    });

    it('a command that cannot be run', async () => {
      const model = 'credit-rt-missing';
      const { modelId } = await seed(model, 300);
      // The policy as a person writes it: the trainer's timeout and params are the defaults.
      const trainer = { kind: 'command', argv: [path.join(tmp, 'no-such-trainer')] } as unknown as TrainerSpec;
      const { result, retrainId } = await retrain(model, modelId, { trainer });
      expect(result.status).toBe('failed');
      expect(result.reason).toContain('cannot be run (ENOENT)');
      expect((await retrainRow(retrainId)).trainer).toEqual({ kind: 'command', name: path.join(tmp, 'no-such-trainer'), params: {} });
      await expectProductionUntouched(modelId);
    });
  });

  describe('an exporter-shaped model (skl2onnx binary classifier) retrained from a dataset', () => {
    const KIND = 'binary-label-probabilities' as const;

    async function seedExporter(model: string) {
      const { modelId } = await seedFixtureModel(t.db, { model, versions: { v1: KIND }, production: 'v1' });
      const contract = exporterFixtureContract(KIND);
      await setModelContract(t.db, modelId, contract);
      await t.db.insertInto('traffic_generations').values({ model_id: modelId, generation: 1, weights: { v1: 1 }, created_by: 'seed' }).execute();
      const dataset = await attachGoldenDataset(t.db, new ArtifactStore({ root: path.join(tmp, 'artifacts') }), { modelId, kind: KIND, contract });
      return { modelId, dataset };
    }

    it('the built-in trainer refuses it, naming the limitation', async () => {
      const model = 'exporter-rt-builtin';
      const { modelId, dataset } = await seedExporter(model);
      const { result } = await retrain(model, modelId, { trainer: { kind: 'builtin', name: 'logistic_regression', params: {} }, data: { kind: 'dataset', dataset } });
      expect(result.status).toBe('failed');
      expect(result.reason).toContain('the built-in trainer builds only a binary classifier with one float32 input "input" of named features and the score in output "probability"; this model is not one (its input is "float_input"): use a command or webhook trainer');
      await expectProductionUntouched(modelId);
    });

    it('a webhook trainer gets the data and answers a weaker model: not_better on the holdout (scored by the contract: probabilities[:, 1])', async () => {
      const model = 'exporter-rt-webhook';
      const { modelId, dataset } = await seedExporter(model);
      const weak = await oneFeatureBinaryClassifier(tmp, { width: exporterFixtureSignature(KIND).inputs[0]?.shape[1] ?? 0, feature: 0, weight: 0.01, bias: 0 });
      const received: Array<{ params: unknown; train: { csv: string; sha256: string }; holdout: { csv: string } }> = [];
      const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(fs.readFileSync(weak.path));
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      try {
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/train`;
        const { result, retrainId } = await retrain(model, modelId, { trainer: { kind: 'webhook', url, timeoutSeconds: 60, params: { c: 1 } }, data: { kind: 'dataset', dataset } });
        expect(result.status, result.reason).toBe('not_better');
        expect(result.reason).toMatch(/^not better on the holdout: candidate roc_auc 0\.\d{4} vs production 0\.\d{4} \(min improvement 0\.00\)$/);
        expect(received).toHaveLength(1);
        expect(received[0]?.params).toEqual({ c: 1 });
        const row = await retrainRow(retrainId);
        expect(row.data_window).toMatchObject({ source: 'dataset', dataset, sha256: received[0]?.train.sha256 });
        // Train and holdout together are the dataset's 200 rows, split by the retrain's id.
        const lines = (csv: string) => csv.trim().split('\n').length - 1;
        expect(lines(received[0]?.train.csv ?? '') + lines(received[0]?.holdout.csv ?? '')).toBe(200);
        await expectProductionUntouched(modelId);
      } finally {
        server.close();
      }
    });

    it('a webhook trainer that answers an error ends failed with its status', async () => {
      const model = 'exporter-rt-webhook-error';
      const { modelId, dataset } = await seedExporter(model);
      const server = http.createServer((_req, res) => res.writeHead(500).end('out of GPUs'));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      try {
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/train`;
        const { result } = await retrain(model, modelId, { trainer: { kind: 'webhook', url, timeoutSeconds: 60, params: {} }, data: { kind: 'dataset', dataset } });
        expect(result.status).toBe('failed');
        expect(result.reason).toContain(`trainer webhook ${url} answered 500: out of GPUs`);
        await expectProductionUntouched(modelId);
      } finally {
        server.close();
      }
    });
  });
});
