// Small ONNX models shaped like skl2onnx's classifiers, built here so the contract tests read
// signatures exactly as ONNX Runtime reports them: `label` int64 [N] + `probabilities` float32
// [N,2], and the same with the probabilities wrapped in a ZipMap (a sequence of maps).
import onnxProto from 'onnx-proto';
import { toStoredSignature } from '../../src/registry/inspect.js';
import type { ModelSignature } from '../../src/db/schema.js';
import { loadModelSession } from '../../src/models/onnx-runtime.js';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

function tensor(name: string, elemType: number, dims: (number | string)[]): onnxProto.onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } } };
}

/** A "classifier" whose input already holds the two class probabilities: Identity, ArgMax, optionally ZipMap. */
export function sklearnShapedClassifier(zipmap: boolean): Uint8Array {
  const nodes: onnxProto.onnx.INodeProto[] = [
    { opType: 'Identity', input: ['float_input'], output: ['probabilities'], name: 'copy' },
    {
      opType: 'ArgMax', input: ['float_input'], output: ['label'], name: 'argmax',
      attribute: [{ name: 'axis', i: 1, type: onnx.AttributeProto.AttributeType.INT }, { name: 'keepdims', i: 0, type: onnx.AttributeProto.AttributeType.INT }],
    },
  ];
  const outputs = [tensor('label', INT64, ['N'])];
  if (zipmap) {
    nodes.push({
      opType: 'ZipMap', domain: 'ai.onnx.ml', input: ['probabilities'], output: ['output_probability'], name: 'zipmap',
      attribute: [{ name: 'classlabels_int64s', ints: [0, 1], type: onnx.AttributeProto.AttributeType.INTS }],
    });
    outputs.push({
      name: 'output_probability',
      type: { sequenceType: { elemType: { mapType: { keyType: INT64, valueType: { tensorType: { elemType: FLOAT } } } } } },
    });
  } else {
    outputs.push(tensor('probabilities', FLOAT, ['N', 2]));
  }
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }, { domain: 'ai.onnx.ml', version: 1 }],
    producerName: 'skl2onnx-shaped test model',
    graph: { name: 'classifier', node: nodes, input: [tensor('float_input', FLOAT, ['N', 2])], output: outputs },
  });
  return new Uint8Array(onnx.ModelProto.encode(model).finish());
}

/** The signature registration would store for these bytes, read by ONNX Runtime. */
export async function storedSignatureOf(bytes: Uint8Array): Promise<ModelSignature> {
  const loaded = await loadModelSession(bytes, { sourceName: 'test model', sessionOptions: { intraOpNumThreads: 1 } });
  try {
    return toStoredSignature(loaded.signature);
  } finally {
    await loaded.session.release();
  }
}
