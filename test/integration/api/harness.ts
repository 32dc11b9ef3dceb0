// The API under test, for real: Fastify listening on a free port, a fresh migrated PostgreSQL
// database, the shared Temporal dev server with a worker running the stand-in lifecycle workflow,
// and an artifact store in a temporary folder. Requests go over HTTP with fetch.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { inject } from 'vitest';
import { buildApiApp, type ApiDeps } from '../../../src/api/app.js';
import type { Role } from '../../../src/db/schema.js';
import { ArtifactStore } from '../../../src/registry/artifacts.js';
import { createApiKey } from '../../../src/registry/keys.js';
import { ensureProject } from '../../../src/registry/projects.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';

type BodyInit = NonNullable<NonNullable<Parameters<typeof fetch>[1]>['body']>;

const here = path.dirname(fileURLToPath(import.meta.url));
export const fixturesDir = path.resolve(here, '../../fixtures/models');

export interface Manifest {
  models: Array<{ file: string; modelName: string; version: string; sha256: string; sizeBytes: number }>;
}

export async function readManifest(): Promise<Manifest> {
  return JSON.parse(await fs.readFile(path.join(fixturesDir, 'manifest.json'), 'utf8')) as Manifest;
}

export async function fixture(file: string): Promise<Buffer> {
  return await fs.readFile(path.join(fixturesDir, file));
}

export type Keys = Record<Role, string> & { other: string; otherAdmin: string };

export interface Harness {
  url: string;
  app: FastifyInstance;
  t: TestDatabase;
  store: ArtifactStore;
  keys: Keys;
  taskQueue: string;
  client: Client;
  call(method: string, route: string, opts?: { key?: string | null; body?: unknown; raw?: BodyInit; headers?: Record<string, string> }): Promise<ApiResponse>;
  close(): Promise<void>;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
}

let runtimeInstalled = false;

export async function startHarness(opts: { temporal?: boolean; deps?: Partial<ApiDeps>; maxArtifactBytes?: number; maxDatasetBytes?: number } = {}): Promise<Harness> {
  const t = await createTestDatabase();
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'sluice-artifacts-'));
  const store = new ArtifactStore({ root, maxBytes: opts.maxArtifactBytes ?? 1024 * 1024, ...(opts.maxDatasetBytes ? { maxDatasetBytes: opts.maxDatasetBytes } : {}) });
  const taskQueue = `api-test-${randomUUID()}`;
  const connection = await Connection.connect({ address: inject('temporalAddress') });
  const client = new Client({ connection });
  let worker: Worker | undefined;
  let workerRun: Promise<void> | undefined;
  let nativeConnection: NativeConnection | undefined;
  if (opts.temporal !== false) {
    if (!runtimeInstalled) {
      runtimeInstalled = true;
      try { Runtime.install({ logger: new DefaultLogger('WARN') }); } catch { /* already installed */ }
    }
    nativeConnection = await NativeConnection.connect({ address: inject('temporalAddress') });
    worker = await Worker.create({
      connection: nativeConnection, taskQueue, workflowsPath: path.join(here, 'support-workflows.ts'),
    });
    workerRun = worker.run();
  }

  const app = await buildApiApp({
    db: t.db,
    temporal: { client, taskQueue, uiUrl: 'http://temporal-ui.test', timeoutMs: 10_000 },
    artifacts: store,
    rateLimit: false,
    ...opts.deps,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;

  await ensureProject(t.db, 'other', 'Another tenant');
  const make = async (role: Role, project = 'default') => (await createApiKey(t.db, { projectId: project, name: `${role}@${project}`, role })).token;
  const keys: Keys = {
    viewer: await make('viewer'),
    deployer: await make('deployer'),
    approver: await make('approver'),
    admin: await make('admin'),
    other: await make('deployer', 'other'),
    otherAdmin: await make('admin', 'other'),
  };

  const call: Harness['call'] = async (method, route, o = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    const key = o.key === undefined ? keys.admin : o.key;
    if (key) headers.authorization = `Bearer ${key}`;
    let body: BodyInit | undefined = o.raw;
    if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(url + route, { method, headers, body, ...(o.raw && typeof (o.raw as { pipe?: unknown }).pipe === 'function' ? { duplex: 'half' } : {}) });
    const text = await res.text();
    let parsed: unknown = text;
    try { parsed = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    return { status: res.status, headers: res.headers, body: parsed, text };
  };

  return {
    url, app, t, store, keys, taskQueue, client, call,
    async close() {
      await app.close();
      // Leave no workflow of this file running: workflow ids are per model on a shared server.
      for await (const wf of client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'` })) {
        await client.workflow.getHandle(wf.workflowId, wf.runId).terminate('test finished').catch(() => undefined);
      }
      worker?.shutdown();
      await workerRun?.catch(() => undefined);
      await nativeConnection?.close();
      await connection.close();
      await fs.rm(root, { recursive: true, force: true });
      await t.drop();
    },
  };
}

/** Row counts of every table the API writes, to prove a refused request wrote nothing. */
export async function rowCounts(t: TestDatabase): Promise<Record<string, number>> {
  const tables = ['projects', 'models', 'model_versions', 'traffic_generations', 'rollouts', 'rollout_steps', 'experiments', 'experiment_looks', 'api_keys', 'audit_log', 'datasets'] as const;
  const out: Record<string, number> = {};
  for (const table of tables) {
    const row = await t.db.selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    out[table] = Number(row.n);
  }
  return out;
}
