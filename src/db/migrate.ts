import { Migrator, type Kysely, type MigrationResultSet } from 'kysely';
import { migrations } from '../../migrations/index.js';

export function createMigrator(db: Kysely<unknown>): Migrator {
  return new Migrator({ db, provider: { getMigrations: async () => migrations } });
}

function unwrap(result: MigrationResultSet, action: string): string[] {
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    const reason = result.error instanceof Error ? result.error.message : String(result.error);
    throw new Error(`Migration ${action} failed at ${failed}: ${reason}`);
  }
  return (result.results ?? []).map((r) => r.migrationName);
}

/** Applies every pending migration; returns the names applied. */
export async function migrateToLatest(db: Kysely<unknown>): Promise<string[]> {
  return unwrap(await createMigrator(db).migrateToLatest(), 'up');
}

/** Reverts every applied migration, newest first; returns the names reverted. */
export async function migrateAllDown(db: Kysely<unknown>): Promise<string[]> {
  const migrator = createMigrator(db);
  const reverted: string[] = [];
  for (;;) {
    const names = unwrap(await migrator.migrateDown(), 'down');
    if (names.length === 0) return reverted;
    reverted.push(...names);
  }
}
