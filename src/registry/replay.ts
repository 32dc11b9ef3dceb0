// Replay: the logged requests of a window (the inputs serving workers sampled into inference_log)
// run again, in-process with ONNX Runtime, against one version; the report says how many outputs
// differ from what was served and by how much. Read-only.
import type { ModelVersion } from '../db/schema.js';
import { loadModelSession, runFloatMatrix } from '../models/onnx-runtime.js';
import type { ArtifactStore } from './artifacts.js';
import type { Db } from './db.js';
import { RegistryError } from './errors.js';
import { float32sFromBytes } from '../shared/float32-bytes.js';

export interface ReplayOptions {
  model: string;
  version: ModelVersion;
  from: Date | null;
  to: Date | null;
  /** Most logged requests replayed (oldest first). */
  limit: number;
  /** An output differs when any element differs by more than this. */
  tolerance: number;
  /** Rows per ONNX Runtime run. */
  batchRows?: number;
}

export interface ReplayReport {
  model: string;
  version: string;
  window: { from: string | null; to: string | null };
  requests: number;
  skipped: number;
  differing: number;
  classChanges: number;
  maxAbsDiff: number;
  meanAbsDiff: number;
  tolerance: number;
  byLoggedVersion: Record<string, { requests: number; differing: number; maxAbsDiff: number }>;
}

interface LoggedRequest { version: string; inputs: Float32Array; outputs: number[] }

/** A logged inputs column as floats; null when its length is not whole floats. */
function decodeInputs(bytes: Buffer | null): Float32Array | null {
  return bytes === null ? new Float32Array(0) : float32sFromBytes(bytes);
}

function rowWidth(shape: readonly number[], fallback: number): number {
  const dims = shape.slice(1);
  if (dims.length === 0) return 1;
  if (dims.some((d) => d < 0)) return fallback;
  return dims.reduce((a, b) => a * b, 1);
}

export async function replayInferenceLog(db: Db, store: ArtifactStore, opts: ReplayOptions): Promise<ReplayReport> {
  const signature = opts.version.signature;
  const input = signature.inputs[0];
  const output = signature.outputs[0];
  if (!input || !output || signature.inputs.length !== 1) {
    throw new RegistryError('invalid', `version ${opts.version.version} has ${signature.inputs.length} inputs; replay runs single-input models`, 'version');
  }
  let q = db.selectFrom('inference_log').select(['version', 'inputs', 'outputs'])
    .where('model', '=', opts.model).where('inputs', 'is not', null).where('outputs', 'is not', null);
  if (opts.from) q = q.where('at', '>=', opts.from);
  if (opts.to) q = q.where('at', '<=', opts.to);
  const rows = await q.orderBy('at').orderBy('id').limit(opts.limit).execute();

  const report: ReplayReport = {
    model: opts.model, version: opts.version.version,
    window: { from: opts.from?.toISOString() ?? null, to: opts.to?.toISOString() ?? null },
    requests: 0, skipped: 0, differing: 0, classChanges: 0, maxAbsDiff: 0, meanAbsDiff: 0, tolerance: opts.tolerance, byLoggedVersion: {},
  };
  if (rows.length === 0) return report;

  const bytes = await store.read(opts.version.artifact_uri);
  const loaded = await loadModelSession(bytes, { sourceName: `${opts.model}/${opts.version.version}`, sessionOptions: { intraOpNumThreads: 1 } });
  let absSum = 0;
  let compared = 0;
  try {
    const batchRows = opts.batchRows ?? 1024;
    let batch: Array<{ req: LoggedRequest; rows: number }> = [];
    let batchSize = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const width = rowWidth(input.shape, batch[0]?.req.inputs.length ?? 1);
      const features = new Float32Array(batchSize * width);
      let offset = 0;
      for (const { req } of batch) { features.set(req.inputs, offset); offset += req.inputs.length; }
      const out = await runFloatMatrix(loaded, features, batchSize);
      const outWidth = rowWidth(output.shape, out.length / batchSize);
      let row = 0;
      for (const { req, rows: n } of batch) {
        const fresh = out.subarray(row * outWidth, (row + n) * outWidth);
        row += n;
        const per = (report.byLoggedVersion[req.version] ??= { requests: 0, differing: 0, maxAbsDiff: 0 });
        if (req.outputs.length !== fresh.length) { report.skipped++; continue; }
        let maxAbs = 0;
        for (let i = 0; i < fresh.length; i++) {
          const d = Math.abs((fresh[i] as number) - (req.outputs[i] as number));
          if (Number.isFinite(d)) { absSum += d; compared++; if (d > maxAbs) maxAbs = d; }
        }
        let classChanged = false;
        for (let r = 0; r < n && !classChanged; r++) {
          classChanged = predictedClass(fresh, r, outWidth) !== predictedClass(req.outputs, r, outWidth);
        }
        report.requests++;
        per.requests++;
        if (classChanged) report.classChanges++;
        if (maxAbs > opts.tolerance) { report.differing++; per.differing++; }
        per.maxAbsDiff = Math.max(per.maxAbsDiff, maxAbs);
        report.maxAbsDiff = Math.max(report.maxAbsDiff, maxAbs);
      }
      batch = [];
      batchSize = 0;
    };
    for (const r of rows) {
      const inputs = decodeInputs(r.inputs);
      if (inputs === null) { report.skipped++; continue; }
      const req: LoggedRequest = { version: r.version, inputs, outputs: r.outputs ?? [] };
      const width = rowWidth(input.shape, req.inputs.length);
      if (req.inputs.length === 0 || width === 0 || req.inputs.length % width !== 0) { report.skipped++; continue; }
      const n = req.inputs.length / width;
      if (batch.length > 0 && rowWidth(input.shape, batch[0]?.req.inputs.length ?? 0) !== width) await flush();
      batch.push({ req, rows: n });
      batchSize += n;
      if (batchSize >= batchRows) await flush();
    }
    await flush();
  } finally {
    await loaded.session.release().catch(() => undefined);
  }
  report.meanAbsDiff = compared > 0 ? absSum / compared : 0;
  return report;
}

/** Class of row r: probability ≥ 0.5 for one output per row, arg-max otherwise. */
function predictedClass(values: ArrayLike<number>, r: number, width: number): number {
  if (width === 1) return (values[r] as number) >= 0.5 ? 1 : 0;
  let best = 0;
  for (let j = 1; j < width; j++) if ((values[r * width + j] as number) > (values[r * width + best] as number)) best = j;
  return best;
}

/** The time window of a rollout: from its start to its end (or now). */
export async function rolloutWindow(db: Db, rolloutId: string): Promise<{ from: Date; to: Date | null }> {
  const row = await db.selectFrom('rollouts').select(['started_at', 'ended_at']).where('id', '=', rolloutId).executeTakeFirst();
  if (!row) throw new RegistryError('not_found', `rollout ${rolloutId} not found`, 'rolloutId');
  return { from: row.started_at, to: row.ended_at };
}
