// The orchestrator process: one Temporal worker running Sluice's workflows and activities.
import { createDb } from '../db/connect.js';
import { TASK_QUEUE } from '../config.js';
import { announceReady, onShutdown } from '../shared/lifecycle.js';
import { createFleetClient } from './fleet-client.js';
import { createOrchestratorWorker } from './worker.js';

const databaseUrl = process.env.DATABASE_URL;
const temporalAddress = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
if (!databaseUrl) {
  console.error('sluice orchestrator: DATABASE_URL is not set.');
  process.exit(2);
}
const db = createDb(databaseUrl);
// Weights change only through this client: Postgres first, then every live worker's admin route.
const fleet = createFleetClient(db, { adminToken: process.env.SLUICE_ADMIN_TOKEN ?? null });
const { worker, connection } = await createOrchestratorWorker({ temporalAddress, db, fleet });
onShutdown(async () => {
  worker.shutdown();
});
announceReady('orchestrator', { taskQueue: TASK_QUEUE, temporalAddress });
await worker.run();
await connection.close();
await db.destroy();
