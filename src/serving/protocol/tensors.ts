/**
 * Tensor datatypes as the Open Inference Protocol names them (FP32, INT64, ...) and as ONNX
 * Runtime names them (float32, int64, ...), with the typed array each lives in. One table, used by
 * the tensor codec (tensor-codec.ts), batching, the worker thread and the inference log; and the
 * typed arrays themselves: allocation, element counts, half floats.
 */

export type TypedArray =
  | Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Uint8Array | Uint16Array | Uint32Array | BigUint64Array;

/** A tensor's values as the worker holds them: a typed array, or for BYTES (ONNX Runtime's `string`) the strings. */
export type TensorData = TypedArray | string[];

export type OipDatatype =
  | 'BOOL' | 'UINT8' | 'UINT16' | 'UINT32' | 'UINT64' | 'INT8' | 'INT16' | 'INT32' | 'INT64'
  | 'FP16' | 'FP32' | 'FP64' | 'BYTES';

export type OrtType =
  | 'bool' | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'int8' | 'int16' | 'int32' | 'int64'
  | 'float16' | 'float32' | 'float64' | 'string';

type TypedArrayConstructor = { new (length: number): TypedArray; new (buffer: ArrayBufferLike, byteOffset: number, length: number): TypedArray; BYTES_PER_ELEMENT: number };

export interface DatatypeInfo {
  oip: OipDatatype;
  ort: OrtType;
  bytes: number;
  array: TypedArrayConstructor | null;
  /** How JSON `data` elements are read: floats, integers in a range, 64-bit integers, booleans, or not at all. */
  json: 'float' | 'int' | 'bigint' | 'bool' | 'none';
  min?: number;
  max?: number;
}

const TABLE: DatatypeInfo[] = [
  { oip: 'BOOL', ort: 'bool', bytes: 1, array: Uint8Array, json: 'bool' },
  { oip: 'UINT8', ort: 'uint8', bytes: 1, array: Uint8Array, json: 'int', min: 0, max: 0xff },
  { oip: 'UINT16', ort: 'uint16', bytes: 2, array: Uint16Array, json: 'int', min: 0, max: 0xffff },
  { oip: 'UINT32', ort: 'uint32', bytes: 4, array: Uint32Array, json: 'int', min: 0, max: 0xffffffff },
  { oip: 'UINT64', ort: 'uint64', bytes: 8, array: BigUint64Array as unknown as TypedArrayConstructor, json: 'bigint', min: 0, max: Number.MAX_SAFE_INTEGER },
  { oip: 'INT8', ort: 'int8', bytes: 1, array: Int8Array, json: 'int', min: -0x80, max: 0x7f },
  { oip: 'INT16', ort: 'int16', bytes: 2, array: Int16Array, json: 'int', min: -0x8000, max: 0x7fff },
  { oip: 'INT32', ort: 'int32', bytes: 4, array: Int32Array, json: 'int', min: -0x80000000, max: 0x7fffffff },
  { oip: 'INT64', ort: 'int64', bytes: 8, array: BigInt64Array as unknown as TypedArrayConstructor, json: 'bigint', min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER },
  // FP16 travels as raw binary only: JSON would need a float16 conversion nobody sends.
  { oip: 'FP16', ort: 'float16', bytes: 2, array: Uint16Array, json: 'none' },
  { oip: 'FP32', ort: 'float32', bytes: 4, array: Float32Array, json: 'float' },
  { oip: 'FP64', ort: 'float64', bytes: 8, array: Float64Array, json: 'float' },
  { oip: 'BYTES', ort: 'string', bytes: 0, array: null, json: 'none' },
];

const BY_OIP = new Map<string, DatatypeInfo>(TABLE.map((d) => [d.oip, d]));
const BY_ORT = new Map<string, DatatypeInfo>(TABLE.map((d) => [d.ort, d]));

export function datatypeByOip(name: string): DatatypeInfo | undefined {
  return BY_OIP.get(name);
}

export function datatypeByOrt(name: string): DatatypeInfo | undefined {
  return BY_ORT.get(name);
}

/** Floats are where NaN and Infinity can hide (binary data); integers cannot hold them. */
export function isFloat(d: DatatypeInfo): boolean {
  return d.oip === 'FP32' || d.oip === 'FP64' || d.oip === 'FP16';
}

/**
 * Number of elements in a shape from a request, or -1 when it exceeds Number.MAX_SAFE_INTEGER
 * (where the product stops being exact). Any zero dimension makes it 0, whatever the others are.
 */
export function checkedElementCount(shape: readonly number[]): number {
  if (shape.includes(0)) return 0;
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER) return -1;
  }
  return n;
}

/** The number an IEEE 754 half-precision bit pattern (FP16, as a Uint16Array holds it) stands for. */
export function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Whether a half-precision bit pattern is NaN or ±Infinity (all exponent bits set). */
export function isHalfNonFinite(h: number): boolean {
  return (h & 0x7c00) === 0x7c00;
}

/**
 * Small tensors are carved from a shared slab rather than each getting its own ArrayBuffer: a
 * fresh buffer per request (a malloc, a zero fill and external-memory accounting in V8) was the
 * largest single allocation cost on the single-row request path. Regions are never reused, so
 * each one starts zeroed like `new Float32Array(n)`; a slab is freed once no view of it is alive.
 */
const SLAB_BYTES = 256 * 1024;
const SLAB_LIMIT_BYTES = 4096;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

/** A fresh (zeroed) typed array of `datatype` holding `length` elements. */
export function allocate(d: DatatypeInfo, length: number): TypedArray {
  if (d.array === null) throw new Error(`${d.oip} tensors have no typed array`);
  const bytes = length * d.bytes;
  if (bytes > SLAB_LIMIT_BYTES) return new d.array(length);
  let at = (slabUsed + 7) & ~7;
  if (at + bytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    at = 0;
  }
  slabUsed = at + bytes;
  return new d.array(slab, at, length);
}

/** A fresh tensor of `length` elements: zeros, or empty strings for BYTES (warm-up runs feed these). */
export function allocateTensor(d: DatatypeInfo, length: number): TensorData {
  return d.array === null ? new Array<string>(length).fill('') : allocate(d, length);
}

/** Shape as the protocol writes it, with -1 for a dimension the model leaves open. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}
