// The drift monitor's API: a model's loop policy (when the monitor calls drift, how a retrain
// runs), checked against the model's contract before it is stored, and the drift reports the
// monitor wrote, newest first. The policy takes effect at the monitor's next window.
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { DriftReportRow } from '../../db/schema.js';
import { defaultLoopPolicy, parseLoopPolicy } from '../../loop/validate.js';
import { listDriftReports } from '../../registry/drift-reports.js';
import { setLoopPolicy } from '../../registry/models.js';
import { audited, modelOf } from '../context.js';
import { ApiError } from '../problem.js';
import { Json, Limit, ModelParams, Nullable, Timestamp, withErrors } from '../schemas.js';

const LoopPolicyOut = Type.Object({
  model: Type.String(),
  stored: Type.Boolean({ description: 'false: none is stored, and the monitor uses these defaults (no retrain)' }),
  policy: Json,
}, { description: 'the loop policy with every default filled (see src/loop/policy.ts LoopPolicy)' });

const DriftDecisionSchema = Type.Union([Type.Literal('none'), Type.Literal('warning'), Type.Literal('drift'), Type.Literal('insufficient_data')]);

const DriftReportOut = Type.Object({
  id: Type.String(),
  version: Type.String(),
  windowStart: Timestamp,
  windowEnd: Timestamp,
  windowKind: Type.Union([Type.Literal('time'), Type.Literal('rows')]),
  windowSize: Type.Integer({ description: 'seconds (a time window) or rows (a rows window)' }),
  rows: Type.Integer(),
  decision: DriftDecisionSchema,
  reason: Nullable(Type.String()),
  shareDrifted: Type.Number(),
  driftedFeatures: Type.Array(Type.String()),
  consecutive: Type.Integer({ description: 'drifting windows in a row, this one included' }),
  features: Json,
  scoreDrift: Json,
  performance: Json,
  createdAt: Timestamp,
});

const DriftReportsQuery = Type.Object({
  limit: Limit(50, 500),
  decision: Type.Optional(DriftDecisionSchema),
}, { additionalProperties: false });

function presentReport(r: DriftReportRow & { version: string }): Static<typeof DriftReportOut> {
  return {
    id: r.id, version: r.version, windowStart: r.window_start.toISOString(), windowEnd: r.window_end.toISOString(),
    windowKind: r.window_kind, windowSize: r.window_size, rows: r.rows, decision: r.decision, reason: r.reason,
    shareDrifted: r.share_drifted, driftedFeatures: r.drifted_features, consecutive: r.consecutive,
    features: r.features, scoreDrift: r.score_drift, performance: r.performance, createdAt: r.created_at.toISOString(),
  };
}

export const monitorRoutes: FastifyPluginAsync = async (app) => {
  app.get<{ Params: Static<typeof ModelParams> }>('/v1/models/:model/loop-policy', {
    config: { role: 'viewer' },
    schema: {
      summary: "The model's loop policy: when the drift monitor calls drift and how a retrain runs",
      tags: ['monitor'],
      params: ModelParams,
      response: withErrors({ 200: LoopPolicyOut }, [404]),
    },
  }, async (request) => {
    const model = await modelOf(app, request, request.params.model);
    return { model: model.name, stored: model.loop_policy !== null, policy: model.loop_policy ?? defaultLoopPolicy() };
  });

  app.put<{ Params: Static<typeof ModelParams>; Body: Record<string, unknown> }>('/v1/models/:model/loop-policy', {
    config: { role: 'deployer' },
    schema: {
      summary: "Set the model's loop policy",
      description: '{drift: {...}, retrain?: {...}}: every drift field has a default. Thresholds out of range, a feature the model\'s contract does not have, '
        + 'or a realised metric its task has no figure for are refused naming the field; nothing is stored. The running monitor reads it at its next window.',
      tags: ['monitor'],
      params: ModelParams,
      body: Type.Record(Type.String(), Type.Unknown(), { description: 'a loop policy (see LoopPolicy)' }),
      response: withErrors({ 200: LoopPolicyOut }, [404]),
    },
  }, async (request) => {
    const model = await modelOf(app, request, request.params.model);
    const parsed = parseLoopPolicy(request.body, model.contract);
    if (!parsed.ok) {
      const errors = parsed.errors.map((e) => ({ field: `body${e.field === '/' ? '' : e.field}`, message: e.message }));
      throw new ApiError(400, 'invalid_policy', errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors[0]?.field ?? 'body', errors);
    }
    return await audited(app, request, { action: 'model.loop_policy', targetType: 'model', targetId: model.name }, async (trx) => {
      await setLoopPolicy(trx, model.id, parsed.policy);
      const result = { model: model.name, stored: true, policy: parsed.policy };
      return { result, before: model.loop_policy, after: parsed.policy };
    });
  });

  app.get<{ Params: Static<typeof ModelParams>; Querystring: Static<typeof DriftReportsQuery> }>('/v1/models/:model/drift-reports', {
    config: { role: 'viewer' },
    schema: {
      summary: "The drift monitor's reports on the model, newest first",
      description: 'One per judged window: the decision (none, warning, drift, insufficient_data with the reason), every feature\'s test and distances, '
        + 'the score\'s drift, the debounce count, and the realised task metric once labels are due.',
      tags: ['monitor'],
      params: ModelParams,
      querystring: DriftReportsQuery,
      response: withErrors({ 200: Type.Object({ items: Type.Array(DriftReportOut) }) }, [404]),
    },
  }, async (request) => {
    const model = await modelOf(app, request, request.params.model);
    const rows = await listDriftReports(app.db, model.id, { limit: request.query.limit, ...(request.query.decision ? { decision: request.query.decision } : {}) });
    return { items: rows.map(presentReport) };
  });
};
