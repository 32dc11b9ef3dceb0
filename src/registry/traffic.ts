// Traffic generations: the one home of their persistence. Reads (a model's latest, one by number,
// the latest of every hosted model, the history), publishing, the LISTEN that tells a worker a new
// one landed, and the mapping between a row (`weights`, and everything else as `spec`) and the
// generation a worker holds. The orchestrator's fleet client publishes; the API, the activities
// and the serving workers read.
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { sql } from 'kysely';
import pg from 'pg';
import { Predicate, TrafficGeneration, type GenerationSpec } from '../traffic/generation.js';
import { compileGeneration, GenerationError } from '../traffic/routing.js';
import type { Db } from './db.js';
import { isUniqueViolation, RegistryError } from './errors.js';

/** The columns a generation is stored in. */
export interface GenerationRow {
  generation: number;
  weights: Record<string, number>;
  spec: Record<string, unknown>;
}

/** Joins a stored row's weights and spec back into one generation. */
export function generationFromRow(row: GenerationRow): TrafficGeneration {
  return { ...(row.spec as GenerationSpec), generation: row.generation, weights: row.weights };
}

/** Splits a generation into the `weights` and `spec` columns. */
export function generationToRow(g: TrafficGeneration): { generation: number; weights: Record<string, number>; spec: GenerationSpec } {
  const { generation, weights, ...spec } = g;
  return { generation, weights, spec };
}

/** A stored generation: what the workers hold, and who wrote it, when and why. */
export interface GenerationRecord {
  model: string;
  traffic: TrafficGeneration;
  reason: string;
  createdBy: string;
  createdAt: Date;
}

function recordQuery(db: Db) {
  return db.selectFrom('traffic_generations as g').innerJoin('models as m', 'm.id', 'g.model_id')
    .select(['m.name as model', 'g.generation', 'g.weights', 'g.spec', 'g.reason', 'g.created_by', 'g.created_at']);
}

type RecordRow = GenerationRow & { model: string; reason: string; created_by: string; created_at: Date };

function toRecord(row: RecordRow): GenerationRecord {
  return { model: row.model, traffic: generationFromRow(row), reason: row.reason, createdBy: row.created_by, createdAt: row.created_at };
}

/** The generation a model serves now: its newest. */
export async function latestGeneration(db: Db, model: string): Promise<GenerationRecord | undefined> {
  const row = await recordQuery(db).where('m.name', '=', model).orderBy('g.generation', 'desc').limit(1).executeTakeFirst();
  return row ? toRecord(row) : undefined;
}

export async function findGeneration(db: Db, model: string, generation: number): Promise<GenerationRecord | undefined> {
  const row = await recordQuery(db).where('m.name', '=', model).where('g.generation', '=', generation).executeTakeFirst();
  return row ? toRecord(row) : undefined;
}

/** The newest generation of each of these models (null: of every model that has one). */
export async function latestGenerations(db: Db, models: readonly string[] | null): Promise<GenerationRecord[]> {
  if (models !== null && models.length === 0) return [];
  let q = recordQuery(db).distinctOn('g.model_id').orderBy('g.model_id').orderBy('g.generation', 'desc');
  if (models !== null) q = q.where('m.name', 'in', models);
  return (await q.execute()).map(toRecord);
}

/** A model's generations, newest first; `before` pages back from a generation number. */
export async function listGenerations(db: Db, model: string, opts: { limit?: number; before?: number } = {}): Promise<GenerationRecord[]> {
  let q = recordQuery(db).where('m.name', '=', model);
  if (opts.before !== undefined) q = q.where('g.generation', '<', opts.before);
  return (await q.orderBy('g.generation', 'desc').limit(opts.limit ?? 50).execute()).map(toRecord);
}

export interface PublishGenerationInput {
  model: string;
  weights: Record<string, number>;
  spec?: GenerationSpec | Record<string, unknown>;
  reason?: string;
  createdBy: string;
  /** The number to write (a workflow chooses it, so retries write the same row); next free one when absent. */
  generation?: number;
}

export interface PublishedGeneration {
  model: string;
  generation: number;
  weights: Record<string, number>;
  spec: Record<string, unknown>;
  /** False when the same generation was already there (a retry). */
  created: boolean;
}

function sameJson(a: unknown, b: unknown): boolean {
  const canon = (v: unknown): unknown => Array.isArray(v) ? v.map(canon)
    : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : 1)).map(([k, x]) => [k, canon(x)]))
      : v;
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}

// The schema the workers' PUT /models/:model/generation route validates against (compiled on
// first use). What a worker would refuse must be refused here, before it is written: a written
// row reaches every worker by NOTIFY and reconcile whatever the push answered.
let generationSchema: TypeCheck<typeof TrafficGeneration> | undefined;

/** Why `g` fails the workers' generation schema, or null when it passes. */
function schemaProblem(g: unknown): string | null {
  generationSchema ??= TypeCompiler.Compile(TrafficGeneration, [Predicate]);
  if (generationSchema.Check(g)) return null;
  const first = generationSchema.Errors(g).First();
  return first ? `${first.path || '/'}: ${first.message}` : 'does not match the generation schema';
}

/**
 * Writes a model's traffic generation. Validates it as the workers will (their route's schema;
 * weights in [0,1] summing to 1, experiment arms covering the versions with traffic, well-formed
 * predicates with one condition each) and checks every referenced version is registered, so no
 * worker is asked to load what is not there. Writing the same generation number twice is harmless
 * when the content is the same, and a RegistryError('conflict') when it differs; an unknown model
 * or version is 'not_found', an invalid generation 'invalid'.
 */
export async function publishGeneration(db: Db, input: PublishGenerationInput): Promise<PublishedGeneration> {
  const spec = (input.spec ?? {}) as Record<string, unknown>;
  const candidate = { ...(spec as GenerationSpec), generation: input.generation ?? 1, weights: input.weights } as TrafficGeneration;
  let referenced: string[];
  try {
    // The compiler first: its messages name the problem; the schema then catches anything else
    // a worker's route would refuse.
    referenced = compileGeneration(input.model, candidate).referenced;
  } catch (err) {
    if (err instanceof GenerationError) throw new RegistryError('invalid', `generation for ${input.model} is invalid: ${err.message}`, 'generation');
    throw err;
  }
  const problem = schemaProblem(candidate);
  if (problem !== null) throw new RegistryError('invalid', `generation for ${input.model} is invalid: ${problem}`, 'generation');
  const versions = [...new Set(referenced)];
  const weights = JSON.stringify(input.weights);
  const specJson = JSON.stringify(spec);
  for (let attempt = 0; ; attempt++) {
    // One statement, one round trip on the path a change takes every time: the row goes in only
    // when the model and every version the generation sends traffic to are registered. Without a
    // number, the next one is taken in the INSERT itself (a race loses on the unique key and
    // retries). Only when nothing went in does a second query find out why.
    let inserted: { generation: number } | undefined;
    try {
      const generation = input.generation !== undefined
        ? sql<number>`${input.generation}::int`
        : sql<number>`(SELECT coalesce(max(g.generation), 0) + 1 FROM traffic_generations g WHERE g.model_id = m.id)`;
      const { rows } = await sql<{ generation: number }>`
        INSERT INTO traffic_generations (model_id, generation, weights, spec, reason, created_by)
        SELECT m.id, ${generation}, ${weights}::jsonb, ${specJson}::jsonb, ${input.reason ?? ''}, ${input.createdBy}
        FROM models m
        WHERE m.name = ${input.model}
          AND (SELECT count(*) FROM model_versions v WHERE v.model_id = m.id AND v.version = ANY(${versions}::text[])) = ${versions.length}
        ON CONFLICT (model_id, generation) DO NOTHING
        RETURNING generation`.execute(db);
      inserted = rows[0];
    } catch (err) {
      if (!isUniqueViolation(err) || attempt >= 5) throw err;
      continue;
    }
    if (inserted) return { model: input.model, generation: inserted.generation, weights: input.weights, spec, created: true };

    const found = await sql<{ id: string; versions: string[] }>`
      SELECT m.id, coalesce(array_agg(v.version) FILTER (WHERE v.version IS NOT NULL), '{}') AS versions
      FROM models m LEFT JOIN model_versions v ON v.model_id = m.id AND v.version = ANY(${versions}::text[])
      WHERE m.name = ${input.model} GROUP BY m.id`.execute(db);
    const model = found.rows[0];
    if (!model) throw new RegistryError('not_found', `model ${input.model} is not registered`, 'model');
    const missing = versions.filter((v) => !model.versions.includes(v));
    if (missing.length > 0) throw new RegistryError('not_found', `model ${input.model} has no registered version ${missing.join(', ')}`, 'version');
    if (input.generation === undefined) {
      if (attempt >= 5) throw new RegistryError('conflict', `could not find a free generation number for ${input.model}`, 'generation');
      continue; // another writer took the number: take the next one
    }
    // The row exists: a retry of the same write is fine, anything else is a conflict.
    const existing = await db.selectFrom('traffic_generations').select(['weights', 'spec']).where('model_id', '=', model.id).where('generation', '=', input.generation).executeTakeFirstOrThrow();
    if (!sameJson(existing.weights, input.weights) || !sameJson(existing.spec, spec)) {
      throw new RegistryError('conflict', `generation ${input.generation} of ${input.model} already exists with different weights or spec`, 'generation');
    }
    return { model: input.model, generation: input.generation, weights: existing.weights, spec: existing.spec, created: false };
  }
}

/** The channel the traffic_generations insert trigger notifies with {model, generation}. */
export const TRAFFIC_CHANNEL = 'sluice_traffic';

export interface GenerationListener {
  /** Stops listening; `onLost` is not called for a close. */
  close(): Promise<void>;
}

/**
 * LISTENs for new generations on a connection of its own (a pool's connections come and go).
 * Resolves once the LISTEN is in place, or rejects (connection closed again) when it could not be.
 * After that, `onGeneration` hears each well-formed notification, and `onLost` is called once if
 * the connection drops; the caller decides when to listen again.
 */
export async function listenForGenerations(databaseUrl: string, handlers: {
  onGeneration(model: string, generation: number): void;
  onLost(err: Error | null): void;
}): Promise<GenerationListener> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
  let state: 'connecting' | 'listening' | 'closed' = 'connecting';
  const release = async () => {
    state = 'closed';
    client.removeAllListeners();
    client.on('error', () => undefined);
    await client.end().catch(() => undefined);
  };
  const lost = (err: Error | null) => {
    if (state !== 'listening') return;
    void release();
    handlers.onLost(err);
  };
  client.on('error', (err) => lost(err));
  client.on('end', () => lost(null));
  client.on('notification', (n) => {
    if (n.channel !== TRAFFIC_CHANNEL || !n.payload) return;
    let parsed: { model?: unknown; generation?: unknown };
    try {
      parsed = JSON.parse(n.payload) as typeof parsed;
    } catch {
      return; // a payload that is not ours: nothing to do
    }
    if (typeof parsed.model === 'string' && typeof parsed.generation === 'number') handlers.onGeneration(parsed.model, parsed.generation);
  });
  try {
    await client.connect();
    await client.query(`LISTEN ${TRAFFIC_CHANNEL}`);
  } catch (err) {
    await release();
    throw err;
  }
  state = 'listening';
  return { close: release };
}
