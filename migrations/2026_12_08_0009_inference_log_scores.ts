// The score of each answered row, as the version's model contract reads it
// (src/contracts/score.ts rowScores): the positive class's probability (binary), the index of the
// top class (multiclass), the prediction (regression). The canary's shift gate and shadow
// agreement read it instead of guessing from the first output value. Null for errors, and for
// rows logged before a contract was known.
// Frozen in time: never import from src/ here.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE inference_log ADD COLUMN scores real[]`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE inference_log DROP COLUMN scores`.execute(db);
}
