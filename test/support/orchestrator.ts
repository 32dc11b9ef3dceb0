// An orchestrator worker running in the test process against the Temporal dev server, and a
// client to start workflows with: the setup and teardown tests of the lifecycle workflow share.
import { Client, Connection } from '@temporalio/client';
import { createOrchestratorWorker, type OrchestratorWorkerOptions } from '../../src/orchestrator/worker.js';

export interface TestOrchestrator {
  client: Client;
  /** Stops the worker (after its running tasks), then closes both connections. */
  close(): Promise<void>;
}

export async function startTestOrchestrator(opts: OrchestratorWorkerOptions): Promise<TestOrchestrator> {
  const connection = await Connection.connect({ address: opts.temporalAddress });
  const built = await createOrchestratorWorker(opts);
  const running = built.worker.run();
  return {
    client: new Client({ connection }),
    async close() {
      built.worker.shutdown();
      await running;
      await built.connection.close();
      await connection.close();
    },
  };
}
