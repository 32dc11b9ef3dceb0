import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { latestGeneration, listGenerations } from '../../registry/traffic.js';
import { modelOnFleet } from '../../registry/workers.js';
import { modelOf } from '../context.js';
import { presentGeneration } from '../present.js';
import { GenerationOut, Limit, ModelFleetOut, ModelParams, Nullable, withErrors } from '../schemas.js';

const HistoryQuery = Type.Object({
  limit: Limit(50, 1000),
  before: Type.Optional(Type.Integer({ minimum: 1, description: 'only generations older than this one (paging)' })),
}, { additionalProperties: false });

export const trafficRoutes: FastifyPluginAsync = async (app) => {
  app.get<{ Params: Static<typeof ModelParams> }>('/v1/models/:model/traffic', {
    config: { role: 'viewer' },
    schema: {
      summary: 'The traffic generation serving a model now (weights, experiment, shadow, segments), and which live workers serve it',
      tags: ['traffic'],
      params: ModelParams,
      response: withErrors({ 200: Type.Object({ model: Type.String(), current: Nullable(GenerationOut), fleet: ModelFleetOut }) }, [404]),
    },
  }, async (request) => {
    const model = await modelOf(app, request, request.params.model);
    const [g, workers] = await Promise.all([latestGeneration(app.db, model.name), modelOnFleet(app.db, model.name)]);
    const current = g ? presentGeneration(g) : null;
    return {
      model: model.name,
      current,
      fleet: {
        liveWorkers: workers.length,
        // Newer than current cannot be wrong here: a generation published after the read above.
        serving: current === null ? 0 : workers.filter((w) => w.generation !== null && w.generation >= current.generation).length,
        workers: workers.map((w) => ({ ...w, heartbeatAt: w.heartbeatAt.toISOString() })),
      },
    };
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
    const records = await listGenerations(app.db, model.name, request.query);
    return { model: model.name, generations: records.map(presentGeneration) };
  });
};
