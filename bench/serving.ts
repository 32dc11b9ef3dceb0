// Serving throughput and latency, side by side in one run on one machine, with one load generator
// (wrk, or autocannon where wrk cannot be installed; see bench/support/load.ts):
//   hello_rps                  bare Fastify JSON endpoint (GET), one process
//   naive_rps                  Fastify + one ONNX Runtime run per request (single-row JSON POST)
//   sluice_rps                 a real Sluice worker: single-row JSON, routing (a 50/50 experiment
//                              over two versions, 1000 distinct routing keys) and the inference log
//                              into PostgreSQL on; SLUICE_PROCESSES=auto (a process per core, as
//                              deployed; SLUICE_BENCH_PROCESSES to change), and beside it the same
//                              worker as one process (sluice_rps_one_process)
//   sluice_p99_ms_half_load    p99 at half of sluice_rps (a paced run: requests spread evenly over
//                              each second by bench/support/paced-child.ts; hello at the same rate beside it)
//   batch64_rows_per_s         64-row JSON requests
//   batch64_binary_rows_per_s  64-row binary tensor requests (binary output too)
//   inproc_rows_per_s          ONNX Runtime in this process, 64-row batches, no HTTP
// And for reference: hello as one process per core on one port (node:cluster), what a bare
// endpoint does with every core, beside Sluice's processes; and the load generator's own ceiling for each request shape: a bare Fastify
// endpoint that takes the same single-row JSON body, or the same 64-row binary body, and answers
// {"ok":true} (the "sink"). On a 2-core machine the load generator shares the cores with the
// server, so no server can go faster than these; they say how much of each goal is room at all.
// Writes bench/results/serving.json and prints the ratios against the goals.
//
//   npm run bench:serving                      (12 s per phase)
//   SLUICE_BENCH_SECONDS=30 npm run bench:serving
import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { projectRoot } from '../src/config.js';
import { publishGeneration } from '../src/registry/traffic.js';
import { loadModelSession } from '../src/models/onnx-runtime.js';
import { fmt, loadGeneratorName, phaseSeconds, runLoad, sleep, type LoadOptions, type LoadResult } from './support/load.js';
import { fixtureManifest, fixturePath, machine, startBenchDatabase, startServingWorker, startTarget, treeCpuSeconds, type Child } from './support/processes.js';
import { seedFixtureModel } from '../test/support/seed.js';

const seconds = phaseSeconds(12);
const connections = Number(process.env.SLUICE_BENCH_CONNECTIONS ?? 64);
const processes = process.env.SLUICE_BENCH_PROCESSES ?? 'auto';
const manifest = fixtureManifest();
const width = manifest.featureNames.length;
const inputName = manifest.input.name;

function features(rows: number, seed = 1): number[] {
  return Array.from({ length: rows * width }, (_, i) => Math.round(Math.sin(seed + i * 0.37) * 1000) / 1000);
}

const singleRowBody = (withKey: boolean) => JSON.stringify({
  inputs: [{ name: inputName, shape: [1, width], datatype: 'FP32', data: features(1) }],
  ...(withKey ? { parameters: { routing_key: '__KEY__' } } : {}),
});

function binaryBody(rows: number): { body: Buffer; headerLength: number } {
  const x = Float32Array.from(features(rows));
  const header = Buffer.from(JSON.stringify({
    inputs: [{ name: inputName, shape: [rows, width], datatype: 'FP32', parameters: { binary_data_size: x.byteLength } }],
    parameters: { routing_key: 'batch-client', binary_data_output: true },
  }));
  return { body: Buffer.concat([header, Buffer.from(x.buffer)]), headerLength: header.length };
}

interface Phase { result: LoadResult; serverCpuUsPerRequest: number; loadAverage: number }

/** One load phase against `target`, with the target process's CPU time per request. */
async function phase(name: string, target: Child, o: Omit<LoadOptions, 'durationS'>, durationS = seconds): Promise<Phase> {
  const cpu0 = treeCpuSeconds(target.process.pid);
  const result = await runLoad({ connections, ...o, durationS });
  const cpu = treeCpuSeconds(target.process.pid) - cpu0;
  const serverCpuUsPerRequest = result.total > 0 ? (cpu / result.total) * 1e6 : 0;
  const bad = result.errors + result.non2xx + result.timeouts;
  console.log(`  ${name.padEnd(28)} ${fmt(result.requestsPerSecond).padStart(8)} req/s   p50 ${fmt(result.latencyMs.p50, 2)} ms   p99 ${fmt(result.latencyMs.p99, 2)} ms   server CPU ${fmt(serverCpuUsPerRequest, 1)} µs/req${bad ? `   FAILED ${bad}` : ''}`);
  return { result, serverCpuUsPerRequest, loadAverage: machine().loadAverage[0] ?? 0 };
}

/** ONNX Runtime alone: 64-row batches back to back on this thread, the ceiling for rows/s. */
async function inProcessRowsPerSecond(durationS: number): Promise<{ rowsPerSecond: number; runUsByRows: Record<string, number> }> {
  const model = await loadModelSession(fixturePath('mlp'), { sessionOptions: { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' } });
  const x = new ort.Tensor('float32', Float32Array.from(features(64)), [64, width]);
  const feeds = { [inputName]: x };
  for (let i = 0; i < 200; i++) await model.session.run(feeds);
  let runs = 0;
  const started = performance.now();
  const deadline = started + durationS * 1000;
  while (performance.now() < deadline) {
    for (let i = 0; i < 100; i++) await model.session.run(feeds);
    runs += 100;
  }
  const rowsPerSecond = (runs * 64) / ((performance.now() - started) / 1000);
  // What one run costs by its size: why batches are capped at 256 rows (SLUICE_MAX_BATCH_ROWS).
  const runUsByRows: Record<string, number> = {};
  for (const rows of [1, 16, 64, 256, 1024]) {
    const t = new ort.Tensor('float32', Float32Array.from(features(rows)), [rows, width]);
    const f = { [inputName]: t };
    for (let i = 0; i < 200; i++) await model.session.run(f);
    const n = 2000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await model.session.run(f);
    runUsByRows[rows] = Math.round(((performance.now() - t0) * 1000 / n) * 10) / 10;
  }
  await model.session.release();
  console.log(`  ${'inproc (64-row runs)'.padEnd(28)} ${fmt(rowsPerSecond).padStart(8)} rows/s   µs per run by rows: ${JSON.stringify(runUsByRows)}`);
  return { rowsPerSecond, runUsByRows };
}

async function main(): Promise<void> {
  const generator = await loadGeneratorName();
  console.log(`Sluice serving benchmark: ${seconds} s per phase, ${connections} connections, ${generator} in its own process, Sluice with SLUICE_PROCESSES=${processes}`);
  console.log(`machine: ${JSON.stringify(machine())}`);
  const database = await startBenchDatabase();
  const children: Child[] = [];
  try {
    await seedFixtureModel(database.db, { model: 'credit', versions: { v1: 'logreg', v2: 'mlp' } });
    await publishGeneration(database.db, {
      model: 'credit', weights: { v1: 0.5, v2: 0.5 }, createdBy: 'bench',
      spec: { experiment: { id: 'bench-exp', salt: 'bench', arms: { control: 'v1', treatment: 'v2' } } },
    });
    const hello = await startTarget('hello');
    const helloProcesses = await startTarget('hello-processes');
    const sink = await startTarget('sink');
    const naive = await startTarget('naive', fixturePath('mlp'));
    const sluice = await startServingWorker({ databaseUrl: database.url, workerId: 'bench-serving', env: { SLUICE_PROCESSES: processes } });
    const single = await startServingWorker({ databaseUrl: database.url, workerId: 'bench-serving-single', env: { SLUICE_PROCESSES: '1' } });
    children.push(hello, helloProcesses, sink, naive, sluice, single);
    const json = { 'content-type': 'application/json' };
    // Warm every target's JIT before measuring: a cold worker runs about a third slower for its
    // first seconds of load (measured), and a benchmark is about the steady state.
    const bin = binaryBody(64);
    const binaryHeaders = { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(bin.headerLength) };
    for (const [t, o] of [[hello, { url: `${hello.url}/hello` }], [helloProcesses, { url: `${helloProcesses.url}/hello` }], [sink, { url: `${sink.url}/sink`, method: 'POST', headers: json, body: singleRowBody(true), distinctKeys: 1000 }], [naive, { url: `${naive.url}/infer`, method: 'POST', headers: json, body: singleRowBody(false) }],
      [sluice, { url: `${sluice.url}/v2/models/credit/infer`, method: 'POST', headers: json, body: singleRowBody(true), distinctKeys: 1000 }],
      [single, { url: `${single.url}/v2/models/credit/infer`, method: 'POST', headers: json, body: singleRowBody(true), distinctKeys: 1000 }]] as const) {
      await runLoad({ connections, durationS: Math.min(6, seconds), ...(o as Omit<LoadOptions, 'durationS'>) });
      void t;
    }

    console.log('phases:');
    const helloP = await phase('hello', hello, { url: `${hello.url}/hello` });
    const helloProcessesP = await phase('hello, a process per core', helloProcesses, { url: `${helloProcesses.url}/hello` });
    const naiveP = await phase('naive (1 run per request)', naive, { url: `${naive.url}/infer`, method: 'POST', headers: json, body: singleRowBody(false) });
    const sluiceP = await phase('sluice (single row)', sluice, { url: `${sluice.url}/v2/models/credit/infer`, method: 'POST', headers: json, body: singleRowBody(true), distinctKeys: 1000 });
    const singleP = await phase('sluice, one process', single, { url: `${single.url}/v2/models/credit/infer`, method: 'POST', headers: json, body: singleRowBody(true), distinctKeys: 1000 });
    const halfRate = Math.max(1, Math.round(sluiceP.result.requestsPerSecond / 2));
    const halfP = await phase(`sluice at ${fmt(halfRate)} req/s`, sluice, {
      url: `${sluice.url}/v2/models/credit/infer`, method: 'POST', headers: json, body: singleRowBody(true), distinctKeys: 1000, overallRate: halfRate,
    });
    // The same rate-limited run against the bare endpoint: what this machine's scheduler alone
    // does to a p99 (other tenants' processes, the load generator, PostgreSQL all share 2 cores).
    const helloHalfP = await phase(`hello at ${fmt(halfRate)} req/s`, hello, { url: `${hello.url}/hello`, overallRate: halfRate });
    const batchJson = JSON.stringify({ inputs: [{ name: inputName, shape: [64, width], datatype: 'FP32', data: features(64) }], parameters: { routing_key: '__KEY__' } });
    const batchP = await phase('sluice 64-row JSON', sluice, { url: `${sluice.url}/v2/models/credit/infer`, method: 'POST', headers: json, body: batchJson, distinctKeys: 100, connections: 16 });
    const binaryP = await phase('sluice 64-row binary', sluice, {
      url: `${sluice.url}/v2/models/credit/infer`, method: 'POST', headers: binaryHeaders, body: bin.body, connections: 16,
    });
    const sinkSingleP = await phase('sink, single-row body', sink, { url: `${sink.url}/sink`, method: 'POST', headers: json, body: singleRowBody(true), distinctKeys: 1000 });
    const sinkBinaryP = await phase('sink, 64-row binary body', sink, { url: `${sink.url}/sink`, method: 'POST', headers: binaryHeaders, body: bin.body, connections: 16 });
    for (const c of children.splice(0)) await c.stop();
    await sleep(500);
    const { rowsPerSecond: inproc, runUsByRows } = await inProcessRowsPerSecond(seconds);

    const failed = [helloP, helloProcessesP, naiveP, sluiceP, singleP, halfP, helloHalfP, batchP, binaryP, sinkSingleP, sinkBinaryP].reduce((n, p) => n + p.result.errors + p.result.non2xx + p.result.timeouts, 0);
    const figures = {
      hello_rps: Math.round(helloP.result.requestsPerSecond),
      naive_rps: Math.round(naiveP.result.requestsPerSecond),
      sluice_rps: Math.round(sluiceP.result.requestsPerSecond),
      sluice_rps_one_process: Math.round(singleP.result.requestsPerSecond),
      sluice_p99_ms_half_load: Math.round(halfP.result.latencyMs.p99 * 1000) / 1000,
      batch64_rows_per_s: Math.round(batchP.result.requestsPerSecond * 64),
      batch64_binary_rows_per_s: Math.round(binaryP.result.requestsPerSecond * 64),
      inproc_rows_per_s: Math.round(inproc),
    };
    const ratios = {
      sluice_over_hello: figures.sluice_rps / figures.hello_rps,
      sluice_over_naive: figures.sluice_rps / figures.naive_rps,
      binary_over_inproc: figures.batch64_binary_rows_per_s / figures.inproc_rows_per_s,
    };
    const goals = {
      'sluice_rps >= 1.0 x hello_rps': ratios.sluice_over_hello >= 1.0,
      'sluice_rps >= 1.8 x naive_rps': ratios.sluice_over_naive >= 1.8,
      'sluice_p99_ms_half_load <= 2': figures.sluice_p99_ms_half_load <= 2,
      'batch64_binary_rows_per_s >= 0.5 x inproc_rows_per_s': ratios.binary_over_inproc >= 0.5,
      'no failed requests': failed === 0,
    };
    const report = {
      benchmark: 'serving', at: new Date().toISOString(), machine: machine(), durationS: seconds, connections, loadGenerator: generator, sluiceProcesses: processes,
      model: 'credit-mlp-v2 fixture (19 features, 16 hidden units)',
      figures,
      ratios: Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, Math.round(v * 1000) / 1000])),
      goals,
      serverCpuUsPerRequest: {
        hello: round1(helloP.serverCpuUsPerRequest), hello_processes: round1(helloProcessesP.serverCpuUsPerRequest), naive: round1(naiveP.serverCpuUsPerRequest), sluice: round1(sluiceP.serverCpuUsPerRequest), sluice_one_process: round1(singleP.serverCpuUsPerRequest),
        sluice_half_load: round1(halfP.serverCpuUsPerRequest), hello_half_load: round1(helloHalfP.serverCpuUsPerRequest), batch64_json: round1(batchP.serverCpuUsPerRequest), batch64_binary: round1(binaryP.serverCpuUsPerRequest),
        sink_single_row: round1(sinkSingleP.serverCpuUsPerRequest), sink_binary64: round1(sinkBinaryP.serverCpuUsPerRequest),
      },
      latencyMs: { hello: helloP.result.latencyMs, hello_processes: helloProcessesP.result.latencyMs, naive: naiveP.result.latencyMs, sluice: sluiceP.result.latencyMs, sluice_one_process: singleP.result.latencyMs, sluice_half_load: halfP.result.latencyMs, hello_same_rate: helloHalfP.result.latencyMs },
      inprocRunUsByRows: runUsByRows,
      reference: {
        hello_processes_rps: Math.round(helloProcessesP.result.requestsPerSecond),
        sluice_over_hello_processes: Math.round((figures.sluice_rps / helloProcessesP.result.requestsPerSecond) * 1000) / 1000,
        hello_p99_ms_same_rate: Math.round(helloHalfP.result.latencyMs.p99 * 1000) / 1000,
        sink_single_row_rps: Math.round(sinkSingleP.result.requestsPerSecond),
        sink_binary64_rows_per_s: Math.round(sinkBinaryP.result.requestsPerSecond * 64),
        sluice_over_sink_single_row: Math.round((figures.sluice_rps / sinkSingleP.result.requestsPerSecond) * 1000) / 1000,
        binary_over_sink_binary64: Math.round((figures.batch64_binary_rows_per_s / (sinkBinaryP.result.requestsPerSecond * 64)) * 1000) / 1000,
        goal_binary_rows_per_s_over_sink_binary64: Math.round(((0.5 * figures.inproc_rows_per_s) / (sinkBinaryP.result.requestsPerSecond * 64)) * 1000) / 1000,
      },
      loadAverageDuring: { hello: helloP.loadAverage, naive: naiveP.loadAverage, sluice: sluiceP.loadAverage },
      failedRequests: failed,
    };
    const out = path.join(projectRoot, 'bench/results/serving.json');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
    console.log('\nresults:');
    for (const [k, v] of Object.entries(figures)) console.log(`  ${k.padEnd(28)} ${fmt(v, k.endsWith('_ms_half_load') ? 3 : 0)}`);
    console.log(`  sluice / hello  ${ratios.sluice_over_hello.toFixed(2)}x   sluice / naive  ${ratios.sluice_over_naive.toFixed(2)}x   binary / inproc  ${ratios.binary_over_inproc.toFixed(2)}x`);
    console.log(`  reference: hello as a process per core takes ${fmt(report.reference.hello_processes_rps)} req/s (sluice ${report.reference.sluice_over_hello_processes.toFixed(2)}x)`);
    console.log(`  reference: the sink (a do-nothing endpoint) takes ${fmt(report.reference.sink_single_row_rps)} single-row req/s (sluice ${report.reference.sluice_over_sink_single_row.toFixed(2)}x) and ${fmt(report.reference.sink_binary64_rows_per_s)} binary rows/s (sluice ${report.reference.binary_over_sink_binary64.toFixed(2)}x; the binary goal is ${report.reference.goal_binary_rows_per_s_over_sink_binary64.toFixed(2)}x of it)`);
    for (const [goal, met] of Object.entries(goals)) console.log(`  ${met ? 'met    ' : 'NOT MET'}  ${goal}`);
    console.log(`wrote ${path.relative(projectRoot, out)}`);
  } finally {
    for (const c of children) await c.stop();
    await database.stop();
  }
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

await main();
