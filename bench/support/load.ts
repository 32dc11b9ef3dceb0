/**
 * Shared load-generator helpers for the benchmarks: the load runs in a separate process (so its
 * event loop never competes with the server's inside one process), plus small utilities to start
 * and stop the processes under test and to print results.
 *
 * Unlimited-rate phases use wrk (wrk.ts) when scripts/ensure-wrk.sh finds or installs it, else
 * autocannon in a child process; SLUICE_BENCH_LOADGEN=autocannon forces autocannon. Why wrk: it
 * costs about a third of autocannon's CPU per request (~6 µs against ~20 µs here), and on a 2-core
 * machine every microsecond the generator spends is taken from the server. Rate-limited phases use
 * the paced generator (paced-child.ts); pipelined ones autocannon. loadGeneratorName() says which
 * generator unlimited phases use, for the results files.
 *
 * The generator still takes part of the machine's cores; every figure in one run is measured under
 * the same handicap, which is why the goals are ratios.
 */
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runWrk } from './wrk.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');

export interface LoadOptions {
  url: string;
  method?: 'GET' | 'POST' | 'PUT';
  headers?: Record<string, string>;
  body?: string | Buffer;
  connections?: number;
  pipelining?: number;
  durationS: number;
  /**
   * Requests per second across all connections, or unlimited. A rate-limited run uses the paced
   * generator (paced-child.ts), which spreads requests evenly; autocannon's own rate limit sends
   * each second's quota at full speed and then idles.
   */
  overallRate?: number;
  /** With a text body containing __KEY__: cycle through this many bodies whose keys are user-0..user-(n-1). */
  distinctKeys?: number;
}

export interface LoadResult {
  requestsPerSecond: number;
  total: number;
  durationS: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

/**
 * Runs one load in a separate process and returns its summary: paced-child.ts with overallRate,
 * else wrk where available (not with pipelining), else autocannon.
 */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  if (o.overallRate !== undefined) {
    return await runChild('paced-child.ts', JSON.stringify({
      url: o.url, method: o.method ?? 'GET', headers: o.headers ?? {},
      body: typeof o.body === 'string' ? o.body : undefined, distinctKeys: o.distinctKeys,
      bodyBase64: Buffer.isBuffer(o.body) ? o.body.toString('base64') : undefined,
      rate: o.overallRate, durationS: o.durationS, connections: o.connections ?? 32,
    }));
  }
  if ((o.pipelining ?? 1) <= 1) {
    const wrk = await wrkPath();
    if (wrk !== null) return await runWrk(o, wrk);
  }
  return await runChild('autocannon-child.ts', JSON.stringify({
    url: o.url, method: o.method ?? 'GET', headers: o.headers ?? {},
    body: typeof o.body === 'string' ? o.body : undefined,
    bodyBase64: Buffer.isBuffer(o.body) ? o.body.toString('base64') : undefined,
    connections: o.connections ?? 32, pipelining: o.pipelining ?? 1, durationS: o.durationS,
    distinctKeys: o.distinctKeys,
  }));
}

let wrkLookup: Promise<{ path: string; name: string } | null> | undefined;

/** wrk's path and name ('wrk 4.1.0'), resolved once per process; null means autocannon. */
function findWrk(): Promise<{ path: string; name: string } | null> {
  wrkLookup ??= (async () => {
    if (process.env.SLUICE_BENCH_LOADGEN === 'autocannon') return null;
    try {
      // The path is the script's last line on stdout; apt-get's notes on a first install go to stderr.
      const found = (await run('bash', [path.join(repoRoot, 'scripts/ensure-wrk.sh')])).stdout.trim().split('\n').pop() ?? '';
      // wrk --version prints e.g. "wrk debian/4.1.0-3+b2 [epoll] Copyright ..." and exits 1.
      const printed = await run(found, ['--version'], [0, 1]);
      const version = /^wrk \S*?(\d+\.\d+\.\d+)/.exec(printed.stdout + printed.stderr)?.[1];
      return { path: found, name: version !== undefined ? `wrk ${version}` : 'wrk' };
    } catch (e) {
      const reason = (e instanceof Error ? e.message : String(e)).trim().split('\n').pop();
      process.stderr.write(`sluice bench: wrk unavailable (${reason}); using autocannon\n`);
      return null;
    }
  })();
  return wrkLookup;
}

async function wrkPath(): Promise<string | null> {
  return (await findWrk())?.path ?? null;
}

/** The generator unlimited-rate phases use: 'wrk 4.1.0' or 'autocannon'. */
export async function loadGeneratorName(): Promise<string> {
  return (await findWrk())?.name ?? 'autocannon';
}

/** Runs a command to completion; its output unless the exit code isn't in okCodes. */
function run(cmd: string, args: string[], okCodes = [0]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: repoRoot }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      if (okCodes.includes(code)) resolve({ stdout, stderr });
      else reject(new Error(stderr.trim() || (err?.message ?? `exit ${code}`)));
    });
  });
}

async function runChild(script: string, args: string): Promise<LoadResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, script), args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
  const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? 1)));
  const line = out.trim().split('\n').pop() ?? '';
  if (code !== 0 || !line.startsWith('{')) throw new Error(`load generator failed (exit ${code}): ${err.trim().split('\n').slice(-5).join('\n')}`);
  return JSON.parse(line) as LoadResult;
}

/** Seconds per benchmark phase: SLUICE_BENCH_SECONDS, else the given default. */
export function phaseSeconds(fallback: number): number {
  const raw = Number(process.env.SLUICE_BENCH_SECONDS);
  return Number.isFinite(raw) && raw > 0 ? raw : fallback;
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
