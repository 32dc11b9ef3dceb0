// Metric windows over the inference log for the canary and shadow gates: one query for both
// versions over the same time range, so baseline and candidate are compared like for like.
import { sql } from 'kysely';
import type { CanaryWindow, VersionWindow } from '../policy/gates.js';
import type { Db } from './db.js';

/** Equal-width bins of the first output (a probability) in [0, 1]. */
export const PREDICTION_BINS = 10;

function emptyWindow(): VersionWindow {
  return { requests: 0, errors: 0, p99LatencyMs: null, predictionHistogram: new Array<number>(PREDICTION_BINS).fill(0) };
}

/**
 * Primary (not shadow) requests of the baseline and the candidate in [from, to): counts, errors,
 * p99 latency of the served ones, and the histogram of their first output.
 */
export async function canaryWindow(db: Db, args: { model: string; baseline: string; candidate: string; from: string; to: string }): Promise<CanaryWindow> {
  const summary = await sql<{ version: string; requests: string; errors: string; p99_us: number | null }>`
    SELECT version, count(*)::text AS requests, count(*) FILTER (WHERE error IS NOT NULL)::text AS errors,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_us) FILTER (WHERE error IS NULL) AS p99_us
    FROM inference_log
    WHERE model = ${args.model} AND version IN (${args.baseline}, ${args.candidate}) AND NOT shadow
      AND at >= ${args.from}::timestamptz AND at < ${args.to}::timestamptz
    GROUP BY version`.execute(db);
  const bins = await sql<{ version: string; bin: number; n: string }>`
    SELECT version, LEAST(width_bucket(outputs[1], 0, 1, ${PREDICTION_BINS}), ${PREDICTION_BINS}) AS bin, count(*)::text AS n
    FROM inference_log
    WHERE model = ${args.model} AND version IN (${args.baseline}, ${args.candidate}) AND NOT shadow AND error IS NULL
      AND outputs IS NOT NULL AND at >= ${args.from}::timestamptz AND at < ${args.to}::timestamptz
    GROUP BY 1, 2`.execute(db);
  const windows: Record<string, VersionWindow> = { [args.baseline]: emptyWindow(), [args.candidate]: emptyWindow() };
  for (const row of summary.rows) {
    const w = windows[row.version];
    if (!w) continue;
    w.requests = Number(row.requests);
    w.errors = Number(row.errors);
    w.p99LatencyMs = row.p99_us === null ? null : Number(row.p99_us) / 1000;
  }
  for (const row of bins.rows) {
    const w = windows[row.version];
    const index = Math.max(1, Math.min(PREDICTION_BINS, Number(row.bin))) - 1;
    if (w) w.predictionHistogram[index] = (w.predictionHistogram[index] ?? 0) + Number(row.n);
  }
  return { baseline: windows[args.baseline] ?? emptyWindow(), candidate: windows[args.candidate] ?? emptyWindow() };
}

export interface ShadowAgreement { compared: number; agreed: number; agreement: number; shadowErrors: number }

/**
 * Agreement between the primary's logged answer and the shadow's for the same request: both
 * predicted the same class (probability on the same side of 0.5).
 */
export async function shadowAgreement(db: Db, args: { model: string; primary: string; shadow: string; from: string; to: string }): Promise<ShadowAgreement> {
  const { rows } = await sql<{ compared: string; agreed: string; shadow_errors: string }>`
    SELECT count(*) FILTER (WHERE p.error IS NULL AND s.error IS NULL)::text AS compared,
           count(*) FILTER (WHERE p.error IS NULL AND s.error IS NULL AND (p.outputs[1] >= 0.5) = (s.outputs[1] >= 0.5))::text AS agreed,
           count(*) FILTER (WHERE s.error IS NOT NULL)::text AS shadow_errors
    FROM inference_log s
    -- A shadow row carries its primary's arrival time, so the primary lies in the same window.
    JOIN inference_log p ON p.request_id = s.request_id AND NOT p.shadow AND p.version = ${args.primary}
      AND p.at >= ${args.from}::timestamptz AND p.at < ${args.to}::timestamptz
    WHERE s.model = ${args.model} AND s.shadow AND s.version = ${args.shadow}
      AND s.at >= ${args.from}::timestamptz AND s.at < ${args.to}::timestamptz`.execute(db);
  const compared = Number(rows[0]?.compared ?? 0);
  const agreed = Number(rows[0]?.agreed ?? 0);
  return { compared, agreed, agreement: compared > 0 ? agreed / compared : 0, shadowErrors: Number(rows[0]?.shadow_errors ?? 0) };
}
