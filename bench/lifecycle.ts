// bench:lifecycle — how fast the lifecycle reacts and how much it can run at once, on a real
// stack started here: embedded PostgreSQL, the Temporal dev server, two serving workers and one
// orchestrator worker in this process.
//   breach_to_rollback_ms: an injected error spike on the candidate → every worker serves the old split
//   rollout_overhead_ms:   a policy with zero bake times, start → promoted
//   concurrent_rollouts:   rollouts of different models started at once on one orchestrator worker
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { projectRoot } from '../src/config.js';
import { createDb } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import type { Database } from '../src/db/schema.js';
import { startEmbeddedPostgres } from '../src/dev/postgres.js';
import { ensureTemporalCli, startTemporalDevServer } from '../src/dev/temporal.js';
import { createFleetClient } from '../src/orchestrator/fleet-client.js';
import { publishGeneration } from '../src/registry/traffic.js';
import { createOrchestratorWorker } from '../src/orchestrator/worker.js';
import { parseRolloutPolicy } from '../src/policy/index.js';
import type { RolloutPolicy } from '../src/policy/schema.js';
import { buildServingApp } from '../src/serving/app.js';
import { TrafficSimulator } from '../src/simulator/traffic.js';
import { rolloutWorkflowId, stateQuery, type ModelLifecycleInput } from '../src/workflows/messages.js';
import { modelLifecycle } from '../src/workflows/lifecycle.js';
import { seedFixtureModel, seedRollout } from '../test/support/seed.js';

const TOKEN = 'bench-admin-token-0123456789';
// BENCH_CONCURRENCY=none re-measures overhead and breach only, keeping the last concurrency figures.
const CONCURRENCY_LEVELS = process.env.BENCH_CONCURRENCY === 'none' ? [] : (process.env.BENCH_CONCURRENCY ?? '50,200,500').split(',').map(Number);

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-lifecycle-'));
  fs.chmodSync(root, 0o755);
  const pg = await startEmbeddedPostgres({ dataDir: path.join(root, 'pg'), port: 0 });
  const temporal = await startTemporalDevServer({ cli: await ensureTemporalCli(), dbFile: path.join(root, 'temporal.db'), port: 0, uiPort: 0 });
  const db: Kysely<Database> = createDb(pg.url, { max: 20 });
  await migrateToLatest(db as Kysely<unknown>);
  const workers = [];
  for (let i = 0; i < 2; i++) {
    const app = await buildServingApp({ db, databaseUrl: pg.url, config: { adminToken: TOKEN, heartbeatMs: 1000, warmupRuns: 1, workerId: `bench-${i + 1}` } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    await app.serving.joined;
    workers.push(app);
  }
  const urls = workers.map((w) => w.serving.address as string);
  const taskQueue = `bench-lifecycle-${randomUUID()}`;
  const fleet = createFleetClient(db, { adminToken: TOKEN });
  const { worker, connection: workerConnection } = await createOrchestratorWorker({
    temporalAddress: temporal.address, db, taskQueue, fleet,
    workerOptions: { maxConcurrentActivityTaskExecutions: 50, maxConcurrentWorkflowTaskExecutions: 50 },
  });
  const running = worker.run();
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  async function register(model: string): Promise<{ modelId: string; v1: string; v2: string }> {
    const { modelId, versionIds } = await seedFixtureModel(db, { model, versions: { v1: 'logreg', v2: 'mlp' }, production: 'v1', goldenSet: true });
    const v1 = versionIds.v1 as string;
    const v2 = versionIds.v2 as string;
    await publishGeneration(db, { model, weights: { v1: 1 }, createdBy: 'bench', generation: 1 });
    await fleet.applyGeneration({ model, generation: 1, weights: { v1: 1 }, spec: {}, reason: 'initial', createdBy: 'bench' });
    return { modelId, v1, v2 };
  }

  async function start(model: string, ids: { modelId: string; v1: string; v2: string }, policy: RolloutPolicy) {
    const rolloutId = `bench_${randomUUID().slice(0, 12)}`;
    await seedRollout(db, { id: rolloutId, model, modelId: ids.modelId, candidateId: ids.v2, baselineId: ids.v1, policy, startedBy: 'bench' });
    const input: ModelLifecycleInput = { rolloutId, model, candidateVersion: 'v2', baselineVersion: 'v1', policy, startedBy: 'bench' };
    return await client.workflow.start(modelLifecycle, { taskQueue, workflowId: rolloutWorkflowId(model), args: [input] });
  }

  function policy(raw: Record<string, unknown>): RolloutPolicy {
    const parsed = parseRolloutPolicy({ validation: { minAccuracy: 0.65, maxP99LatencyMs: 1000 }, experiment: { kind: 'none' }, ...raw });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    return parsed.policy;
  }

  const results: Record<string, unknown> = { command: 'npm run bench:lifecycle', generated_at: new Date().toISOString(), machine: { node: process.version, cpus: os.cpus().length } };

  // 1. Overhead of the machinery itself: zero bake times, no experiment.
  const overhead: number[] = [];
  const zeroBake = policy({ canary: { steps: [{ weight: 0.1, bakeSeconds: 0 }, { weight: 0.5, bakeSeconds: 0 }], analysisIntervalSeconds: 0.1, gates: { minRequests: 1 }, inconclusiveLimit: 10 } });
  for (let i = 0; i < 5; i++) {
    const model = `overhead-${i}`;
    const ids = await register(model);
    const t0 = performance.now();
    const handle = await start(model, ids, zeroBake);
    const result = await handle.result();
    overhead.push(performance.now() - t0);
    if (result.status !== 'promoted') throw new Error(`overhead rollout ${model}: ${result.status} ${result.reason}`);
  }
  overhead.sort((a, b) => a - b);
  results.rollout_overhead_ms = Math.round(overhead[Math.floor(overhead.length / 2)] ?? 0);
  results.rollout_overhead_ms_all = overhead.map(Math.round);
  console.log(`rollout_overhead_ms (median of 5, zero bake, 2 canary steps): ${results.rollout_overhead_ms}`);

  // 2. Breach → rollback: an error spike on the candidate during a long canary step.
  const interval = 1;
  const breachModel = 'breach';
  const breachIds = await register(breachModel);
  const sim = new TrafficSimulator({ servingUrls: urls, model: breachModel, users: 500, requestsPerSecond: 200, features: 19, metric: 'converted', outcome: { conversionRate: {}, defaultRate: 0.1 }, feedbackShare: 0 });
  sim.start();
  const handle = await start(breachModel, breachIds, policy({ canary: { steps: [{ weight: 0.3, bakeSeconds: 120 }], analysisIntervalSeconds: interval, gates: { minRequests: 5, maxPredictionPsi: 10, maxP99LatencyRatio: 100 } } }));
  for (;;) {
    const state = await handle.query(stateQuery);
    if (state.weights.v2 === 0.3 && state.decisions.some((d) => d.step.startsWith('canary:'))) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const injectedAt = performance.now();
  await Promise.all(urls.map((url) => fetch(`${url}/admin/models/${breachModel}/versions/v2/faults`, {
    method: 'PUT', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ errorRate: 1 }),
  })));
  // Every worker serving the old split is the end of the clock.
  for (;;) {
    const served = await Promise.all(urls.map(async (url) => {
      const status = await (await fetch(`${url}/admin/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).json() as { models: Array<{ name: string; weights: Record<string, number> | null }> };
      return status.models.find((m) => m.name === breachModel)?.weights?.v1 === 1;
    }));
    if (served.every(Boolean)) break;
    if (performance.now() - injectedAt > 30_000) throw new Error('no rollback within 30 s');
    await new Promise((r) => setTimeout(r, 10));
  }
  results.breach_to_rollback_ms = Math.round(performance.now() - injectedAt);
  results.breach_goal_ms = interval * 1000 + 1000;
  const breachResult = await handle.result();
  await sim.stop();
  results.breach_outcome = breachResult.status;
  console.log(`breach_to_rollback_ms: ${results.breach_to_rollback_ms} (goal ≤ ${results.breach_goal_ms}; outcome ${breachResult.status}: ${breachResult.reason})`);

  // 3. Concurrent rollouts of different models on one orchestrator worker.
  const concurrency: Array<{ rollouts: number; completed: number; failed: number; seconds: number }> = [];
  const quick = policy({ canary: { steps: [{ weight: 0.2, bakeSeconds: 1 }], analysisIntervalSeconds: 1, gates: { minRequests: 1 }, inconclusiveLimit: 100 } });
  for (const n of CONCURRENCY_LEVELS) {
    const models: Array<{ model: string; ids: { modelId: string; v1: string; v2: string } }> = [];
    for (let i = 0; i < n; i++) {
      const model = `c${n}-${i}`;
      models.push({ model, ids: await register(model) });
    }
    const t0 = performance.now();
    const handles = await Promise.all(models.map(({ model, ids }) => start(model, ids, quick)));
    const outcomes = await Promise.allSettled(handles.map((h) => h.result()));
    const completed = outcomes.filter((o) => o.status === 'fulfilled' && o.value.status === 'promoted').length;
    const row = { rollouts: n, completed, failed: n - completed, seconds: Math.round((performance.now() - t0) / 100) / 10 };
    concurrency.push(row);
    console.log(`concurrent_rollouts ${n}: ${completed} promoted, ${n - completed} failed, ${row.seconds} s`);
    if (completed < n) break;
  }
  const resultsFile = path.join(projectRoot, 'bench/results/lifecycle.json');
  if (CONCURRENCY_LEVELS.length === 0 && fs.existsSync(resultsFile)) {
    const previous = JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as Record<string, unknown>;
    results.concurrent_rollouts = previous.concurrent_rollouts;
    results.concurrent_rollouts_max_ok = previous.concurrent_rollouts_max_ok;
    results.concurrent_rollouts_from = previous.concurrent_rollouts_from ?? previous.generated_at;
  } else {
    results.concurrent_rollouts = concurrency;
    results.concurrent_rollouts_max_ok = Math.max(0, ...concurrency.filter((c) => c.failed === 0).map((c) => c.rollouts));
  }

  fs.mkdirSync(path.join(projectRoot, 'bench/results'), { recursive: true });
  fs.writeFileSync(resultsFile, JSON.stringify(results, null, 2) + '\n');
  console.log('wrote bench/results/lifecycle.json');

  worker.shutdown();
  await running;
  await workerConnection.close();
  await connection.close();
  for (const w of workers) await w.close();
  await db.destroy();
  await temporal.stop();
  await pg.stop();
  fs.rmSync(root, { recursive: true, force: true });
}

await main();
