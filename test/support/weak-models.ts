// Deliberately weak models in the exporter fixtures' shapes, for champion/challenger tests: the
// same inputs and outputs as a fixture (so they keep its contract), written with the project's
// ONNX graph helpers into a directory the test owns.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ModelSignature } from '../../src/db/schema.js';
import { sha256Hex } from '../../src/models/index.js';
import { encodeGraphModel, graphNode as node, tensorInitializer, tensorValueInfo } from '../../src/models/onnx-graph.js';
import { storedSignatureOf } from './exporter-shapes.js';

export interface WeakModel { uri: string; sha256: string; sizeBytes: number; signature: ModelSignature; path: string }

async function write(dir: string, file: string, bytes: Uint8Array): Promise<WeakModel> {
  const p = path.join(dir, file);
  fs.writeFileSync(p, bytes);
  return { uri: pathToFileURL(p).href, sha256: sha256Hex(bytes), sizeBytes: bytes.length, signature: await storedSignatureOf(bytes), path: p };
}

const model = (name: string, graph: Parameters<typeof encodeGraphModel>[0]['graph']) => encodeGraphModel({
  irVersion: 8, opsets: [{ domain: '', version: 13 }], producerName: 'sluice weak test model', producerVersion: '1', docString: name, graph,
});

/**
 * A skl2onnx-shaped binary classifier (float_input [N,width] → label int64 [N], probabilities
 * float32 [N,2]) that looks at one feature only: sigmoid(weight · x[feature] + bias).
 */
export async function oneFeatureBinaryClassifier(dir: string, opts: { width: number; feature: number; weight: number; bias: number }): Promise<WeakModel> {
  const weights = Array.from({ length: opts.width }, (_, i) => (i === opts.feature ? opts.weight : 0));
  const bytes = model('one-feature classifier', {
    name: 'weak_classifier',
    node: [
      node('MatMul', ['float_input', 'coef'], ['logit_raw'], 'matmul'),
      node('Add', ['logit_raw', 'intercept'], ['logit'], 'add'),
      node('Sigmoid', ['logit'], ['positive'], 'sigmoid'),
      node('Sub', ['one', 'positive'], ['negative'], 'complement'),
      node('Concat', ['negative', 'positive'], ['probabilities'], 'concat', { axis: { int: 1 } }),
      node('ArgMax', ['probabilities'], ['label'], 'argmax', { axis: { int: 1 }, keepdims: { int: 0 } }),
    ],
    initializer: [
      tensorInitializer('coef', 'float32', [opts.width, 1], weights),
      tensorInitializer('intercept', 'float32', [1], [opts.bias]),
      tensorInitializer('one', 'float32', [1], [1]),
    ],
    input: [tensorValueInfo('float_input', 'float32', ['N', opts.width])],
    output: [tensorValueInfo('label', 'int64', ['N']), tensorValueInfo('probabilities', 'float32', ['N', 2])],
  });
  return await write(dir, 'weak-binary-classifier.onnx', bytes);
}

/** A skl2onnx-shaped regressor (float_input [N,width] → variable float32 [N,1]) that predicts one constant. */
export async function constantRegressor(dir: string, opts: { width: number; value: number }): Promise<WeakModel> {
  const bytes = model('constant regressor', {
    name: 'constant_regressor',
    node: [
      node('MatMul', ['float_input', 'coef'], ['zero'], 'matmul'),
      node('Add', ['zero', 'intercept'], ['variable'], 'add'),
    ],
    initializer: [
      tensorInitializer('coef', 'float32', [opts.width, 1], new Array<number>(opts.width).fill(0)),
      tensorInitializer('intercept', 'float32', [1], [opts.value]),
    ],
    input: [tensorValueInfo('float_input', 'float32', ['N', opts.width])],
    output: [tensorValueInfo('variable', 'float32', ['N', 1])],
  });
  return await write(dir, 'constant-regressor.onnx', bytes);
}
