import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Database } from '../db/schema.js';

export interface ApiDeps {
  db: Kysely<Database>;
  /** Closed with the app: the server owns its database pool. */
  closeDb?: () => Promise<void>;
  logger?: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<Database>;
  }
}

const Problem = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  code: Type.String(),
  detail: Type.String(),
});

/** The control-plane API as one Fastify app; `server.ts` only listens. */
export async function buildApiApp(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({ logger: deps.logger ?? false, bodyLimit: 64 * 1024 * 1024 });
  app.decorate('db', deps.db);
  app.addHook('onClose', async () => { await deps.closeDb?.(); });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Sluice control-plane API', version: '0.1.0', description: 'Models, versions, rollouts, traffic and experiment reports.' },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  // One error format for every route: application/problem+json, 5xx details masked.
  app.setErrorHandler((error: { statusCode?: number; code?: string; message: string; validation?: unknown }, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    const detail = status >= 500 ? 'Internal error; see the server log for the request id ' + request.id : error.message;
    void reply.status(status).type('application/problem+json').send({
      type: 'about:blank', title: status >= 500 ? 'Internal Server Error' : 'Bad Request', status,
      code: error.code ?? (status >= 500 ? 'internal' : 'bad_request'), detail,
    });
  });

  app.get('/health', {
    schema: {
      summary: 'Liveness and database reachability',
      response: { 200: Type.Object({ status: Type.Literal('ok'), database: Type.String() }), 503: Problem },
    },
  }, async (_req, reply) => {
    try {
      await sql`SELECT 1`.execute(app.db);
      return { status: 'ok' as const, database: 'ok' };
    } catch {
      return reply.status(503).type('application/problem+json').send({
        type: 'about:blank', title: 'Service Unavailable', status: 503, code: 'database_unreachable', detail: 'PostgreSQL is unreachable',
      });
    }
  });

  return app;
}
