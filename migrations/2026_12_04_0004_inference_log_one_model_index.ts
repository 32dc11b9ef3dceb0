// inference_log keeps one index led by model: (model, version, at) serves every window query
// (they all name the versions) and replay's (model, at) range alike, so (model, at) only cost a
// second B-tree insert per logged row, on the table written most.
// Frozen in time: never import from src/ here.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS inference_log_model_at_idx`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX IF NOT EXISTS inference_log_model_at_idx ON inference_log (model, at)`.execute(db);
}
