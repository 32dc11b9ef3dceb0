import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREDIT_FEATURE_NAMES, CREDIT_SCHEMA, generateCreditData } from '../../../src/models/dataset.js';
import { writeModelFile } from '../../../src/models/model-file.js';
import { MODEL_METADATA_KEYS } from '../../../src/models/model-metadata.js';
import { exportModelToOnnx } from '../../../src/models/onnx-export.js';
import type { ExportMetadata } from '../../../src/models/onnx-export.js';
import { OnnxFormatError, readOnnxModelInfo } from '../../../src/models/onnx-model-info.js';
import type { LoadedModel } from '../../../src/models/onnx-runtime.js';
import { ModelLoadError, loadModelSession, runFloatMatrix } from '../../../src/models/onnx-runtime.js';
import type { TrainedModel } from '../../../src/models/train.js';
import { predict, trainLogisticRegression, trainMlp, trainingSetFromColumns } from '../../../src/models/train.js';

const training = trainingSetFromColumns(CREDIT_SCHEMA, generateCreditData(3000, 31));
const comparison = trainingSetFromColumns(CREDIT_SCHEMA, generateCreditData(1000, 32));
const sessionOptions = { intraOpNumThreads: 1 };
const exportMetadata = (trained: TrainedModel, version: string): ExportMetadata => ({
  modelName: 'credit-risk',
  modelVersion: version,
  trainingDataSha256: trained.trainingDataSha256,
  createdAt: '2026-01-01T00:00:00.000Z',
});

const models = {
  'logistic regression': trainLogisticRegression(training, { seed: 1, epochs: 10 }),
  'MLP (tanh)': trainMlp(training, { seed: 1, hiddenUnits: 8, epochs: 8 }),
  'MLP (relu)': trainMlp(training, { seed: 1, hiddenUnits: 8, epochs: 8, activation: 'relu' }),
};

let directory: string;
const loaded: LoadedModel[] = [];
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'sluice-models-'));
});
afterAll(async () => {
  await Promise.all(loaded.map((model) => model.session.release()));
  await rm(directory, { recursive: true, force: true });
});
async function load(source: string | Uint8Array): Promise<LoadedModel> {
  const model = await loadModelSession(source, { sessionOptions });
  loaded.push(model);
  return model;
}

describe('ONNX export', () => {
  for (const [name, trained] of Object.entries(models)) {
    it(`${name}: ONNX Runtime gives the TypeScript forward pass's probabilities (≤ 1e-5 on 1,000 rows)`, async () => {
      const model = await load(exportModelToOnnx(trained.params, exportMetadata(trained, '1')));
      const fromRuntime = await runFloatMatrix(model, comparison.features, comparison.rows);
      const fromTypeScript = predict(trained.params, comparison.features, comparison.rows);
      expect(fromRuntime.length).toBe(1000);
      let worst = 0;
      for (let i = 0; i < fromTypeScript.length; i++) worst = Math.max(worst, Math.abs(fromRuntime[i]! - fromTypeScript[i]!));
      expect(worst).toBeLessThanOrEqual(1e-5);
    });
  }

  it('has the serving contract: input float32 [batch, F], output probability float32 [batch, 1]', async () => {
    const trained = models['MLP (tanh)'];
    const model = await load(exportModelToOnnx(trained.params, exportMetadata(trained, '2')));
    expect(model.signature).toEqual({
      inputs: [{ name: 'input', type: 'float32', shape: ['batch', CREDIT_FEATURE_NAMES.length] }],
      outputs: [{ name: 'probability', type: 'float32', shape: ['batch', 1] }],
    });
    const result = await model.session.run({ input: new (await import('onnxruntime-node')).Tensor('float32', comparison.features.subarray(0, 3 * 19), [3, 19]) });
    expect(result.probability?.dims).toEqual([3, 1]);
    expect(model.info.opsets).toEqual({ '': 13 });
    expect(model.info.irVersion).toBe(8);
    expect(model.info.producerName).toBe('sluice');
  });

  it('falls back along the execution provider preferences and says which one it got', async () => {
    const trained = models['logistic regression'];
    const bytes = exportModelToOnnx(trained.params, exportMetadata(trained, '1'));
    const plain = await load(bytes);
    expect(plain.executionProvider).toBe('cpu');
    expect(plain.providerFallbacks).toEqual([]);

    // A provider this build lacks (rather than CUDA, whose native probe logs to stderr).
    const model = await loadModelSession(bytes, { executionProviders: ['no-such-accelerator', 'cpu'], sessionOptions });
    loaded.push(model);
    expect(model.executionProvider).toBe('cpu');
    expect(model.providerFallbacks).toEqual([{ provider: 'no-such-accelerator', reason: expect.stringMatching(/not in this onnxruntime-node build/) }]);
    await expect(loadModelSession(bytes, { executionProviders: ['no-such-accelerator'] })).rejects.toThrow(
      /Cannot load ONNX model \(in-memory bytes\): ONNX Runtime refused it: execution provider no-such-accelerator is not in this onnxruntime-node build/,
    );
  });

  it('round-trips its metadata through a file: feature names, version, data hash, trainer', async () => {
    const trained = models['logistic regression'];
    const bytes = exportModelToOnnx(trained.params, { ...exportMetadata(trained, '7'), description: 'test model' });
    const path = join(directory, 'nested', 'credit-v7.onnx');
    const written = await writeModelFile(path, bytes);
    expect(written.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(new Uint8Array(await readFile(path))).toEqual(bytes);

    const model = await load(path);
    expect(model.source).toBe(path);
    expect(model.sha256).toBe(written.sha256);
    expect(model.metadata).toEqual({
      modelName: 'credit-risk',
      modelVersion: '7',
      featureNames: CREDIT_FEATURE_NAMES,
      trainingDataSha256: trained.trainingDataSha256,
      trainer: 'logistic_regression',
      createdAt: '2026-01-01T00:00:00.000Z',
    });
    expect(model.info.metadata[MODEL_METADATA_KEYS.modelVersion]).toBe('7');
    expect(model.info.modelVersion).toBe(7);
    expect(model.info.docString).toBe('test model');
  });

  it('is deterministic: the same seed gives identical bytes', () => {
    const again = trainMlp(training, { seed: 1, hiddenUnits: 8, epochs: 8 });
    const first = exportModelToOnnx(models['MLP (tanh)'].params, exportMetadata(models['MLP (tanh)'], '2'));
    const second = exportModelToOnnx(again.params, exportMetadata(again, '2'));
    expect(Buffer.from(second).equals(Buffer.from(first))).toBe(true);
    const otherSeed = trainMlp(training, { seed: 2, hiddenUnits: 8, epochs: 8 });
    expect(Buffer.from(exportModelToOnnx(otherSeed.params, exportMetadata(otherSeed, '2'))).equals(Buffer.from(first))).toBe(false);
  });

  it('refuses parameters that do not fit the features', () => {
    const { params } = models['logistic regression'];
    expect(() => exportModelToOnnx({ ...params, weights: params.weights.slice(1) }, exportMetadata(models['logistic regression'], '1'))).toThrow(/weights has 18 values/);
    expect(() => exportModelToOnnx({ ...params, bias: Number.NaN }, exportMetadata(models['logistic regression'], '1'))).toThrow(/finite/);
  });
});

describe('loading a model that is not one', () => {
  const valid = exportModelToOnnx(models['logistic regression'].params, exportMetadata(models['logistic regression'], '1'));

  async function expectLoadError(source: string | Uint8Array, reason: RegExp): Promise<ModelLoadError> {
    const error = await loadModelSession(source, { sessionOptions }).then(
      () => { throw new Error('expected the load to fail'); },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ModelLoadError);
    const loadError = error as ModelLoadError;
    expect(loadError.message).toMatch(reason);
    expect(loadError.message).not.toMatch(/\n\s+at /);
    return loadError;
  }

  it('truncated bytes', async () => {
    const path = join(directory, 'truncated.onnx');
    await writeFile(path, valid.subarray(0, Math.floor(valid.length / 2)));
    const error = await expectLoadError(path, /protobuf parsing failed/i);
    expect(error.message).toContain(path);
    expect(error.source).toBe(path);
  });

  it('random bytes', async () => {
    const path = join(directory, 'random.onnx');
    await writeFile(path, Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24));
    await expectLoadError(path, new RegExp(`Cannot load ONNX model ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ONNX Runtime refused it`));
  });

  it('a text file', async () => {
    const path = join(directory, 'model.onnx');
    await writeFile(path, 'this is a README, not a model\n');
    await expectLoadError(path, /model\.onnx: ONNX Runtime refused it: .*protobuf/i);
  });

  it('an empty file, a missing file, a directory', async () => {
    const empty = join(directory, 'empty.onnx');
    await writeFile(empty, '');
    await expectLoadError(empty, /empty\.onnx: the file is empty/);
    await expectLoadError(join(directory, 'absent.onnx'), /absent\.onnx: no such file/);
    await expectLoadError(directory, /it is a directory/);
  });

  it('in-memory bytes are named by the caller', async () => {
    const error = await loadModelSession(new TextEncoder().encode('nope'), { sourceName: 'upload credit-v9.onnx' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as Error).message).toMatch(/^Cannot load ONNX model upload credit-v9\.onnx: /);
  });
});

describe('readOnnxModelInfo', () => {
  it('reads the header and metadata without decoding the graph', () => {
    const trained = models['MLP (tanh)'];
    const info = readOnnxModelInfo(exportModelToOnnx(trained.params, exportMetadata(trained, '2')));
    expect(info).toMatchObject({ irVersion: 8, producerName: 'sluice', modelVersion: 2, hasGraph: true, opsets: { '': 13 } });
    expect(JSON.parse(info.metadata[MODEL_METADATA_KEYS.featureNames]!)).toEqual(CREDIT_FEATURE_NAMES);
  });

  it('names where malformed bytes break', () => {
    const trained = models['logistic regression'];
    const bytes = exportModelToOnnx(trained.params, exportMetadata(trained, '1'));
    expect(() => readOnnxModelInfo(bytes.subarray(0, bytes.length - 3))).toThrow(OnnxFormatError);
    expect(() => readOnnxModelInfo(bytes.subarray(0, bytes.length - 3))).toThrow(/malformed .* at byte \d+/);
    expect(() => readOnnxModelInfo(new Uint8Array(0))).toThrow(/empty/);
    expect(() => readOnnxModelInfo(new TextEncoder().encode('{"json": true}'))).toThrow(OnnxFormatError);
  });
});
