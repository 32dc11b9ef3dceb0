// GET /v1/models/{model}/lineage: every version with its parent, its cause (a person's
// registration, a drift report, a metric drop), its data window and trainer, and how its
// validation and its rollout went; and the model's retrains.
import type { FastifyPluginAsync } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { readLineage } from '../../registry/lineage.js';
import { modelOf } from '../context.js';
import { LineageOut, ModelParams, withErrors } from '../schemas.js';
import { presentLineage } from '../services/lineage.js';

export const lineageRoutes: FastifyPluginAsync = async (app) => {
  app.get<{ Params: Static<typeof ModelParams> }>('/v1/models/:model/lineage', {
    config: { role: 'viewer' },
    schema: {
      summary: 'Where every version of a model came from, and how far it got',
      description: 'Versions oldest first, each with its parent (the production version when it was made), its cause, the data window and trainer of a retrained '
        + 'version with its retrain\'s status, the validation of its latest rollout as candidate (every check\'s verdict) and that rollout\'s outcome. '
        + 'A version registered before lineage was kept has cause {kind: "unknown"} and parent null; createdBy still says who registered it. '
        + 'Also the model\'s most recent retrains, skipped triggers with their reasons included.',
      tags: ['versions'],
      params: ModelParams,
      response: withErrors({ 200: LineageOut }, [404]),
    },
  }, async (request) => {
    const model = await modelOf(app, request, request.params.model);
    return presentLineage(model.name, await readLineage(app.db, model.id));
  });
};
