// The drift monitor's reads of the inference log: the production version's window (the last so
// many seconds, or the last so many rows), decoded back into columns named as the version's
// reference profile names them (the contract's feature names, and `prediction` for the score);
// the window's rows that have a label in the feedback log, joined by request id; and the figure
// validation measured for a metric, which realised performance is compared with.
import { sql } from 'kysely';
import type { ModelContract } from '../contracts/contract.js';
import type { ModelVersion } from '../db/schema.js';
import { loggedFeatureNames } from '../contracts/logged-row.js';
import { float32sFromBytes } from '../shared/float32-bytes.js';
import type { Db } from './db.js';
import { PREDICTION_COLUMN } from './profiles.js';

export interface LogWindowSpec {
  kind: 'time' | 'rows';
  seconds: number;
  rows: number;
}

export interface LoggedWindow {
  /** Requests read (a request may carry several rows). */
  requests: number;
  /** Rows decoded into the columns. */
  rows: number;
  from: Date;
  to: Date;
  columns: Record<string, Array<number | null>>;
  /** Inputs or rows the log could not give back (string inputs, unnamed features), said once each. */
  notes: string[];
}

interface LoggedRow { request_id: string; at: Date; inputs: Buffer | null; scores: number[] | null }

/** The most requests one window reads: a rows window larger than this is cut here. */
const MAX_WINDOW_REQUESTS = 200_000;

async function windowRows(db: Db, model: string, version: string, spec: LogWindowSpec, until: Date): Promise<LoggedRow[]> {
  let q = db.selectFrom('inference_log').select(['request_id', 'at', 'inputs', 'scores'])
    .where('model', '=', model).where('version', '=', version).where('shadow', '=', false).where('error', 'is', null)
    .where('at', '<=', until);
  if (spec.kind === 'time') {
    q = q.where('at', '>', new Date(until.getTime() - spec.seconds * 1000)).orderBy('at', 'desc').limit(MAX_WINDOW_REQUESTS);
  } else {
    q = q.orderBy('at', 'desc').orderBy('id', 'desc').limit(Math.min(spec.rows, MAX_WINDOW_REQUESTS));
  }
  return await q.execute();
}

/** Each logged input element's column name, by the contract's features (or the model's embedded names without a contract); null where none fits. */
function columnNames(version: ModelVersion, contract: ModelContract | null, notes: string[]): { names: Array<string | null>; width: number } | null {
  const embedded = (version.metadata as { embedded?: { featureNames?: unknown } }).embedded?.featureNames;
  const embeddedNames = Array.isArray(embedded) && embedded.every((n) => typeof n === 'string') ? embedded as string[] : null;
  const featuresOf = (name: string): readonly string[] | null => {
    if (!contract) return embeddedNames;
    const input = contract.inputs.find((i) => i.name === name);
    return input ? (input.features ?? [input.name]) : null;
  };
  const named = loggedFeatureNames(version.signature.inputs, featuresOf);
  if (!named) {
    notes.push('an input has an open row width: the log cannot tell where its rows end, so no feature is read from it');
    return null;
  }
  notes.push(...named.notes);
  return { names: named.names, width: named.width };
}

/** The version's window of the inference log as profile columns: every named feature and the score (`prediction`). */
export async function readMonitorWindow(
  db: Db, args: { model: string; version: ModelVersion; contract: ModelContract | null; window: LogWindowSpec; until: Date },
): Promise<LoggedWindow> {
  const logged = await windowRows(db, args.model, args.version.version, args.window, args.until);
  const notes: string[] = [];
  const layout = columnNames(args.version, args.contract, notes);
  const named = layout ? layout.names.flatMap((n, k) => (n === null ? [] : [[n, k] as const])) : [];
  const columns: Record<string, Array<number | null>> = Object.fromEntries([...named.map(([n]) => [n, [] as Array<number | null>]), [PREDICTION_COLUMN, []]]);
  const prediction = columns[PREDICTION_COLUMN] as Array<number | null>;
  let rows = 0;
  let skipped = 0;
  // Oldest first, so the columns read in the order the rows were served.
  for (const r of [...logged].reverse()) {
    const values = r.inputs ? float32sFromBytes(r.inputs) : null;
    const width = layout?.width ?? 0;
    const n = values && width > 0 && values.length % width === 0 ? values.length / width : (r.scores?.length ?? 0);
    if (n === 0 || (r.scores && r.scores.length !== n)) { skipped++; continue; }
    for (let row = 0; row < n; row++) {
      for (const [name, k] of named) {
        const v = values && width > 0 ? values[row * width + k] : undefined;
        (columns[name] as Array<number | null>).push(v === undefined || Number.isNaN(v) ? null : v);
      }
      const s = r.scores?.[row];
      prediction.push(s === undefined || s === null || !Number.isFinite(s) ? null : s);
    }
    rows += n;
  }
  if (skipped > 0) notes.push(`${skipped} logged requests whose inputs or scores do not split into rows were left out`);
  const times = logged.map((r) => r.at.getTime());
  const to = args.window.kind === 'time' ? args.until : new Date(times.length > 0 ? Math.max(...times) : args.until.getTime());
  const from = args.window.kind === 'time' ? new Date(args.until.getTime() - args.window.seconds * 1000) : new Date(times.length > 0 ? Math.min(...times) : to.getTime());
  return { requests: logged.length, rows, from, to, columns, notes };
}

export interface LabelledScores { scores: number[]; labels: number[]; requests: number; oldestAt: Date | null }

/**
 * The window's one-row requests that have a label (the feedback `metric` given for the request id),
 * score beside label. Requests of several rows are left out: one feedback value cannot say which row it labels.
 */
export async function labelledScores(
  db: Db, args: { model: string; version: string; window: LogWindowSpec; until: Date; labelMetric: string },
): Promise<LabelledScores> {
  let q = db.selectFrom('inference_log as l')
    .innerJoin('feedback as f', (j) => j.onRef('f.request_id', '=', 'l.request_id').on('f.model', '=', args.model).on('f.metric', '=', args.labelMetric))
    .select(['l.at', sql<number>`l.scores[1]`.as('score'), 'f.value'])
    .where('l.model', '=', args.model).where('l.version', '=', args.version).where('l.shadow', '=', false).where('l.error', 'is', null)
    .where(sql<boolean>`array_length(l.scores, 1) = 1`)
    .where('l.at', '<=', args.until);
  if (args.window.kind === 'time') q = q.where('l.at', '>', new Date(args.until.getTime() - args.window.seconds * 1000));
  const rows = await q.orderBy('l.at', 'desc').limit(args.window.kind === 'rows' ? args.window.rows : MAX_WINDOW_REQUESTS).execute();
  const ok = rows.filter((r) => r.score !== null && Number.isFinite(r.score));
  return {
    scores: ok.map((r) => Number(r.score)), labels: ok.map((r) => Number(r.value)), requests: ok.length,
    oldestAt: ok.length > 0 ? new Date(Math.min(...ok.map((r) => r.at.getTime()))) : null,
  };
}

/** When the version's oldest logged request was served (null: none yet): before labels can be due at all. */
export async function firstLoggedAt(db: Db, model: string, version: string): Promise<Date | null> {
  const row = await db.selectFrom('inference_log').select((e) => e.fn.min('at').as('first'))
    .where('model', '=', model).where('version', '=', version).where('shadow', '=', false).executeTakeFirst();
  return (row?.first as Date | null | undefined) ?? null;
}

/**
 * The figure validation measured for `metric` on the version: the version's recorded metrics when
 * they hold it, else the latest validation step of a rollout of the version that recorded it.
 */
export async function validationFigure(db: Db, version: ModelVersion, metric: string): Promise<number | null> {
  const own = version.metrics[metric];
  if (typeof own === 'number' && Number.isFinite(own)) return own;
  const step = await db.selectFrom('rollout_steps as s').innerJoin('rollouts as r', 'r.id', 's.rollout_id')
    .select(sql<number | null>`(s.numbers ->> ${metric})::double precision`.as('value'))
    .where('r.candidate_version_id', '=', version.id).where('s.phase', '=', 'validating').where('s.step', '=', metric)
    .where(sql<boolean>`s.numbers ? ${metric}`)
    .orderBy('s.at', 'desc').limit(1).executeTakeFirst();
  return step?.value ?? null;
}
