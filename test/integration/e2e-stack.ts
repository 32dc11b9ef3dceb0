// The stack the end-to-end tests roll out on, nothing mocked: a fresh PostgreSQL database, a
// Temporal client on the shared dev server, real serving workers and the real orchestrator worker
// (with the real fleet client) on a task queue of the test's own.
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { inject } from 'vitest';
import { createFleetClient } from '../../src/orchestrator/fleet-client.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startTestOrchestrator } from '../support/orchestrator.js';
import { startWorker, TOKEN, type TestWorker } from './serving/support.js';

export interface E2eStack {
  t: TestDatabase;
  client: Client;
  workers: TestWorker[];
  taskQueue: string;
  close(): Promise<void>;
}

export async function startE2eStack(opts: { name: string; workers?: number }): Promise<E2eStack> {
  const t = await createTestDatabase();
  const connection = await Connection.connect({ address: inject('temporalAddress') });
  const client = new Client({ connection });
  const workers: TestWorker[] = [];
  for (let i = 0; i < (opts.workers ?? 2); i++) workers.push(await startWorker(t.db, { databaseUrl: t.url, config: { workerId: `${opts.name}-worker-${i + 1}` } }));
  const taskQueue = `${opts.name}-${randomUUID()}`;
  const orchestrator = await startTestOrchestrator({
    temporalAddress: inject('temporalAddress'), db: t.db, taskQueue, fleet: createFleetClient(t.db, { adminToken: TOKEN }),
  });
  return {
    t, client, workers, taskQueue,
    async close() {
      await orchestrator.close();
      for (const w of workers) await w.close();
      await connection.close();
      await t.drop();
    },
  };
}
