// Evaluation datasets: a model's golden sets and holdouts as uploaded files (CSV or JSON lines),
// kept byte for byte in the content-addressed artifact store and described here (rows, columns,
// which column is the label and which the segment). Unique per model by content, so uploading the
// same bytes again finds the dataset already there. A model's golden set may name one of them
// (models.golden_dataset_id); the older models.golden_set JSON stays for models that have none.
// Frozen in time: never import from src/ here.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE datasets (
      id text PRIMARY KEY CHECK (id ~ '^ds_[0-9a-f]{32}$'),
      project_id text NOT NULL REFERENCES projects(id),
      model_id bigint NOT NULL REFERENCES models(id) ON DELETE CASCADE,
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
      format text NOT NULL CHECK (format IN ('csv', 'jsonl')),
      size_bytes bigint NOT NULL CHECK (size_bytes > 0),
      rows integer NOT NULL CHECK (rows > 0),
      columns jsonb NOT NULL,
      label_column text NOT NULL,
      segment_column text,
      artifact_uri text NOT NULL,
      created_by text,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (model_id, sha256)
    );
    CREATE INDEX datasets_sha256_idx ON datasets (sha256);
    ALTER TABLE models ADD COLUMN golden_dataset_id text REFERENCES datasets(id) ON DELETE SET NULL;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE models DROP COLUMN golden_dataset_id;
    DROP TABLE datasets;
  `.execute(db);
}
