// The activities' FleetClient port (src/activities/fleet.ts) over the fleet client (src/fleet) and
// the traffic repository: the composition root is the one place that knows both, so neither
// folder imports the other.
import type { Kysely } from 'kysely';
import type { AppliedGeneration, FleetClient, PrewarmResult, WorkerAck } from '../activities/fleet.js';
import type { Database } from '../db/schema.js';
import { FleetError, prewarmVersion, pushGeneration, unloadVersion, type FleetCallOptions, type WorkerResult } from '../fleet/index.js';
import { generationFromRow, publishGeneration } from '../registry/traffic.js';
import { liveWorkers } from '../registry/workers.js';

const toAck = (r: WorkerResult): WorkerAck => ({ worker: r.workerId, ok: r.ok, ms: Math.round(r.latencyMs * 1000) / 1000, ...(r.error ? { error: r.error } : {}) });

export function createFleetClient(db: Kysely<Database>, options: FleetCallOptions = {}): FleetClient {
  return {
    async applyGeneration(args): Promise<AppliedGeneration> {
      // The worker list is read while the generation commits: a worker that registers in between
      // reads the latest generation itself after it starts listening, so it misses nothing.
      const [published, workers] = await Promise.all([publishGeneration(db, args), liveWorkers(db, options)]);
      const pushed = await pushGeneration(db, { ...options, model: args.model, workers, generation: generationFromRow(published) });
      return { generation: pushed.generation, workers: pushed.workers, acked: pushed.acked, allAcked: pushed.allAcked, acks: pushed.acks.map(toAck) };
    },
    async prewarm(args): Promise<PrewarmResult> {
      const r = await prewarmVersion(db, { ...options, ...args });
      return { workers: r.workers, ready: r.succeeded, allReady: r.allSucceeded, results: r.results.map(toAck) };
    },
    async unload(args): Promise<void> {
      const r = await unloadVersion(db, { ...options, ...args });
      if (!r.allSucceeded) {
        throw new FleetError('not_acked', `unload of ${args.model} ${args.version}: ${r.results.filter((x) => !x.ok).map((x) => `${x.workerId}: ${x.error}`).join('; ')}`);
      }
    },
  };
}
