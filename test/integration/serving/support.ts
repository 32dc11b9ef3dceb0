// Shared setup for the serving integration tests: the fixture models the project builds
// (scripts/build-fixtures.ts), registering them in a test database, and workers started
// in-process on port 0.
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { fixtureManifest, type FixtureKind, type FixtureModel } from '../../../src/models/fixtures.js';
import { exportModelToOnnx, writeModelFile, type MlpParams } from '../../../src/models/index.js';
import type { Database } from '../../../src/db/schema.js';
import { buildServingApp, type ServingDeps } from '../../../src/serving/app.js';
import type { ServingConfigOverrides } from '../../../src/serving/config.js';
import { seedFixtureModel } from '../../support/seed.js';

export { FIXTURE_DIR as FIXTURES, fixtureManifest as manifest, fixtureModel as fixture } from '../../../src/models/fixtures.js';

export const WIDTH = () => fixtureManifest().featureNames.length;
export const INPUT = () => fixtureManifest().input.name;

/**
 * Registers a model and its versions (name → fixture kind) with the shared seeder, in the serving
 * tests' words; returns the model id.
 */
export async function registerModel(db: Kysely<Database>, name: string, versions: Record<string, FixtureKind>, extra: Record<string, { metadata?: Record<string, unknown>; referenceProfile?: unknown }> = {}): Promise<string> {
  const specs = Object.fromEntries(Object.entries(versions).map(([version, kind]) => [version, { artifact: kind, ...extra[version] }]));
  return (await seedFixtureModel(db, { model: name, versions: specs })).modelId;
}

/**
 * A deliberately slow model with the fixtures' input and output (FP32 [-1, width] in, [-1, 1] out):
 * an MLP of `hiddenUnits` tanh units (the fixture MLP has 16) with fixed pseudo-random weights,
 * written by the project's ONNX exporter. Its run time grows with rows × units: 50,000 units take
 * about 12 ms for 64 rows on one core of the development machine. Same units, same bytes.
 */
export async function slowModel(hiddenUnits = 50_000): Promise<FixtureModel> {
  const names = fixtureManifest().featureNames;
  let state = 0x2545f491;
  const next = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
  const params: MlpParams = {
    kind: 'mlp', featureNames: names, activation: 'tanh', hiddenUnits,
    standardizer: { mean: names.map(() => 0), scale: names.map(() => 1) },
    hiddenWeights: Array.from({ length: names.length * hiddenUnits }, () => next() * 0.5),
    hiddenBias: Array.from({ length: hiddenUnits }, next),
    outputWeights: Array.from({ length: hiddenUnits }, () => next() * 0.02),
    outputBias: 0,
  };
  const bytes = exportModelToOnnx(params, { modelName: 'slow', modelVersion: '1', trainingDataSha256: '0'.repeat(64), createdAt: '2026-01-01T00:00:00.000Z', description: 'Deliberately slow: a very wide MLP for tests.' });
  const file = `credit-slow-${hiddenUnits}.onnx`;
  const written = await writeModelFile(path.join(os.tmpdir(), file), bytes);
  return { file, path: written.path, uri: pathToFileURL(written.path).href, sha256: written.sha256, sizeBytes: written.sizeBytes };
}

/** Registers one version of a model (created when missing) from any artifact, such as `slowModel()`'s. */
export async function registerVersion(db: Kysely<Database>, name: string, version: string, artifact: Pick<FixtureModel, 'uri' | 'sha256' | 'sizeBytes'>): Promise<void> {
  await seedFixtureModel(db, { model: name, versions: { [version]: artifact } });
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

/**
 * Many infer requests through real HTTP at a client cost of a few µs each: `connections`
 * keep-alive sockets, each with up to `depth` requests pipelined (HTTP/1.1 answers them in order).
 * With fetch and 64 requests in flight a worker in this process answered about 800 a second on
 * the shared 2-core machine (100k took two minutes, mostly the client's time); with this, 6-8k.
 * `onReply` gets each request's index and its answer (status, parsed JSON body) as it arrives; a
 * throw from it fails the whole call.
 */
export function inferMany(url: string, model: string, n: number, body: (i: number) => unknown, onReply: (i: number, reply: InferReply) => void,
  opts: { connections?: number; depth?: number } = {}): Promise<void> {
  const target = new URL(url);
  const inferPath = `/v2/models/${encodeURIComponent(model)}/infer`;
  const depth = opts.depth ?? 16;
  let next = 0;
  const lane = () => new Promise<void>((resolve, reject) => {
    const socket = net.connect(Number(target.port), target.hostname);
    socket.setNoDelay(true);
    const order: number[] = [];
    let answered = 0;
    let buf: Buffer = Buffer.alloc(0);
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(err);
    };
    const fill = () => {
      let out = '';
      while (order.length - answered < depth && next < n) {
        const i = next++;
        const b = JSON.stringify(body(i));
        out += `POST ${inferPath} HTTP/1.1\r\nhost: ${target.host}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(b)}\r\n\r\n${b}`;
        order.push(i);
      }
      if (out !== '') socket.write(out);
      else if (answered === order.length && !settled) {
        settled = true;
        socket.end();
        resolve();
      }
    };
    socket.on('connect', fill);
    socket.on('error', fail);
    socket.on('close', () => fail(new Error(`connection closed with ${order.length - answered} requests unanswered`)));
    socket.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      let at = 0;
      try {
        for (;;) {
          const end = buf.indexOf('\r\n\r\n', at);
          if (end < 0) break;
          const head = buf.toString('latin1', at, end);
          const length = /\r\ncontent-length: *(\d+)/i.exec(head);
          if (length === null) throw new Error(`response without a content-length: ${JSON.stringify(head)}`);
          const stop = end + 4 + Number(length[1]);
          if (buf.length < stop) break;
          onReply(order[answered++] as number, { status: Number(head.slice(9, 12)), body: JSON.parse(buf.toString('utf8', end + 4, stop)) as InferReply['body'] });
          at = stop;
        }
      } catch (err) {
        fail(err as Error);
        return;
      }
      buf = buf.subarray(at);
      fill();
    });
  });
  return Promise.all(Array.from({ length: opts.connections ?? 16 }, lane)).then(() => undefined);
}
