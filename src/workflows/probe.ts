import { probe } from './activity-profiles.js';

export interface StackProbeResult {
  postgres: string;
  migrations: number;
}

/** A round trip through Temporal, the orchestrator worker and PostgreSQL: the stack is ready. */
export async function stackProbe(): Promise<StackProbeResult> {
  const result = await probe.probeDatabase();
  return { postgres: result.serverVersion, migrations: result.migrations };
}
