import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.js';

/** Repository functions take the database or a transaction first, Kysely style. */
export type Db = Kysely<Database> | Transaction<Database>;

/** pg writes JS arrays as Postgres arrays: JSON-encode any value bound for a jsonb column. */
export function jsonb(value: unknown): string {
  return JSON.stringify(value);
}
