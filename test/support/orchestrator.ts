// The real orchestrator worker for an integration test, running in the test process against the
// Temporal dev server, with a client to start workflows: built, running, and shut down in order
// (drain the worker, then close its connections).
import { Client, Connection } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { createOrchestratorWorker, type OrchestratorWorkerOptions } from '../../src/orchestrator/worker.js';

export interface TestOrchestrator {
  worker: Worker;
  client: Client;
  /** Stops the worker (after its running tasks), then closes both connections. */
  close(): Promise<void>;
}

export async function startTestOrchestrator(opts: OrchestratorWorkerOptions): Promise<TestOrchestrator> {
  const connection = await Connection.connect({ address: opts.temporalAddress });
  const built = await createOrchestratorWorker(opts);
  const running = built.worker.run();
  return {
    worker: built.worker,
    client: new Client({ connection }),
    async close() {
      built.worker.shutdown();
      await running;
      await built.connection.close();
      await connection.close();
    },
  };
}
