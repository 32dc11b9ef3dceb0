import type { Db } from './db.js';
import { RegistryError } from './errors.js';

export const PROJECT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export interface ProjectRecord { id: string; name: string; createdAt: string }

export async function findProject(db: Db, id: string): Promise<ProjectRecord | undefined> {
  const row = await db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? { id: row.id, name: row.name, createdAt: row.created_at.toISOString() } : undefined;
}

/** Creates the project if it does not exist (bootstrap of a tenant); returns it either way. */
export async function ensureProject(db: Db, id: string, name?: string): Promise<ProjectRecord> {
  if (!PROJECT_ID_PATTERN.test(id)) {
    throw new RegistryError('invalid', 'project must be 1-63 characters of a-z, 0-9 and -, starting with a letter or digit', 'project');
  }
  await db.insertInto('projects').values({ id, name: name ?? id }).onConflict((oc) => oc.column('id').doNothing()).execute();
  const project = await findProject(db, id);
  if (!project) throw new RegistryError('not_found', `project ${id} could not be created`, 'project');
  return project;
}
