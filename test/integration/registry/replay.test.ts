// Replay of exporter-shaped models from the inference log, on a real PostgreSQL and ONNX Runtime:
// rows logged as the workers log them (every numeric input's row, then every numeric output's, in
// signature order, as float32), replayed against the version, compared output by output and by
// the contract's score and predicted class. A string input cannot be replayed from the log, and
// the report says so.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { feedsFor, type EvaluationSet } from '../../../src/contracts/index.js';
import type { ModelVersion } from '../../../src/db/schema.js';
import { exporterFixtureModel, type ExporterFixtureKind } from '../../../src/models/fixtures.js';
import { loadModelSession, runFeeds } from '../../../src/models/onnx-runtime.js';
import { ArtifactStore } from '../../../src/registry/artifacts.js';
import { replayInferenceLog } from '../../../src/registry/replay.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';
import { exporterFixtureContract, exporterReferenceColumns, exporterVersionRow } from '../../support/exporter-contracts.js';

let t: TestDatabase;
let root: string;
let store: ArtifactStore;
beforeAll(async () => {
  t = await createTestDatabase();
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'sluice-replay-'));
  store = new ArtifactStore({ root });
});
afterAll(async () => {
  await t?.drop();
  await fs.rm(root, { recursive: true, force: true });
});

const at = new Date('2026-06-01T00:00:00Z');

/** The fixture in the store, and `rows` evaluation rows logged as a worker logs them (one request per row). */
async function logged(kind: ExporterFixtureKind, rows: number, tamper?: (output: string, values: number[], row: number) => void): Promise<ModelVersion> {
  const fixture = exporterFixtureModel(kind);
  const version = exporterVersionRow(kind, (await store.putBytes(await fs.readFile(fixture.path))).uri);
  const contract = exporterFixtureContract(kind);
  const columns = exporterReferenceColumns(kind);
  const set: EvaluationSet = { rows, columns, labels: [] };
  const feeds = feedsFor(contract, version.signature, set, Array.from({ length: rows }, (_, i) => i));
  if (!feeds.ok) throw new Error(feeds.message);
  const loaded = await loadModelSession(fixture.path);
  const outputs = await runFeeds(loaded, feeds.feeds);
  await loaded.session.release();
  const values = [];
  for (let r = 0; r < rows; r++) {
    const inputs: number[] = [];
    for (const spec of version.signature.inputs) {
      const feed = feeds.feeds.find((f) => f.name === spec.name);
      if (!feed || spec.datatype === 'string') continue;
      const w = feed.values.length / rows;
      for (let j = 0; j < w; j++) inputs.push(Number(feed.values[r * w + j]));
    }
    const out: number[] = [];
    for (const spec of version.signature.outputs) {
      const o = outputs[spec.name];
      if (!o || spec.datatype === 'string') continue;
      const w = o.data.length / rows;
      const row = Array.from({ length: w }, (_, j) => Number(o.data[r * w + j]));
      tamper?.(spec.name, row, r);
      out.push(...row);
    }
    values.push({ request_id: `${kind}-${r}`, at, model: kind, version: '1', inputs: Buffer.from(Float32Array.from(inputs).buffer), outputs: out, latency_us: 100, worker_id: 'w' });
  }
  await t.db.insertInto('inference_log').values(values).execute();
  return version;
}

const replay = async (kind: ExporterFixtureKind, version: ModelVersion) => await replayInferenceLog(t.db, store, {
  model: kind, version, contract: exporterFixtureContract(kind), from: null, to: null, limit: 1000, tolerance: 1e-5, batchRows: 16,
});

describe('replay compares every output and the score', () => {
  it('skl2onnx binary (label int64 + probabilities [N,2]): both outputs, unchanged when served as replayed', async () => {
    const version = await logged('binary-label-probabilities', 40);
    const report = await replay('binary-label-probabilities', version);
    expect(report).toMatchObject({ requests: 40, rows: 40, skipped: 0, differing: 0, classChanges: 0, unreplayable: null });
    expect(report.outputs.map((o) => [o.name, o.rows, o.differingRows])).toEqual([['label', 40, 0], ['probabilities', 40, 0]]);
    expect(report.outputs.every((o) => o.maxAbsDiff === 0)).toBe(true);
    expect(report.score).toEqual({ task: 'binary_classification', rows: 40, maxAbsDiff: 0, classChangedRows: 0, classChangeShare: 0 });
  });

  it('multiclass logits: a served answer that differs shows in the output, the score and the class-change share', async () => {
    // Rows 0..4 were served with the logits reversed (another model's answer): their top class moves.
    const version = await logged('multiclass-logits', 50, (_, values, row) => { if (row < 5) values.reverse(); });
    const report = await replay('multiclass-logits', version);
    expect(report.outputs).toHaveLength(1);
    expect(report.outputs[0]).toMatchObject({ name: 'logits', rows: 50 });
    expect(report.outputs[0]?.differingRows).toBeGreaterThanOrEqual(4); // a row with equal first and last logit reverses to itself
    expect(report.outputs[0]?.maxAbsDiff).toBeGreaterThan(0.01);
    expect(report.differing).toBe(report.outputs[0]?.differingRows);
    expect(report.score?.task).toBe('multiclass_classification');
    expect(report.score?.classChangedRows).toBe(report.classChanges);
    expect(report.classChanges).toBeGreaterThan(0);
    expect(report.classChanges).toBeLessThanOrEqual(5);
    expect(report.score?.classChangeShare).toBeCloseTo(report.classChanges / 50, 12);
  });

  it('two inputs (float32 [N,8] and int64 [N,1]): the logged row is split back into both, noting the integer input', async () => {
    const version = await logged('two-inputs', 30);
    const report = await replay('two-inputs', version);
    expect(report).toMatchObject({ requests: 30, skipped: 0, differing: 0, classChanges: 0 });
    expect(report.outputs.map((o) => o.name)).toEqual(['probability']);
    expect(report.notes.join('\n')).toContain('input employment is int64');
  });

  it('regression [N]: the prediction compared, no class changes', async () => {
    const version = await logged('regressor-flat', 20, (_, values, row) => { if (row === 0) values[0] = (values[0] as number) + 1; });
    const report = await replay('regressor-flat', version);
    expect(report.outputs[0]).toMatchObject({ name: 'prediction', rows: 20, differingRows: 1 });
    expect(report.outputs[0]?.maxAbsDiff).toBeCloseTo(1, 4);
    expect(report.score).toMatchObject({ task: 'regression', classChangedRows: null, classChangeShare: null });
    expect(report.score?.maxAbsDiff).toBeCloseTo(1, 4);
  });

  it('rows the version cannot run: ONNX Runtime\'s refusal in the report, not a failed call', async () => {
    // The regressor (5 features) stored under the multiclass model's signature (4): the logged rows do not fit it.
    const regressor = exporterFixtureModel('regressor-flat');
    const wrong = exporterVersionRow('multiclass-logits', (await store.putBytes(await fs.readFile(regressor.path))).uri, '9');
    const report = await replay('multiclass-logits', wrong);
    expect(report.unreplayable).toMatch(/^ONNX Runtime could not run version 9 on the logged rows: .*dimension/i);
    expect(report.requests).toBe(0);
  });

  it('a string input: not replayable from the log, said in the report', async () => {
    const fixture = exporterFixtureModel('string-category');
    const version = exporterVersionRow('string-category', (await store.putBytes(await fs.readFile(fixture.path))).uri);
    await t.db.insertInto('inference_log').values({ request_id: 's-0', at, model: 'string-category', version: '1', inputs: Buffer.from(new Float32Array(8).buffer), outputs: [0.5], latency_us: 1, worker_id: 'w' }).execute();
    const report = await replay('string-category', version);
    expect(report.requests).toBe(0);
    expect(report.skipped).toBe(1);
    expect(report.unreplayable).toMatch(/^input employment is string: the inference log keeps inputs as float32 numbers and leaves strings out/);
  });
});
