import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import { pingDatabase } from '../../registry/health.js';
import { Problem } from '../schemas.js';
import { sendProblem } from '../problem.js';

export const healthRoutes: FastifyPluginAsync = async (app) => {
  app.get('/health', {
    schema: {
      summary: 'Liveness and database reachability',
      tags: ['health'],
      response: { 200: Type.Object({ status: Type.Literal('ok'), database: Type.String() }), 503: Problem },
    },
  }, async (_req, reply) => {
    try {
      await pingDatabase(app.db);
      return { status: 'ok' as const, database: 'ok' };
    } catch {
      return sendProblem(reply, 503, 'database_unreachable', 'PostgreSQL is unreachable');
    }
  });
};
