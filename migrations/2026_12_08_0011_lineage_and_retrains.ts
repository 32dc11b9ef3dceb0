// The drift → retrain loop's records. A version's lineage (its parent, what caused it, the data it
// was trained on and by which trainer) is written with the version and never changed. A retrain
// row is one run of the retrain workflow, from the trigger to its end (a version registered, not
// better than production, failed, or skipped with the reason), so the day's retrain budget and the
// lineage pages read it without asking Temporal. A model's loop policy (when to call drift, how to
// retrain) is one JSON document beside its contract.
// Frozen in time: never import from src/ here.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE model_versions ADD COLUMN lineage jsonb`.execute(db);
  await sql`ALTER TABLE models ADD COLUMN loop_policy jsonb`.execute(db);
  await sql`
    CREATE TABLE retrains (
      id text PRIMARY KEY,
      model_id bigint NOT NULL REFERENCES models(id) ON DELETE CASCADE,
      workflow_id text NOT NULL,
      status text NOT NULL CHECK (status IN ('running', 'registered', 'not_better', 'failed', 'skipped')),
      cause jsonb NOT NULL,
      parent_version text,
      produced_version text,
      reason text,
      data_window jsonb,
      trainer jsonb,
      evaluation jsonb,
      started_at timestamptz NOT NULL DEFAULT now(),
      ended_at timestamptz
    )`.execute(db);
  await sql`CREATE INDEX retrains_model_started ON retrains (model_id, started_at DESC)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE retrains`.execute(db);
  await sql`ALTER TABLE models DROP COLUMN loop_policy`.execute(db);
  await sql`ALTER TABLE model_versions DROP COLUMN lineage`.execute(db);
}
