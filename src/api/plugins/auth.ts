// Authentication and roles. Every /v1 route names the role it needs (viewer reads; deployer
// registers and steers; approver approves; admin does keys, retirement and weight overrides and
// implies every other role). The key is looked up on every request, so a disabled key fails at
// once. Routes outside /v1 (health, metrics, docs) are public.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Role } from '../../db/schema.js';
import { authenticateToken, roleAllows, touchApiKey } from '../../registry/keys.js';
import { ApiError } from '../problem.js';

export interface Principal {
  keyId: string;
  projectId: string;
  role: Role;
  name: string;
  /** How the audit log names this caller. */
  actor: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** The role a route needs; /v1 routes without one need admin. */
    role?: Role;
    /** The route reads an application/octet-stream body itself. */
    rawUpload?: boolean;
  }
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function isMutating(method: string): boolean {
  return MUTATING.has(method.toUpperCase());
}

function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return m?.[1] ?? null;
  }
  const apiKey = request.headers['x-api-key'];
  return typeof apiKey === 'string' ? apiKey.trim() : null;
}

/** The role a request needs, or null when the route is public. */
export function requiredRole(request: FastifyRequest): Role | null {
  const config = request.routeOptions.config as { role?: Role } | undefined;
  if (config?.role) return config.role;
  const url = request.routeOptions.url ?? '';
  return url.startsWith('/v1/') ? 'admin' : null;
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new ApiError(401, 'unauthenticated', 'this route needs an API key (Authorization: Bearer sk_...)');
  return request.principal;
}

export function installAuth(app: FastifyInstance): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request, reply) => {
    const needed = requiredRole(request);
    if (needed === null) return;
    const token = bearer(request);
    if (!token) {
      void reply.header('www-authenticate', 'Bearer realm="sluice"');
      throw new ApiError(401, 'unauthenticated', 'this route needs an API key: send Authorization: Bearer sk_<id>_<secret>');
    }
    const key = await authenticateToken(app.db, token);
    if (!key) {
      void reply.header('www-authenticate', 'Bearer realm="sluice", error="invalid_token"');
      throw new ApiError(401, 'invalid_key', 'the API key is unknown, malformed or disabled');
    }
    request.principal = { keyId: key.id, projectId: key.project_id, role: key.role, name: key.name, actor: `key:${key.id}` };
    if (!roleAllows(key.role, needed)) {
      throw new ApiError(403, 'forbidden', `role ${key.role} may not ${request.method} ${request.routeOptions.url}; it needs ${needed}${needed === 'admin' ? '' : ' or admin'}`);
    }
    touchApiKey(app.db, key.id).catch((err: unknown) => request.log.warn({ err }, 'could not record key use'));
  });
}
