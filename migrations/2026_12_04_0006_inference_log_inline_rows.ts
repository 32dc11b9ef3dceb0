// A log row's inputs are its request's tensors as raw float32 bytes: a 64-row request of 19
// features is a 4.9 kB row. PostgreSQL's default hands any row over about 2 kB to TOAST (try
// pglz on each wide value, then move it into the toast table in 2 kB chunks, each a heap and
// B-tree insert): measured on the bench machine, 73 µs of PostgreSQL CPU per 64-row request, more
// than the worker spent answering it. Float bytes barely compress, and these rows are written
// once and read by time range, so rows up to a page stay inline and untouched
// (toast_tuple_target = 8160, the largest allowed). Larger ones still go out of line, without the
// compression attempt (STORAGE EXTERNAL).
// Frozen in time: never import from src/ here.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE inference_log SET (toast_tuple_target = 8160)`.execute(db);
  await sql`ALTER TABLE inference_log ALTER COLUMN inputs SET STORAGE EXTERNAL`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE inference_log ALTER COLUMN inputs SET STORAGE EXTENDED`.execute(db);
  await sql`ALTER TABLE inference_log RESET (toast_tuple_target)`.execute(db);
}
