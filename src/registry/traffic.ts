// Traffic generations: reads only. Generations are written by the orchestrator's activities
// (which push them to the fleet); the API shows the current one and the history.
import type { TrafficGeneration } from '../db/schema.js';
import type { Db } from './db.js';

export async function currentGeneration(db: Db, modelId: string): Promise<TrafficGeneration | undefined> {
  return await db.selectFrom('traffic_generations').selectAll().where('model_id', '=', modelId)
    .orderBy('generation', 'desc').limit(1).executeTakeFirst();
}

export async function listGenerations(db: Db, modelId: string, opts: { limit?: number; before?: number } = {}): Promise<TrafficGeneration[]> {
  let q = db.selectFrom('traffic_generations').selectAll().where('model_id', '=', modelId);
  if (opts.before !== undefined) q = q.where('generation', '<', opts.before);
  return await q.orderBy('generation', 'desc').limit(opts.limit ?? 50).execute();
}
