/**
 * Processes under test for the benchmarks: an embedded PostgreSQL in a temporary folder with the
 * schema and the fixture models registered, real serving workers (src/serving/server.ts as child
 * processes), the baseline targets, and CPU accounting from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { projectRoot } from '../../src/config.js';
import { createDb } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import type { Database } from '../../src/db/schema.js';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../src/dev/postgres.js';
import { fixtureModel } from '../../src/models/fixtures.js';

export interface BenchDatabase {
  url: string;
  db: Kysely<Database>;
  pg: EmbeddedPostgresHandle;
  dir: string;
  stop(): Promise<void>;
}

/** A fresh embedded PostgreSQL in a temp folder, migrated. */
export async function startBenchDatabase(): Promise<BenchDatabase> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-'));
  fs.chmodSync(dir, 0o755); // postgres runs as the postgres user
  const pg = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), port: 0 });
  const db = createDb(pg.url, { max: 4 });
  await migrateToLatest(db as Kysely<unknown>);
  return {
    url: pg.url, db, pg, dir,
    async stop() {
      await db.destroy();
      await pg.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export { fixtureManifest } from '../../src/models/fixtures.js';

export function fixturePath(kind: 'logreg' | 'mlp'): string {
  return fixtureModel(kind).path;
}

export interface Child {
  process: ChildProcess;
  port: number;
  url: string;
  stop(): Promise<void>;
}

async function waitForLine(p: ChildProcess, pattern: RegExp, what: string, timeoutMs = 120_000): Promise<RegExpMatchArray> {
  let out = '';
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start within ${timeoutMs} ms:\n${out.slice(-2000)}`)), timeoutMs);
    const onData = (c: Buffer) => {
      out += c.toString();
      const m = out.match(pattern);
      if (m) { clearTimeout(timer); resolve(m); }
    };
    p.stdout?.on('data', onData);
    p.stderr?.on('data', (c: Buffer) => { out += c.toString(); });
    p.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${what} exited with ${code}:\n${out.slice(-2000)}`)); });
  });
}

function stopper(p: ChildProcess): () => Promise<void> {
  return async () => {
    if (p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
}

/**
 * A real serving worker process (src/serving/server.ts), ready once it has joined the fleet.
 * To look inside one under a benchmark's load: SLUICE_BENCH_NODE_ARGS (e.g. "--cpu-prof
 * --cpu-prof-dir=/tmp/prof" or "--trace-gc") goes to its node, and SLUICE_BENCH_WORKER_STDOUT=1
 * passes its output through to stderr.
 */
export async function startServingWorker(o: { databaseUrl: string; workerId: string; env?: Record<string, string> }): Promise<Child> {
  const nodeArgs = process.env.SLUICE_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const p = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(projectRoot, 'src/serving/server.ts')], {
    cwd: projectRoot,
    // One process unless the caller asks for more: an exported SLUICE_PROCESSES would otherwise
    // turn each worker of bench:weights into several fleet members.
    env: { ...process.env, DATABASE_URL: o.databaseUrl, PORT: '0', HOST: '127.0.0.1', SLUICE_WORKER_ID: o.workerId, SLUICE_INSECURE_ADMIN: '1', SLUICE_ADMIN_TOKEN: '', SLUICE_PROCESSES: '1', ...o.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // Port 0: the worker binds a free port and names it in its ready line.
  const ready = await waitForLine(p, /SLUICE_READY (.*)/, `serving worker ${o.workerId}`);
  const url = String((JSON.parse(ready[1] as string) as { url?: unknown }).url);
  if (process.env.SLUICE_BENCH_WORKER_STDOUT) p.stdout?.pipe(process.stderr); else p.stdout?.resume();
  p.stderr?.resume();
  return { process: p, port: Number(new URL(url).port), url, stop: stopper(p) };
}

/** A baseline target from bench/support/targets.ts. */
export async function startTarget(kind: 'hello' | 'hello-processes' | 'sink' | 'naive', modelPath = ''): Promise<Child> {
  const p = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'bench/support/targets.ts'), kind, modelPath], { cwd: projectRoot, stdio: ['pipe', 'pipe', 'pipe'] });
  const m = await waitForLine(p, /READY (\d+)/, `${kind} target`);
  p.stdout?.resume();
  p.stderr?.resume();
  const port = Number(m[1]);
  return { process: p, port, url: `http://127.0.0.1:${port}`, stop: stopper(p) };
}

const TICK = 100; // USER_HZ on Linux

/** CPU seconds (user + system) a process has used so far, from /proc; 0 where /proc is missing. */
export function cpuSeconds(pid: number | undefined): number {
  return pid === undefined ? 0 : statCpuSeconds(`/proc/${pid}/stat`);
}

/**
 * CPU seconds used so far by a process and every live process under it (a worker's
 * SLUICE_PROCESSES children), from /proc; 0 where /proc is missing.
 */
export function treeCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  let total = cpuSeconds(pid);
  let children: number[] = [];
  try {
    children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // no /proc, or the process is gone
  }
  for (const child of children) total += treeCpuSeconds(child);
  return total;
}

/**
 * CPU seconds of a process's main thread alone (its event loop, where requests are handled),
 * without its worker threads, libuv pool and V8 helpers. 0 where /proc is missing.
 */
export function mainThreadCpuSeconds(pid: number | undefined): number {
  return pid === undefined ? 0 : statCpuSeconds(`/proc/${pid}/task/${pid}/stat`);
}

function statCpuSeconds(file: string): number {
  try {
    const stat = fs.readFileSync(file, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICK;
  } catch {
    return 0;
  }
}

export function machine(): { cpus: number; model: string; node: string; loadAverage: number[] } {
  return { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', node: process.version, loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100) };
}

/**
 * CPU seconds used so far by the PostgreSQL serving `dataDir`: its postmaster and every process
 * it forked (backends, WAL writer, checkpointer). 0 where /proc is missing.
 */
export function postgresCpuSeconds(dataDir: string): number {
  let postmaster: number | null = null;
  const stats = new Map<number, { ppid: number; cpu: number }>();
  let pids: string[];
  try { pids = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)); } catch { return 0; }
  for (const p of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(p), { ppid: Number(fields[1]), cpu: (Number(fields[11]) + Number(fields[12])) / TICK });
      if (postmaster === null && stat.includes('(postgres)') && fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dataDir)) postmaster = Number(p);
    } catch {
      // the process ended while we looked
    }
  }
  if (postmaster === null) return 0;
  let total = 0;
  for (const [pid, s] of stats) if (pid === postmaster || s.ppid === postmaster) total += s.cpu;
  return total;
}
