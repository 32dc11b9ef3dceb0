// Training data from the inference log: each served one-row request's logged inputs with the label
// feedback gave it (joined by request id; the policy names the feedback metric). Shadow copies,
// errors and requests without inputs are left out; a request labelled twice takes its latest label.
import type { Db } from './db.js';

export interface LabelledLogQuery {
  model: string;
  from: Date;
  to: Date;
  /** The feedback metric that carries the label. */
  metric: string;
  limit: number;
}

export async function labelledLogRows(db: Db, q: LabelledLogQuery): Promise<Array<{ inputs: Buffer; label: number }>> {
  const rows = await db.selectFrom('inference_log as l')
    .innerJoin('feedback as f', (j) => j.onRef('f.request_id', '=', 'l.request_id').onRef('f.model', '=', 'l.model'))
    .distinctOn('l.id')
    .select(['l.inputs', 'f.value'])
    .where('l.model', '=', q.model).where('l.at', '>=', q.from).where('l.at', '<=', q.to)
    .where('l.shadow', '=', false).where('l.error', 'is', null).where('l.inputs', 'is not', null)
    .where('f.metric', '=', q.metric)
    .orderBy('l.id').orderBy('f.at', 'desc').orderBy('f.id', 'desc')
    .limit(q.limit)
    .execute();
  return rows.flatMap((r) => (r.inputs ? [{ inputs: r.inputs, label: r.value }] : []));
}
