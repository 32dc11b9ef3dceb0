// Database reachability, for health routes and readiness probes.
import { sql } from 'kysely';
import type { Db } from './db.js';

/** Resolves when the database answers a trivial query; rejects otherwise. */
export async function pingDatabase(db: Db): Promise<void> {
  await sql`SELECT 1`.execute(db);
}

/** The server's version and how many migrations are applied: proof the schema is there, not only the server. */
export async function probeDatabase(db: Db): Promise<{ serverVersion: string; migrations: number }> {
  const version = await sql<{ server_version: string }>`SHOW server_version`.execute(db);
  const applied = await sql<{ n: string }>`SELECT count(*)::text AS n FROM kysely_migration`.execute(db);
  return { serverVersion: version.rows[0]?.server_version ?? 'unknown', migrations: Number(applied.rows[0]?.n ?? 0) };
}
