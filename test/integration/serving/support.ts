// Shared setup for the serving integration tests: the fixture models the project builds
// (scripts/build-fixtures.ts), registering them in a test database, and workers started
// in-process on port 0.
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { fixtureManifest, fixtureModel, type FixtureKind } from '../../../src/models/fixtures.js';
import type { Database } from '../../../src/db/schema.js';
import { buildServingApp, type ServingDeps } from '../../../src/serving/app.js';
import type { ServingConfigOverrides } from '../../../src/serving/config.js';

export { FIXTURE_DIR as FIXTURES, fixtureManifest as manifest, fixtureModel as fixture } from '../../../src/models/fixtures.js';

export const WIDTH = () => fixtureManifest().featureNames.length;
export const INPUT = () => fixtureManifest().input.name;

/** Registers a model and its versions (name → fixture kind); returns the model id. */
export async function registerModel(db: Kysely<Database>, name: string, versions: Record<string, FixtureKind>, extra: Record<string, { metadata?: Record<string, unknown>; referenceProfile?: unknown }> = {}): Promise<string> {
  const existing = await db.selectFrom('models').select('id').where('name', '=', name).executeTakeFirst();
  const modelId = existing?.id ?? (await db.insertInto('models').values({ project_id: 'default', name }).returning('id').executeTakeFirstOrThrow()).id;
  for (const [version, kind] of Object.entries(versions)) {
    const f = fixtureModel(kind);
    await db.insertInto('model_versions').values({
      model_id: modelId, version, artifact_uri: f.uri, sha256: f.sha256, size_bytes: f.sizeBytes,
      signature: JSON.stringify({ inputs: [], outputs: [] }),
      metadata: extra[version]?.metadata ?? {},
      reference_profile: extra[version]?.referenceProfile === undefined ? null : JSON.stringify(extra[version]?.referenceProfile),
    }).execute();
  }
  return modelId;
}

export interface TestWorker {
  app: FastifyInstance;
  url: string;
  admin: (method: string, p: string, body?: unknown) => Promise<{ status: number; body: Record<string, unknown> }>;
  close: () => Promise<void>;
}

export const TOKEN = 'test-admin-token-0123456789';

/** A worker in this process, listening on a free port, joined (registered and reconciled). */
export async function startWorker(db: Kysely<Database> | null, opts: { databaseUrl?: string; config?: ServingConfigOverrides; random?: ServingDeps['random'] } = {}): Promise<TestWorker> {
  const app = await buildServingApp({
    db, databaseUrl: opts.databaseUrl ?? null, random: opts.random,
    config: { adminToken: TOKEN, heartbeatMs: 500, warmupRuns: 1, ...opts.config },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  await app.serving.joined;
  const url = app.serving.address as string;
  return {
    app,
    url,
    async admin(method, p, body) {
      const res = await fetch(`${url}/admin${p}`, {
        method, headers: { authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    close: () => app.close(),
  };
}

export interface InferReply {
  status: number;
  body: {
    model_name?: string; model_version?: string; id?: string; error?: string;
    parameters?: { arm?: string; experiment_id?: string; generation?: number; segment?: string; fallback?: boolean; routing?: string };
    outputs?: Array<{ name: string; datatype: string; shape: number[]; data: number[] }>;
  };
}

export function row(seed: number): number[] {
  const width = WIDTH();
  return Array.from({ length: width }, (_, j) => Math.fround(Math.sin(seed * 7.1 + j * 1.3) * 2));
}

/** A JSON infer request of `rows` rows (seeded) for the fixture models. */
export function inferBody(rows: number[][], parameters: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { inputs: [{ name: INPUT(), shape: [rows.length, WIDTH()], datatype: 'FP32', data: rows.flat() }], parameters, ...extra };
}

export async function infer(url: string, model: string, body: unknown, version?: string): Promise<InferReply> {
  const res = await fetch(`${url}/v2/models/${model}${version ? `/versions/${version}` : ''}/infer`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as InferReply['body'] };
}

export async function metric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.split(' ').pop());
  }
  return total;
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 10_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
