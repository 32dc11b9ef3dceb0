// What the drift monitor records per judged window: its decision (none, warning, drift, or
// insufficient_data with the reason), the window it read (by time or by rows), the score's own
// drift apart from the features', the debounce count after this window, and the realised task
// metric once the window's labels are due. A window with no rows has no span, so the old
// window_end > window_start check becomes >=. The old columns stay as they were.
// Frozen in time: never import from src/ here.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE drift_reports
      ADD COLUMN decision text NOT NULL DEFAULT 'none' CHECK (decision IN ('none', 'warning', 'drift', 'insufficient_data')),
      ADD COLUMN reason text,
      ADD COLUMN window_kind text NOT NULL DEFAULT 'time' CHECK (window_kind IN ('time', 'rows')),
      ADD COLUMN window_size integer NOT NULL DEFAULT 0 CHECK (window_size >= 0),
      ADD COLUMN drifted_features text[] NOT NULL DEFAULT '{}',
      ADD COLUMN score_drift jsonb,
      ADD COLUMN consecutive integer NOT NULL DEFAULT 0 CHECK (consecutive >= 0),
      ADD COLUMN performance jsonb,
      ADD COLUMN policy jsonb
  `.execute(db);
  await sql`ALTER TABLE drift_reports DROP CONSTRAINT drift_reports_check`.execute(db);
  await sql`ALTER TABLE drift_reports ADD CONSTRAINT drift_reports_window_check CHECK (window_end >= window_start)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE drift_reports DROP CONSTRAINT drift_reports_window_check`.execute(db);
  await sql`DELETE FROM drift_reports WHERE window_end <= window_start`.execute(db);
  await sql`ALTER TABLE drift_reports ADD CONSTRAINT drift_reports_check CHECK (window_end > window_start)`.execute(db);
  await sql`
    ALTER TABLE drift_reports
      DROP COLUMN decision, DROP COLUMN reason, DROP COLUMN window_kind, DROP COLUMN window_size,
      DROP COLUMN drifted_features, DROP COLUMN score_drift, DROP COLUMN consecutive, DROP COLUMN performance, DROP COLUMN policy
  `.execute(db);
}
