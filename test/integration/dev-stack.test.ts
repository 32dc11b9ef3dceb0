import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/shared/ports.js';

const root = path.resolve(import.meta.dirname, '../..');

/** Every live process whose command line or environment mentions `marker`. */
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

async function startDev(stateDir: string, ports: Record<string, number>): Promise<RunningDev> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    SLUICE_STATE_DIR: stateDir,
    SLUICE_PG_PORT: String(ports.pg), TEMPORAL_PORT: String(ports.temporal), TEMPORAL_UI_PORT: String(ports.ui),
    SLUICE_API_PORT: String(ports.api), SLUICE_SERVING_PORT: String(ports.serving),
  };
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

describe('sluice dev', () => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-dev-'));
  fs.chmodSync(stateDir, 0o755);
  afterAll(() => {
    for (const pid of processesMentioning(stateDir)) process.kill(pid, 'SIGKILL');
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('starts every part, answers on every printed URL, stops cleanly, and keeps state across runs', async () => {
    const ports = { pg: await freePort(), temporal: await freePort(), ui: await freePort(), api: await freePort(), serving: await freePort() };
    const first = await startDev(stateDir, ports);
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
      const client = new pg.Client({ connectionString: `postgres://sluice:sluice@127.0.0.1:${ports.pg}/sluice` });
      await client.connect();
      await client.query(`INSERT INTO projects (id, name) VALUES ('kept-across-runs', 'persisted')`);
      await client.end();
    } finally {
      expect(await stopDev(first)).toBe(0);
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(processesMentioning(stateDir), 'orphan processes after Ctrl-C').toEqual([]);

    const second = await startDev(stateDir, ports);
    try {
      expect(second.output()).toContain('migrations: up to date');
      const client = new pg.Client({ connectionString: `postgres://sluice:sluice@127.0.0.1:${ports.pg}/sluice` });
      await client.connect();
      const { rows } = await client.query(`SELECT name FROM projects WHERE id = 'kept-across-runs'`);
      await client.end();
      expect(rows).toEqual([{ name: 'persisted' }]);
    } finally {
      // Signalled three times while stopping: still a clean stop, in order, with nothing left running.
      expect(await stopDev(second, true)).toBe(0);
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(processesMentioning(stateDir)).toEqual([]);
  }, 480_000);

  it('refuses a taken port with one clear message', async () => {
    const busy = await freePort();
    const net = await import('node:net');
    const blocker = net.createServer().listen(busy, '127.0.0.1');
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
    const port = await freePort();
    const env = { ...process.env, SLUICE_STATE_DIR: stateDir, DATABASE_URL: `postgres://sluice:secret@127.0.0.1:${port}/sluice`, SLUICE_API_PORT: String(await freePort()) };
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

  it('sluice demo --exit rolls a new version out to promotion on the local stack', async () => {
    const demoState = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-demo-'));
    fs.chmodSync(demoState, 0o755);
    const env: Record<string, string | undefined> = {
      ...process.env, SLUICE_STATE_DIR: demoState,
      SLUICE_PG_PORT: String(await freePort()), TEMPORAL_PORT: String(await freePort()), TEMPORAL_UI_PORT: String(await freePort()),
      SLUICE_API_PORT: String(await freePort()), SLUICE_SERVING_PORT: String(await freePort()),
    };
    delete env.DATABASE_URL;
    delete env.TEMPORAL_ADDRESS;
    try {
      const { code, output } = await runSluice(['demo', '--exit'], env);
      expect(code, output).toBe(0);
      expect(output).toMatch(/\[canary\s*\] 10%/);
      expect(output).toMatch(/\[experiment\s*\] look \d+/);
      expect(output).toMatch(/outcome: promoted — treatment is better on converted/);
      await new Promise((r) => setTimeout(r, 500));
      expect(processesMentioning(demoState)).toEqual([]);
    } finally {
      for (const pid of processesMentioning(demoState)) process.kill(pid, 'SIGKILL');
      fs.rmSync(demoState, { recursive: true, force: true });
    }
  }, 400_000);
});
