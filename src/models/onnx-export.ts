/**
 * Writes trained parameters as an ONNX model. The graph takes raw features — standardisation is
 * its first two nodes — so a caller sends the same numbers the encoder produces:
 *
 *   input float32 [batch, F] → Sub(mean) → Div(scale) → MatMul → Add → (Tanh|Relu → MatMul → Add)
 *     → Sigmoid → probability float32 [batch, 1]
 *
 * Only opset-13 standard operators, initializers as little-endian raw data, and Sluice's metadata
 * in metadata_props. The same parameters and metadata always give the same bytes.
 */
import { encodeGraphModel, graphNode as node, tensorInitializer, tensorValueInfo } from './onnx-graph.js';
import type { ModelMetadata } from './model-metadata.js';
import { modelMetadataProps } from './model-metadata.js';
import type { ModelParams } from './train.js';

/** ONNX IR version 8 (ONNX 1.10), the newest the onnx-proto schema describes. */
export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET_VERSION = 13;
export const MODEL_INPUT_NAME = 'input';
export const MODEL_OUTPUT_NAME = 'probability';
/** The symbolic batch dimension of the input and output. */
export const BATCH_DIMENSION = 'batch';
const PRODUCER_NAME = 'sluice';
const PRODUCER_VERSION = '0.1.0';

/** What the caller says about the model; the trainer kind and feature names come from the params. */
export interface ExportMetadata {
  readonly modelName: string;
  readonly modelVersion: string;
  readonly trainingDataSha256: string;
  readonly createdAt: string;
  readonly description?: string;
}

export function exportModelToOnnx(params: ModelParams, exportMetadata: ExportMetadata): Uint8Array {
  const width = params.featureNames.length;
  checkParams(params);
  const metadata: ModelMetadata = {
    modelName: exportMetadata.modelName,
    modelVersion: exportMetadata.modelVersion,
    featureNames: params.featureNames,
    trainingDataSha256: exportMetadata.trainingDataSha256,
    trainer: params.kind,
    createdAt: exportMetadata.createdAt,
  };

  const initializers = [
    floatTensor('feature_mean', [width], params.standardizer.mean),
    floatTensor('feature_scale', [width], params.standardizer.scale),
  ];
  const nodes = [
    node('Sub', [MODEL_INPUT_NAME, 'feature_mean'], ['centered'], 'standardize_center'),
    node('Div', ['centered', 'feature_scale'], ['standardized'], 'standardize_scale'),
  ];
  if (params.kind === 'logistic_regression') {
    initializers.push(floatTensor('weights', [width, 1], params.weights), floatTensor('bias', [1], [params.bias]));
    nodes.push(
      node('MatMul', ['standardized', 'weights'], ['linear'], 'linear_matmul'),
      node('Add', ['linear', 'bias'], ['logit'], 'linear_bias'),
    );
  } else {
    const hidden = params.hiddenUnits;
    initializers.push(
      floatTensor('hidden_weights', [width, hidden], params.hiddenWeights),
      floatTensor('hidden_bias', [hidden], params.hiddenBias),
      floatTensor('output_weights', [hidden, 1], params.outputWeights),
      floatTensor('output_bias', [1], [params.outputBias]),
    );
    nodes.push(
      node('MatMul', ['standardized', 'hidden_weights'], ['hidden_linear'], 'hidden_matmul'),
      node('Add', ['hidden_linear', 'hidden_bias'], ['hidden_preactivation'], 'hidden_bias'),
      node(params.activation === 'relu' ? 'Relu' : 'Tanh', ['hidden_preactivation'], ['hidden_activation'], 'hidden_activation'),
      node('MatMul', ['hidden_activation', 'output_weights'], ['output_linear'], 'output_matmul'),
      node('Add', ['output_linear', 'output_bias'], ['logit'], 'output_bias'),
    );
  }
  nodes.push(node('Sigmoid', ['logit'], [MODEL_OUTPUT_NAME], 'probability'));

  return encodeGraphModel({
    irVersion: ONNX_IR_VERSION,
    opsets: [{ domain: '', version: ONNX_OPSET_VERSION }],
    producerName: PRODUCER_NAME,
    producerVersion: PRODUCER_VERSION,
    ...(/^\d+$/.test(metadata.modelVersion) ? { modelVersion: Number(metadata.modelVersion) } : {}),
    docString: exportMetadata.description ?? '',
    graph: {
      name: metadata.modelName,
      node: nodes,
      initializer: initializers,
      input: [tensorValueInfo(MODEL_INPUT_NAME, 'float32', [BATCH_DIMENSION, width])],
      output: [tensorValueInfo(MODEL_OUTPUT_NAME, 'float32', [BATCH_DIMENSION, 1])],
    },
    metadataProps: modelMetadataProps(metadata),
  });
}

function floatTensor(name: string, dims: number[], values: readonly number[]) {
  return tensorInitializer(name, 'float32', dims, values);
}

function checkParams(params: ModelParams): void {
  const width = params.featureNames.length;
  const { mean, scale } = params.standardizer;
  if (mean.length !== width || scale.length !== width) throw new RangeError(`standardizer must have ${width} columns`);
  const all = params.kind === 'logistic_regression'
    ? [...mean, ...scale, ...params.weights, params.bias]
    : [...mean, ...scale, ...params.hiddenWeights, ...params.hiddenBias, ...params.outputWeights, params.outputBias];
  if (!all.every(Number.isFinite)) throw new RangeError('model parameters must all be finite');
  if (scale.some((s) => s === 0)) throw new RangeError('standardizer scale must not be zero');
}
