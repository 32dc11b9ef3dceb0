import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { FleetClient } from '../../src/activities/fleet.js';
import { createOrchestratorWorker } from '../../src/orchestrator/worker.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

// The probe workflow never touches the fleet.
const unusedFleet: FleetClient = {
  applyGeneration: () => Promise.reject(new Error('unused')),
  prewarm: () => Promise.reject(new Error('unused')),
  unload: () => Promise.reject(new Error('unused')),
};

describe('orchestrator worker on the real Temporal dev server', () => {
  let t: TestDatabase;
  let connection: Connection;
  beforeAll(async () => {
    t = await createTestDatabase();
    connection = await Connection.connect({ address: inject('temporalAddress') });
  });
  afterAll(async () => {
    await connection?.close();
    await t?.drop();
  });

  it('runs a workflow from src/workflows and its history is readable', async () => {
    const taskQueue = `test-${randomUUID()}`;
    const { worker, connection: workerConnection } = await createOrchestratorWorker({
      temporalAddress: inject('temporalAddress'), db: t.db, taskQueue, fleet: unusedFleet,
    });
    const client = new Client({ connection });
    const workflowId = `probe-${randomUUID()}`;
    const result = await worker.runUntil(
      client.workflow.execute('stackProbe', { taskQueue, workflowId, args: [] }),
    );
    await workerConnection.close();
    expect(result.postgres).toMatch(/^\d+\.\d+/);
    expect(result.migrations).toBeGreaterThanOrEqual(1);

    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const types = (history.events ?? []).map((e) => e.eventType);
    // Started → activity scheduled/started/completed → completed, as the Temporal UI shows it.
    expect(types.length).toBeGreaterThan(5);
    const scheduled = history.events?.find((e) => e.activityTaskScheduledEventAttributes);
    expect(scheduled?.activityTaskScheduledEventAttributes?.activityType?.name).toBe('probeDatabase');
    const described = await client.workflow.getHandle(workflowId).describe();
    expect(described.status.name).toBe('COMPLETED');
  });
});
