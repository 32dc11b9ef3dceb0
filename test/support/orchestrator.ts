// The real orchestrator worker for an integration test: built, running, and shut down in order
// (drain the worker, then close its connection).
import type { Worker } from '@temporalio/worker';
import { createOrchestratorWorker, type OrchestratorWorkerOptions } from '../../src/orchestrator/worker.js';

export interface TestOrchestrator { worker: Worker; close: () => Promise<void> }

export async function startTestOrchestrator(opts: OrchestratorWorkerOptions): Promise<TestOrchestrator> {
  const built = await createOrchestratorWorker(opts);
  const running = built.worker.run();
  return {
    worker: built.worker,
    async close() {
      built.worker.shutdown();
      await running;
      await built.connection.close();
    },
  };
}
