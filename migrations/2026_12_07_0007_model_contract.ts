// A model's contract (src/contracts/): the task, the score, labels and inputs every version must
// keep. Nullable: models registered before it get theirs inferred from their next version, or
// declared later.
// Frozen in time: never import from src/ here.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE models ADD COLUMN contract jsonb`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE models DROP COLUMN contract`.execute(db);
}
