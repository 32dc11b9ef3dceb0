// Weight changes across a fleet under load: 4 real worker processes serve paced traffic (2,000
// requests/s over the fleet by default; SLUICE_BENCH_RATE=0 for as fast as the client can)
// while the fleet client (src/fleet) publishes and pushes 100 generations. Measures how long a
// change takes to be acknowledged by every worker, and whether any request failed meanwhile.
//   p99_propagation_ms   the fleet client's applyGeneration: publish (row + NOTIFY, committed)
//                        through the last worker's ack
//   p99_push_ms          the slowest worker's ack of each change (the push alone)
//   failed_requests      non-200 answers and transport errors over the whole run
//   p99_round_trip_ms    a floor: one admin round trip (GET /v2/health/live through the same
//                        client) to one worker, at the same gap and under the same load
//   p99_fanout_ms        the floor a push stands on: that GET to all four workers at once,
//                        waiting for the last answer (a push is this, plus the work of applying)
// Writes bench/results/weights.json.
//
//   npm run bench:weights          SLUICE_BENCH_CHANGES=200 SLUICE_BENCH_RATE=4000 npm run bench:weights
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../src/config.js';
import { adminRequest } from '../src/fleet/admin-client.js';
import { prewarmVersion } from '../src/fleet/index.js';
import { createFleetClient } from '../src/orchestrator/fleet-client.js';
import { publishGeneration } from '../src/registry/traffic.js';
import { liveWorkers } from '../src/registry/workers.js';
import { fmt, sleep } from './support/load.js';
import { fixtureManifest, machine, startBenchDatabase, startServingWorker, type Child } from './support/processes.js';
import { seedFixtureModel } from '../test/support/seed.js';

const WORKERS = 4;
const changes = Number(process.env.SLUICE_BENCH_CHANGES ?? 100);
const concurrency = Number(process.env.SLUICE_BENCH_CONCURRENCY ?? 16);
const gapMs = Number(process.env.SLUICE_BENCH_GAP_MS ?? 50);
// Traffic during the changes, requests per second over all workers; 0 sends as fast as the
// client can (every process then fights for the two cores, and the figure measures the scheduler).
const rate = Number(process.env.SLUICE_BENCH_RATE ?? 2000);

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? 0;
}

interface LoadSummary { total: number; errors: number; statuses: Record<string, number>; versions: Record<string, number>; requestsPerSecond: number }

async function main(): Promise<void> {
  const token = randomBytes(24).toString('base64url');
  console.log(`Sluice weights benchmark: ${WORKERS} workers, ${changes} generation changes, ${rate > 0 ? `${rate} requests/s paced` : "unpaced"}, at most ${concurrency} in flight`);
  console.log(`machine: ${JSON.stringify(machine())}`);
  const database = await startBenchDatabase();
  const workers: Child[] = [];
  try {
    await seedFixtureModel(database.db, { model: 'credit', versions: { v1: 'logreg', v2: 'mlp' } });
    await publishGeneration(database.db, { model: 'credit', weights: { v1: 1 }, createdBy: 'bench' });
    for (let i = 0; i < WORKERS; i++) {
      workers.push(await startServingWorker({ databaseUrl: database.url, workerId: `bench-w${i + 1}`, env: { SLUICE_ADMIN_TOKEN: token, SLUICE_INSECURE_ADMIN: '0' } }));
    }
    const fleetOptions = { adminToken: token };
    const fleet = createFleetClient(database.db, fleetOptions);
    const live = await liveWorkers(database.db);
    if (live.length !== WORKERS) throw new Error(`expected ${WORKERS} live workers, found ${live.length}`);
    const warmed = await prewarmVersion(database.db, { model: 'credit', version: 'v2', ...fleetOptions });
    if (!warmed.allSucceeded) throw new Error(`prewarm failed: ${JSON.stringify(warmed.results)}`);

    const width = fixtureManifest().featureNames.length;
    const body = JSON.stringify({ inputs: [{ name: fixtureManifest().input.name, shape: [1, width], datatype: 'FP32', data: Array.from({ length: width }, (_, i) => i / width) }], parameters: { routing_key: '__KEY__' } });
    // Long enough to cover every change; the load stops on its own.
    const loadSeconds = Math.ceil((changes * (gapMs + 30)) / 1000) + 6 + Math.ceil((changes * 2 * (gapMs + 5)) / 1000);
    const loadChild = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'bench/support/fleet-load-child.ts'), JSON.stringify({
      urls: workers.map((w) => w.url), path: '/v2/models/credit/infer', body, concurrency, durationS: loadSeconds, ...(rate > 0 ? { rate } : {}),
    })], { stdio: ['ignore', 'pipe', 'inherit'] });
    let loadOut = '';
    loadChild.stdout.on('data', (c: Buffer) => { loadOut += c.toString(); });
    const loadDone = new Promise<void>((resolve) => loadChild.once('exit', () => resolve()));
    await sleep(2000); // traffic flowing before the first change

    const propagation: number[] = [];
    const push: number[] = [];
    // What the change spent before the push: the committed publish and the live-worker read.
    const publish: number[] = [];
    const perWorkerAck: number[] = [];
    let notAcked = 0;
    let last = 1;
    for (let k = 0; k < changes; k++) {
      const share = ((k % 10) + 1) / 10;
      const t0 = performance.now();
      // As the orchestrator's activity does it: the fleet client publishes (reading the live
      // workers meanwhile), then pushes what it published and waits for every ack.
      const weights = { v1: Math.round((1 - share) * 10) / 10, v2: share };
      const applied = await fleet.applyGeneration({ model: 'credit', generation: k + 2, weights, spec: {}, createdBy: 'bench', reason: `change ${k + 1}` });
      const t1 = performance.now();
      if (!applied.allAcked || applied.workers !== WORKERS) notAcked++;
      propagation.push(t1 - t0);
      push.push(Math.max(...applied.acks.map((a) => a.ms)));
      publish.push(t1 - t0 - Math.max(...applied.acks.map((a) => a.ms)));
      for (const a of applied.acks) perWorkerAck.push(a.ms);
      last = applied.generation;
      await sleep(gapMs);
    }
    // The floors under the same load: a single round trip to one worker, no database, no fan-out;
    // then the same request to every worker at once, no database.
    const roundTrips: number[] = [];
    const fanouts: number[] = [];
    const health = async (w: Child | undefined) => {
      const r = await adminRequest(`${w?.url}/v2/health/live`, 'GET', undefined, { token, timeoutMs: 5000 });
      if (r.status !== 200) throw new Error(`health check answered ${r.status}`);
    };
    for (let k = 0; k < changes; k++) {
      let t0 = performance.now();
      await health(workers[k % WORKERS]);
      roundTrips.push(performance.now() - t0);
      await sleep(gapMs);
      t0 = performance.now();
      await Promise.all(workers.map(health));
      fanouts.push(performance.now() - t0);
      await sleep(gapMs);
    }
    await loadDone;
    const load = JSON.parse(loadOut.trim().split('\n').pop() ?? '{}') as LoadSummary;
    const serving = await Promise.all(workers.map(async (w) => ((await (await fetch(`${w.url}/admin/status`, { headers: { authorization: `Bearer ${token}` } })).json()) as { models: Array<{ name: string; generation: number }> }).models.find((m) => m.name === 'credit')?.generation));
    const failed = load.errors + Object.entries(load.statuses).filter(([s]) => s !== '200').reduce((n, [, c]) => n + c, 0);

    const figures = {
      p99_propagation_ms: Math.round(percentile(propagation, 99) * 100) / 100,
      p50_propagation_ms: Math.round(percentile(propagation, 50) * 100) / 100,
      p99_push_ms: Math.round(percentile(push, 99) * 100) / 100,
      p50_push_ms: Math.round(percentile(push, 50) * 100) / 100,
      p99_publish_ms: Math.round(percentile(publish, 99) * 100) / 100,
      p50_publish_ms: Math.round(percentile(publish, 50) * 100) / 100,
      p99_worker_ack_ms: Math.round(percentile(perWorkerAck, 99) * 100) / 100,
      p99_round_trip_ms: Math.round(percentile(roundTrips, 99) * 100) / 100,
      p50_round_trip_ms: Math.round(percentile(roundTrips, 50) * 100) / 100,
      p99_fanout_ms: Math.round(percentile(fanouts, 99) * 100) / 100,
      p50_fanout_ms: Math.round(percentile(fanouts, 50) * 100) / 100,
      failed_requests: failed,
      changes_not_acked_by_all: notAcked,
      requests_during_changes: load.total,
      requests_per_second: Math.round(load.requestsPerSecond),
    };
    const goals = { 'p99_propagation_ms <= 10': figures.p99_propagation_ms <= 10, 'failed_requests == 0': failed === 0, 'every change acked by all 4 workers': notAcked === 0 };
    const report = {
      benchmark: 'weights', at: new Date().toISOString(), machine: machine(), workers: WORKERS, changes, concurrency, rate, gapMs,
      figures, goals, slowestPropagationMs: [...propagation].sort((a, b) => b - a).slice(0, 5).map((x) => Math.round(x * 10) / 10),
      slowestPushMs: [...push].sort((a, b) => b - a).slice(0, 5).map((x) => Math.round(x * 10) / 10), answeredBy: load.versions, statuses: load.statuses, finalGenerationPerWorker: serving, expectedFinalGeneration: last,
    };
    const out = path.join(projectRoot, 'bench/results/weights.json');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
    console.log('results:');
    for (const [k, v] of Object.entries(figures)) console.log(`  ${k.padEnd(28)} ${fmt(v, Number.isInteger(v) ? 0 : 2)}`);
    console.log(`  slowest changes (ms): ${report.slowestPropagationMs.join(', ')}; slowest pushes: ${report.slowestPushMs.join(', ')}`);
    console.log(`  final generation on each worker: ${serving.join(', ')} (expected ${last})`);
    for (const [goal, met] of Object.entries(goals)) console.log(`  ${met ? 'met    ' : 'NOT MET'}  ${goal}`);
    console.log(`wrote ${path.relative(projectRoot, out)}`);
  } finally {
    for (const w of workers) await w.stop();
    await database.stop();
  }
}

await main();
