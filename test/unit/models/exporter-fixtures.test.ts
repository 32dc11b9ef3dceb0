// The exporter-shaped fixtures (scripts/build-exporter-fixtures.ts): current on disk, loadable by
// ONNX Runtime through the project's loader, with the inputs and outputs the manifest declares,
// and answers that make sense for what each one mimics.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EXPORTER_FIXTURE_KINDS, evaluationInputs, exporterEvaluationSet, exporterFixtureManifest, exporterFixtureModel,
  type EvaluationInput, type ExporterFixtureKind,
} from '../../../src/models/fixtures.js';
import { loadModelSession, tensorFromValues, type LoadedModel } from '../../../src/models/onnx-runtime.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const loaded = new Map<ExporterFixtureKind, LoadedModel>();

beforeAll(async () => {
  for (const kind of EXPORTER_FIXTURE_KINDS) loaded.set(kind, await loadModelSession(exporterFixtureModel(kind).path, { sessionOptions: { intraOpNumThreads: 1 } }));
});
afterAll(async () => {
  for (const model of loaded.values()) await model.session.release();
});

const feed = (input: EvaluationInput): Tensor => tensorFromValues(input.type, input.values, input.shape);

/** Runs the model on its whole evaluation set; also returns the labels. */
async function runEvaluation(kind: ExporterFixtureKind) {
  const { columns, rows } = exporterEvaluationSet(kind);
  const inputs = evaluationInputs(exporterFixtureModel(kind).entry, columns, rows);
  const outputs = await (loaded.get(kind) as LoadedModel).session.run(Object.fromEntries(inputs.map((i) => [i.name, feed(i)])));
  const labelAt = columns.indexOf('label');
  return { outputs, inputs, labels: rows.map((r) => Number(r[labelAt])), rows: rows.length };
}

const argmax = (values: ArrayLike<number>) => {
  let best = 0;
  for (let i = 1; i < values.length; i++) if ((values[i] as number) > (values[best] as number)) best = i;
  return best;
};

describe('exporter fixtures', () => {
  it('are what a fresh build writes, byte for byte', async () => {
    const { stdout } = await promisify(execFile)(`${root}node_modules/.bin/tsx`, ['scripts/build-exporter-fixtures.ts', '--check'], { cwd: root });
    expect(stdout).toMatch(/up to date \(17 files\)/);
  });

  it('covers every kind once, with the hashes, sizes and evaluation sets the manifest names', async () => {
    const manifest = exporterFixtureManifest();
    expect(manifest.models.map((m) => m.kind)).toEqual([...EXPORTER_FIXTURE_KINDS]);
    for (const kind of EXPORTER_FIXTURE_KINDS) {
      const fixture = exporterFixtureModel(kind);
      const bytes = await readFile(fixture.path);
      expect(createHash('sha256').update(bytes).digest('hex'), kind).toBe(fixture.sha256);
      expect(bytes.length).toBe(fixture.sizeBytes);
      const csv = await readFile(fixture.datasetPath);
      expect(createHash('sha256').update(csv).digest('hex'), kind).toBe(fixture.entry.dataset.sha256);
      const { columns, rows } = exporterEvaluationSet(kind);
      const features = fixture.entry.inputs.flatMap((i) => i.features ?? []);
      expect(columns, kind).toEqual([...features, 'label', ...(fixture.entry.dataset.segment ? ['segment'] : [])]);
      expect(rows).toHaveLength(fixture.entry.dataset.rows);
      for (const row of rows) expect(row).toHaveLength(columns.length);
    }
  });

  it('load in ONNX Runtime with exactly the declared input and output names, element types and shapes', () => {
    for (const kind of EXPORTER_FIXTURE_KINDS) {
      const { entry } = exporterFixtureModel(kind);
      const { signature } = loaded.get(kind) as LoadedModel;
      const strip = (specs: typeof entry.inputs) => specs.map(({ name, type, shape }) => ({ name, type, shape }));
      expect(signature.inputs, kind).toEqual(strip(entry.inputs));
      expect(signature.outputs, kind).toEqual(strip(entry.outputs));
    }
    // What each mimics, spelled out.
    expect(exporterFixtureModel('binary-label-probabilities').entry.outputs.map((o) => [o.name, o.type, o.shape])).toEqual([['label', 'int64', ['N']], ['probabilities', 'float32', ['N', 2]]]);
    expect(exporterFixtureModel('multiclass-logits').entry.inputs[0]?.shape[0]).toBe('batch_size');
    expect(exporterFixtureModel('multiclass-logits').entry.outputs).toEqual([{ name: 'logits', type: 'float32', shape: ['batch_size', 3] }]);
    expect(exporterFixtureModel('two-inputs').entry.inputs.map((i) => [i.name, i.type])).toEqual([['numeric', 'float32'], ['employment', 'int64']]);
    expect(loaded.get('zipmap')?.signature.outputs).toEqual([{ name: 'output_label', type: 'int64', shape: ['N'] }, { name: 'output_probability', type: 'non-tensor', shape: [] }]);
  });

  it('ZipMap: onnxruntime-node loads it and answers its tensor output, but cannot return the sequence of maps', async () => {
    const { columns, rows } = exporterEvaluationSet('zipmap');
    const [input] = evaluationInputs(exporterFixtureModel('zipmap').entry, columns, rows.slice(0, 3)) as [EvaluationInput];
    const session = (loaded.get('zipmap') as LoadedModel).session;
    const labelOnly = await session.run({ float_input: feed(input) }, ['output_label']);
    expect((labelOnly.output_label as Tensor).dims).toEqual([3]);
    await expect(session.run({ float_input: feed(input) })).rejects.toThrow(/non tensor type/i);
  });

  it('binary classifier: probability rows sum to 1, the label is their argmax, and it beats chance', async () => {
    const { outputs, labels, rows } = await runEvaluation('binary-label-probabilities');
    const label = outputs.label as Tensor;
    const probabilities = outputs.probabilities as Tensor;
    expect(label.dims).toEqual([rows]);
    expect(label.data).toBeInstanceOf(BigInt64Array);
    expect(probabilities.dims).toEqual([rows, 2]);
    const p = probabilities.data as Float32Array;
    let correct = 0;
    for (let r = 0; r < rows; r++) {
      const pair = p.subarray(2 * r, 2 * r + 2);
      expect((pair[0] as number) + (pair[1] as number)).toBeCloseTo(1, 6);
      expect(Number((label.data as BigInt64Array)[r])).toBe(argmax(pair));
      if (argmax(pair) === labels[r]) correct++;
    }
    expect(correct / rows).toBeGreaterThan(0.6);
  });

  it('multiclass MLP: raw logits [batch_size, 3] (not probabilities) whose argmax is mostly right, for any batch size', async () => {
    const { outputs, inputs, labels, rows } = await runEvaluation('multiclass-logits');
    const logits = outputs.logits as Tensor;
    expect(logits.dims).toEqual([rows, 3]);
    const z = logits.data as Float32Array;
    expect(z.some((v) => v < 0 || v > 1)).toBe(true);
    let correct = 0;
    for (let r = 0; r < rows; r++) if (argmax(z.subarray(3 * r, 3 * r + 3)) === labels[r]) correct++;
    expect(correct / rows).toBeGreaterThan(0.75);
    expect(new Set(labels)).toEqual(new Set([0, 1, 2]));
    // The named batch axis is dynamic: one row gives that row's logits.
    const one = inputs[0] as EvaluationInput;
    const single = await (loaded.get('multiclass-logits') as LoadedModel).session.run({ input: feed({ ...one, shape: [1, 4], values: one.values.slice(4, 8) }) });
    expect(Array.from((single.logits as Tensor).data as Float32Array)).toEqual(Array.from(z.subarray(3, 6)));
  });

  it('regressors: the same fit answers [N] and [N,1], close to the targets', async () => {
    const flat = await runEvaluation('regressor-flat');
    const column = await runEvaluation('regressor-column');
    expect((flat.outputs.prediction as Tensor).dims).toEqual([flat.rows]);
    expect((column.outputs.variable as Tensor).dims).toEqual([column.rows, 1]);
    const a = (flat.outputs.prediction as Tensor).data as Float32Array;
    const b = (column.outputs.variable as Tensor).data as Float32Array;
    for (let r = 0; r < flat.rows; r++) expect(a[r]).toBeCloseTo(b[r] as number, 5);
    const rmse = Math.sqrt(flat.labels.reduce((s, y, r) => s + (y - (a[r] as number)) ** 2, 0) / flat.rows);
    expect(rmse).toBeLessThan(0.7);
  });

  it('two inputs: a float32 matrix and an int64 category, and the category changes the probability', async () => {
    const { outputs, inputs, rows } = await runEvaluation('two-inputs');
    const probability = outputs.probability as Tensor;
    expect(probability.dims).toEqual([rows, 1]);
    for (const p of probability.data as Float32Array) expect(p > 0 && p < 1).toBe(true);
    const [numeric, employment] = inputs as [EvaluationInput, EvaluationInput];
    const session = (loaded.get('two-inputs') as LoadedModel).session;
    const byLevel = await Promise.all([0, 2].map(async (level) => {
      const out = await session.run({ numeric: feed({ ...numeric, shape: [1, 8], values: numeric.values.slice(0, 8) }), employment: feed({ ...employment, shape: [1, 1], values: [level] }) });
      return ((out.probability as Tensor).data as Float32Array)[0] as number;
    }));
    expect(byLevel[1]).not.toBeCloseTo(byLevel[0] as number, 3);
  });

  it('string category: the level names through LabelEncoder give exactly the int64 model\'s probabilities', async () => {
    const byName = await runEvaluation('string-category');
    const byIndex = await runEvaluation('two-inputs');
    expect(byName.inputs.map((i) => [i.name, i.type])).toEqual([['numeric', 'float32'], ['employment', 'string']]);
    expect(byName.inputs[1]?.values.slice(0, 3)).toEqual(byIndex.inputs[1]?.values.slice(0, 3).map((i) => ['salaried', 'self_employed', 'unemployed', 'student'][i as number]));
    expect(Array.from((byName.outputs.probability as Tensor).data as Float32Array)).toEqual(Array.from((byIndex.outputs.probability as Tensor).data as Float32Array));
  });

  it('float64: double in, Float64Array out, the same classifier as the float32 one', async () => {
    const { outputs, rows } = await runEvaluation('float64');
    const probability = outputs.probability as Tensor;
    expect(probability.type).toBe('float64');
    expect(probability.data).toBeInstanceOf(Float64Array);
    expect(probability.dims).toEqual([rows, 1]);
    const float32 = ((await runEvaluation('binary-label-probabilities')).outputs.probabilities as Tensor).data as Float32Array;
    for (let r = 0; r < rows; r++) expect((probability.data as Float64Array)[r]).toBeCloseTo(float32[2 * r + 1] as number, 5);
  });
});
