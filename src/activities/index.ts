import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Database } from '../db/schema.js';

export interface ActivityDeps {
  db: Kysely<Database>;
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
  };
}

export type Activities = ReturnType<typeof createActivities>;
