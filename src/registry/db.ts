import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.js';

/** Repository functions take the database or a transaction first, Kysely style. */
export type Db = Kysely<Database> | Transaction<Database>;

/** pg writes JS arrays as Postgres arrays: JSON-encode any value bound for a jsonb column. */
export function jsonb(value: unknown): string {
  return JSON.stringify(value);
}

/**
 * Runs `fn` in a transaction: the caller's, when `db` already is one (so a repository function
 * that must be atomic composes into a larger transaction), else a new one.
 */
export async function inTransaction<T>(db: Db, fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? await fn(db as Transaction<Database>) : await db.transaction().execute(fn);
}
