import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Role } from '../../db/schema.js';
import { listAudit } from '../../registry/audit.js';
import { createApiKey, disableApiKey, findApiKey, listApiKeys } from '../../registry/keys.js';
import { audited } from '../context.js';
import { principalOf } from '../plugins/auth.js';
import { presentAudit, presentKey } from '../present.js';
import { ApiError } from '../problem.js';
import { AuditOut, KeyCreateBody, KeyCreatedOut, KeyId, KeyOut, Limit, OperatorBody, withErrors } from '../schemas.js';

const KeyParams = Type.Object({ id: KeyId }, { additionalProperties: false });
const AuditQuery = Type.Object({
  targetType: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  targetId: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  action: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  actor: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  before: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$', description: 'only entries with a smaller id (paging)' })),
  limit: Limit(100, 1000),
}, { additionalProperties: false });

export const keyRoutes: FastifyPluginAsync = async (app) => {
  app.get('/v1/whoami', {
    config: { role: 'viewer' },
    schema: {
      summary: 'The key this request used: its project and role',
      tags: ['keys'],
      response: withErrors({ 200: Type.Object({ keyId: Type.String(), project: Type.String(), role: Type.String(), name: Type.String() }) }),
    },
  }, async (request) => {
    const p = principalOf(request);
    return { keyId: p.keyId, project: p.projectId, role: p.role, name: p.name };
  });

  app.post<{ Body: Static<typeof KeyCreateBody> }>('/v1/keys', {
    config: { role: 'admin' },
    schema: {
      summary: 'Create an API key in your project; the token is in this response only',
      tags: ['keys'],
      body: KeyCreateBody,
      response: withErrors({ 201: KeyCreatedOut }),
    },
  }, async (request, reply) => {
    const { projectId } = principalOf(request);
    const out = await audited(app, request, { action: 'key.create', targetType: 'api_key', targetId: '' }, async (trx) => {
      const { key, token } = await createApiKey(trx, { projectId, name: request.body.name, role: request.body.role as Role });
      const shown = presentKey(key);
      return { result: { ...shown, token }, after: shown, targetId: key.id };
    });
    return reply.status(201).send(out);
  });

  app.get('/v1/keys', {
    config: { role: 'admin' },
    schema: {
      summary: 'List your project\'s API keys (never their secrets)',
      tags: ['keys'],
      response: withErrors({ 200: Type.Object({ keys: Type.Array(KeyOut) }) }),
    },
  }, async (request) => ({ keys: (await listApiKeys(app.db, principalOf(request).projectId)).map(presentKey) }));

  app.post<{ Params: Static<typeof KeyParams>; Body: Static<typeof OperatorBody> }>('/v1/keys/:id/disable', {
    config: { role: 'admin' },
    schema: {
      summary: 'Disable an API key; it fails from the next request on',
      tags: ['keys'],
      params: KeyParams,
      body: OperatorBody,
      response: withErrors({ 200: KeyOut }, [404, 409]),
    },
  }, async (request) => {
    const { projectId } = principalOf(request);
    return await audited(app, request, { action: 'key.disable', targetType: 'api_key', targetId: request.params.id }, async (trx) => {
      const before = await findApiKey(trx, projectId, request.params.id);
      if (!before) throw new ApiError(404, 'not_found', `key ${request.params.id} not found`, 'id');
      if (before.disabled_at) throw new ApiError(409, 'conflict', `key ${request.params.id} is already disabled`, 'id');
      const after = await disableApiKey(trx, projectId, request.params.id);
      if (!after) throw new ApiError(404, 'not_found', `key ${request.params.id} not found`, 'id');
      return { result: presentKey(after), before: presentKey(before), after: { ...presentKey(after), reason: request.body.reason ?? null } };
    });
  });

  app.get<{ Querystring: Static<typeof AuditQuery> }>('/v1/audit', {
    config: { role: 'viewer' },
    schema: {
      summary: 'Your project\'s audit log, newest first',
      tags: ['audit'],
      querystring: AuditQuery,
      response: withErrors({ 200: Type.Object({ entries: Type.Array(AuditOut) }) }),
    },
  }, async (request) => {
    const q = request.query;
    const rows = await listAudit(app.db, { projectId: principalOf(request).projectId, ...q, beforeId: q.before });
    return { entries: rows.map(presentAudit) };
  });
};
