import type { FastifyPluginAsync } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { findRollout } from '../../registry/rollouts.js';
import { replayInferenceLog } from '../../registry/replay.js';
import { findVersionById } from '../../registry/versions.js';
import { modelOf, versionOf } from '../context.js';
import { principalOf } from '../plugins/auth.js';
import { ApiError } from '../problem.js';
import { ReplayBody, ReplayOut, withErrors } from '../schemas.js';

export const replayRoutes: FastifyPluginAsync = async (app) => {
  app.post<{ Body: Static<typeof ReplayBody> }>('/v1/replays', {
    config: { role: 'deployer' },
    schema: {
      summary: 'Re-run logged requests against a version and report how every output, the score and the predicted class differ',
      description: 'Either rolloutId (the rollout\'s window and model; the version defaults to its candidate) or model, from, to and version. '
        + 'Runs in the API process with ONNX Runtime over the inputs serving workers sampled into the inference log. Writes nothing. '
        + 'A version with a string input cannot be replayed from the log (it keeps numeric inputs only): the report says so in unreplayable.',
      tags: ['replay'],
      body: ReplayBody,
      response: withErrors({ 200: ReplayOut }, [404]),
    },
  }, async (request) => {
    const b = request.body;
    let modelName: string;
    let from: Date | null = b.from ? new Date(b.from) : null;
    let to: Date | null = b.to ? new Date(b.to) : null;
    let versionName = b.version;
    if (b.rolloutId) {
      if (b.model) throw new ApiError(400, 'invalid_request', 'body/model: give rolloutId or model, not both', 'body/model');
      const rollout = await findRollout(app.db, b.rolloutId, principalOf(request).projectId);
      if (!rollout) throw new ApiError(404, 'not_found', `rollout ${b.rolloutId} not found`, 'body/rolloutId');
      modelName = rollout.model;
      from ??= rollout.started_at;
      to ??= rollout.ended_at;
      if (!versionName) versionName = (await findVersionById(app.db, rollout.candidate_version_id))?.version;
    } else {
      if (!b.model) throw new ApiError(400, 'invalid_request', 'body/model: give rolloutId, or model with from, to and version', 'body/model');
      if (!b.from || !b.to) throw new ApiError(400, 'invalid_request', `body/${b.from ? 'to' : 'from'}: a window needs both from and to`, `body/${b.from ? 'to' : 'from'}`);
      if (!versionName) throw new ApiError(400, 'invalid_request', 'body/version: which version to replay against', 'body/version');
      modelName = b.model;
    }
    if (from && to && from > to) throw new ApiError(400, 'invalid_request', 'body/from: the window starts after it ends', 'body/from');
    const model = await modelOf(app, request, modelName);
    const version = await versionOf(app.db, model, versionName as string);
    return await replayInferenceLog(app.db, app.artifacts, {
      model: model.name, version, contract: model.contract, from, to, limit: b.limit ?? 10_000, tolerance: b.tolerance ?? 1e-5,
    });
  });
};
