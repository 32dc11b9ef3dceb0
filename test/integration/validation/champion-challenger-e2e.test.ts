// Champion/challenger through the real stack: real Temporal (the vitest global setup's dev
// server), the real orchestrator worker with the real ONNX validator, a real serving worker that
// serves production, PostgreSQL. Production is a skl2onnx-shaped binary classifier, the candidate
// a weak one of the same shape; the policy allows no more than δ = 0.01 of ROC AUC lost, so the
// rollout ends `rejected`, the outcome and the recorded step carry the estimate and the interval,
// and traffic is never touched.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createFleetClient } from '../../../src/orchestrator/fleet-client.js';
import { parseRolloutPolicy } from '../../../src/policy/index.js';
import { ArtifactStore } from '../../../src/registry/artifacts.js';
import { setModelContract } from '../../../src/registry/models.js';
import { publishGeneration } from '../../../src/registry/traffic.js';
import { modelSearchAttribute, versionSearchAttribute } from '../../../src/shared/search-attributes.js';
import { modelLifecycle } from '../../../src/workflows/lifecycle.js';
import { rolloutWorkflowId, type ModelLifecycleInput } from '../../../src/workflows/messages.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';
import { exporterFixtureContract } from '../../support/exporter-contracts.js';
import { attachGoldenDataset } from '../../support/golden-dataset.js';
import { startTestOrchestrator, type TestOrchestrator } from '../../support/orchestrator.js';
import { seedFixtureModel, seedRollout } from '../../support/seed.js';
import { oneFeatureBinaryClassifier } from '../../support/weak-models.js';
import { startWorker, TOKEN, type TestWorker } from '../serving/support.js';

const KIND = 'binary-label-probabilities';
const MODEL = 'credit-exporter-cc';

describe('champion/challenger end to end (real Temporal, orchestrator, serving worker, ONNX Runtime)', () => {
  let t: TestDatabase;
  let connection: Connection;
  let client: Client;
  let orchestrator: TestOrchestrator;
  let serving: TestWorker;
  const taskQueue = `validation-e2e-${randomUUID()}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-cc-e2e-'));

  beforeAll(async () => {
    t = await createTestDatabase();
    connection = await Connection.connect({ address: inject('temporalAddress') });
    client = new Client({ connection });
    serving = await startWorker(t.db, { databaseUrl: t.url, config: { workerId: 'cc-e2e-worker' } });
    orchestrator = await startTestOrchestrator({
      temporalAddress: inject('temporalAddress'), db: t.db, taskQueue,
      fleet: createFleetClient(t.db, { adminToken: TOKEN }),
      // The same root the test keeps the golden dataset in: the validator reads it from there.
      artifacts: new ArtifactStore({ root: path.join(tmp, 'artifacts') }),
    });
  });

  afterAll(async () => {
    await orchestrator?.close();
    await serving?.close();
    await connection?.close();
    await t?.drop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('a challenger worse than production on ROC AUC by more than δ is rejected, with the numbers in the outcome and the steps', async () => {
    const weak = await oneFeatureBinaryClassifier(tmp, { width: 19, feature: 4, weight: 0.3, bias: -0.5 });
    const { modelId, versionIds: ids } = await seedFixtureModel(t.db, { model: MODEL, versions: { v1: KIND, v2: weak }, production: 'v1' });
    const contract = exporterFixtureContract(KIND);
    await setModelContract(t.db, modelId, contract);
    const store = new ArtifactStore({ root: path.join(tmp, 'artifacts') });
    await attachGoldenDataset(t.db, store, { modelId, kind: KIND, contract });
    // Production serves all traffic on a real worker before the rollout starts.
    await publishGeneration(t.db, { model: MODEL, weights: { v1: 1 }, createdBy: 'test', generation: 1, reason: 'initial' });
    await createFleetClient(t.db, { adminToken: TOKEN }).applyGeneration({ model: MODEL, generation: 1, weights: { v1: 1 }, spec: {}, reason: 'initial', createdBy: 'test' });
    const generationsBefore = await t.db.selectFrom('traffic_generations').select(['generation']).where('model_id', '=', modelId).execute();

    const parsed = parseRolloutPolicy({
      validation: { minAccuracy: 0, maxP99LatencyMs: 60_000, championChallenger: { metric: 'roc_auc', maxDegradation: 0.01, resamples: 500, seed: 7 } },
      canary: { steps: [{ weight: 0.2, bakeSeconds: 1 }], analysisIntervalSeconds: 1 },
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const rolloutId = await seedRollout(t.db, { modelId, candidateId: ids.v2 ?? '', baselineId: ids.v1 ?? '', model: MODEL, policy: parsed.policy });
    const input: ModelLifecycleInput = { rolloutId, model: MODEL, candidateVersion: 'v2', baselineVersion: 'v1', policy: parsed.policy, startedBy: 'e2e' };
    const handle = await client.workflow.start(modelLifecycle, {
      taskQueue, workflowId: rolloutWorkflowId(MODEL), args: [input],
      typedSearchAttributes: [{ key: modelSearchAttribute, value: MODEL }, { key: versionSearchAttribute, value: 'v2' }],
    });
    const result = await handle.result();

    expect(result.status, result.reason).toBe('rejected');
    expect(result.reason).toMatch(/roc_auc candidate 0\.\d+ vs production v1 0\.\d+: improvement -0\.\d+, 95% CI \[-0\.\d+, -?0\.\d+\] \(500 paired resamples, seed 7\); its lower end is below −δ = −0\.01/);
    // Info notes (unbounded metrics) are on record but are not the reason.
    expect(result.reason).not.toContain('not bounded by the policy');

    const rollout = await t.db.selectFrom('rollouts').select(['status', 'outcome_reason']).where('id', '=', rolloutId).executeTakeFirstOrThrow();
    expect(rollout).toMatchObject({ status: 'rejected', outcome_reason: expect.stringContaining('95% CI [') });
    const step = await t.db.selectFrom('rollout_steps').select(['verdict', 'reason', 'numbers']).where('rollout_id', '=', rolloutId).where('step', '=', 'validate:champion_challenger').executeTakeFirstOrThrow();
    expect(step.verdict).toBe('failed');
    const numbers = step.numbers as { estimate: number; interval: { lower: number; upper: number; level: number }; improvementInterval: { lower: number; upper: number }; maxDegradation: number; resamples: number; seed: number; productionValue: number; candidate: number };
    expect(numbers).toMatchObject({ maxDegradation: 0.01, resamples: 500, seed: 7, interval: { level: 0.95 } });
    expect(numbers.estimate).toBeLessThan(-0.01);
    expect(numbers.improvementInterval.lower).toBeLessThan(-0.01);
    expect(numbers.interval.lower).toBeLessThan(numbers.interval.upper);
    expect(numbers.productionValue).toBeGreaterThan(numbers.candidate);
    // Every metric of the task is on record as its own step.
    const steps = await t.db.selectFrom('rollout_steps').select(['step']).where('rollout_id', '=', rolloutId).execute();
    expect(steps.map((s) => s.step)).toEqual(expect.arrayContaining(['validate:roc_auc', 'validate:log_loss', 'validate:brier', 'validate:ece', 'validate:latency']));

    // Traffic never moved: no new generation, the worker still serves v1 only.
    expect(await t.db.selectFrom('traffic_generations').select(['generation']).where('model_id', '=', modelId).execute()).toEqual(generationsBefore);
    const status = await serving.admin('GET', '/status');
    expect((status.body.models as Array<{ name: string; weights: unknown }>).find((m) => m.name === MODEL)?.weights).toEqual({ v1: 1 });
    const version = await t.db.selectFrom('model_versions').select('status').where('id', '=', ids.v2 ?? '').executeTakeFirstOrThrow();
    expect(version.status).toBe('rejected');
  });
});
