// Feedback: outcome events (a conversion, a repayment, a rating) that experiments join to the
// inference log by request id or by hashed routing key. Serving workers write them; the
// experiment statistics (experiments.ts) read them.
import type { Db } from './db.js';

export interface FeedbackEvent {
  model: string;
  requestId: string | null;
  /** The hash of the routing key; raw keys are never stored. */
  routingKeyHash: string | null;
  metric: string;
  value: number;
  at: Date;
}

/** Stores events in one multi-row INSERT. */
export async function insertFeedback(db: Db, events: readonly FeedbackEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db.insertInto('feedback').values(events.map((e) => ({
    model: e.model, request_id: e.requestId, routing_key_hash: e.routingKeyHash, metric: e.metric, value: e.value, at: e.at,
  }))).execute();
}
