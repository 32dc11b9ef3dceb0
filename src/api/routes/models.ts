import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { GoldenSet } from '../../db/schema.js';
import { createModel, goldenSetProblem, listModels, setGoldenSet, summarizeModel } from '../../registry/models.js';
import { audited, modelOf } from '../context.js';
import { principalOf } from '../plugins/auth.js';
import { presentModel } from '../present.js';
import { ApiError } from '../problem.js';
import { GoldenSetBody, GoldenSetOut, Limit, ModelBody, ModelOut, ModelParams, withErrors } from '../schemas.js';

/** What the API and the audit log say of a golden set: its size, not its rows. */
function goldenSetSummary(model: string, g: GoldenSet): GoldenSetOut {
  return { model, rows: g.features.length, width: g.features[0]?.length ?? 0, segments: [...new Set(g.segments ?? [])].sort() };
}

const ListQuery = Type.Object({ limit: Limit(100, 500), offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }) }, { additionalProperties: false });

export const modelRoutes: FastifyPluginAsync = async (app) => {
  app.post<{ Body: Static<typeof ModelBody> }>('/v1/models', {
    config: { role: 'deployer' },
    schema: {
      summary: 'Create a model (a named contract in your project)',
      tags: ['models'],
      body: ModelBody,
      response: withErrors({ 201: ModelOut }, [409]),
    },
  }, async (request, reply) => {
    const { projectId } = principalOf(request);
    const out = await audited(app, request, { action: 'model.create', targetType: 'model', targetId: request.body.name }, async (trx) => {
      const model = await createModel(trx, { projectId, ...request.body });
      const summary = await summarizeModel(trx, model);
      return { result: presentModel(summary), after: { name: model.name, task: model.task, description: model.description } };
    });
    return reply.status(201).send(out);
  });

  app.get<{ Querystring: Static<typeof ListQuery> }>('/v1/models', {
    config: { role: 'viewer' },
    schema: {
      summary: 'List your project\'s models',
      tags: ['models'],
      querystring: ListQuery,
      response: withErrors({ 200: Type.Object({ models: Type.Array(ModelOut) }) }),
    },
  }, async (request) => {
    const rows = await listModels(app.db, principalOf(request).projectId, request.query);
    return { models: rows.map(presentModel) };
  });

  app.get<{ Params: Static<typeof ModelParams> }>('/v1/models/:model', {
    config: { role: 'viewer' },
    schema: {
      summary: 'Get a model',
      tags: ['models'],
      params: ModelParams,
      response: withErrors({ 200: ModelOut }, [404]),
    },
  }, async (request) => {
    const model = await modelOf(app, request, request.params.model);
    return presentModel(await summarizeModel(app.db, model));
  });

  app.put<{ Params: Static<typeof ModelParams>; Body: GoldenSetBody }>('/v1/models/:model/golden-set', {
    config: { role: 'deployer' },
    schema: {
      summary: 'Set the golden set every candidate of the model is scored on before traffic moves',
      description: 'Rows of model inputs (finite numbers, every row the same width), one label per row and, for the fairness check, '
        + 'optionally one segment per row. Replaces the previous golden set (a golden dataset too: see PUT golden-dataset); validation of later rollouts uses it.',
      tags: ['models'],
      params: ModelParams,
      body: GoldenSetBody,
      response: withErrors({ 200: GoldenSetOut }, [404, 413]),
    },
  }, async (request) => {
    const model = await modelOf(app, request, request.params.model);
    const problem = goldenSetProblem(request.body);
    if (problem) throw new ApiError(400, 'invalid_request', `body/${problem.field}: ${problem.message}`, `body/${problem.field}`);
    return await audited(app, request, { action: 'model.golden_set', targetType: 'model', targetId: model.name }, async (trx) => {
      const row = await setGoldenSet(trx, model.id, request.body);
      const after = goldenSetSummary(model.name, row.golden_set ?? request.body);
      return { result: after, before: model.golden_set ? goldenSetSummary(model.name, model.golden_set) : null, after };
    });
  });
};
