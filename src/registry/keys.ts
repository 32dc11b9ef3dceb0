// API keys: `sk_<id>_<secret>`. The secret is shown once at creation; only its sha256 is stored.
// Every request looks its key up again (a primary-key read), so disabling a key takes effect on
// the very next request: nothing caches a key.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Role } from '../db/schema.js';
import { sql } from 'kysely';
import type { Db } from './db.js';
import { recordAudit } from './audit.js';
import { RegistryError } from './errors.js';

export const ROLES: readonly Role[] = ['viewer', 'deployer', 'approver', 'admin'];
export const TOKEN_PATTERN = /^sk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** What each role may do beyond reading. admin implies everything. */
const GRANTS: Record<Role, ReadonlySet<Role>> = {
  viewer: new Set(['viewer']),
  deployer: new Set(['viewer', 'deployer']),
  approver: new Set(['viewer', 'approver']),
  admin: new Set(['viewer', 'deployer', 'approver', 'admin']),
};

/** Whether a key with role `held` may do what needs role `needed`. */
export function roleAllows(held: Role, needed: Role): boolean {
  return GRANTS[held].has(needed);
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function parseToken(token: string): { id: string; secret: string } | null {
  const m = TOKEN_PATTERN.exec(token);
  return m?.[1] && m[2] ? { id: m[1], secret: m[2] } : null;
}

export interface ApiKeyRecord {
  id: string;
  project_id: string;
  name: string;
  role: Role;
  created_at: Date;
  disabled_at: Date | null;
  last_used_at: Date | null;
}

const PUBLIC_COLUMNS = ['id', 'project_id', 'name', 'role', 'created_at', 'disabled_at', 'last_used_at'] as const;

export async function createApiKey(db: Db, input: { projectId: string; name: string; role: Role }): Promise<{ key: ApiKeyRecord; token: string }> {
  if (!isRole(input.role)) throw new RegistryError('invalid', `role must be one of ${ROLES.join(', ')}`, 'role');
  if (input.name.length < 1 || input.name.length > 100) throw new RegistryError('invalid', 'name must be 1-100 characters', 'name');
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const key = await db.insertInto('api_keys').values({
    id, project_id: input.projectId, name: input.name, role: input.role, secret_hash: hashSecret(secret),
  }).returning(PUBLIC_COLUMNS).executeTakeFirstOrThrow();
  return { key, token: `sk_${id}_${secret}` };
}

/**
 * The enabled key a bearer token names, or null for anything else (malformed, unknown, wrong
 * secret, disabled), always after a database read so a disable is seen at once.
 */
export async function authenticateToken(db: Db, token: string): Promise<ApiKeyRecord | null> {
  const parsed = parseToken(token);
  if (!parsed) return null;
  const row = await db.selectFrom('api_keys').select([...PUBLIC_COLUMNS, 'secret_hash']).where('id', '=', parsed.id).executeTakeFirst();
  if (!row || row.disabled_at !== null) return null;
  const expected = Buffer.from(row.secret_hash, 'hex');
  const actual = Buffer.from(hashSecret(parsed.secret), 'hex');
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return null;
  const { secret_hash: _hash, ...key } = row;
  return key;
}

/** Records use at most once a minute per key, so reads do not turn into a write each. */
export async function touchApiKey(db: Db, id: string): Promise<void> {
  await db.updateTable('api_keys').set({ last_used_at: sql<Date>`now()` }).where('id', '=', id)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', sql<Date>`now() - interval '1 minute'`)]))
    .execute();
}

export async function listApiKeys(db: Db, projectId: string): Promise<ApiKeyRecord[]> {
  return await db.selectFrom('api_keys').select(PUBLIC_COLUMNS).where('project_id', '=', projectId).orderBy('created_at').orderBy('id').execute();
}

export async function findApiKey(db: Db, projectId: string, id: string): Promise<ApiKeyRecord | undefined> {
  return await db.selectFrom('api_keys').select(PUBLIC_COLUMNS).where('project_id', '=', projectId).where('id', '=', id).executeTakeFirst();
}

/** Disables a key of the project; returns the row (already-disabled keys keep their first time). */
export async function disableApiKey(db: Db, projectId: string, id: string): Promise<ApiKeyRecord | undefined> {
  await db.updateTable('api_keys').set({ disabled_at: sql<Date>`now()` }).where('project_id', '=', projectId).where('id', '=', id)
    .where('disabled_at', 'is', null).execute();
  return await findApiKey(db, projectId, id);
}

/**
 * The first admin key of a project, made only when the project has no enabled admin key: the dev
 * stack prints the token once; afterwards there is nothing to print (only the hash is kept).
 */
export async function bootstrapAdminKey(db: Db, projectId = 'default'): Promise<string | null> {
  const existing = await db.selectFrom('api_keys').select('id').where('project_id', '=', projectId).where('role', '=', 'admin')
    .where('disabled_at', 'is', null).executeTakeFirst();
  if (existing) return null;
  const { key, token } = await createApiKey(db, { projectId, name: 'first admin (dev stack)', role: 'admin' });
  await recordAudit(db, { projectId, actor: 'system:bootstrap', action: 'key.create', targetType: 'api_key', targetId: key.id, after: { id: key.id, name: key.name, role: key.role } });
  return token;
}
