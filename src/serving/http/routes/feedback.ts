/**
 * POST /v2/feedback: outcome events for experiment analysis (a conversion, a repayment, a rating),
 * joined to inference rows by request id or by hashed routing key. One event or an array; stored
 * in one multi-row INSERT. Raw routing keys are hashed here and never stored.
 */
import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { insertFeedback } from '../../../registry/feedback.js';
import { routingKeyHash } from '../../../shared/routing-hash.js';
import { InferError } from '../../protocol/infer-error.js';
import { effectiveRoutingKey } from '../../../traffic/routing.js';
import { ErrorBody, FeedbackAccepted, FeedbackBody, type FeedbackEvent } from '../schemas.js';

function eventTime(t: FeedbackEvent['time'], index: number): Date {
  if (t === undefined) return new Date();
  const d = typeof t === 'number' ? new Date(t) : new Date(t);
  if (Number.isNaN(d.getTime())) throw new InferError(400, `feedback[${index}].time is not a valid time`);
  return d;
}

/**
 * Metric label values this worker reports before the rest become "other". The route takes
 * unauthenticated callers, and every distinct label value is a Prometheus series kept forever.
 */
export const MAX_FEEDBACK_METRIC_LABELS = 64;

export async function feedbackRoutes(app: FastifyInstance): Promise<void> {
  const { serving } = app;
  const metricLabels = new Set<string>();
  // Label values for the feedback counter: a model only when this worker hosts it, a metric
  // name only while the set of names seen stays small; anything else is counted as "other".
  const labels = (model: string, metric: string): { model: string; metric: string } => {
    if (!metricLabels.has(metric) && metricLabels.size < MAX_FEEDBACK_METRIC_LABELS) metricLabels.add(metric);
    return { model: serving.host.models.has(model) ? model : 'other', metric: metricLabels.has(metric) ? metric : 'other' };
  };
  app.post<{ Body: Static<typeof FeedbackBody> }>('/v2/feedback', {
    schema: {
      summary: 'Record outcome events (by request_id or routing_key) for experiment analysis',
      body: FeedbackBody,
      response: { 200: FeedbackAccepted, 400: ErrorBody, 503: ErrorBody },
    },
  }, async (req) => {
    const events = Array.isArray(req.body) ? req.body : [req.body];
    const rows = events.map((e, i) => {
      if (!Number.isFinite(e.value)) throw new InferError(400, `feedback[${i}].value must be a finite number`);
      // A blank routing key is no key, as it is for routing: requests carrying one were assigned
      // at random, so there is nothing to join on by key.
      const key = effectiveRoutingKey(e.routing_key);
      if (e.request_id === undefined && key === undefined) {
        throw new InferError(400, `feedback[${i}] needs a request_id or a non-blank routing_key to join on`);
      }
      return {
        model: e.model,
        requestId: e.request_id ?? null,
        routingKeyHash: key !== undefined ? routingKeyHash(key) : null,
        metric: e.metric,
        value: e.value,
        at: eventTime(e.time, i),
      };
    });
    const db = serving.db;
    if (db === null) throw new InferError(503, 'this worker has no database; feedback cannot be stored', 'unavailable');
    try {
      await insertFeedback(db, rows);
    } catch (err) {
      req.log.warn({ err }, 'feedback insert failed');
      throw new InferError(503, 'feedback could not be stored right now; retry later', 'unavailable');
    }
    for (const r of rows) serving.metrics.feedback.inc(labels(r.model, r.metric));
    return { accepted: rows.length };
  });
}
