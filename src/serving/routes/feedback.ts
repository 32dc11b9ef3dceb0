/**
 * POST /v2/feedback: outcome events for experiment analysis (a conversion, a repayment, a rating),
 * joined to inference rows by request id or by hashed routing key. One event or an array; stored
 * in one multi-row INSERT. Raw routing keys are hashed here and never stored.
 */
import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { routingKeyHash } from '../../shared/routing-hash.js';
import { InferError } from '../protocol.js';
import { ErrorBody, FeedbackAccepted, FeedbackBody, type FeedbackEvent } from '../schemas.js';

function eventTime(t: FeedbackEvent['time'], index: number): Date {
  if (t === undefined) return new Date();
  const d = typeof t === 'number' ? new Date(t) : new Date(t);
  if (Number.isNaN(d.getTime())) throw new InferError(400, `feedback[${index}].time is not a valid time`);
  return d;
}

export async function feedbackRoutes(app: FastifyInstance): Promise<void> {
  const { serving } = app;
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
      if (e.request_id === undefined && e.routing_key === undefined) {
        throw new InferError(400, `feedback[${i}] needs a request_id or a routing_key to join on`);
      }
      return {
        model: e.model,
        request_id: e.request_id ?? null,
        routing_key_hash: e.routing_key !== undefined ? routingKeyHash(e.routing_key) : null,
        metric: e.metric,
        value: e.value,
        at: eventTime(e.time, i),
      };
    });
    const db = serving.db;
    if (db === null) throw new InferError(503, 'this worker has no database; feedback cannot be stored', 'unavailable');
    try {
      await db.insertInto('feedback').values(rows).execute();
    } catch (err) {
      req.log.warn({ err }, 'feedback insert failed');
      throw new InferError(503, 'feedback could not be stored right now; retry later', 'unavailable');
    }
    for (const r of rows) serving.metrics.feedback.inc({ model: r.model, metric: r.metric });
    return { accepted: rows.length };
  });
}
