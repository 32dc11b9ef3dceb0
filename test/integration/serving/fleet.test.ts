// The fleet client against real workers, and workers converging from PostgreSQL: idempotent
// publishing, pushes with per-worker acks, prewarm and unload, LISTEN without a push, and a
// worker process that restarts into the current split.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../../src/config.js';
import { createFleetClient, FleetError, liveWorkers, prewarmVersion, publishGeneration, pushGeneration, unloadVersion } from '../../../src/fleet/index.js';
import { freePort } from '../../../src/shared/ports.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';
import { infer, inferBody, registerModel, row, startWorker, TOKEN, waitFor, type TestWorker } from './support.js';

let t: TestDatabase;
let a: TestWorker;
let b: TestWorker;
// Worker b beats once a minute: count it live for longer than the default 10 s.
const opts = { adminToken: TOKEN, maxHeartbeatAgeMs: 120_000 };

beforeAll(async () => {
  t = await createTestDatabase();
  await registerModel(t.db, 'credit', { v1: 'logreg', v2: 'mlp', v3: 'bad' });
  await publishGeneration(t.db, { model: 'credit', weights: { v1: 1 }, createdBy: 'test' });
  [a, b] = await Promise.all([
    startWorker(t.db, { databaseUrl: t.url, config: { workerId: 'fleet-a' } }),
    // A long heartbeat: this worker learns of new generations by LISTEN (or a push) only.
    startWorker(t.db, { databaseUrl: t.url, config: { workerId: 'fleet-b', heartbeatMs: 60_000 } }),
  ]);
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await t?.drop();
});

describe('publishGeneration', () => {
  it('is idempotent on the generation number and refuses a different body under the same number', async () => {
    const first = await publishGeneration(t.db, { model: 'credit', generation: 10, weights: { v1: 0.9, v2: 0.1 }, reason: 'canary 10%', createdBy: 'test' });
    expect(first).toMatchObject({ generation: 10, created: true });
    const again = await publishGeneration(t.db, { model: 'credit', generation: 10, weights: { v2: 0.1, v1: 0.9 }, reason: 'retry', createdBy: 'test' });
    expect(again).toMatchObject({ generation: 10, created: false });
    await expect(publishGeneration(t.db, { model: 'credit', generation: 10, weights: { v1: 0.5, v2: 0.5 }, createdBy: 'test' })).rejects.toThrow(/already exists with different weights/);
    const next = await publishGeneration(t.db, { model: 'credit', weights: { v1: 1 }, createdBy: 'test' });
    expect(next.generation).toBe(11);
  });

  it('refuses invalid weights, unknown versions and unknown models before writing', async () => {
    const count = async () => Number((await t.db.selectFrom('traffic_generations').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
    const before = await count();
    await expect(publishGeneration(t.db, { model: 'credit', weights: { v1: 0.5, v2: 0.6 }, createdBy: 'test' })).rejects.toThrow(/sum to 1.1/);
    await expect(publishGeneration(t.db, { model: 'credit', weights: { v1: 0.5, v9: 0.5 }, createdBy: 'test' })).rejects.toThrow(/no registered version v9/);
    await expect(publishGeneration(t.db, { model: 'credit', generation: 50, weights: { v9: 1 }, createdBy: 'test' })).rejects.toThrow(/no registered version v9/);
    const unknownModel = await publishGeneration(t.db, { model: 'nope', weights: { v1: 1 }, createdBy: 'test' }).catch((err: unknown) => err);
    expect(unknownModel).toBeInstanceOf(FleetError);
    expect((unknownModel as FleetError).code).toBe('not_found');
    expect(await count()).toBe(before);
  });
});

describe('workers converge', () => {
  it('a LISTEN notification alone moves a worker to the new generation', async () => {
    const g = await publishGeneration(t.db, { model: 'credit', weights: { v1: 0.8, v2: 0.2 }, createdBy: 'test' });
    // No push: worker b (heartbeat once a minute) hears the trigger's NOTIFY, loads v2 and applies.
    await waitFor('worker b to apply by LISTEN', async () => b.app.serving.host.models.get('credit')?.generation?.generation === g.generation, 10_000);
    expect(b.app.serving.host.find('credit', 'v2')?.ready).toBe(true);
  });

  it('pushGeneration reaches every live worker in parallel and reports each ack', async () => {
    const workers = await liveWorkers(t.db, opts);
    expect(workers.map((w) => w.id)).toEqual(['fleet-a', 'fleet-b']);
    const g = await publishGeneration(t.db, { model: 'credit', weights: { v1: 0.5, v2: 0.5 }, createdBy: 'test' });
    const pushed = await pushGeneration(t.db, { model: 'credit', ...opts });
    expect(pushed).toMatchObject({ generation: g.generation, workers: 2, acked: 2, allAcked: true });
    for (const ack of pushed.acks) {
      expect(ack.ok).toBe(true);
      expect(ack.latencyMs).toBeGreaterThan(0);
    }
    const wrongToken = await pushGeneration(t.db, { ...opts, model: 'credit', adminToken: 'wrong' });
    expect(wrongToken.allAcked).toBe(false);
    expect(wrongToken.acks[0]?.error).toMatch(/HTTP 401/);
  });

  it('prewarm loads a version everywhere; unload refuses while routed, then drains it', async () => {
    const warmed = await prewarmVersion(t.db, { model: 'credit', version: 'v3', ...opts });
    expect(warmed).toMatchObject({ workers: 2, succeeded: 2, allSucceeded: true });
    expect(a.app.serving.host.find('credit', 'v3')?.ready).toBe(true);
    const unknown = await prewarmVersion(t.db, { model: 'credit', version: 'v9', ...opts });
    expect(unknown.allSucceeded).toBe(false);
    expect(unknown.results[0]?.error).toMatch(/HTTP 404: model credit has no registered version v9/);

    const refused = await unloadVersion(t.db, { model: 'credit', version: 'v2', ...opts });
    expect(refused.allSucceeded).toBe(false);
    expect(refused.results[0]?.error).toMatch(/HTTP 409/);
    const unloaded = await unloadVersion(t.db, { model: 'credit', version: 'v3', ...opts });
    expect(unloaded.allSucceeded).toBe(true);
    expect(a.app.serving.host.find('credit', 'v3')).toBeUndefined();
  });

  it('createFleetClient implements the activities port: apply, prewarm, unload', async () => {
    const fleet = createFleetClient(t.db, opts);
    const prewarmed = await fleet.prewarm({ model: 'credit', version: 'v3' });
    expect(prewarmed).toMatchObject({ workers: 2, ready: 2, allReady: true });
    const applied = await fleet.applyGeneration({ model: 'credit', generation: 50, weights: { v1: 1 }, spec: {}, reason: 'rollback', createdBy: 'test' });
    expect(applied).toMatchObject({ generation: 50, workers: 2, acked: 2, allAcked: true });
    // Retried activity: same generation again is harmless.
    expect((await fleet.applyGeneration({ model: 'credit', generation: 50, weights: { v1: 1 }, spec: {}, reason: 'rollback', createdBy: 'test' })).allAcked).toBe(true);
    await fleet.unload({ model: 'credit', version: 'v2' });
    await fleet.unload({ model: 'credit', version: 'v3' });
    for (const w of [a, b]) expect([...(w.app.serving.host.models.get('credit')?.versions.keys() ?? [])]).toEqual(['v1']);
  });
});

describe('a worker process restarts into the current split', () => {
  let child: ChildProcess | null = null;
  afterAll(() => { child?.kill('SIGKILL'); });

  async function startProcess(port: number): Promise<{ child: ChildProcess; readyAt: number }> {
    const p = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'src/serving/server.ts')], {
      cwd: projectRoot,
      env: { ...process.env, DATABASE_URL: t.url, PORT: String(port), HOST: '127.0.0.1', SLUICE_WORKER_ID: 'restarting', SLUICE_ADMIN_TOKEN: TOKEN, SLUICE_HEARTBEAT_MS: '500' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout?.on('data', (c: Buffer) => { out += c.toString(); });
    p.stderr?.on('data', (c: Buffer) => { out += c.toString(); });
    const readyAt = await waitFor('SLUICE_READY', async () => (out.includes('SLUICE_READY') ? Date.now() : p.exitCode !== null ? Promise.reject(new Error(out)) : undefined), 60_000, 20);
    return { child: p, readyAt };
  }

  it('stops cleanly (row marked stopped), and on restart serves the generation published while it was down', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    ({ child } = await startProcess(port));
    const before = await infer(url, 'credit', inferBody([row(1)], { routing_key: 'u' }));
    expect(before.body).toMatchObject({ model_version: 'v1', parameters: { generation: 50 } });

    const exited = new Promise((r) => child?.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    const row0 = await t.db.selectFrom('serving_workers').select(['status']).where('id', '=', 'restarting').executeTakeFirstOrThrow();
    expect(row0.status).toBe('stopped');

    const g = await publishGeneration(t.db, { model: 'credit', weights: { v2: 1 }, createdBy: 'test', reason: 'while down' });
    const restart = await startProcess(port);
    child = restart.child;
    const first = await infer(url, 'credit', inferBody([row(1)], { routing_key: 'u' }));
    const servedAt = Date.now();
    expect(first.body).toMatchObject({ model_version: 'v2', parameters: { generation: g.generation } });
    expect(servedAt - restart.readyAt).toBeLessThan(1000);
    const registered = await t.db.selectFrom('serving_workers').selectAll().where('id', '=', 'restarting').executeTakeFirstOrThrow();
    expect(registered).toMatchObject({ status: 'ready', device: 'cpu', address: url, admin_address: `${url}/admin` });
    expect(registered.generations).toEqual({ credit: g.generation });
  });
});
