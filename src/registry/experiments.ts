// Experiments: the A/B tests and bandits a rollout runs. The lifecycle's activities start one,
// record each look and finish it; its statistics are feedback joined to the arm each unit (hashed
// routing key) was assigned, reduced to per-arm sufficient statistics for the workflow's pure
// decision rule. The API reads experiments and their looks for reports.
import { sql } from 'kysely';
import type { LookDecision } from '../db/schema.js';
import { jsonb, type Db } from './db.js';
import { RegistryError } from './errors.js';

export interface ArmMetricStats {
  /** units assigned to the arm (distinct routing keys) */
  n: number;
  /** units with a positive outcome (binary metrics) */
  successes: number;
  /** sum and sum of squares of each unit's total outcome (continuous metrics; 0 for no feedback) */
  sum: number;
  sumSquares: number;
}

export interface ExperimentSnapshot {
  /** units per arm, for the sample-ratio-mismatch check */
  assigned: Record<string, number>;
  /** metric → arm → statistics */
  metrics: Record<string, Record<string, ArmMetricStats>>;
}

export interface NewExperiment {
  experimentId: string;
  rolloutId: string;
  model: string;
  kind: 'ab' | 'bandit';
  salt: string;
  arms: Array<{ name: string; version: string }>;
  primaryMetric: string;
  config: Record<string, unknown>;
}

/** Inserts the experiment unless it exists (a retried activity); returns when it started. */
export async function startExperiment(db: Db, e: NewExperiment): Promise<{ startedAt: Date }> {
  const model = await db.selectFrom('models').select('id').where('name', '=', e.model).executeTakeFirst();
  if (!model) throw new RegistryError('not_found', `model ${e.model} not found`, 'model');
  await db.insertInto('experiments').values({
    id: e.experimentId, rollout_id: e.rolloutId, model_id: model.id, kind: e.kind, salt: e.salt,
    arms: jsonb(e.arms), primary_metric: e.primaryMetric, config: e.config,
  }).onConflict((oc) => oc.column('id').doNothing()).execute();
  const row = await db.selectFrom('experiments').select('started_at').where('id', '=', e.experimentId).executeTakeFirstOrThrow();
  return { startedAt: row.started_at };
}

/** Records a look once: a retried activity finds it there and writes nothing. */
export async function recordExperimentLook(db: Db, look: { experimentId: string; look: number; armStats: unknown; result: unknown; decision: LookDecision }): Promise<void> {
  await db.insertInto('experiment_looks').values({
    experiment_id: look.experimentId, look: look.look, arm_stats: jsonb(look.armStats), result: jsonb(look.result), decision: look.decision,
  }).onConflict((oc) => oc.columns(['experiment_id', 'look']).doNothing()).execute();
}

/** Ends a running experiment with its decision; one that already ended is left as it is. */
export async function finishExperiment(db: Db, experimentId: string, status: 'decided' | 'stopped', decision: unknown): Promise<void> {
  await db.updateTable('experiments').set({ status, decision: jsonb(decision), ended_at: sql<Date>`now()` })
    .where('id', '=', experimentId).where('status', '=', 'running').execute();
}

/**
 * Per-arm statistics of an experiment: units assigned per arm, and for each metric the outcomes
 * of those units (feedback since `since`, joined by routing key, or by request id through the log).
 */
export async function experimentStats(db: Db, args: { experimentId: string; model: string; metrics: string[]; since: string }): Promise<ExperimentSnapshot> {
  // inference_log is indexed by time only (BRIN on at): every scan of it is bounded below by
  // the experiment's start, less a margin for serving workers whose clocks run behind the
  // database's (the experiment id, not the bound, decides which rows count).
  const loggedSince = sql`${args.since}::timestamptz - interval '5 minutes'`;
  const assignedRows = await sql<{ arm: string; n: string }>`
    SELECT arm, count(DISTINCT routing_key_hash)::text AS n FROM inference_log
    WHERE experiment_id = ${args.experimentId} AND routing_key_hash IS NOT NULL AND NOT shadow AND arm IS NOT NULL
      AND at >= ${loggedSince}
    GROUP BY arm`.execute(db);
  const assigned = Object.fromEntries(assignedRows.rows.map((r) => [r.arm, Number(r.n)]));
  const metrics: ExperimentSnapshot['metrics'] = {};
  for (const metric of args.metrics) {
    // A unit is its first assignment; feedback joins by routing key, or by request id through the log.
    const { rows } = await sql<{ arm: string; n: string; successes: string; s: number | null; ss: number | null }>`
      WITH units AS (
        SELECT DISTINCT ON (routing_key_hash) routing_key_hash, arm FROM inference_log
        WHERE experiment_id = ${args.experimentId} AND routing_key_hash IS NOT NULL AND NOT shadow AND arm IS NOT NULL
          AND at >= ${loggedSince}
        ORDER BY routing_key_hash, at
      ), outcomes AS (
        SELECT COALESCE(f.routing_key_hash, l.routing_key_hash) AS routing_key_hash, sum(f.value) AS total, max(f.value) AS best
        FROM feedback f
        LEFT JOIN inference_log l ON f.routing_key_hash IS NULL AND l.request_id = f.request_id AND NOT l.shadow
          AND l.at >= ${loggedSince}
        WHERE f.model = ${args.model} AND f.metric = ${metric} AND f.at >= ${args.since}::timestamptz
        GROUP BY 1
      )
      SELECT u.arm, count(*)::text AS n, count(*) FILTER (WHERE o.best > 0)::text AS successes,
             sum(COALESCE(o.total, 0))::float8 AS s, sum(COALESCE(o.total, 0) ^ 2)::float8 AS ss
      FROM units u LEFT JOIN outcomes o USING (routing_key_hash)
      GROUP BY u.arm`.execute(db);
    metrics[metric] = Object.fromEntries(rows.map((r) => [r.arm, {
      n: Number(r.n), successes: Number(r.successes), sum: Number(r.s ?? 0), sumSquares: Number(r.ss ?? 0),
    }]));
  }
  return { assigned, metrics };
}

export async function listRolloutExperiments(db: Db, rolloutId: string) {
  return await db.selectFrom('experiments').selectAll().where('rollout_id', '=', rolloutId).orderBy('started_at').execute();
}

export async function listExperimentLooks(db: Db, experimentId: string) {
  return await db.selectFrom('experiment_looks').selectAll().where('experiment_id', '=', experimentId).orderBy('look').execute();
}

/** An experiment by id, within a project when `projectId` is given. */
export async function findExperiment(db: Db, experimentId: string, projectId?: string) {
  let q = db.selectFrom('experiments as e').innerJoin('models as m', 'm.id', 'e.model_id').selectAll('e').select(['m.name as model', 'm.project_id'])
    .where('e.id', '=', experimentId);
  if (projectId !== undefined) q = q.where('m.project_id', '=', projectId);
  return await q.executeTakeFirst();
}
