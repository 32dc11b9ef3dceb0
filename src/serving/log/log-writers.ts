/**
 * Where the inference log's batches go: a writer takes one packed batch (log-columns.ts) and
 * resolves once the database has it. Two of them: one on a worker thread with its own
 * connection (a worker with a database URL: the HTTP event loop never encodes a row), and one on
 * the event loop through the app's Kysely pool (no URL: tests, embedding).
 */
import { CompiledQuery, type Kysely } from 'kysely';
import type { Worker } from 'node:worker_threads';
import type { Database } from '../../db/schema.js';
import { startModuleThread } from '../execution/threads.js';
import { insertParameters, INSERT_SQL } from './insert-encoder.js';
import type { PackedRows } from './log-columns.js';

/**
 * Writes one packed batch; rejects when the database did not take it. May resolve to the batch
 * (its buffers, which the log then reuses for a later batch) once nothing reads it any more.
 */
export type LogWriter = { write(rows: PackedRows): Promise<PackedRows | void>; close(): Promise<void> };

/** A writer on this event loop, through the app's Kysely pool (no database URL, or tests). */
export function kyselyLogWriter(db: Kysely<Database>, workerId: string): LogWriter {
  return {
    async write(rows) {
      // The parameters are built (the buffers read) before the query goes out.
      await db.executeQuery(CompiledQuery.raw(INSERT_SQL, insertParameters(rows, workerId)));
      return rows;
    },
    async close() {},
  };
}

/**
 * A writer on a worker thread with its own connection (see log-thread.ts). A batch's columns
 * live in SharedArrayBuffers, so posting one copies and transfers nothing: the thread reads the
 * same memory, and once it has acked, the event loop fills those buffers again. (Transferring
 * them to and fro made each isolate adopt tens of megabytes of "new" external memory a second,
 * which kept both in back-to-back full collections: measured with 64-row requests.)
 */
export function threadLogWriter(databaseUrl: string, workerId: string, statementTimeoutMs = 10_000): LogWriter {
  let thread: Worker | null = null;
  let nextId = 1;
  const waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  const failAll = (err: Error) => {
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  const start = (): Worker => {
    if (thread) return thread;
    const t = startModuleThread(import.meta.url, './log-thread', { databaseUrl, workerId, statementTimeoutMs });
    t.unref();
    t.on('message', (m: { id: number; ok: boolean; error?: string }) => {
      const w = waiting.get(m.id);
      waiting.delete(m.id);
      if (m.ok) w?.resolve(); else w?.reject(new Error(m.error ?? 'log write failed'));
    });
    t.on('error', (err) => failAll(err));
    t.on('exit', () => { thread = null; failAll(new Error('the log thread exited')); });
    thread = t;
    return t;
  };
  const call = (message: Record<string, unknown>) => new Promise<void>((resolve, reject) => {
    const id = nextId++;
    waiting.set(id, { resolve, reject });
    start().postMessage({ ...message, id });
  });
  return {
    // Acked means the thread is done reading the batch: its buffers may be filled again.
    write: (rows) => call({ op: 'write', rows }).then(() => rows),
    async close(): Promise<void> {
      if (!thread) return;
      const t = thread;
      await Promise.race([call({ op: 'close' }), new Promise((r) => setTimeout(r, 2000))]);
      await t.terminate();
      thread = null;
    },
  };
}
