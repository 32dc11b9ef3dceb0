// What a model's creator said about its contract before any version existed (a task, feature
// names per input...): the hints the first version's contract is inferred with. Kept apart from
// models.task, whose default (binary_classification) cannot tell a declared task from none.
// Frozen in time: never import from src/ here.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE models ADD COLUMN contract_hints jsonb`.execute(db);
  // The task column follows the contract where there is one.
  await sql`UPDATE models SET task = contract->>'task' WHERE contract IS NOT NULL`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE models DROP COLUMN contract_hints`.execute(db);
}
