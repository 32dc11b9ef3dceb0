import { createRequire } from 'node:module';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker, Runtime, DefaultLogger, type WorkerOptions } from '@temporalio/worker';
import type { Kysely } from 'kysely';
import { createActivities, type ActivityDeps } from '../activities/index.js';
import { TASK_QUEUE, TEMPORAL_NAMESPACE } from '../config.js';
import type { Database } from '../db/schema.js';

const require = createRequire(import.meta.url);

let runtimeInstalled = false;
/** Temporal's Rust core logs at INFO by default; keep the dev console readable. */
function installRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger((process.env.SLUICE_TEMPORAL_LOG_LEVEL as 'WARN' | undefined) ?? 'WARN') });
}

export interface OrchestratorWorkerOptions {
  temporalAddress: string;
  db: Kysely<Database>;
  taskQueue?: string;
  namespace?: string;
  fleet: ActivityDeps['fleet'];
  validator?: ActivityDeps['validator'];
  /** The artifact store evaluation datasets are read from (default: the configured artifact root, as the API's). */
  artifacts?: ActivityDeps['artifacts'];
  /** Where events are logged and posted (default: from SLUICE_WEBHOOK_SECRET / SLUICE_WEBHOOK_URL). */
  notifier?: ActivityDeps['notifier'];
  /** Replacement activities: unit tests of workflow logic stub side effects with these. */
  activities?: Partial<ReturnType<typeof createActivities>>;
  workerOptions?: Partial<WorkerOptions>;
}

/** Builds the orchestrator's Temporal worker: the workflows in src/workflows and their activities. */
export async function createOrchestratorWorker(opts: OrchestratorWorkerOptions): Promise<{ worker: Worker; connection: NativeConnection }> {
  installRuntime();
  const connection = await NativeConnection.connect({ address: opts.temporalAddress });
  const namespace = opts.namespace ?? TEMPORAL_NAMESPACE;
  const taskQueue = opts.taskQueue ?? TASK_QUEUE;
  // The activities start workflows (the drift monitor, the retrain) over the worker's own connection.
  const temporal = { client: new Client({ connection, namespace }), taskQueue };
  const activities = { ...createActivities({ db: opts.db, fleet: opts.fleet, validator: opts.validator, artifacts: opts.artifacts, notifier: opts.notifier, temporal }), ...opts.activities };
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue,
    workflowsPath: require.resolve('../workflows/index.ts'),
    activities,
    ...opts.workerOptions,
  });
  return { worker, connection };
}
