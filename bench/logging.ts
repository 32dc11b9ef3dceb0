// What the inference log costs: the same worker process and load with the log off and on
// (SLUICE_INFERENCE_LOG=0/1), alternating off/on twice so drift in the machine's load hits both
// modes alike. Every request's rows are logged (inputs and outputs, sample rates 1.0) into an
// embedded PostgreSQL on this machine, so the database's own CPU is part of the cost measured.
// Requests carry 4 rows each, so the inference rate is 4x the log-row rate; both are reported.
// Writes bench/results/logging.json.
//
//   npm run bench:logging          SLUICE_BENCH_SECONDS=20 SLUICE_BENCH_ROWS=1 npm run bench:logging
import fs from 'node:fs';
import { projectRoot } from '../src/config.js';
import { publishGeneration } from '../src/registry/traffic.js';
import { fmt, phaseSeconds, runLoad } from './support/load.js';
import path from 'node:path';
import { cpuSeconds, mainThreadCpuSeconds, fixtureManifest, machine, postgresCpuSeconds, startBenchDatabase, startServingWorker } from './support/processes.js';
import { seedFixtureModel } from '../test/support/seed.js';

const seconds = phaseSeconds(12);
const rowsPerRequest = Number(process.env.SLUICE_BENCH_ROWS ?? 4);
const connections = Number(process.env.SLUICE_BENCH_CONNECTIONS ?? 64);

interface Run { mode: 'off' | 'on'; requestsPerSecond: number; rowsPerSecond: number; p99Ms: number; serverCpuUsPerRequest: number; eventLoopCpuUsPerRequest: number; postgresCpuUsPerRequest: number; logRowsWritten: number; dropped: number }

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(name)).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

async function main(): Promise<void> {
  console.log(`Sluice inference-log benchmark: ${seconds} s per run, ${rowsPerRequest} rows per request, ${connections} connections`);
  console.log(`machine: ${JSON.stringify(machine())}`);
  const database = await startBenchDatabase();
  try {
    await seedFixtureModel(database.db, { model: 'credit', versions: { v1: 'logreg', v2: 'mlp' } });
    await publishGeneration(database.db, { model: 'credit', weights: { v2: 1 }, createdBy: 'bench' });
    const m = fixtureManifest();
    const width = m.featureNames.length;
    const body = JSON.stringify({
      inputs: [{ name: m.input.name, shape: [rowsPerRequest, width], datatype: 'FP32', data: Array.from({ length: rowsPerRequest * width }, (_, i) => Math.round(Math.sin(i) * 1000) / 1000) }],
      parameters: { routing_key: '__KEY__' },
    });
    const runs: Run[] = [];
    for (const mode of ['off', 'on', 'off', 'on'] as const) {
      const worker = await startServingWorker({ databaseUrl: database.url, workerId: `bench-log-${mode}-${runs.length}`, env: { SLUICE_INFERENCE_LOG: mode === 'on' ? '1' : '0' } });
      try {
        const load = { url: `${worker.url}/v2/models/credit/infer`, method: 'POST' as const, headers: { 'content-type': 'application/json' }, body, distinctKeys: 1000, connections };
        await runLoad({ ...load, durationS: Math.min(6, seconds) }); // warm the JIT
        const before = await database.db.selectFrom('inference_log').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
        const pgDir = path.join(database.dir, 'pg');
        const cpu0 = cpuSeconds(worker.process.pid);
        const loop0 = mainThreadCpuSeconds(worker.process.pid);
        const pg0 = postgresCpuSeconds(pgDir);
        const r = await runLoad({ ...load, durationS: seconds });
        const cpu = cpuSeconds(worker.process.pid) - cpu0;
        const loopCpu = mainThreadCpuSeconds(worker.process.pid) - loop0;
        const pgCpu = postgresCpuSeconds(pgDir) - pg0;
        const dropped = await metric(worker.url, 'sluice_inference_log_dropped_total');
        await worker.stop(); // flushes the log
        const after = await database.db.selectFrom('inference_log').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
        const run: Run = {
          mode, requestsPerSecond: r.requestsPerSecond, rowsPerSecond: r.requestsPerSecond * rowsPerRequest, p99Ms: r.latencyMs.p99,
          serverCpuUsPerRequest: r.total ? (cpu / r.total) * 1e6 : 0, eventLoopCpuUsPerRequest: r.total ? (loopCpu / r.total) * 1e6 : 0, postgresCpuUsPerRequest: r.total ? Math.max(0, pgCpu / r.total) * 1e6 : 0, logRowsWritten: Number(after.n) - Number(before.n), dropped,
        };
        runs.push(run);
        console.log(`  log ${mode.padEnd(3)}  ${fmt(run.requestsPerSecond).padStart(7)} req/s  ${fmt(run.rowsPerSecond).padStart(8)} rows/s  p99 ${fmt(run.p99Ms, 2)} ms  worker CPU ${fmt(run.serverCpuUsPerRequest, 1)} µs/req (event loop ${fmt(run.eventLoopCpuUsPerRequest, 1)})  postgres CPU ${fmt(run.postgresCpuUsPerRequest, 1)} µs/req  log rows ${fmt(run.logRowsWritten)}  dropped ${fmt(dropped)}`);
        if (r.errors + r.non2xx + r.timeouts > 0) throw new Error(`${r.errors + r.non2xx + r.timeouts} requests failed in the ${mode} run`);
      } finally {
        await worker.stop();
      }
    }
    const mean = (mode: 'on' | 'off', f: (r: Run) => number) => { const xs = runs.filter((r) => r.mode === mode).map(f); return xs.reduce((a, b) => a + b, 0) / xs.length; };
    const off = mean('off', (r) => r.requestsPerSecond);
    const on = mean('on', (r) => r.requestsPerSecond);
    const loggedRowsPerSecond = mean('on', (r) => r.logRowsWritten) / seconds;
    const figures = {
      rps_log_off: Math.round(off),
      rps_log_on: Math.round(on),
      inference_rows_per_s_log_on: Math.round(on * rowsPerRequest),
      log_table_rows_per_s: Math.round(loggedRowsPerSecond),
      logged_values_per_s: Math.round(loggedRowsPerSecond * rowsPerRequest * (width + 1)),
      overhead_pct: Math.round((1 - on / off) * 1000) / 10,
      worker_cpu_us_per_request_off: Math.round(mean('off', (r) => r.serverCpuUsPerRequest) * 10) / 10,
      worker_cpu_us_per_request_on: Math.round(mean('on', (r) => r.serverCpuUsPerRequest) * 10) / 10,
      event_loop_cpu_us_per_request_off: Math.round(mean('off', (r) => r.eventLoopCpuUsPerRequest) * 10) / 10,
      event_loop_cpu_us_per_request_on: Math.round(mean('on', (r) => r.eventLoopCpuUsPerRequest) * 10) / 10,
      request_path_overhead_pct: Math.round((mean('on', (r) => r.eventLoopCpuUsPerRequest) / mean('off', (r) => r.eventLoopCpuUsPerRequest) - 1) * 1000) / 10,
      postgres_cpu_us_per_request_on: Math.round(mean('on', (r) => r.postgresCpuUsPerRequest) * 10) / 10,
      postgres_cpu_us_per_request_off: Math.round(mean('off', (r) => r.postgresCpuUsPerRequest) * 10) / 10,
      dropped_rows: runs.reduce((n, r) => n + r.dropped, 0),
    };
    const goals = {
      'overhead_pct <= 5': figures.overhead_pct <= 5,
      // What logging adds to the thread that answers requests; the rest (the log thread's COPY
      // encoding, PostgreSQL) runs beside it, and costs throughput only where cores are short.
      'request_path_overhead_pct <= 5': figures.request_path_overhead_pct <= 5,
      'inference rows/s with the log on >= 20,000': figures.inference_rows_per_s_log_on >= 20_000,
      'log table rows/s >= 20,000': figures.log_table_rows_per_s >= 20_000,
    };
    const report = { benchmark: 'logging', at: new Date().toISOString(), machine: machine(), durationS: seconds, rowsPerRequest, connections, figures, goals, runs };
    const out = path.join(projectRoot, 'bench/results/logging.json');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
    console.log('results:');
    for (const [k, v] of Object.entries(figures)) console.log(`  ${k.padEnd(34)} ${fmt(v, Number.isInteger(v) ? 0 : 1)}`);
    for (const [goal, met] of Object.entries(goals)) console.log(`  ${met ? 'met    ' : 'NOT MET'}  ${goal}`);
    console.log(`wrote ${path.relative(projectRoot, out)}`);
  } finally {
    await database.stop();
  }
}

await main();
