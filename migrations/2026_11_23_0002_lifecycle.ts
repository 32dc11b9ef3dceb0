// What the lifecycle needs beyond the first schema: failed inferences in the log (canary error
// gates compare them per version over one window) and a golden set per model for validation.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE inference_log ADD COLUMN error text;
    ALTER TABLE models ADD COLUMN golden_set jsonb CHECK (golden_set IS NULL OR jsonb_typeof(golden_set) = 'object');
    CREATE INDEX inference_log_model_version_at_idx ON inference_log (model, version, at);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP INDEX IF EXISTS inference_log_model_version_at_idx;
    ALTER TABLE models DROP COLUMN IF EXISTS golden_set;
    ALTER TABLE inference_log DROP COLUMN IF EXISTS error;
  `.execute(db);
}
