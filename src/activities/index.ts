import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Database } from '../db/schema.js';
import { createExperimentActivities } from './experiments.js';
import { createFleetActivities, type FleetClient } from './fleet.js';
import { createMetricsActivities } from './metrics.js';
import { createRegistryActivities } from './registry.js';
import { createValidationActivities, type CandidateValidator } from './validation.js';

export interface ActivityDeps {
  db: Kysely<Database>;
  fleet: FleetClient;
  /** Scores a candidate on the model's golden set; defaults to ONNX Runtime in this process. */
  validator?: CandidateValidator;
  fetch?: typeof fetch;
}

/**
 * Every side effect the workflows need, built from explicit dependencies so tests can pass their
 * own (a test database, a stub fleet). Workflows import this file as a type only.
 */
export function createActivities(deps: ActivityDeps) {
  return {
    /** Proves the orchestrator reaches its database: used by the stack's readiness probe. */
    async probeDatabase(): Promise<{ serverVersion: string; migrations: number }> {
      const version = await sql<{ server_version: string }>`SHOW server_version`.execute(deps.db);
      const applied = await sql<{ n: string }>`SELECT count(*)::text AS n FROM kysely_migration`.execute(deps.db);
      return { serverVersion: version.rows[0]?.server_version ?? 'unknown', migrations: Number(applied.rows[0]?.n ?? 0) };
    },
    ...createRegistryActivities(deps.db, deps.fetch),
    ...createMetricsActivities(deps.db),
    ...createExperimentActivities(deps.db),
    ...createFleetActivities(deps.fleet),
    ...createValidationActivities(deps.db, deps.validator),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { FleetClient } from './fleet.js';
