/**
 * Runs one unlimited-rate load with wrk (see load.ts for why) and returns it shaped like the
 * autocannon child's summary. Options reach the Lua script, wrk-keys.lua, through the environment;
 * the body goes through a temporary file because it may be binary.
 *
 * Differences from the autocannon child: latencies cover every response, not only 2xx ones, and
 * non2xx counts responses with status >= 400 (wrk's own errors.status).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadOptions, LoadResult } from './load.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const script = path.join(here, 'wrk-keys.lua');

interface WrkSummary {
  requests: number;
  durationUs: number;
  errors: { connect: number; read: number; write: number; timeout: number; status: number };
  latencyUs: { p50: number; p90: number; p99: number; max: number; mean: number };
}

/**
 * wrk's threads: SLUICE_BENCH_WRK_THREADS, else a quarter of the cores (at least one). On the
 * 2-core machine one thread drives every phase and leaves a core and a half to the server; on a
 * bigger machine one thread would cap a multi-process worker and measure the generator instead.
 */
function wrkThreads(): number {
  const set = Number(process.env.SLUICE_BENCH_WRK_THREADS);
  return Number.isInteger(set) && set > 0 ? set : Math.max(1, Math.floor(os.availableParallelism() / 4));
}

export async function runWrk(o: LoadOptions, wrkPath: string): Promise<LoadResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-wrk-'));
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, WRK_METHOD: o.method ?? 'GET' };
    env.WRK_HEADERS = Object.entries(o.headers ?? {}).map(([k, v]) => `${k}: ${v}`).join('\n');
    if (o.body !== undefined) {
      env.WRK_BODY_FILE = path.join(dir, 'body');
      await writeFile(env.WRK_BODY_FILE, o.body);
      // As the autocannon child: key cycling applies to text bodies only.
      if (typeof o.body === 'string' && o.distinctKeys !== undefined) env.WRK_DISTINCT_KEYS = String(o.distinctKeys);
    }
    // wrk takes whole seconds; a 10 s timeout as autocannon's default (wrk's own is 2 s).
    const args = [`-t${wrkThreads()}`, `-c${o.connections ?? 32}`, `-d${Math.max(1, Math.round(o.durationS))}s`, '--timeout', '10s', '--latency', '-s', script, o.url];
    const child = spawn(wrkPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    const code = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      // 'close', not 'exit': only then has all of stdout (the WRK_JSON line) been read.
      child.once('close', (c) => resolve(c ?? 1));
    });
    const line = out.split('\n').find((l) => l.startsWith('WRK_JSON '));
    if (code !== 0 || line === undefined) {
      throw new Error(`wrk failed (exit ${code}): ${(err.trim() || out.trim()).split('\n').slice(-5).join('\n')}`);
    }
    const s = JSON.parse(line.slice('WRK_JSON '.length)) as WrkSummary;
    const durationS = s.durationUs / 1e6;
    const ms = (us: number) => us / 1000;
    return {
      requestsPerSecond: durationS > 0 ? s.requests / durationS : 0,
      total: s.requests,
      durationS,
      latencyMs: { p50: ms(s.latencyUs.p50), p90: ms(s.latencyUs.p90), p99: ms(s.latencyUs.p99), max: ms(s.latencyUs.max), mean: ms(s.latencyUs.mean) },
      errors: s.errors.connect + s.errors.read + s.errors.write,
      timeouts: s.errors.timeout,
      non2xx: s.errors.status,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
