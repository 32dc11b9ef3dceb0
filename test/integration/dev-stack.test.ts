import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureManifest, fixtureModel } from '../../src/models/fixtures.js';
import { freePort } from '../../src/shared/ports.js';

const root = path.resolve(import.meta.dirname, '../..');

/** Every live process whose command line or environment mentions `marker`. */
/**
 * The processes still mentioning `marker` once they have had time to exit: polled, because a
 * stopped stack's last children (PostgreSQL's, on a loaded machine) can take a moment to go after
 * `sluice dev` itself has exited; an orphan stays, and is reported after the deadline.
 */
async function processesLeft(marker: string, deadlineMs = 15_000): Promise<number[]> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const left = processesMentioning(marker);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 200));
  }
}

function processesMentioning(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const environ = fs.readFileSync(`/proc/${entry}/environ`, 'utf8');
      const state = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (/\) Z /.test(state)) continue; // a zombie has already exited
      if (cmdline.includes(marker) || environ.includes(marker)) pids.push(Number(entry));
    } catch { /* exited while we looked */ }
  }
  return pids;
}

/** Runs `sluice <args>` to its exit; returns the exit code and everything it printed. */
async function runSluice(args: string[], env: Record<string, string | undefined>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [path.join(root, 'bin/sluice.js'), ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => { output += c.toString(); });
  child.stderr?.on('data', (c: Buffer) => { output += c.toString(); });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, output };
}

interface RunningDev { child: ChildProcess; output: () => string; urls: Record<string, string> }

/**
 * Every port 0: each server binds a free port of its own (PostgreSQL and Temporal, which must be
 * told a port, get one picked free and another if it was taken before use), and the printed URLs
 * say which. A port picked here and handed over would race any other process on the machine.
 */
const ANY_PORT = { SLUICE_PG_PORT: '0', TEMPORAL_PORT: '0', TEMPORAL_UI_PORT: '0', SLUICE_API_PORT: '0', SLUICE_SERVING_PORT: '0' };

async function startDev(stateDir: string): Promise<RunningDev> {
  const env: Record<string, string | undefined> = { ...process.env, SLUICE_STATE_DIR: stateDir, ...ANY_PORT };
  delete env.DATABASE_URL;
  delete env.TEMPORAL_ADDRESS;
  const child = spawn(process.execPath, [path.join(root, 'bin/sluice.js'), 'dev'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => { output += c.toString(); });
  child.stderr?.on('data', (c: Buffer) => { output += c.toString(); });
  const deadline = Date.now() + 200_000;
  while (!output.includes('Press Ctrl-C')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`sluice dev did not come up:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const urls: Record<string, string> = {};
  for (const line of output.split('\n')) {
    const m = /^\s{2}(.+?)\s{2,}(\S+)$/.exec(line);
    if (m?.[1] && m[2]) urls[m[1].trim()] = m[2];
  }
  return { child, output: () => output, urls };
}

/** The embedded PostgreSQL's URL as printed (password shown as ***; the dev stack's is sluice). */
const postgresUrl = (dev: RunningDev) => (dev.urls.PostgreSQL ?? '').replace(':***@', ':sluice@');

/** Ctrl-C; with `again`, a second SIGINT and a SIGTERM once it is stopping (a terminal signals the whole process group, and wrappers forward their own copy). */
async function stopDev(dev: RunningDev, again = false): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => dev.child.once('exit', (code) => resolve(code)));
  dev.child.kill('SIGINT');
  if (again) {
    while (!dev.output().includes('Stopping Sluice dev stack') && dev.child.exitCode === null) await new Promise((r) => setTimeout(r, 10));
    dev.child.kill('SIGINT');
    dev.child.kill('SIGTERM');
  }
  return await exited;
}

/** The live direct child of `parent` whose /proc/<pid>/<file> (NUL-separated) holds `entry`. */
function childWith(parent: number, file: 'environ' | 'cmdline', entry: string): number | undefined {
  let children: number[] = [];
  try {
    children = fs.readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return undefined;
  }
  return children.find((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/${file}`, 'utf8').split('\0').includes(entry) && !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  });
}

/** The pid of the direct child of `parent` whose environment has `KEY=value`, if one is running. */
const childWithEnv = (parent: number, entry: string) => childWith(parent, 'environ', entry);

/** The pid of the postmaster serving `dataDir`, a direct child of `parent`. */
const postmasterOf = (parent: number, dataDir: string) => childWith(parent, 'cmdline', dataDir);

/** Polls `check` until it returns a value; generous deadlines, for a shared and busy machine. */
async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, output?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${output ? `:\n${output()}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('sluice dev', () => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-dev-'));
  fs.chmodSync(stateDir, 0o755);
  afterAll(() => {
    for (const pid of processesMentioning(stateDir)) process.kill(pid, 'SIGKILL');
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('starts every part, answers on every printed URL, stops cleanly, and keeps state across runs', async () => {
    const first = await startDev(stateDir);
    try {
      const expected = ['Temporal UI', 'API', 'API docs', 'Serving worker 1', 'Serving worker 2'];
      for (const name of expected) expect(first.urls[name], `${name} in\n${first.output()}`).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
      const probes: Array<[string, string]> = [
        ['Temporal UI', first.urls['Temporal UI'] ?? ''],
        ['API', `${first.urls.API}/health`],
        ['API docs', first.urls['API docs'] ?? ''],
        ['Serving worker 1', `${first.urls['Serving worker 1']}/v2/health/ready`],
        ['Serving worker 2', `${first.urls['Serving worker 2']}/v2/health/live`],
      ];
      for (const [name, url] of probes) {
        const res = await fetch(url);
        expect(res.status, `${name} ${url}`).toBe(200);
      }
      // A row written during the first run must be there in the second.
      const client = new pg.Client({ connectionString: postgresUrl(first) });
      await client.connect();
      await client.query(`INSERT INTO projects (id, name) VALUES ('kept-across-runs', 'persisted')`);
      await client.end();
    } finally {
      expect(await stopDev(first)).toBe(0);
    }
    expect(await processesLeft(stateDir), 'orphan processes after Ctrl-C').toEqual([]);

    const second = await startDev(stateDir);
    try {
      expect(second.output()).toContain('migrations: up to date');
      const client = new pg.Client({ connectionString: postgresUrl(second) });
      await client.connect();
      const { rows } = await client.query(`SELECT name FROM projects WHERE id = 'kept-across-runs'`);
      await client.end();
      expect(rows).toEqual([{ name: 'persisted' }]);
    } finally {
      // Signalled three times while stopping: still a clean stop, in order, with nothing left running.
      expect(await stopDev(second, true)).toBe(0);
    }
    expect(await processesLeft(stateDir)).toEqual([]);
  }, 480_000);

  it('restarts a serving worker killed with SIGKILL (one line), which serves the current generation again; gives up on PostgreSQL that keeps dying and stops with exit 1', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-dev-restart-'));
    fs.chmodSync(dir, 0o755);
    const dev = await startDev(dir);
    try {
      const key = /export SLUICE_API_KEY=(\S+)/.exec(dev.output())?.[1] ?? '';
      expect(key, dev.output()).not.toBe('');
      const api = async (method: string, p: string, body?: unknown, raw?: Buffer) => {
        const res = await fetch(`${dev.urls.API}${p}`, {
          method,
          headers: { authorization: `Bearer ${key}`, 'content-type': raw ? 'application/octet-stream' : 'application/json' },
          body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
        });
        const json = (await res.json()) as Record<string, unknown>;
        expect(res.status, `${method} ${p}: ${JSON.stringify(json)}`).toBeLessThan(300);
        return json;
      };
      // A model whose first version goes to production through a rollout (validation only).
      const logreg = fixtureModel('logreg');
      await api('POST', '/v1/models', { name: 'restarted' });
      await api('POST', `/v1/models/restarted/versions/upload?version=v1&sha256=${logreg.sha256}`, undefined, fs.readFileSync(logreg.path));
      await api('POST', '/v1/rollouts', { model: 'restarted', version: 'v1', policy: { validation: { minAccuracy: 0, maxP99LatencyMs: 60_000 } } });

      const manifest = fixtureManifest();
      const width = manifest.featureNames.length;
      const serving1 = dev.urls['Serving worker 1'] ?? '';
      const infer = async () => {
        try {
          const res = await fetch(`${serving1}/v2/models/restarted/infer`, {
            method: 'POST', headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ inputs: [{ name: manifest.input.name, shape: [1, width], datatype: 'FP32', data: Array.from({ length: width }, (_, j) => j / width) }] }),
          });
          return res.status === 200 ? (await res.json()) as { model_version?: string; parameters?: { generation?: number } } : undefined;
        } catch {
          return undefined; // refused: not listening (yet)
        }
      };
      const current = async () => ((await api('GET', '/v1/models/restarted/traffic')).current as { generation: number; weights: Record<string, number> } | null) ?? undefined;
      const generation = await until('the first version in production', current, 240_000, dev.output);
      expect(generation.weights).toEqual({ v1: 1 });
      expect(await until('serving worker 1 to answer', infer, 120_000, dev.output)).toMatchObject({ model_version: 'v1', parameters: { generation: generation.generation } });

      const pid = childWithEnv(dev.child.pid as number, 'SLUICE_WORKER_ID=serving-1');
      expect(pid, 'serving-1 process').toBeDefined();
      process.kill(pid as number, 'SIGKILL');
      await until('the restart line', () => (dev.output().includes('serving-1 was killed by SIGKILL; restart 1 in 0.5 s') ? true : undefined), 60_000, dev.output);
      // On the same URL, serving the generation that is current.
      const again = await until('serving worker 1 to answer again', infer, 120_000, dev.output);
      expect(again).toMatchObject({ model_version: 'v1', parameters: { generation: (await current())?.generation } });
      expect(childWithEnv(dev.child.pid as number, 'SLUICE_WORKER_ID=serving-1')).not.toBe(pid);
      expect(dev.output().split('\n').filter((l) => l.includes('serving-1') && l.includes('restart')), dev.output()).toHaveLength(1);

      // PostgreSQL killed again and again (each time once it is back): after 5 failures within
      // 60 s the stack gives up on it and stops, in order, with exit code 1.
      const exited = new Promise<number | null>((resolve) => dev.child.once('exit', (code) => resolve(code)));
      const dataDir = path.join(dir, 'postgres');
      let kills = 0;
      while (dev.child.exitCode === null && kills < 10) {
        const postmaster = await until('a running PostgreSQL', () => postmasterOf(dev.child.pid as number, dataDir) ?? (dev.child.exitCode !== null ? -1 : undefined), 60_000, dev.output);
        if (postmaster < 0) break;
        process.kill(postmaster, 'SIGKILL');
        kills++;
        await until('PostgreSQL to be restarted or given up', () => (postmasterOf(dev.child.pid as number, dataDir) !== postmaster || dev.child.exitCode !== null ? true : undefined), 60_000, dev.output);
      }
      expect(await exited, dev.output()).toBe(1);
      expect(dev.output()).toMatch(/PostgreSQL (was killed by SIGKILL|did not start again[^\n]*): 5 failures within 60 s, so it is not restarted again\./);
      expect(dev.output()).toContain('Stopping Sluice dev stack: it cannot run without that part');
      expect(dev.output()).toContain('Stopped.');
      await until('no process left', () => (processesMentioning(dir).length === 0 ? true : undefined), 60_000, () => JSON.stringify(processesMentioning(dir)));
    } finally {
      if (dev.child.exitCode === null) await stopDev(dev);
      for (const pid of processesMentioning(dir)) process.kill(pid, 'SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);

  it.runIf(process.getuid?.() === 0)('stops before initdb with one sentence when the postgres user cannot enter the state folder', async () => {
    const closed = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-closed-')); // mode 0700, as mktemp -d makes it
    try {
      const env: Record<string, string | undefined> = { ...process.env, SLUICE_STATE_DIR: path.join(closed, 'state'), ...ANY_PORT };
      delete env.DATABASE_URL;
      const { code, output } = await runSluice(['dev'], env);
      expect(code).toBe(1);
      expect(output).toContain(`PostgreSQL runs as the system user "postgres" when Sluice runs as root, and that user cannot enter ${closed} (mode 0700): choose a state folder outside it (SLUICE_STATE_DIR) or open it with \`chmod o+x ${closed}\`.`);
      expect(output).not.toContain('Permission denied');
      expect(output).not.toMatch(/\n\s+at /);
      expect(fs.existsSync(path.join(closed, 'state', 'postgres', 'PG_VERSION'))).toBe(false);
    } finally {
      fs.rmSync(closed, { recursive: true, force: true });
    }
  });

  it('refuses a taken port with one clear message', async () => {
    const net = await import('node:net');
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const busy = (blocker.address() as { port: number }).port;
    try {
      const env = { ...process.env, SLUICE_STATE_DIR: stateDir, SLUICE_API_PORT: String(busy) };
      const { code, output } = await runSluice(['dev'], env);
      expect(code).toBe(1);
      expect(output).toContain(`Port ${busy} for the Sluice API (SLUICE_API_PORT) is already taken`);
      expect(output).not.toMatch(/\n\s+at /); // no stack trace
    } finally {
      blocker.close();
    }
  });

  it('names an unreachable DATABASE_URL and what to do', async () => {
    // A port nothing listens on: free a moment ago, and the dev stack starts nothing on it.
    const port = await freePort();
    const env = { ...process.env, SLUICE_STATE_DIR: stateDir, DATABASE_URL: `postgres://sluice:secret@127.0.0.1:${port}/sluice`, ...ANY_PORT };
    const { code, output } = await runSluice(['dev'], env);
    expect(code).toBe(1);
    expect(output).toContain(`Cannot reach PostgreSQL at postgres://sluice:***@127.0.0.1:${port}/sluice`);
    expect(output).toContain('Check DATABASE_URL');
    expect(output).not.toContain('secret');
  });

  it('says how to get Go when no temporal CLI can be found or built', async () => {
    const fakeRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-nogo-'));
    fs.mkdirSync(path.join(fakeRoot, 'scripts'));
    fs.copyFileSync(path.join(root, 'scripts/ensure-temporal.sh'), path.join(fakeRoot, 'scripts/ensure-temporal.sh'));
    const env: Record<string, string | undefined> = { ...process.env, PATH: '/usr/bin:/bin' };
    delete env.TEMPORAL_CLI;
    const child = spawn('/bin/bash', [path.join(fakeRoot, 'scripts/ensure-temporal.sh')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => { stderr += c.toString(); });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    fs.rmSync(fakeRoot, { recursive: true, force: true });
    if (fs.existsSync('/usr/bin/go') || fs.existsSync('/usr/bin/temporal')) return; // this machine has them on the base PATH
    expect(code).toBe(1);
    expect(stderr).toContain("no 'go' toolchain");
    expect(stderr).toContain('TEMPORAL_CLI');
  });

  it('sluice demo --exit --json closes the loop: v2 promoted by the A/B test, drift after the shift, a retrained version in production', async () => {
    const demoState = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-demo-'));
    fs.chmodSync(demoState, 0o755);
    const env: Record<string, string | undefined> = {
      ...process.env, SLUICE_STATE_DIR: demoState, ...ANY_PORT,
    };
    delete env.DATABASE_URL;
    delete env.TEMPORAL_ADDRESS;
    try {
      const { code, output } = await runSluice(['demo', '--exit', '--json'], env);
      expect(code, output).toBe(0);
      // v2's rollout, then the loop: windows judged, drift, the retrain, the retrained version's rollout.
      expect(output).toMatch(/\[canary\s*\] 10%/);
      expect(output).toMatch(/\[experiment\s*\] look \d+/);
      expect(output).toMatch(/outcome: promoted — treatment is better on converted/);
      expect(output).toMatch(/\[monitor\s*\] v2 window of \d+ rows → drift .*income/);
      expect(output).toMatch(/watch the drift monitor in the Temporal UI: http:\/\/\S+\/workflows\/monitor%3Acredit-demo/);
      expect(output).toMatch(/\[retrain\s*\] registered — data window \d+ labelled rows, produced v3/);
      expect(output).toMatch(/rollout ro_\w+: v2 → v3/);
      expect(output).toContain('The loop closed: v1 → v2 → v3 (production: v3)');
      // One JSON object, on a line of its own: every version's lineage and each stage's duration.
      const objects = output.split('\n').filter((line) => line.startsWith('{'));
      expect(objects).toHaveLength(1);
      const result = JSON.parse(objects[0] ?? '') as { versions: Array<{ version: string; status: string; parent: string | null; cause: { kind: string } }>; durations_s: Record<string, number> };
      expect(result.versions.map((v) => [v.version, v.parent, v.cause.kind])).toEqual([['v1', null, 'registration'], ['v2', 'v1', 'registration'], ['v3', 'v2', 'drift']]);
      expect(result.versions.find((v) => v.status === 'production')?.version).toBe('v3');
      for (const stage of ['stack_start', 'v2_rollout', 'shift_to_drift', 'retrain', 'retrained_rollout', 'shift_to_production', 'total']) {
        expect(result.durations_s[stage], stage).toBeGreaterThanOrEqual(0);
      }
      expect(await processesLeft(demoState)).toEqual([]);
    } finally {
      for (const pid of processesMentioning(demoState)) process.kill(pid, 'SIGKILL');
      fs.rmSync(demoState, { recursive: true, force: true });
    }
  }, 900_000);
});
