// Metric windows over the inference log for the canary and shadow gates: one query for both
// versions over the same time range, so baseline and candidate are compared like for like. What
// is compared comes from the model's contract: the score each serving worker logged per row
// (inference_log.scores, contracts/score.ts rowScores), read as the task needs it.
import { sql, type RawBuilder } from 'kysely';
import type { ModelContract } from '../contracts/contract.js';
import { classCount, thresholdOf } from '../contracts/score.js';
import type { CanaryWindow, ShiftSpec, VersionWindow } from '../policy/gates.js';
import type { Db } from './db.js';

/** Equal-width bins of a probability (or of the first output, without a contract) in [0, 1]; quantile bins of a regression prediction. */
export const PREDICTION_BINS = 10;
/** The most class indices a class-mix histogram holds (a contract lists at most this many classes). */
const MAX_CLASSES = 10_000;

function emptyWindow(bins = PREDICTION_BINS): VersionWindow {
  return { requests: 0, errors: 0, p99LatencyMs: null, predictionHistogram: new Array<number>(bins).fill(0) };
}

interface WindowArgs { model: string; baseline: string; candidate: string; from: string; to: string }

/** The model's contract and what the baseline version tells about its scores (class count, reference-profile bins). */
async function scoreContext(db: Db, model: string, baseline: string): Promise<{ contract: ModelContract | null; classes: number | null; referenceBins: RegressionBins | null }> {
  const row = await db.selectFrom('models')
    .leftJoin('model_versions', (j) => j.onRef('model_versions.model_id', '=', 'models.id').on('model_versions.version', '=', baseline))
    .select(['models.contract', 'model_versions.signature', 'model_versions.reference_profile'])
    .where('models.name', '=', model).executeTakeFirst();
  const contract = row?.contract ?? null;
  const classes = contract && row?.signature ? classCount(contract, row.signature) : null;
  const prediction = (row?.reference_profile as { prediction?: { kind?: unknown; binEdges?: unknown; max?: unknown } } | null | undefined)?.prediction;
  const edges = prediction?.kind === 'numeric' && Array.isArray(prediction.binEdges) && prediction.binEdges.length > 0
    && prediction.binEdges.every((e) => typeof e === 'number' && Number.isFinite(e)) ? prediction.binEdges as number[] : null;
  const top = typeof prediction?.max === 'number' && Number.isFinite(prediction.max) ? prediction.max : null;
  return { contract, classes, referenceBins: edges ? { edges, top } : null };
}

/**
 * Regression bins: a score's bin is the number of edges ≤ it (the reference profile's rule), and
 * a score above `top` (the baseline's largest) gets a bin of its own, so a candidate predicting
 * beyond anything the baseline did shows even when the baseline's quantiles collapse (a baseline
 * that predicts one value has no interior edge at all).
 */
interface RegressionBins { edges: number[]; top: number | null }

/** The primary, served requests of both versions in the window, as a SQL condition on inference_log. */
function served(args: WindowArgs): RawBuilder<unknown> {
  return sql`model = ${args.model} AND version IN (${args.baseline}, ${args.candidate}) AND NOT shadow AND error IS NULL
      AND at >= ${args.from}::timestamptz AND at < ${args.to}::timestamptz`;
}

type Bins = Array<{ version: string; bin: number; n: string }>;

/** Histograms of the window's scores by the contract's task; null when no row of the window carries a score. */
async function scoreHistograms(db: Db, args: WindowArgs): Promise<{ shift: ShiftSpec; width: number; bins: Bins } | null> {
  const { contract, classes, referenceBins } = await scoreContext(db, args.model, args.baseline);
  if (!contract) return null;
  const scored = sql`FROM inference_log, unnest(scores) AS s WHERE scores IS NOT NULL AND ${served(args)}`;
  if (contract.task === 'binary_classification') {
    const { rows } = await sql<Bins[number]>`
      SELECT version, LEAST(GREATEST(width_bucket(s, 0, 1, ${PREDICTION_BINS}), 1), ${PREDICTION_BINS}) AS bin, count(*)::text AS n
      ${scored} GROUP BY 1, 2`.execute(db);
    return rows.length === 0 ? null : { shift: { measure: 'probability', bins: `${PREDICTION_BINS} equal-width bins on [0, 1]` }, width: PREDICTION_BINS, bins: rows };
  }
  if (contract.task === 'multiclass_classification') {
    const { rows } = await sql<Bins[number]>`
      SELECT version, round(s)::int AS bin, count(*)::text AS n
      ${scored} AND s >= 0 AND s < ${MAX_CLASSES} GROUP BY 1, 2`.execute(db);
    if (rows.length === 0) return null;
    // One bin per class index (bins are 1-based below): the contract's classes, or as many as were predicted.
    const width = Math.max(classes ?? 0, ...rows.map((r) => r.bin + 1));
    return { shift: { measure: 'class_mix', bins: `${width} classes` }, width, bins: rows.map((r) => ({ ...r, bin: r.bin + 1 })) };
  }
  // Regression: bins at the baseline's quantiles, from its reference profile when it has one (a
  // fixed reference for every window), else from the baseline's own scores in this window.
  let bins = referenceBins;
  let source = "bins at the baseline's reference-profile quantiles";
  if (!bins) {
    // The minimum is an edge too (unlike the profile's), so a candidate below everything the
    // baseline predicted in the window lands in a bin of its own as well.
    const fractions = Array.from({ length: PREDICTION_BINS }, (_, i) => i / PREDICTION_BINS);
    const { rows } = await sql<{ edges: number[] | null; top: number | null }>`
      SELECT ARRAY(SELECT DISTINCT e FROM unnest(percentile_disc(${fractions}::float8[]) WITHIN GROUP (ORDER BY s)) AS e ORDER BY e) AS edges,
             max(s)::float8 AS top
      ${scored} AND version = ${args.baseline}`.execute(db);
    bins = { edges: (rows[0]?.edges ?? []).map(Number), top: rows[0]?.top ?? null };
    source = "bins at the baseline's quantiles in the window";
  }
  const above = bins.edges.length + 2;
  const { rows } = await sql<Bins[number]>`
    SELECT version, CASE WHEN s::float8 > ${bins.top}::float8 THEN ${above}::int ELSE width_bucket(s::float8, ${bins.edges}::float8[]) + 1 END AS bin,
           count(*)::text AS n
    ${scored} GROUP BY 1, 2`.execute(db);
  return rows.length === 0 ? null : { shift: { measure: 'regression', bins: source }, width: above, bins: rows };
}

/** Without a contract or logged scores: the first output in equal-width bins on [0, 1], as before contracts. */
async function firstOutputHistograms(db: Db, args: WindowArgs): Promise<{ shift: ShiftSpec; width: number; bins: Bins }> {
  const { rows } = await sql<Bins[number]>`
    SELECT version, LEAST(GREATEST(width_bucket(outputs[1], 0, 1, ${PREDICTION_BINS}), 1), ${PREDICTION_BINS}) AS bin, count(*)::text AS n
    FROM inference_log WHERE outputs IS NOT NULL AND ${served(args)}
    GROUP BY 1, 2`.execute(db);
  return { shift: { measure: 'first_output', bins: `${PREDICTION_BINS} equal-width bins of the first output on [0, 1]` }, width: PREDICTION_BINS, bins: rows };
}

/**
 * Primary (not shadow) requests of the baseline and the candidate in [from, to): counts, errors,
 * p99 latency of the served ones, and the histogram of their scores on bins both share (see
 * ShiftMeasure in policy/gates.ts for how each task bins them).
 */
export async function canaryWindow(db: Db, args: WindowArgs): Promise<CanaryWindow> {
  const summary = await sql<{ version: string; requests: string; errors: string; p99_us: number | null }>`
    SELECT version, count(*)::text AS requests, count(*) FILTER (WHERE error IS NOT NULL)::text AS errors,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_us) FILTER (WHERE error IS NULL) AS p99_us
    FROM inference_log
    WHERE model = ${args.model} AND version IN (${args.baseline}, ${args.candidate}) AND NOT shadow
      AND at >= ${args.from}::timestamptz AND at < ${args.to}::timestamptz
    GROUP BY version`.execute(db);
  const histograms = (await scoreHistograms(db, args)) ?? (await firstOutputHistograms(db, args));
  const windows: Record<string, VersionWindow> = { [args.baseline]: emptyWindow(histograms.width), [args.candidate]: emptyWindow(histograms.width) };
  for (const row of summary.rows) {
    const w = windows[row.version];
    if (!w) continue;
    w.requests = Number(row.requests);
    w.errors = Number(row.errors);
    w.p99LatencyMs = row.p99_us === null ? null : Number(row.p99_us) / 1000;
  }
  for (const row of histograms.bins) {
    const w = windows[row.version];
    const index = Math.max(1, Math.min(histograms.width, Number(row.bin))) - 1;
    if (w) w.predictionHistogram[index] = (w.predictionHistogram[index] ?? 0) + Number(row.n);
  }
  return { baseline: windows[args.baseline] ?? emptyWindow(), candidate: windows[args.candidate] ?? emptyWindow(), shift: histograms.shift };
}

export interface ShadowAgreement { compared: number; agreed: number; agreement: number; shadowErrors: number; rule: string }

export interface ShadowArgs {
  model: string; primary: string; shadow: string; from: string; to: string;
  /** Regression: agreement when |shadow − primary| ≤ regressionTolerance + regressionRelativeTolerance × |primary| (policy defaults when absent). */
  regressionTolerance?: number;
  regressionRelativeTolerance?: number;
}

/** The SQL test of one row's agreement (primary score ps, shadow score ss) by the contract's task, and its words. */
function rowAgreement(contract: ModelContract | null, args: ShadowArgs): { test: RawBuilder<unknown> | null; rule: string } {
  if (!contract) return { test: null, rule: 'first output on the same side of 0.5' };
  if (contract.task === 'binary_classification') {
    // Compared as real, the type the scores are logged in, so a score the worker put exactly at
    // the threshold stays on the threshold's side after rounding to float32.
    const t = thresholdOf(contract);
    return { test: sql`(ps >= ${t}::real) = (ss >= ${t}::real)`, rule: `same class at threshold ${t}` };
  }
  if (contract.task === 'multiclass_classification') return { test: sql`round(ps) = round(ss)`, rule: 'same top class' };
  const absolute = args.regressionTolerance ?? 0;
  const relative = args.regressionRelativeTolerance ?? 0.05;
  return {
    test: sql`abs(ss::float8 - ps::float8) <= ${absolute}::float8 + ${relative}::float8 * abs(ps::float8)`,
    rule: `prediction within ${absolute} + ${(relative * 100).toFixed(1)}% of the primary's`,
  };
}

/**
 * Agreement between the primary's logged answer and the shadow's for the same request, judged on
 * the scores by the contract's task (see rowAgreement); a request agrees when every one of its
 * rows does. A pair without scores on both sides (logged before workers wrote them, or a model
 * without a contract) falls back to the first output on the same side of 0.5.
 */
export async function shadowAgreement(db: Db, args: ShadowArgs): Promise<ShadowAgreement> {
  const model = await db.selectFrom('models').select('contract').where('name', '=', args.model).executeTakeFirst();
  const { test, rule } = rowAgreement(model?.contract ?? null, args);
  const fallback = sql`(p.outputs[1] >= 0.5) = (s.outputs[1] >= 0.5)`;
  const agrees = test === null ? fallback : sql`CASE
      WHEN p.scores IS NOT NULL AND s.scores IS NOT NULL AND cardinality(p.scores) = cardinality(s.scores) AND cardinality(p.scores) > 0
        THEN (SELECT bool_and(${test}) FROM unnest(p.scores, s.scores) AS u(ps, ss))
      ELSE ${fallback} END`;
  const { rows } = await sql<{ compared: string; agreed: string; shadow_errors: string }>`
    SELECT count(*) FILTER (WHERE p.error IS NULL AND s.error IS NULL)::text AS compared,
           count(*) FILTER (WHERE p.error IS NULL AND s.error IS NULL AND ${agrees})::text AS agreed,
           count(*) FILTER (WHERE s.error IS NOT NULL)::text AS shadow_errors
    FROM inference_log s
    -- A shadow row carries its primary's arrival time, so the primary lies in the same window.
    JOIN inference_log p ON p.request_id = s.request_id AND NOT p.shadow AND p.version = ${args.primary}
      AND p.at >= ${args.from}::timestamptz AND p.at < ${args.to}::timestamptz
    WHERE s.model = ${args.model} AND s.shadow AND s.version = ${args.shadow}
      AND s.at >= ${args.from}::timestamptz AND s.at < ${args.to}::timestamptz`.execute(db);
  const compared = Number(rows[0]?.compared ?? 0);
  const agreed = Number(rows[0]?.agreed ?? 0);
  return { compared, agreed, agreement: compared > 0 ? agreed / compared : 0, shadowErrors: Number(rows[0]?.shadow_errors ?? 0), rule };
}
