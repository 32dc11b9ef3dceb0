// A worker of two processes on one port (SLUICE_PROCESSES=2, node:cluster), as real processes
// against a real PostgreSQL: each process is its own fleet member with an admin port of its own,
// both answer on the shared port, a weight change is acked by both and served by both, a process
// that dies is started again (both at once as well) without the summed /metrics counters going
// back, SIGTERM stops both with their rows marked
// stopped (also when each process gets its own SIGTERM besides, as from a process-group kill),
// and processes whose primary is killed drain and stop on their own.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../../src/config.js';
import { createFleetClient } from '../../../src/orchestrator/fleet-client.js';
import { publishGeneration } from '../../../src/registry/traffic.js';
import { processCountFromEnv, usableCores } from '../../../src/serving/config.js';
import { assertPortFree, freePort } from '../../../src/shared/ports.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';
import { infer, inferBody, registerModel, row, TOKEN, waitFor } from './support.js';

let t: TestDatabase;
let primary: ChildProcess | null = null;
let output = (): string => '';
let url = '';

/**
 * Starts `server.ts` as the primary of `processes` processes; resolves once it announced ready.
 * On a port picked free here, not port 0: the group must keep its port when every process dies
 * and is started again (with port 0 they would share a new one). When another process takes the
 * port before the group binds it, the group stops at start and is started again on a new one.
 */
async function startGroup(workerId: string, processes: number, env: Record<string, string> = {}): Promise<{ proc: ChildProcess; url: string; output: () => string }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    let out = '';
    const proc = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src/serving/server.ts')], {
      cwd: projectRoot,
      env: { ...process.env, DATABASE_URL: t.url, PORT: String(port), HOST: '127.0.0.1', SLUICE_WORKER_ID: workerId, SLUICE_ADMIN_TOKEN: TOKEN, SLUICE_PROCESSES: String(processes), SLUICE_HEARTBEAT_MS: '500', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout?.on('data', (c: Buffer) => { out += c.toString(); });
    proc.stderr?.on('data', (c: Buffer) => { out += c.toString(); });
    try {
      await waitFor(`SLUICE_READY from ${workerId}`, async () => (out.includes('SLUICE_READY') ? true : proc.exitCode !== null ? Promise.reject(new Error(out)) : undefined), 90_000, 20);
      return { proc, url: `http://127.0.0.1:${port}`, output: () => out };
    } catch (err) {
      if (attempt >= 5 || !out.includes(`port ${port} is already taken`)) throw err;
    }
  }
}

/** The pids of a primary's processes. */
function childPids(pid: number | undefined): number[] {
  return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).map(Number).filter((p) => p > 0);
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The worker id in GET /v2 from a fresh connection: which process the shared port gave us. */
async function answeringProcess(): Promise<string> {
  const res = await fetch(`${url}/v2`, { headers: { connection: 'close' } });
  const body = (await res.json()) as { parameters: { worker_id: string } };
  return body.parameters.worker_id;
}

async function processesSeen(connections: number): Promise<string[]> {
  const seen = new Set<string>();
  for (let i = 0; i < connections; i++) seen.add(await answeringProcess());
  return [...seen].sort();
}

/** The sum of a metric's samples in Prometheus text, by name prefix and a label filter. */
const total = (text: string, name: string, label = ''): number => text.split('\n')
  .filter((l) => l.startsWith(name) && (l[name.length] === '{' || l[name.length] === ' ') && l.includes(label))
  .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);

/** The group's summed count of answered credit requests, from the shared port's /metrics. */
async function groupRequests(): Promise<number> {
  const res = await fetch(`${url}/metrics`, { headers: { connection: 'close' } });
  expect(res.status).toBe(200);
  expect(res.headers.get('x-sluice-processes')).toBe('2/2');
  return total(await res.text(), 'sluice_inference_requests_total', 'model="credit"');
}

beforeAll(async () => {
  t = await createTestDatabase();
  await registerModel(t.db, 'credit', { v1: 'logreg', v2: 'mlp' });
  await publishGeneration(t.db, { model: 'credit', weights: { v1: 1 }, createdBy: 'test' });
  const group = await startGroup('pair', 2);
  primary = group.proc;
  url = group.url;
  output = group.output;
}, 120_000);
afterAll(async () => {
  primary?.kill('SIGKILL');
  await t?.drop();
});

describe('SLUICE_PROCESSES', () => {
  it('reads auto as one per core, and refuses anything but a count in [1, 256]', () => {
    expect(processCountFromEnv({})).toBe(1);
    expect(processCountFromEnv({ SLUICE_PROCESSES: '3' })).toBe(3);
    expect(processCountFromEnv({ SLUICE_PROCESSES: 'auto' })).toBeGreaterThanOrEqual(1);
    expect(() => processCountFromEnv({ SLUICE_PROCESSES: '0' })).toThrow(/SLUICE_PROCESSES=0 must be auto or an integer in \[1, 256\]/);
    expect(() => processCountFromEnv({ SLUICE_PROCESSES: 'two' })).toThrow(/SLUICE_PROCESSES=two/);
    expect(processCountFromEnv({ SLUICE_PROCESSES: 'auto' }, () => 5)).toBe(5);
  });

  it('counts a cgroup CPU quota as the usable cores (v2 cpu.max, then v1), never more than the machine has', () => {
    const files = (f: Record<string, string>) => (name: string) => f[name] ?? null;
    const cpus = usableCores(files({}));
    expect(usableCores(files({ '/sys/fs/cgroup/cpu.max': 'max 100000\n' }))).toBe(cpus);
    expect(usableCores(files({ '/sys/fs/cgroup/cpu.max': '50000 100000\n' }))).toBe(1);
    expect(usableCores(files({ '/sys/fs/cgroup/cpu.max': '150000 100000\n' }))).toBe(Math.min(cpus, 2));
    expect(usableCores(files({ '/sys/fs/cgroup/cpu.max': `${(cpus + 8) * 100000} 100000` }))).toBe(cpus);
    expect(usableCores(files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '100000', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' }))).toBe(1);
    expect(usableCores(files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000' }))).toBe(cpus);
  });
});

describe('a worker of two processes on one port', () => {
  it('announces ready once both joined, each as its own fleet member with an admin port of its own', async () => {
    const line = output().split('\n').find((l) => l.startsWith('SLUICE_READY')) ?? '';
    const ready = JSON.parse(line.slice('SLUICE_READY '.length)) as { url: string; processes: Array<{ workerId: string; adminUrl: string }> };
    expect(ready.url).toBe(url);
    expect(ready.processes.map((p) => p.workerId).sort()).toEqual(['pair-1', 'pair-2']);
    const rows = await t.db.selectFrom('serving_workers').select(['id', 'address', 'admin_address', 'status']).where('id', 'like', 'pair-%').orderBy('id').execute();
    expect(rows.map((r) => [r.id, r.address, r.status])).toEqual([['pair-1', url, 'ready'], ['pair-2', url, 'ready']]);
    expect(new Set(rows.map((r) => r.admin_address)).size).toBe(2);
    for (const r of rows) expect(r.admin_address).not.toBe(`${url}/admin`);
    // Each admin address reaches its own process, and only with the token.
    for (const r of rows) {
      const meta = await fetch(r.admin_address.replace(/\/admin$/, '/v2'));
      expect(((await meta.json()) as { parameters: { worker_id: string } }).parameters.worker_id).toBe(r.id);
      expect((await fetch(`${r.admin_address}/status`)).status).toBe(401);
    }
  });

  it('answers on the shared port from both processes', async () => {
    expect(await processesSeen(16)).toEqual(['pair-1', 'pair-2']);
  });

  it('a weight change is acked by both processes and then served by whichever answers', async () => {
    const fleet = createFleetClient(t.db, { adminToken: TOKEN });
    const applied = await fleet.applyGeneration({ model: 'credit', generation: 7, weights: { v2: 1 }, spec: {}, createdBy: 'test', reason: 'two processes' });
    expect(applied.acks.map((a) => [a.worker, a.ok]).sort()).toEqual([['pair-1', true], ['pair-2', true]]);
    for (let i = 0; i < 12; i++) {
      const res = await fetch(`${url}/v2/models/credit/infer`, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, body: JSON.stringify(inferBody([row(i)], { routing_key: `k${i}` })) });
      expect(await res.json()).toMatchObject({ model_version: 'v2', parameters: { generation: 7 } });
    }
  });

  it('/metrics on the shared port sums every process (generation: the lowest served); ?process=self is one process', async () => {
    const own = (await t.db.selectFrom('serving_workers').select('admin_address').where('id', 'like', 'pair-%').orderBy('id').execute()).map((r) => r.admin_address.replace(/\/admin$/, ''));
    const scrape = async (u: string) => {
      const res = await fetch(u, { headers: { connection: 'close' } });
      expect(res.status).toBe(200);
      return { text: await res.text(), processes: res.headers.get('x-sluice-processes') };
    };
    const selves = await Promise.all(own.map((u) => scrape(`${u}/metrics?process=self`)));
    const summed = await scrape(`${url}/metrics`);
    expect(selves.map((x) => x.processes)).toEqual(['self', 'self']);
    expect(summed.processes).toBe('2/2');
    // Both processes answered some of the requests above; the group's count is theirs together.
    const each = selves.map((x) => total(x.text, 'sluice_inference_requests_total', 'model="credit"'));
    expect(each.every((n) => n > 0)).toBe(true);
    expect(total(summed.text, 'sluice_inference_requests_total', 'model="credit"')).toBe((each[0] ?? 0) + (each[1] ?? 0));
    expect(total(summed.text, 'sluice_inference_latency_seconds_count', 'model="credit"')).toBe((each[0] ?? 0) + (each[1] ?? 0));
    expect(total(summed.text, 'sluice_traffic_generation', 'model="credit"')).toBe(7);
    expect(total(summed.text, 'sluice_execution_provider', 'provider="cpu"')).toBe(1);
    const bad = await fetch(`${url}/metrics?process=all`, { headers: { connection: 'close' } });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/process/);
    // A process that does not answer in time (stopped here) counts with its last answer, so the
    // sum does not drop for that scrape. Asked at the other process's own port: the shared port
    // could hand the connection to the stopped one.
    const target = childPids(primary?.pid)[1] as number;
    process.kill(target, 'SIGSTOP');
    try {
      const answers = await Promise.all(own.map((u) => fetch(`${u}/v2/health/live`, { signal: AbortSignal.timeout(1000) }).then(() => u, () => null)));
      const running = answers.filter((u): u is string => u !== null);
      expect(running).toHaveLength(1);
      const partial = await scrape(`${running[0]}/metrics`);
      expect(partial.processes).toBe('1/2');
      expect(total(partial.text, 'sluice_inference_requests_total', 'model="credit"')).toBe((each[0] ?? 0) + (each[1] ?? 0));
      // Gauges of a silent process are left out rather than carried: its generation says nothing about now.
      expect(total(partial.text, 'sluice_traffic_generation', 'model="credit"')).toBe(7);
    } finally {
      process.kill(target, 'SIGCONT');
    }
  });

  it('starts a process that dies again, and it rejoins into the current split', async () => {
    const pids = childPids(primary?.pid);
    expect(pids).toHaveLength(2);
    const before = await t.db.selectFrom('serving_workers').select(['id', 'started_at']).where('id', 'like', 'pair-%').orderBy('id').execute();
    const countedBefore = await groupRequests();
    process.kill(pids[0] as number, 'SIGKILL');
    await publishGeneration(t.db, { model: 'credit', generation: 8, weights: { v1: 0.5, v2: 0.5 }, createdBy: 'test', reason: 'while one process is down' });
    // The replacement registers again under the dead process's id (a new started_at) and serves generation 8.
    await waitFor('the process to be started again', async () => {
      const now = await t.db.selectFrom('serving_workers').select(['id', 'started_at', 'status', 'generations']).where('id', 'like', 'pair-%').orderBy('id').execute();
      const restarted = now.filter((r, i) => r.started_at.getTime() !== before[i]?.started_at.getTime());
      return restarted.length === 1 && now.every((r) => r.status === 'ready' && r.generations.credit === 8) ? true : undefined;
    }, 30_000, 100);
    expect(await processesSeen(16)).toEqual(['pair-1', 'pair-2']);
    // A 50/50 split now: a key gets the same version from either process (each asked at its own port).
    const own = (await t.db.selectFrom('serving_workers').select('admin_address').where('id', 'like', 'pair-%').orderBy('id').execute()).map((r) => r.admin_address.replace(/\/admin$/, ''));
    const versions = new Set<string>();
    for (let k = 0; k < 24; k++) {
      const [x, y] = await Promise.all(own.map((u) => infer(u, 'credit', inferBody([row(k)], { routing_key: `user-${k}` }))));
      expect(x?.body.model_version).toBe(y?.body.model_version);
      versions.add(String(x?.body.model_version));
    }
    expect([...versions].sort()).toEqual(['v1', 'v2']);
    // The dead process's count stays in the group's sum (a drop would read as a counter reset):
    // everything counted before the kill, plus the 24 keys asked of each process since.
    expect(await groupRequests()).toBe(countedBefore + 48);
    expect(output()).toMatch(/process \d \(pair-\d\) exited \(signal SIGKILL\); starting it again/);
  });

  it('keeps running when every process dies at once, and starts them all again', async () => {
    const pids = childPids(primary?.pid);
    expect(pids).toHaveLength(2);
    const before = await t.db.selectFrom('serving_workers').select(['id', 'started_at']).where('id', 'like', 'pair-%').orderBy('id').execute();
    const countedBefore = await groupRequests();
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    await waitFor('both processes to be started again', async () => {
      const now = await t.db.selectFrom('serving_workers').select(['id', 'started_at', 'status']).where('id', 'like', 'pair-%').orderBy('id').execute();
      return now.every((r, i) => r.status === 'ready' && r.started_at.getTime() !== before[i]?.started_at.getTime()) ? true : undefined;
    }, 30_000, 100);
    expect(primary?.exitCode).toBeNull();
    expect(childPids(primary?.pid).filter((p) => pids.includes(p))).toEqual([]);
    expect(await processesSeen(16)).toEqual(['pair-1', 'pair-2']);
    expect(await groupRequests()).toBe(countedBefore);
  });

  it('SIGTERM stops both processes, each marking its row stopped, also when each gets its own SIGTERM besides', async () => {
    const exited = new Promise<number | null>((resolve) => primary?.once('exit', (code) => resolve(code)));
    // As systemd or timeout(1) stop a process group: every process is signalled, and the primary
    // signals its processes once more. A second SIGTERM must not cut a drain short.
    const pids = childPids(primary?.pid);
    primary?.kill('SIGTERM');
    for (const pid of pids) process.kill(pid, 'SIGTERM');
    expect(await exited).toBe(0);
    const rows = await t.db.selectFrom('serving_workers').select(['id', 'status']).where('id', 'like', 'pair-%').orderBy('id').execute();
    expect(rows).toEqual([{ id: 'pair-1', status: 'stopped' }, { id: 'pair-2', status: 'stopped' }]);
    primary = null;
  });
});

/** A port p with p + 1 free as well. */
async function twoFreePorts(): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (p < 65535 && await assertPortFree(p + 1, 'the second admin port').then(() => true, () => false)) return p;
  }
}

describe('processes whose primary is killed', () => {
  it('listen for admin on SLUICE_ADMIN_PORT_BASE + n - 1; drain and stop on their own: rows marked stopped, no process left', async () => {
    // Two neighbouring ports picked free here, then bound by the processes: when another process
    // takes one between the two, the group stops at start, and it is started on another pair.
    let base = 0;
    let group: Awaited<ReturnType<typeof startGroup>> | undefined;
    for (let attempt = 1; group === undefined; attempt++) {
      base = await twoFreePorts();
      try {
        group = await startGroup('orphans', 2, { SLUICE_ADMIN_PORT_BASE: String(base) });
      } catch (err) {
        if (attempt >= 5 || !/EADDRINUSE|address already in use/i.test((err as Error).message)) throw err;
      }
    }
    const admin = await t.db.selectFrom('serving_workers').select(['id', 'admin_address']).where('id', 'like', 'orphans-%').orderBy('id').execute();
    expect(admin).toEqual([{ id: 'orphans-1', admin_address: `http://127.0.0.1:${base}/admin` }, { id: 'orphans-2', admin_address: `http://127.0.0.1:${base + 1}/admin` }]);
    const pids = childPids(group.proc.pid);
    expect(pids).toHaveLength(2);
    group.proc.kill('SIGKILL');
    await waitFor('both processes to exit', async () => (pids.every((p) => !alive(p)) ? true : undefined), 20_000, 50);
    const rows = await t.db.selectFrom('serving_workers').select(['id', 'status']).where('id', 'like', 'orphans-%').orderBy('id').execute();
    expect(rows).toEqual([{ id: 'orphans-1', status: 'stopped' }, { id: 'orphans-2', status: 'stopped' }]);
  }, 120_000);
});
