/**
 * The small vocabulary every ONNX graph this project writes is built from: nodes, initializers
 * stored as little-endian raw data, and typed value descriptions. The credit exporter
 * (onnx-export.ts) and the exporter-shaped fixtures (scripts/build-exporter-fixtures.ts) both use
 * it, so the same numbers always give the same bytes.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const DataType = onnx.TensorProto.DataType;

/** The element types fixture graphs use, by ONNX Runtime's names. */
export type GraphElementType = 'float32' | 'float64' | 'int64' | 'string';
/** A fixed size, or a named (symbolic) dimension such as 'batch_size'. */
export type GraphDimension = number | string;

const ELEMENT_TYPES: Record<GraphElementType, number> = {
  float32: DataType.FLOAT,
  float64: DataType.DOUBLE,
  int64: DataType.INT64,
  string: DataType.STRING,
};

/** An attribute value: one integer, a list of integers, one float or a list of strings (written as such). */
export type GraphAttribute = { int: number } | { ints: readonly number[] } | { float: number } | { strings: readonly string[] };

export function graphNode(opType: string, input: string[], output: string[], name: string,
  attributes: Record<string, GraphAttribute> = {}, domain?: string): onnxProto.onnx.INodeProto {
  const attribute = Object.entries(attributes).map(([attributeName, value]): onnxProto.onnx.IAttributeProto => {
    if ('int' in value) return { name: attributeName, type: onnx.AttributeProto.AttributeType.INT, i: value.int };
    if ('ints' in value) return { name: attributeName, type: onnx.AttributeProto.AttributeType.INTS, ints: [...value.ints] };
    if ('strings' in value) return { name: attributeName, type: onnx.AttributeProto.AttributeType.STRINGS, strings: value.strings.map((v) => new TextEncoder().encode(v)) };
    return { name: attributeName, type: onnx.AttributeProto.AttributeType.FLOAT, f: value.float };
  });
  // Empty fields are left out so a node without attributes encodes exactly as it always has.
  return { opType, input, output, name, ...(attribute.length > 0 ? { attribute } : {}), ...(domain !== undefined ? { domain } : {}) };
}

/** A numeric initializer of `type` holding `values` in row-major order. */
export function tensorInitializer(name: string, type: Exclude<GraphElementType, 'string'>, dims: readonly number[], values: readonly number[]): onnxProto.onnx.ITensorProto {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (values.length !== expected) throw new RangeError(`${name} has ${values.length} values; shape [${dims.join(', ')}] needs ${expected}`);
  const width = type === 'float32' ? 4 : 8;
  const raw = new Uint8Array(values.length * width);
  const view = new DataView(raw.buffer);
  values.forEach((value, i) => {
    if (type === 'float32') view.setFloat32(i * 4, value, true);
    else if (type === 'float64') view.setFloat64(i * 8, value, true);
    else view.setBigInt64(i * 8, BigInt(value), true);
  });
  return { name, dims: [...dims], dataType: ELEMENT_TYPES[type], rawData: raw };
}

function shapeProto(shape: readonly GraphDimension[]): onnxProto.onnx.ITensorShapeProto {
  return { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) };
}

/** A tensor value (graph input or output) of `type` and `shape`. */
export function tensorValueInfo(name: string, type: GraphElementType, shape: readonly GraphDimension[]): onnxProto.onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType: ELEMENT_TYPES[type], shape: shapeProto(shape) } } };
}

/** A sequence of maps from int64 class labels to float scores: what ai.onnx.ml ZipMap returns. */
export function sequenceOfMapsValueInfo(name: string): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: { sequenceType: { elemType: { mapType: { keyType: DataType.INT64, valueType: { tensorType: { elemType: DataType.FLOAT } } } } } },
  };
}

export interface GraphModel {
  readonly irVersion: number;
  readonly opsets: readonly { domain: string; version: number }[];
  readonly producerName: string;
  readonly producerVersion: string;
  readonly docString: string;
  readonly graph: onnxProto.onnx.IGraphProto;
  readonly modelVersion?: number;
  readonly metadataProps?: onnxProto.onnx.IStringStringEntryProto[];
}

/** The model's bytes. */
export function encodeGraphModel(model: GraphModel): Uint8Array {
  const proto = onnx.ModelProto.create({
    irVersion: model.irVersion,
    opsetImport: model.opsets.map((o) => ({ ...o })),
    producerName: model.producerName,
    producerVersion: model.producerVersion,
    ...(model.modelVersion !== undefined ? { modelVersion: model.modelVersion } : {}),
    docString: model.docString,
    graph: model.graph,
    ...(model.metadataProps ? { metadataProps: model.metadataProps } : {}),
  });
  // Copy out of protobufjs's writer, whose buffer may be a slice of a shared pool.
  return new Uint8Array(onnx.ModelProto.encode(proto).finish());
}
