import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';

const { probeDatabase } = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 3, initialInterval: '200 milliseconds' },
});

export interface StackProbeResult {
  postgres: string;
  migrations: number;
}

/** A round trip through Temporal, the orchestrator worker and PostgreSQL: the stack is ready. */
export async function stackProbe(): Promise<StackProbeResult> {
  const probe = await probeDatabase();
  return { postgres: probe.serverVersion, migrations: probe.migrations };
}
