import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { currentGeneration, listGenerations } from '../../registry/traffic.js';
import { modelOf } from '../context.js';
import { presentGeneration } from '../present.js';
import { GenerationOut, Limit, ModelParams, Nullable, withErrors } from '../schemas.js';

const HistoryQuery = Type.Object({
  limit: Limit(50, 1000),
  before: Type.Optional(Type.Integer({ minimum: 1, description: 'only generations older than this one (paging)' })),
}, { additionalProperties: false });

export const trafficRoutes: FastifyPluginAsync = async (app) => {
  app.get<{ Params: Static<typeof ModelParams> }>('/v1/models/:model/traffic', {
    config: { role: 'viewer' },
    schema: {
      summary: 'The traffic generation serving a model now (weights, experiment, shadow, segments)',
      tags: ['traffic'],
      params: ModelParams,
      response: withErrors({ 200: Type.Object({ model: Type.String(), current: Nullable(GenerationOut) }) }, [404]),
    },
  }, async (request) => {
    const model = await modelOf(app, request, request.params.model);
    const g = await currentGeneration(app.db, model.id);
    return { model: model.name, current: g ? presentGeneration(model.name, g) : null };
  });

  app.get<{ Params: Static<typeof ModelParams>; Querystring: Static<typeof HistoryQuery> }>('/v1/models/:model/traffic/history', {
    config: { role: 'viewer' },
    schema: {
      summary: 'A model\'s traffic generations, newest first',
      tags: ['traffic'],
      params: ModelParams,
      querystring: HistoryQuery,
      response: withErrors({ 200: Type.Object({ model: Type.String(), generations: Type.Array(GenerationOut) }) }, [404]),
    },
  }, async (request) => {
    const model = await modelOf(app, request, request.params.model);
    const rows = await listGenerations(app.db, model.id, request.query);
    return { model: model.name, generations: rows.map((g) => presentGeneration(model.name, g)) };
  });
};
