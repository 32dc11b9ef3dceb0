// The inference log through a PostgreSQL outage: a dedicated embedded server (so stopping it
// harms no other test) goes down under traffic and comes back. Inference never fails, the rows
// that could not be written are dropped and counted, and logging resumes by itself.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '../../../src/db/connect.js';
import { migrateToLatest } from '../../../src/db/migrate.js';
import type { Database } from '../../../src/db/schema.js';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../../../src/dev/postgres.js';
import { publishGeneration } from '../../../src/registry/traffic.js';
import { infer, inferBody, metric, registerModel, row, startWorker, waitFor, type TestWorker } from './support.js';

let dir: string;
let port: number;
let pg: EmbeddedPostgresHandle | null = null;
let db: Kysely<Database>;
let w: TestWorker;

async function countRows(): Promise<number> {
  const r = await db.selectFrom('inference_log').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  return Number(r.n);
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sluice-log-outage-'));
  await fs.chmod(dir, 0o755); // postgres runs as the postgres user
  // Any free port (another if it is taken before PostgreSQL binds it); the outage below brings
  // PostgreSQL back on the same one, where the worker reconnects.
  pg = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), port: 0 });
  port = pg.port;
  db = createDb(pg.url);
  await migrateToLatest(db as Kysely<unknown>);
  await registerModel(db, 'credit', { v1: 'logreg' });
  await publishGeneration(db, { model: 'credit', weights: { v1: 1 }, createdBy: 'test' });
  w = await startWorker(db, { databaseUrl: pg.url, config: { inferenceLog: { enabled: true, capacity: 50, batchRows: 20, flushMs: 20, sampleRate: 1, inputSampleRate: 1 } } });
}, 120_000);

afterAll(async () => {
  await w?.close();
  await db?.destroy();
  await pg?.stop();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('inference log through a PostgreSQL restart', () => {
  it('keeps answering, counts the dropped rows, and logs again once the database is back', async () => {
    for (let i = 0; i < 10; i++) expect((await infer(w.url, 'credit', inferBody([row(i)]))).status).toBe(200);
    await waitFor('rows before the outage', async () => (await countRows()) >= 10);

    await pg?.stop();
    pg = null;
    // During the outage every request still answers; the writes fail (connection refused) and
    // their rows are dropped and counted. (A database that hangs instead fills the bounded buffer:
    // see the unit test of InferenceLog.)
    const during = await Promise.all(Array.from({ length: 200 }, (_, i) => infer(w.url, 'credit', inferBody([row(i)], { routing_key: `u${i}` }))));
    expect(during.every((r) => r.status === 200)).toBe(true);
    const dropped = await waitFor('drops to be counted', async () => {
      const n = await metric(w.url, 'sluice_inference_log_dropped_total');
      return n >= 150 ? n : undefined;
    }, 20_000);
    expect(await metric(w.url, 'sluice_inference_log_dropped_total', { reason: 'database' })).toBeGreaterThan(0);
    expect(dropped).toBeGreaterThanOrEqual(150);

    pg = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), port });
    for (let i = 0; i < 10; i++) expect((await infer(w.url, 'credit', inferBody([row(i)], {}, { id: `after-${i}` }))).status).toBe(200);
    await waitFor('rows after the restart', async () => {
      const got = await db.selectFrom('inference_log').select('request_id').where('request_id', 'like', 'after-%').execute();
      return got.length === 10 ? got : undefined;
    }, 30_000, 100);
    // Every answered request is either in the log or counted as dropped.
    const total = 10 + 200 + 10;
    const logged = await countRows();
    expect(logged + (await metric(w.url, 'sluice_inference_log_dropped_total'))).toBe(total);
  });
});
