/**
 * Shared load-generator helpers for the benchmarks: autocannon runs in a child process (so its
 * event loop never competes with the server's inside one process), plus small utilities to start
 * and stop the processes under test and to print results.
 *
 * On a 2-core machine the generator still takes one of the two cores; every figure in one run is
 * measured under the same handicap, which is why the goals are ratios.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

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

/** Runs autocannon in a child process and returns its summary. */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  if (o.overallRate !== undefined) {
    return await runChild('paced-child.ts', JSON.stringify({
      url: o.url, method: o.method ?? 'GET', headers: o.headers ?? {},
      body: typeof o.body === 'string' ? o.body : undefined, distinctKeys: o.distinctKeys,
      bodyBase64: Buffer.isBuffer(o.body) ? o.body.toString('base64') : undefined,
      rate: o.overallRate, durationS: o.durationS, connections: o.connections ?? 32,
    }));
  }
  return await runChild('autocannon-child.ts', JSON.stringify({
    url: o.url, method: o.method ?? 'GET', headers: o.headers ?? {},
    body: typeof o.body === 'string' ? o.body : undefined,
    bodyBase64: Buffer.isBuffer(o.body) ? o.body.toString('base64') : undefined,
    connections: o.connections ?? 32, pipelining: o.pipelining ?? 1, durationS: o.durationS,
    distinctKeys: o.distinctKeys,
  }));
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
