// Replay: the logged requests of a window (the inputs serving workers sampled into inference_log)
// run again, in-process with ONNX Runtime, against one version; the report says, output by output,
// how many rows differ from what was served and by how much, and by the model's contract how far
// the score moved and how many rows changed predicted class. Read-only.
//
// The log keeps each request's inputs as float32, every input's row in signature order with string
// inputs left out, and its outputs the same way (serving/log/inference-log.ts loggable). So a
// version with a string input cannot be replayed from the log: the report says so instead of
// failing. float64 and integer inputs are fed back from their float32 copies (noted in the report).
import { NON_TENSOR, rowWidth, type ModelContract, type TensorSpec } from '../contracts/contract.js';
import { extractScores, predictedClasses, rowScores, type OutputValues } from '../contracts/score.js';
import { loggedRowLayout, type LoggedRowLayout } from '../contracts/logged-row.js';
import type { ModelVersion } from '../db/schema.js';
import { loadModelSession, runFeeds, type LoadedModel } from '../models/onnx-runtime.js';
import { float32sFromBytes } from '../shared/float32-bytes.js';
import type { ArtifactStore } from './artifacts.js';
import type { Db } from './db.js';
import { RegistryError } from './errors.js';

export interface ReplayOptions {
  model: string;
  version: ModelVersion;
  /** The model's contract: how the score and the predicted class are read; null keeps the first-output rule. */
  contract: ModelContract | null;
  from: Date | null;
  to: Date | null;
  /** Most logged requests replayed (oldest first). */
  limit: number;
  /** An output differs when any element differs by more than this. */
  tolerance: number;
  /** Rows per ONNX Runtime run. */
  batchRows?: number;
}

/** One output compared row by row, in float32 as the log keeps it. */
export interface OutputReplay { name: string; rows: number; differingRows: number; maxAbsDiff: number; meanAbsDiff: number }

/** The score as the contract reads it, replayed against served; class changes for classifiers only. */
export interface ScoreReplay { task: ModelContract['task']; rows: number; maxAbsDiff: number; classChangedRows: number | null; classChangeShare: number | null }

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
  /** Rows replayed (a request may carry several). */
  rows: number;
  outputs: OutputReplay[];
  score: ScoreReplay | null;
  /** Why the version's requests cannot be replayed from the log (nothing was run), or why replaying stopped; null when all could. */
  unreplayable: string | null;
  notes: string[];
}

/** Element types replay can feed back from the log's float32 copy. */
const FEEDABLE: ReadonlySet<string> = new Set(['float32', 'float64', 'int64', 'int32', 'bool']);

interface InputLayout { spec: TensorSpec; width: number | null }
/** `outputs`: the ones the log keeps, in its order; `compared`: those of them compared (float16 is kept but not decoded here). */
interface Plan { inputs: InputLayout[]; outputs: TensorSpec[]; compared: TensorSpec[]; notes: string[] }

/** How the version's logged rows split into its inputs, or why they cannot. */
function replayPlan(version: ModelVersion): Plan | { unreplayable: string } {
  const sig = version.signature;
  const notes: string[] = [];
  if (sig.inputs.length === 0) return { unreplayable: `version ${version.version} has no inputs` };
  for (const spec of sig.inputs) {
    if (spec.datatype === 'string') {
      return { unreplayable: `input ${spec.name} is string: the inference log keeps inputs as float32 numbers and leaves strings out, so requests to version ${version.version} cannot be replayed from the log` };
    }
    if (!FEEDABLE.has(spec.datatype)) return { unreplayable: `input ${spec.name} is ${spec.datatype}: replay feeds float32, float64, int64, int32 and bool inputs from the log` };
    if (spec.datatype === 'float64') notes.push(`input ${spec.name} is float64: the log keeps float32, so it is fed rounded to float32 and small differences are expected`);
    if (spec.datatype === 'int64' || spec.datatype === 'int32') notes.push(`input ${spec.name} is ${spec.datatype}: the log keeps float32, exact for integers up to 16,777,216 in magnitude`);
  }
  const inputs = sig.inputs.map((spec) => ({ spec, width: rowWidth(spec) }));
  const open = inputs.find((i) => i.width === null);
  if (open && (inputs.length > 1 || open.spec.shape.length > 2)) {
    return { unreplayable: `input ${open.spec.name} has an open dimension besides the batch: the log cannot tell where its rows end` };
  }
  const outputs = sig.outputs.filter((o) => o.datatype !== 'string' && o.datatype !== NON_TENSOR);
  const compared = outputs.filter((o) => o.datatype !== 'float16');
  for (const o of sig.outputs) if (!compared.includes(o)) notes.push(`output ${o.name} (${o.datatype}) is not compared`);
  return { inputs, outputs, compared, notes };
}

/** An output's rows of one request in float32, as the log keeps them. */
interface FloatOutput { data: Float32Array; dims: number[] }

interface LoggedRequest { version: string; inputs: Float32Array; outputs: number[]; rows: number }

/** The fixed shape after the batch dimension of an input fed `width` values per row. */
function feedShape(spec: TensorSpec, rows: number, width: number): number[] {
  if (spec.shape.length <= 1) return [rows];
  if (spec.shape.length === 2) return [rows, width];
  return [rows, ...spec.shape.slice(1)];
}

function emptyReport(opts: ReplayOptions): ReplayReport {
  return {
    model: opts.model, version: opts.version.version,
    window: { from: opts.from?.toISOString() ?? null, to: opts.to?.toISOString() ?? null },
    requests: 0, skipped: 0, differing: 0, classChanges: 0, maxAbsDiff: 0, meanAbsDiff: 0, tolerance: opts.tolerance, byLoggedVersion: {},
    rows: 0, outputs: [], score: null, unreplayable: null, notes: [],
  };
}

export async function replayInferenceLog(db: Db, store: ArtifactStore, opts: ReplayOptions): Promise<ReplayReport> {
  let q = db.selectFrom('inference_log').select(['version', 'inputs', 'outputs'])
    .where('model', '=', opts.model).where('inputs', 'is not', null).where('outputs', 'is not', null);
  if (opts.from) q = q.where('at', '>=', opts.from);
  if (opts.to) q = q.where('at', '<=', opts.to);
  const logged = await q.orderBy('at').orderBy('id').limit(opts.limit).execute();

  const report = emptyReport(opts);
  const plan = replayPlan(opts.version);
  if ('unreplayable' in plan) return { ...report, skipped: logged.length, unreplayable: plan.unreplayable };
  report.notes = plan.notes;
  if (logged.length === 0) return report;

  const fixedWidth = plan.inputs.every((i) => i.width !== null) ? plan.inputs.reduce((a, i) => a + (i.width as number), 0) : null;
  const loaded = await loadModelSession(await store.read(opts.version.artifact_uri), { sourceName: `${opts.model}/${opts.version.version}`, sessionOptions: { intraOpNumThreads: 1 } });
  const tally = new Tally(opts, plan);
  try {
    const batchRows = opts.batchRows ?? 1024;
    let batch: LoggedRequest[] = [];
    let batchSize = 0;
    const flush = async () => {
      try {
        if (batch.length > 0) await tally.replayBatch(loaded, batch, batchSize, report);
      } catch (err) {
        // Logged rows the version cannot run (another version's layout, values out of its range):
        // the report says what ONNX Runtime said, with what was compared before it.
        const message = (err instanceof Error ? err.message : String(err)).split('\n')[0];
        report.unreplayable = `ONNX Runtime could not run version ${opts.version.version} on the logged rows: ${message}`;
      }
      batch = [];
      batchSize = 0;
    };
    for (const r of logged) {
      if (report.unreplayable) break;
      const inputs = r.inputs === null ? null : float32sFromBytes(r.inputs);
      // One input with an open row width: each logged request is one row of it (as it was served).
      const width = fixedWidth ?? inputs?.length ?? 0;
      if (inputs === null || inputs.length === 0 || width === 0 || inputs.length % width !== 0) { report.skipped++; continue; }
      const req: LoggedRequest = { version: r.version, inputs, outputs: r.outputs ?? [], rows: inputs.length / width };
      if (fixedWidth === null && batch.length > 0 && batch[0]?.inputs.length !== inputs.length) await flush();
      batch.push(req);
      batchSize += req.rows;
      if (batchSize >= batchRows) await flush();
    }
    await flush();
  } finally {
    await loaded.session.release().catch(() => undefined);
  }
  return tally.finish(report);
}

/** Running sums of a replay, output by output and for the score. */
class Tally {
  private readonly perOutput: Array<OutputReplay & { absSum: number; count: number }>;
  private absSum = 0;
  private compared = 0;
  private score: (ScoreReplay & { classRows: number }) | null;

  constructor(private readonly opts: ReplayOptions, private readonly plan: Plan) {
    this.perOutput = plan.compared.map((o) => ({ name: o.name, rows: 0, differingRows: 0, maxAbsDiff: 0, meanAbsDiff: 0, absSum: 0, count: 0 }));
    this.score = opts.contract ? { task: opts.contract.task, rows: 0, maxAbsDiff: 0, classChangedRows: opts.contract.task === 'regression' ? null : 0, classChangeShare: null, classRows: 0 } : null;
  }

  /** Runs one batch of logged requests and compares each request's rows with what was served. */
  async replayBatch(loaded: LoadedModel, batch: LoggedRequest[], rows: number, report: ReplayReport): Promise<void> {
    const open = (batch[0]?.inputs.length ?? 0) / (batch[0]?.rows ?? 1);
    const layout = loggedRowLayout(this.plan.inputs.map((i) => i.spec), open) as LoggedRowLayout;
    const total = layout.width;
    const feeds = layout.slices.map(({ spec, width: w, offset }) => {
      const values: number[] = new Array<number>(rows * w);
      let at = 0;
      for (const req of batch) {
        for (let r = 0; r < req.rows; r++) for (let j = 0; j < w; j++) values[at++] = req.inputs[r * total + offset + j] as number;
      }
      return { name: spec.name, elementType: spec.datatype, shape: feedShape(spec, rows, w), values };
    });
    const fresh = await runFeeds(loaded, feeds);
    let row = 0;
    for (const req of batch) {
      this.compareRequest(req, fresh, row, report);
      row += req.rows;
    }
  }

  private compareRequest(req: LoggedRequest, fresh: Record<string, OutputValues>, firstRow: number, report: ReplayReport): void {
    const n = req.rows;
    // Each logged output's slice of this request's rows, rounded to float32 as the log keeps it.
    const served: Record<string, FloatOutput> = {};
    const replayed: Record<string, FloatOutput> = {};
    let loggedWidth = 0;
    for (const o of this.plan.outputs) {
      const out = fresh[o.name];
      if (!out) {
        report.skipped++;
        return;
      }
      const w = out.dims.slice(1).reduce((a, b) => a * b, 1);
      const data = new Float32Array(n * w);
      for (let i = 0; i < n * w; i++) data[i] = Number(out.data[firstRow * w + i]);
      replayed[o.name] = { data, dims: [n, ...out.dims.slice(1)] };
      loggedWidth += w;
    }
    if (req.outputs.length !== n * loggedWidth) {
      report.skipped++;
      return;
    }
    let offset = 0;
    for (const o of this.plan.outputs) {
      const mine = replayed[o.name] as FloatOutput;
      const w = mine.data.length / Math.max(n, 1);
      const data = new Float32Array(n * w);
      for (let r = 0; r < n; r++) for (let j = 0; j < w; j++) data[r * w + j] = req.outputs[r * loggedWidth + offset + j] as number;
      served[o.name] = { data, dims: mine.dims };
      offset += w;
    }

    let requestMax = 0;
    let requestDiffers = false;
    this.plan.compared.forEach((o, k) => {
      const stats = this.perOutput[k] as (typeof this.perOutput)[number];
      const a = (served[o.name] as FloatOutput).data;
      const b = (replayed[o.name] as FloatOutput).data;
      const w = a.length / Math.max(n, 1);
      for (let r = 0; r < n; r++) {
        let differs = false;
        for (let j = r * w; j < (r + 1) * w; j++) {
          const x = a[j] as number;
          const y = b[j] as number;
          if (Number.isNaN(x) || Number.isNaN(y)) { differs ||= Number.isNaN(x) !== Number.isNaN(y); continue; }
          const d = Math.abs(x - y);
          stats.absSum += d; stats.count++; this.absSum += d; this.compared++;
          if (d > stats.maxAbsDiff) stats.maxAbsDiff = d;
          if (d > requestMax) requestMax = d;
          if (d > this.opts.tolerance) differs = true;
        }
        stats.rows++;
        if (differs) { stats.differingRows++; requestDiffers = true; }
      }
    });

    const classChanged = this.compareScores(served, replayed, n);
    const per = (report.byLoggedVersion[req.version] ??= { requests: 0, differing: 0, maxAbsDiff: 0 });
    report.requests++;
    report.rows += n;
    per.requests++;
    if (classChanged) report.classChanges++;
    if (requestDiffers) { report.differing++; per.differing++; }
    per.maxAbsDiff = Math.max(per.maxAbsDiff, requestMax);
    report.maxAbsDiff = Math.max(report.maxAbsDiff, requestMax);
  }

  /** Score and class of each row, served vs replayed; whether any row's class changed. */
  private compareScores(served: Record<string, OutputValues>, replayed: Record<string, OutputValues>, n: number): boolean {
    const contract = this.opts.contract;
    if (!contract || !this.score) return firstOutputClassChanged(served, replayed, this.plan.compared[0]?.name, n);
    const before = extractScores(contract, served);
    const after = extractScores(contract, replayed);
    if (!before.ok || !after.ok) return false;
    const s0 = rowScores(before);
    const s1 = rowScores(after);
    for (let r = 0; r < n; r++) {
      const d = Math.abs((s0[r] as number) - (s1[r] as number));
      if (Number.isFinite(d) && d > this.score.maxAbsDiff) this.score.maxAbsDiff = d;
    }
    this.score.rows += n;
    const c0 = predictedClasses(contract, before);
    const c1 = predictedClasses(contract, after);
    if (!c0 || !c1 || this.score.classChangedRows === null) return false;
    let changed = 0;
    for (let r = 0; r < n; r++) if (c0[r] !== c1[r]) changed++;
    this.score.classChangedRows += changed;
    this.score.classRows += n;
    return changed > 0;
  }

  finish(report: ReplayReport): ReplayReport {
    report.meanAbsDiff = this.compared > 0 ? this.absSum / this.compared : 0;
    report.outputs = this.perOutput.map(({ absSum, count, ...o }) => ({ ...o, meanAbsDiff: count > 0 ? absSum / count : 0 }));
    if (this.score) {
      const { classRows, ...score } = this.score;
      report.score = { ...score, classChangeShare: score.classChangedRows === null || classRows === 0 ? null : score.classChangedRows / classRows };
    }
    return report;
  }
}

/** Without a contract: the first output's class, a probability cut at 0.5 for one column, the arg-max otherwise. */
function firstOutputClassChanged(served: Record<string, OutputValues>, replayed: Record<string, OutputValues>, name: string | undefined, n: number): boolean {
  const a = name ? served[name] : undefined;
  const b = name ? replayed[name] : undefined;
  if (!a || !b) return false;
  const w = a.data.length / Math.max(n, 1);
  const classOf = (values: OutputValues['data'], r: number) => {
    if (w === 1) return Number(values[r]) >= 0.5 ? 1 : 0;
    let best = 0;
    for (let j = 1; j < w; j++) if (Number(values[r * w + j]) > Number(values[r * w + best])) best = j;
    return best;
  };
  for (let r = 0; r < n; r++) if (classOf(a.data, r) !== classOf(b.data, r)) return true;
  return false;
}

/** The time window of a rollout: from its start to its end (or now). */
export async function rolloutWindow(db: Db, rolloutId: string): Promise<{ from: Date; to: Date | null }> {
  const row = await db.selectFrom('rollouts').select(['started_at', 'ended_at']).where('id', '=', rolloutId).executeTakeFirst();
  if (!row) throw new RegistryError('not_found', `rollout ${rolloutId} not found`, 'rolloutId');
  return { from: row.started_at, to: row.ended_at };
}
