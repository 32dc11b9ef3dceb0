// A multiclass candidate whose class mix shifts is rolled back by the canary's class-mix gate:
// the real lifecycle workflow on the real Temporal dev server, the real metric activities reading
// the real inference_log in PostgreSQL by the model's contract. The fleet and the validator are
// stubbed, and a writer logs answers as serving workers do (one score per row, the top class
// index), so the test does not depend on the workers' score writing; the full-stack run with
// serving workers is lifecycle-e2e.test.ts.
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseRolloutPolicy } from '../../src/policy/index.js';
import { setModelContract } from '../../src/registry/models.js';
import { modelSearchAttribute, versionSearchAttribute } from '../../src/shared/search-attributes.js';
import { rolloutWorkflowId, type ModelLifecycleInput } from '../../src/workflows/messages.js';
import { modelLifecycle } from '../../src/workflows/lifecycle.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { exporterFixtureContract } from '../support/exporter-contracts.js';
import { ackingFleet, passingValidator } from '../support/stub-activities.js';
import { startTestOrchestrator, type TestOrchestrator } from '../support/orchestrator.js';
import { exporterFixtureSignature, seedFixtureModel, seedRollout } from '../support/seed.js';

describe('canary class-mix gate (real workflow, real metric activities, real PostgreSQL)', () => {
  let t: TestDatabase;
  let orchestrator: TestOrchestrator;
  let client: Client;
  const taskQueue = `class-mix-${randomUUID()}`;

  beforeAll(async () => {
    t = await createTestDatabase();
    orchestrator = await startTestOrchestrator({ temporalAddress: inject('temporalAddress'), db: t.db, taskQueue, fleet: ackingFleet, validator: passingValidator });
    client = orchestrator.client;
  });

  afterAll(async () => {
    await orchestrator?.close();
    await t?.drop();
  });

  /**
   * Rolls v2 out over v1 of a multiclass model while a writer logs, every 100 ms, 30 answers of
   * each version with the given class mixes (shares per class index, in tenths).
   */
  async function rollOut(model: string, mixes: { v1: number[]; v2: number[] }) {
    const signature = exporterFixtureSignature('multiclass-logits');
    const { modelId, versionIds } = await seedFixtureModel(t.db, {
      model, production: 'v1',
      versions: { v1: 'multiclass-logits', v2: { uri: 'file:///nowhere/v2.onnx', sha256: 'e'.repeat(64), sizeBytes: 1, signature } },
    });
    await setModelContract(t.db, modelId, exporterFixtureContract('multiclass-logits'));
    await t.db.insertInto('traffic_generations').values({ model_id: modelId, generation: 1, weights: { v1: 1 }, created_by: 'seed' }).execute();
    const parsed = parseRolloutPolicy({
      canary: { steps: [{ weight: 0.5, bakeSeconds: 3 }], analysisIntervalSeconds: 1, gates: { minRequests: 20, minPredictionSamples: 100, maxPredictionPsi: 0.25, maxP99LatencyRatio: 50 } },
      experiment: { kind: 'none' },
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const rolloutId = await seedRollout(t.db, { modelId, candidateId: versionIds.v2 ?? '', baselineId: versionIds.v1 ?? '', model, policy: parsed.policy });
    const input: ModelLifecycleInput = { rolloutId, model, candidateVersion: 'v2', baselineVersion: 'v1', policy: parsed.policy, startedBy: 'test' };
    const handle = await client.workflow.start(modelLifecycle, {
      taskQueue, workflowId: rolloutWorkflowId(model), args: [input],
      typedSearchAttributes: [{ key: modelSearchAttribute, value: model }, { key: versionSearchAttribute, value: 'v2' }],
    });
    let seq = 0;
    let writing = true;
    const classesOf = (tenths: number[]) => tenths.flatMap((n, cls) => Array.from({ length: n * 3 }, () => cls));
    const writer = (async () => {
      while (writing) {
        const at = new Date();
        const rows = (['v1', 'v2'] as const).flatMap((version) => classesOf(mixes[version]).map((cls) => ({
          request_id: `${model}-${seq++}`, at, model, version, outputs: [0, 0, 0], scores: [cls], latency_us: 1000, worker_id: 'writer',
        })));
        await t.db.insertInto('inference_log').values(rows).execute();
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      return { result: await handle.result(), rolloutId };
    } finally {
      writing = false;
      await writer;
    }
  }

  it('rolls back a candidate whose class mix shifted, naming the class-mix gate', async () => {
    const { result, rolloutId } = await rollOut('mix-shifted', { v1: [5, 3, 2], v2: [1, 3, 6] });
    expect(result.status).toBe('rolled_back');
    expect(result.reason).toMatch(/^canary gate failed at 50%: class-mix PSI \d+\.\d{3} > 0\.25$/);
    const steps = await t.db.selectFrom('rollout_steps').selectAll().where('rollout_id', '=', rolloutId).orderBy('seq').execute();
    const failed = steps.find((s) => s.step === 'canary:50%' && s.verdict === 'failed');
    const checks = (failed?.numbers as { checks?: Array<{ gate: string; verdict: string }> } | undefined)?.checks ?? [];
    expect(checks).toContainEqual(expect.objectContaining({ gate: 'class_mix', verdict: 'failed' }));
    expect((failed?.numbers as { classMixChiSquareP?: number }).classMixChiSquareP).toBeLessThan(1e-6);
  });

  it('promotes a candidate with the same class mix', async () => {
    const { result, rolloutId } = await rollOut('mix-same', { v1: [5, 3, 2], v2: [5, 3, 2] });
    expect(result.status).toBe('promoted');
    const steps = await t.db.selectFrom('rollout_steps').selectAll().where('rollout_id', '=', rolloutId).orderBy('seq').execute();
    const judged = steps.filter((s) => s.step === 'canary:50%').flatMap((s) => (s.numbers as { checks?: Array<{ gate: string; verdict: string; reason: string }> }).checks ?? [])
      .filter((c) => c.gate === 'class_mix');
    expect(judged.length).toBeGreaterThan(0);
    expect(judged.every((c) => c.verdict === 'successful' && c.reason.startsWith('class-mix PSI 0.000'))).toBe(true);
  });
});
