// Drift reports: one row per window the drift monitor judged, with every number it rests on (each
// feature's test and distances, the score's drift, the dataset share), the decision, the debounce
// count after it, and the realised task metric once labels are due. Written by the monitor's
// activity, read by the API and the retrain's lineage (a drift cause names its report).
import type { DriftReportRow } from '../db/schema.js';
import type { DriftDecision, PerformanceFigure } from '../loop/monitor.js';
import { jsonb, type Db } from './db.js';

export interface NewDriftReport {
  modelId: string;
  versionId: string;
  windowStart: Date;
  windowEnd: Date;
  windowKind: 'time' | 'rows';
  windowSize: number;
  rows: number;
  decision: DriftDecision;
  reason: string | null;
  /** Every feature's drift (FeatureDrift of the statistics module), as it came out. */
  features: unknown;
  scoreDrift: unknown;
  shareDrifted: number;
  driftedFeatures: string[];
  consecutive: number;
  performance: PerformanceFigure | null;
  policy: unknown;
}

export async function insertDriftReport(db: Db, r: NewDriftReport): Promise<DriftReportRow> {
  return await db.insertInto('drift_reports').values({
    model_id: r.modelId, version_id: r.versionId, window_start: r.windowStart, window_end: r.windowEnd < r.windowStart ? r.windowStart : r.windowEnd,
    window_kind: r.windowKind, window_size: Math.round(r.windowSize), rows: r.rows,
    features: jsonb(r.features), dataset_drift: r.decision === 'drift', share_drifted: r.shareDrifted,
    decision: r.decision, reason: r.reason, drifted_features: r.driftedFeatures,
    score_drift: r.scoreDrift === null ? null : jsonb(r.scoreDrift), consecutive: r.consecutive,
    performance: r.performance === null ? null : jsonb(r.performance), policy: jsonb(r.policy),
  }).returningAll().executeTakeFirstOrThrow();
}

export async function findDriftReport(db: Db, id: string): Promise<DriftReportRow | undefined> {
  return await db.selectFrom('drift_reports').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The model's most recent reports, newest first, each with the label of the version it judged. */
export async function listDriftReports(db: Db, modelId: string, opts: { limit?: number; decision?: DriftDecision } = {}): Promise<Array<DriftReportRow & { version: string }>> {
  let q = db.selectFrom('drift_reports as d').innerJoin('model_versions as v', 'v.id', 'd.version_id')
    .selectAll('d').select('v.version').where('d.model_id', '=', modelId);
  if (opts.decision) q = q.where('d.decision', '=', opts.decision);
  return await q.orderBy('d.created_at', 'desc').orderBy('d.id', 'desc').limit(opts.limit ?? 50).execute();
}
