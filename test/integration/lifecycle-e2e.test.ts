// Whole rollouts, nothing mocked: the real Temporal dev server, real PostgreSQL, two real serving
// workers on ONNX Runtime over HTTP, the real fleet client and validator, and simulated users whose
// outcomes depend on the version that answered them.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Client } from '@temporalio/client';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApiApp } from '../../src/api/app.js';
import { projectRoot } from '../../src/config.js';
import { exporterFixtureModel } from '../../src/models/fixtures.js';
import { loadModelSession, runFeeds } from '../../src/models/onnx-runtime.js';
import { ArtifactStore } from '../../src/registry/artifacts.js';
import { createApiKey } from '../../src/registry/keys.js';
import { setModelContract } from '../../src/registry/models.js';
import { createFleetClient } from '../../src/orchestrator/fleet-client.js';
import { publishGeneration } from '../../src/registry/traffic.js';
import { parseRolloutPolicy } from '../../src/policy/index.js';
import type { RolloutPolicy } from '../../src/policy/schema.js';
import { modelSearchAttribute, versionSearchAttribute } from '../../src/shared/search-attributes.js';
import { createRandomSource, seedRandom } from '../../src/stats/index.js';
import { TrafficSimulator, type OutcomeModel } from '../../src/simulator/traffic.js';
import { rolloutWorkflowId, stateQuery, type ModelLifecycleInput } from '../../src/workflows/messages.js';
import { modelLifecycle } from '../../src/workflows/lifecycle.js';
import type { TestDatabase } from '../support/db.js';
import { exporterFixtureContract } from '../support/exporter-contracts.js';
import { exporterFixtureSignature, seedFixtureModel, seedRollout } from '../support/seed.js';
import { startE2eStack, type E2eStack } from './e2e-stack.js';
import { fixture, TOKEN, type TestWorker } from './serving/support.js';

describe('rollouts end to end (real Temporal, Postgres, serving workers, ONNX Runtime)', () => {
  let stack: E2eStack;
  let t: TestDatabase;
  let client: Client;
  let taskQueue: string;
  const workers: TestWorker[] = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-e2e-'));

  beforeAll(async () => {
    stack = await startE2eStack({ name: 'e2e' });
    ({ t, client, taskQueue } = stack);
    workers.push(...stack.workers);
  });

  afterAll(async () => {
    await stack?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  type Kind = 'logreg' | 'mlp' | 'bad';
  /** Registers a model with its golden set; v1 is production and serves all traffic. */
  async function registerModel(model: string, versions: Record<string, Kind | { path: string; sha256?: string }>): Promise<{ modelId: string; ids: Record<string, string> }> {
    const artifacts = Object.fromEntries(Object.entries(versions).map(([version, source]) => [version, typeof source === 'string' ? source
      : { uri: pathToFileURL(source.path).href, sha256: source.sha256 ?? 'f'.repeat(64), sizeBytes: fs.statSync(source.path).size }]));
    const { modelId, versionIds: ids } = await seedFixtureModel(t.db, { model, versions: artifacts, production: 'v1', goldenSet: true });
    await publishGeneration(t.db, { model, weights: { v1: 1 }, createdBy: 'test', generation: 1, reason: 'initial' });
    await createFleetClient(t.db, { adminToken: TOKEN }).applyGeneration({ model, generation: 1, weights: { v1: 1 }, spec: {}, reason: 'initial', createdBy: 'test' });
    return { modelId, ids };
  }

  function policy(overrides: Record<string, unknown>): RolloutPolicy {
    const parsed = parseRolloutPolicy({
      // The orchestrator shares this process with the simulator and two workers, so its latency
      // probe sees their load; the budget here is about rejecting broken models, not timing.
      validation: { minAccuracy: 0.65, maxP99LatencyMs: 1000 },
      canary: { steps: [{ weight: 0.2, bakeSeconds: 1 }], analysisIntervalSeconds: 1, gates: { minRequests: 5, maxPredictionPsi: 10, maxP99LatencyRatio: 50 } },
      // SRM at 1e-6 rather than the default 0.001: these tests look every second, and over their
      // many looks a 0.1% false alarm per look ended a run now and then (53 vs 98 units once).
      // A broken assignment is far below 1e-6 at these sample sizes.
      experiment: { kind: 'ab', primaryMetric: { name: 'converted' }, lookIntervalSeconds: 1, minSamplePerArm: 100, maxSamplePerArm: 3000, maxDurationSeconds: 60, srmPValueThreshold: 1e-6 },
      ...overrides,
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    return parsed.policy;
  }

  async function startRollout(model: string, ids: Record<string, string>, modelId: string, p: RolloutPolicy, candidate = 'v2', queue = taskQueue) {
    const rolloutId = await seedRollout(t.db, { modelId, candidateId: ids[candidate] ?? '', baselineId: ids.v1 ?? '', model, policy: p });
    const input: ModelLifecycleInput = { rolloutId, model, candidateVersion: candidate, baselineVersion: 'v1', policy: p, startedBy: 'e2e' };
    const handle = await client.workflow.start(modelLifecycle, {
      taskQueue: queue, workflowId: rolloutWorkflowId(model), args: [input],
      typedSearchAttributes: [{ key: modelSearchAttribute, value: model }, { key: versionSearchAttribute, value: candidate }],
    });
    return { handle, rolloutId };
  }

  function simulate(model: string, outcome: OutcomeModel, rps = 150, features = 19): TrafficSimulator {
    const sim = new TrafficSimulator({
      servingUrls: workers.map((w) => w.url), model, users: 1500, requestsPerSecond: rps, features,
      metric: 'converted', outcome, seed: 7, userPrefix: `${model}-user`,
    });
    sim.start();
    return sim;
  }

  async function servedWeights(model: string): Promise<unknown[]> {
    return await Promise.all(workers.map(async (w) => {
      const status = await w.admin('GET', '/status');
      const models = status.body.models as Array<{ name: string; weights: Record<string, number> | null }>;
      return models.find((m) => m.name === model)?.weights ?? null;
    }));
  }

  async function generations(model: string) {
    return await t.db.selectFrom('traffic_generations as g').innerJoin('models as m', 'm.id', 'g.model_id')
      .select(['g.generation', 'g.weights']).where('m.name', '=', model).orderBy('g.generation').execute();
  }

  it('a better candidate is promoted by the A/B test and every worker serves it', async () => {
    const { modelId, ids } = await registerModel('credit-better', { v1: 'logreg', v2: 'mlp' });
    const sim = simulate('credit-better', { conversionRate: { v1: 0.1, v2: 0.25 }, defaultRate: 0 });
    try {
      const { handle, rolloutId } = await startRollout('credit-better', ids, modelId, policy({}));
      const result = await handle.result();
      expect(result.status, result.reason).toBe('promoted');
      const looks = await t.db.selectFrom('experiment_looks').innerJoin('experiments', 'experiments.id', 'experiment_looks.experiment_id')
        .select(['experiment_looks.decision', 'experiment_looks.result']).where('experiments.rollout_id', '=', rolloutId).orderBy('look').execute();
      expect(looks.at(-1)?.decision).toBe('promote');
      expect(await servedWeights('credit-better')).toEqual([{ v2: 1 }, { v2: 1 }]);
      const production = await t.db.selectFrom('model_versions').select('version').where('model_id', '=', modelId).where('status', '=', 'production').executeTakeFirstOrThrow();
      expect(production.version).toBe('v2');
    } finally {
      const report = await sim.stop();
      expect(report.errors).toBe(0);
    }
  });

  it('a worse candidate is rolled back by the A/B test', async () => {
    const { modelId, ids } = await registerModel('credit-worse', { v1: 'logreg', v2: 'mlp' });
    const sim = simulate('credit-worse', { conversionRate: { v1: 0.25, v2: 0.08 }, defaultRate: 0 });
    try {
      const { handle } = await startRollout('credit-worse', ids, modelId, policy({}));
      const result = await handle.result();
      expect(result.status, result.reason).toBe('rolled_back');
      expect(await servedWeights('credit-worse')).toEqual([{ v1: 1 }, { v1: 1 }]);
    } finally {
      await sim.stop();
    }
  });

  it('an equal candidate stops at the maximum sample with the baseline kept', async () => {
    const { modelId, ids } = await registerModel('credit-equal', { v1: 'logreg', v2: 'mlp' });
    const sim = simulate('credit-equal', { conversionRate: { v1: 0.15, v2: 0.15 }, defaultRate: 0 });
    try {
      const p = policy({ experiment: { kind: 'ab', primaryMetric: { name: 'converted' }, lookIntervalSeconds: 1, minSamplePerArm: 50, maxSamplePerArm: 300, maxDurationSeconds: 60, srmPValueThreshold: 1e-6 } });
      const { handle } = await startRollout('credit-equal', ids, modelId, p);
      const result = await handle.result();
      expect(result.status, result.reason).toBe('kept_baseline');
      expect(result.reason).toMatch(/maximum|max/i);
      expect(await servedWeights('credit-equal')).toEqual([{ v1: 1 }, { v1: 1 }]);
    } finally {
      await sim.stop();
    }
  });

  it('an error spike during the canary rolls back at the next gate', async () => {
    const { modelId, ids } = await registerModel('credit-spike', { v1: 'logreg', v2: 'mlp' });
    const sim = simulate('credit-spike', { conversionRate: {}, defaultRate: 0.1 }, 200);
    try {
      const p = policy({ canary: { steps: [{ weight: 0.3, bakeSeconds: 60 }], analysisIntervalSeconds: 1, gates: { minRequests: 5, maxPredictionPsi: 10, maxP99LatencyRatio: 50 } }, experiment: { kind: 'none' } });
      const { handle, rolloutId } = await startRollout('credit-spike', ids, modelId, p);
      for (;;) {
        const state = await handle.query(stateQuery);
        if (state.weights.v2 === 0.3 && state.decisions.some((d) => d.step.startsWith('canary:') && d.verdict === 'successful')) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const judgedBefore = (await handle.query(stateQuery)).decisions.filter((d) => d.step.startsWith('canary:')).length;
      for (const w of workers) expect((await w.admin('PUT', '/models/credit-spike/versions/v2/faults', { errorRate: 0.5 })).status).toBe(200);
      const result = await handle.result();
      expect(result.status, result.reason).toBe('rolled_back');
      expect(result.reason).toMatch(/canary gate failed at 30%: candidate error rate/);
      // At the next gate, long before the 60 s bake ends: counted in gate evaluations, not in
      // wall-clock time (which a busy machine stretches). The first window after the faults may
      // still hold mostly answers from before them, so the failure is the first or second
      // evaluation after it (evaluations between the query above and the faults count too).
      const canarySteps = await t.db.selectFrom('rollout_steps').select(['verdict']).where('rollout_id', '=', rolloutId).where('step', 'like', 'canary:%').orderBy('seq').execute();
      const failedAt = canarySteps.findIndex((s) => s.verdict === 'failed');
      expect(failedAt, JSON.stringify(canarySteps)).toBeGreaterThanOrEqual(judgedBefore);
      expect(failedAt - judgedBefore, JSON.stringify(canarySteps)).toBeLessThan(4);
      expect(await servedWeights('credit-spike')).toEqual([{ v1: 1 }, { v1: 1 }]);
      const failed = await t.db.selectFrom('rollout_steps').select(['numbers']).where('rollout_id', '=', rolloutId).where('verdict', '=', 'failed').executeTakeFirstOrThrow();
      expect(Number((failed.numbers as { candidateErrors: number }).candidateErrors)).toBeGreaterThanOrEqual(3);
    } finally {
      for (const w of workers) await w.admin('DELETE', '/models/credit-spike/versions/v2/faults');
      await sim.stop();
    }
  });

  it('a multiclass candidate that shifts the class mix is rolled back by the class-mix gate (once workers log scores)', async (ctx) => {
    // v1: the PyTorch-style multiclass fixture; v2: the same network with the bias of the class v1
    // predicts least raised, so v2 predicts that class far more often on the same traffic.
    const v1 = exporterFixtureModel('multiclass-logits');
    const shifted = path.join(tmp, 'multiclass-shifted.onnx');
    fs.writeFileSync(shifted, await withRaisedClassBias(fs.readFileSync(v1.path), 'fc2.bias', 6));
    const signature = exporterFixtureSignature('multiclass-logits');
    const model = 'mlp-class-mix';
    const { modelId, versionIds: ids } = await seedFixtureModel(t.db, {
      model, production: 'v1',
      versions: { v1: 'multiclass-logits', v2: { uri: pathToFileURL(shifted).href, sha256: createHash('sha256').update(fs.readFileSync(shifted)).digest('hex'), sizeBytes: fs.statSync(shifted).size, signature } },
    });
    await setModelContract(t.db, modelId, exporterFixtureContract('multiclass-logits'));
    await publishGeneration(t.db, { model, weights: { v1: 1 }, createdBy: 'test', generation: 1, reason: 'initial' });
    await createFleetClient(t.db, { adminToken: TOKEN }).applyGeneration({ model, generation: 1, weights: { v1: 1 }, spec: {}, reason: 'initial', createdBy: 'test' });
    const sim = simulate(model, { conversionRate: {}, defaultRate: 0.1 }, 200, 4);
    try {
      // The class-mix gate reads the scores the workers log; workers that log none leave the gate
      // on the first output (the fallback), and this test has nothing to check.
      let logged: { scored: string; answered: string } | undefined;
      for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
        logged = await t.db.selectFrom('inference_log').where('model', '=', model).where('error', 'is', null)
          .select((eb) => [eb.fn.count<string>('scores').as('scored'), eb.fn.countAll<string>().as('answered')]).executeTakeFirstOrThrow();
        if (Number(logged.answered) >= 20) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(Number(logged?.answered)).toBeGreaterThanOrEqual(20);
      if (Number(logged?.scored) === 0) ctx.skip('the serving workers do not log scores yet');
      const p = policy({
        validation: { minAccuracy: 0.65, maxP99LatencyMs: 1000 },
        canary: { steps: [{ weight: 0.5, bakeSeconds: 60 }], analysisIntervalSeconds: 2, gates: { minRequests: 20, minPredictionSamples: 100, maxPredictionPsi: 0.25, maxP99LatencyRatio: 50 } },
        experiment: { kind: 'none' },
      });
      const { handle, rolloutId } = await startRollout(model, ids, modelId, p);
      const result = await handle.result();
      expect(result.status, result.reason).toBe('rolled_back');
      expect(result.reason).toMatch(/^canary gate failed at 50%: class-mix PSI \d+\.\d{3} > 0\.25$/);
      const failed = await t.db.selectFrom('rollout_steps').select(['numbers']).where('rollout_id', '=', rolloutId).where('verdict', '=', 'failed').executeTakeFirstOrThrow();
      expect((failed.numbers as { checks: Array<{ gate: string; verdict: string }> }).checks).toContainEqual(expect.objectContaining({ gate: 'class_mix', verdict: 'failed' }));
      expect(await servedWeights(model)).toEqual([{ v1: 1 }, { v1: 1 }]);
    } finally {
      await sim.stop();
    }
  });

  it('a corrupt artifact is rejected at validation and traffic is never touched', async () => {
    const corrupt = path.join(tmp, 'corrupt.onnx');
    fs.writeFileSync(corrupt, Buffer.from('this is not an ONNX model at all'));
    const { modelId, ids } = await registerModel('credit-corrupt', { v1: 'logreg', v2: { path: corrupt } });
    const before = await generations('credit-corrupt');
    const { handle } = await startRollout('credit-corrupt', ids, modelId, policy({}));
    const result = await handle.result();
    expect(result.status).toBe('rejected');
    expect(result.reason).toMatch(/Cannot load ONNX model .*corrupt\.onnx/);
    expect(await generations('credit-corrupt')).toEqual(before);
  });

  it('a model that fails the golden-set floor is rejected', async () => {
    const { modelId, ids } = await registerModel('credit-inaccurate', { v1: 'logreg', v2: 'bad' });
    const { handle } = await startRollout('credit-inaccurate', ids, modelId, policy({}));
    const result = await handle.result();
    expect(result.status).toBe('rejected');
    expect(result.reason).toMatch(/golden-set accuracy 0\.5\d+ < 0\.65/);
  });

  it('survives a SIGKILL of the orchestrator mid-canary: same outcome, no duplicated or missing generation', async () => {
    const { modelId, ids } = await registerModel('credit-crash', { v1: 'logreg', v2: 'mlp' });
    const queue = `e2e-crash-${randomUUID()}`;
    const env = { ...process.env, DATABASE_URL: t.url, TEMPORAL_ADDRESS: inject('temporalAddress'), SLUICE_TASK_QUEUE: queue, SLUICE_ADMIN_TOKEN: TOKEN };
    const spawnOrchestrator = (): ChildProcess => spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src/orchestrator/main.ts')], { cwd: projectRoot, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const ready = (child: ChildProcess) => new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (c: Buffer) => { out += c.toString(); if (out.includes('SLUICE_READY')) resolve(); });
      child.once('exit', (code) => reject(new Error(`orchestrator exited ${code}: ${out}`)));
    });
    const sim = simulate('credit-crash', { conversionRate: { v1: 0.15, v2: 0.15 }, defaultRate: 0 }, 80);
    let second: ChildProcess | undefined;
    try {
      const first = spawnOrchestrator();
      await ready(first);
      const p = policy({
        canary: { steps: [{ weight: 0.1, bakeSeconds: 3 }, { weight: 0.3, bakeSeconds: 3 }, { weight: 0.6, bakeSeconds: 3 }], analysisIntervalSeconds: 1, gates: { minRequests: 3, maxPredictionPsi: 10, maxP99LatencyRatio: 50 } },
        experiment: { kind: 'none' },
      });
      const { handle } = await startRollout('credit-crash', ids, modelId, p, 'v2', queue);
      // Kill it once the second canary step is live.
      for (;;) {
        const state = await handle.query(stateQuery);
        if (state.step && state.step.index >= 2 && state.weights.v2 === 0.3) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      first.kill('SIGKILL');
      await new Promise((r) => first.once('exit', r));
      await new Promise((r) => setTimeout(r, 1500));
      second = spawnOrchestrator();
      await ready(second);
      const result = await handle.result();
      expect(result.status, result.reason).toBe('promoted');
      const gens = await generations('credit-crash');
      expect(gens.map((g) => g.generation)).toEqual([1, 2, 3, 4, 5]);
      expect(gens.map((g) => g.weights)).toEqual([{ v1: 1 }, { v1: 0.9, v2: 0.1 }, { v1: 0.7, v2: 0.3 }, { v1: 0.4, v2: 0.6 }, { v2: 1 }]);
      expect(await servedWeights('credit-crash')).toEqual([{ v2: 1 }, { v2: 1 }]);
    } finally {
      second?.kill('SIGTERM');
      await sim.stop();
    }
  });

  it('through the API: register versions built by the project, roll out, watch to promotion, read the report', async () => {
    const api = await buildApiApp({
      db: t.db, artifacts: new ArtifactStore({ root: path.join(tmp, 'artifacts') }), rateLimit: false,
      temporal: { client, taskQueue, uiUrl: 'http://temporal-ui.example' },
    });
    await api.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(api.server.address() as { port: number }).port}`;
    const { token } = await createApiKey(t.db, { projectId: 'default', name: 'e2e', role: 'admin' });
    const call = async (method: string, route: string, body?: unknown, raw?: Buffer) => {
      const res = await fetch(`${base}${route}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(raw ? { 'content-type': 'application/octet-stream' } : body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
      });
      return { status: res.status, body: await res.json() as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    const sim = simulate('credit-api', { conversionRate: { v1: 0.1, v2: 0.25 }, defaultRate: 0 });
    try {
      expect((await call('POST', '/v1/models', { name: 'credit-api' })).status).toBe(201);
      for (const [version, kind] of [['v1', 'logreg'], ['v2', 'mlp']] as const) {
        const f = fixture(kind);
        const uploaded = await call('POST', `/v1/models/credit-api/versions/upload?version=${version}&sha256=${f.sha256}`, undefined, fs.readFileSync(f.path));
        expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(201);
      }
      // The first version has nothing to compare with: validated, then straight to production.
      const first = await call('POST', '/v1/rollouts', { model: 'credit-api', version: 'v1', policy: { validation: { maxP99LatencyMs: 1000 } } });
      expect(first.status, JSON.stringify(first.body)).toBe(201);
      expect((await client.workflow.getHandle(rolloutWorkflowId('credit-api')).result()).status).toBe('promoted');

      const started = await call('POST', '/v1/rollouts', {
        model: 'credit-api', version: 'v2',
        policy: {
          validation: { maxP99LatencyMs: 1000 },
          canary: { steps: [{ weight: 0.2, bakeSeconds: 1 }], analysisIntervalSeconds: 1, gates: { minRequests: 5, maxPredictionPsi: 10, maxP99LatencyRatio: 50 } },
          experiment: { primaryMetric: { name: 'converted' }, lookIntervalSeconds: 1, minSamplePerArm: 100, maxSamplePerArm: 3000, srmPValueThreshold: 1e-6 },
        },
      });
      expect(started.status, JSON.stringify(started.body)).toBe(201);
      const rolloutId = String(started.body.id ?? started.body.rolloutId);
      expect(JSON.stringify(started.body)).toContain('http://temporal-ui.example/namespaces/default/workflows/rollout%3Acredit-api');
      let state: Record<string, any> = {}; // eslint-disable-line @typescript-eslint/no-explicit-any
      const phases = new Set<string>();
      for (const deadline = Date.now() + 90_000; Date.now() < deadline;) {
        const res = await call('GET', `/v1/rollouts/${rolloutId}`);
        state = res.body;
        if (typeof res.body.phase === 'string') phases.add(res.body.phase);
        if (res.body.status && res.body.status !== 'running') break;
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(state.status, JSON.stringify(state)).toBe('promoted');
      expect([...phases]).toEqual(expect.arrayContaining(['canary', 'experiment']));
      const report = await call('GET', `/v1/rollouts/${rolloutId}/report`);
      expect(report.status).toBe(200);
      expect(JSON.stringify(report.body)).toMatch(/promote/);
      const history = await call('GET', `/v1/rollouts/${rolloutId}/history`);
      expect(history.status).toBe(200);
      expect(JSON.stringify(history.body)).toContain('validate:signature');
      let traffic = await call('GET', '/v1/models/credit-api/traffic');
      expect(JSON.stringify(traffic.body.current)).toContain('"v2":1');
      // Both workers serve the promoted generation, as their rows say by their next heartbeat.
      for (let i = 0; i < 40 && traffic.body.fleet.serving < 2; i++) {
        await new Promise((r) => setTimeout(r, 250));
        traffic = await call('GET', '/v1/models/credit-api/traffic');
      }
      expect(traffic.body.fleet).toMatchObject({ liveWorkers: 2, serving: 2 });
      for (const w of traffic.body.fleet.workers) {
        expect(w.generation).toBe(traffic.body.current.generation);
        expect(w.versions).toContainEqual({ version: 'v2', state: 'ready' });
      }
    } finally {
      await sim.stop();
      await api.close();
    }
  });
});

/**
 * The model with the bias of the class it predicts least (on uniform [-1, 1] inputs, the
 * simulator's) raised by `by`: the same signature, a different class mix.
 */
async function withRaisedClassBias(bytes: Buffer, initializer: string, by: number): Promise<Uint8Array> {
  const loaded = await loadModelSession(bytes);
  const rows = 500;
  const random = createRandomSource(seedRandom('class-mix'));
  const input = Float32Array.from({ length: rows * 4 }, () => random.uniform() * 2 - 1);
  const out = await runFeeds(loaded, [{ name: 'input', elementType: 'float32', shape: [rows, 4], values: Array.from(input) }]);
  await loaded.session.release();
  const classes = (out.logits?.dims[1] ?? 0);
  const counts = new Array<number>(classes).fill(0);
  const logits = out.logits?.data as Float32Array;
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if ((logits[r * classes + c] as number) > (logits[r * classes + best] as number)) best = c;
    counts[best] = (counts[best] ?? 0) + 1;
  }
  const rare = counts.indexOf(Math.min(...counts));
  const model = onnxProto.onnx.ModelProto.decode(bytes);
  const bias = model.graph?.initializer?.find((i) => i.name === initializer);
  if (!bias) throw new Error(`no initializer ${initializer}`);
  const values = bias.floatData && bias.floatData.length > 0 ? Float32Array.from(bias.floatData)
    : new Float32Array(Uint8Array.from(bias.rawData ?? []).buffer);
  values[rare] = (values[rare] as number) + by;
  bias.floatData = [];
  bias.rawData = new Uint8Array(values.buffer);
  return onnxProto.onnx.ModelProto.encode(model).finish();
}
