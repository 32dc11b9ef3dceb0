/**
 * One tensor's values on the wire (Open Inference Protocol REST) ⇄ the typed array of its
 * datatype that the worker computes with. Decoding is one function, decodeTensor: JSON `data`
 * (flat or nested, every element checked) or the binary data extension's bytes (viewed in place
 * when aligned), checked against the tensor's shape and, where the contract says so, for NaN and
 * Infinity. Encoding is its mirror: tensorJsonData and tensorBinaryData. Which tensors a request
 * has, and whether their datatypes and shapes fit the model's contract, is protocol.ts's business;
 * what a datatype is and how its arrays are allocated is tensors.ts's.
 */
import { badRequest, type InferError } from './infer-error.js';
import { allocate, checkedElementCount, formatShape, halfToNumber, isFloat, isHalfNonFinite, type DatatypeInfo, type TensorData, type TypedArray } from './tensors.js';

/**
 * The values of tensor `name` (datatype `d`, the request's `shape`) as a typed array of `d`, from
 * its chunk of the binary tail (`bytes`, binary_data_size long) or else from its JSON `data`
 * (unchecked). JSON data is copied (it arrives as boxed numbers); binary data is viewed in place
 * when aligned. `allowNonFinite`: whether NaN and ±Infinity are admitted in float tensors (binary
 * data can carry them). `jsonLength`: characters of the request's JSON part, which bounds how
 * many elements its `data` arrays can hold. Throws an InferError (400) naming the tensor when the
 * values do not fill the shape or an element is not of the datatype. (Plain arguments, no
 * options object: this runs for every input of every request.)
 */
export function decodeTensor(name: string, d: DatatypeInfo, shape: readonly number[], data: unknown, bytes: Buffer | null,
  allowNonFinite: boolean, jsonLength: number): TensorData {
  const count = checkedElementCount(shape);
  if (count < 0) throw badRequest(`input '${name}': shape ${formatShape(shape)} has more than ${Number.MAX_SAFE_INTEGER} elements`);
  if (d.oip === 'BYTES') return bytes !== null ? stringsFromBinary(name, shape, count, bytes) : stringsFromJson(name, shape, count, data, jsonLength);
  let array: TypedArray;
  if (bytes !== null) {
    if (d.array === null) throw badRequest(`input '${name}': ${d.oip} is not supported`);
    const expectBytes = count * d.bytes;
    if (bytes.length !== expectBytes) {
      throw badRequest(`input '${name}': binary_data_size is ${bytes.length} bytes; shape ${formatShape(shape)} of ${d.oip} needs ${expectBytes}`);
    }
    array = viewOf(d, bytes);
    if (d.oip === 'BOOL') {
      const wrong = firstNonBoolean(array as Uint8Array);
      if (wrong >= 0) throw badRequest(`input '${name}': element ${wrong} is the byte ${(array as Uint8Array)[wrong]}; expected 0 or 1 (BOOL)`);
    }
  } else {
    if (d.array === null || d.json === 'none') throw badRequest(`input '${name}': ${d.oip} data must be sent as binary tensor data`);
    if (!Array.isArray(data)) throw badRequest(`input '${name}': data must be an array of ${count} elements`);
    const depth = Math.max(shape.length, 1);
    // Each element takes at least two characters of JSON ("1,"): a shape the body cannot fill
    // is refused before anything is allocated for it (a tiny body can declare any shape).
    if (count > (jsonLength + 1) / 2) throw countMismatch(name, shape, count, countJsonElements(name, shape, data, depth));
    array = allocate(d, count);
    const got = fillFromJson(name, shape, d, data, array, 0, depth);
    if (got !== count) throw countMismatch(name, shape, count, got > count ? countJsonElements(name, shape, data, depth) : got);
  }
  if (!allowNonFinite && isFloat(d)) {
    const half = d.oip === 'FP16';
    const at = half ? firstNonFiniteHalf(array as Uint16Array) : firstNonFinite(array);
    if (at >= 0) {
      const v = half ? halfToNumber((array as Uint16Array)[at] as number) : (array as Float32Array)[at] as number;
      throw badRequest(`input '${name}': element ${at} is ${String(v)}; the model's contract forbids NaN and Infinity`);
    }
  }
  return array;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A BYTES tensor from the binary data extension (KServe v2 / Triton layout): each element a
 * 4-byte little-endian length and then that many bytes, read as UTF-8 (ONNX Runtime's string
 * tensors hold text). The chunk must hold exactly the shape's elements, nothing after them.
 */
function stringsFromBinary(name: string, shape: readonly number[], count: number, bytes: Buffer): string[] {
  // Every element takes at least its 4-byte length: a shape the chunk cannot fill is refused before anything is allocated.
  if (count * 4 > bytes.length) {
    throw badRequest(`input '${name}': binary_data_size is ${bytes.length} bytes; shape ${formatShape(shape)} of BYTES needs at least ${count * 4} (a 4-byte length per element)`);
  }
  const out = new Array<string>(count);
  let at = 0;
  for (let k = 0; k < count; k++) {
    if (at + 4 > bytes.length) throw badRequest(`input '${name}': binary data ends before element ${k}'s 4-byte length; shape ${formatShape(shape)} needs ${count} elements`);
    const length = bytes.readUInt32LE(at);
    at += 4;
    if (at + length > bytes.length) throw badRequest(`input '${name}': element ${k} declares ${length} bytes but only ${bytes.length - at} remain in its binary data`);
    try {
      out[k] = strictUtf8.decode(bytes.subarray(at, at + length));
    } catch {
      throw badRequest(`input '${name}': element ${k} is not valid UTF-8 text (BYTES elements are strings)`);
    }
    at += length;
  }
  if (at !== bytes.length) throw badRequest(`input '${name}': binary data has ${bytes.length - at} bytes after the ${count} elements of shape ${formatShape(shape)}`);
  return out;
}

/** A BYTES tensor from JSON `data`: strings, flat or nested row-major (at most the shape's rank deep). */
function stringsFromJson(name: string, shape: readonly number[], count: number, data: unknown, jsonLength: number): string[] {
  if (!Array.isArray(data)) throw badRequest(`input '${name}': data must be an array of ${count} strings`);
  const depth = Math.max(shape.length, 1);
  // Each element takes at least three characters of JSON ("",): as for numbers, refuse a shape the body cannot fill.
  if (count > (jsonLength + 1) / 2) throw countMismatch(name, shape, count, countJsonElements(name, shape, data, depth));
  const out = new Array<string>(count);
  let k = 0;
  const fill = (items: unknown[], left: number): void => {
    for (const v of items) {
      if (Array.isArray(v)) {
        if (left <= 1) throw nestedTooDeep(name, shape);
        fill(v, left - 1);
        continue;
      }
      if (typeof v !== 'string') {
        const shown = Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v === 'object' ? 'an object' : String(v);
        throw badRequest(`input '${name}': element ${k} is ${shown}; expected a string (BYTES)`);
      }
      if (k >= count) throw countMismatch(name, shape, count, countJsonElements(name, shape, data, depth));
      out[k++] = v;
    }
  };
  fill(data, depth);
  if (k !== count) throw countMismatch(name, shape, count, k);
  return out;
}

/**
 * A typed-array view over `bytes` when it is aligned for the element size (zero copy), else an
 * aligned copy. Buffers from the HTTP body sit at arbitrary offsets in Node's pool.
 */
function viewOf(d: DatatypeInfo, bytes: Uint8Array): TypedArray {
  const ctor = d.array;
  if (ctor === null) throw new Error(`${d.oip} tensors have no typed array`);
  const length = bytes.byteLength / d.bytes;
  if (bytes.byteOffset % d.bytes === 0) return new ctor(bytes.buffer, bytes.byteOffset, length);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new ctor(copy.buffer, 0, length);
}

function elementError(name: string, index: number, value: unknown, d: DatatypeInfo): InferError {
  const shown = typeof value === 'string' ? JSON.stringify(value.length > 20 ? value.slice(0, 20) + '…' : value) : Array.isArray(value) ? 'an array' : String(value);
  const expected = d.json === 'bool' ? 'a boolean' : d.json === 'float' ? 'a number' : `an integer in [${d.min}, ${d.max}]`;
  return badRequest(`input '${name}': element ${index} is ${shown}; expected ${expected} (${d.oip})`);
}

/**
 * Copies JSON `data` (flat or nested row-major, at most `depth` arrays deep: the shape's rank)
 * into `out`, checking every element. Returns the number of elements read; past `out`'s end it
 * stops and returns one more than fits, and the caller counts the rest for its message.
 */
function fillFromJson(name: string, shape: readonly number[], d: DatatypeInfo, data: unknown[], out: TypedArray, start: number, depth: number): number {
  let k = start;
  const n = data.length;
  const cap = out.length;
  for (let i = 0; i < n; i++) {
    const v = data[i];
    if (Array.isArray(v)) {
      if (depth <= 1) throw nestedTooDeep(name, shape);
      k = fillFromJson(name, shape, d, v, out, k, depth - 1);
      if (k > cap) return k;
      continue;
    }
    if (k >= cap) return k + 1;
    switch (d.json) {
      case 'float':
        if (typeof v !== 'number') throw elementError(name, k, v, d);
        (out as Float32Array)[k] = v;
        break;
      case 'int':
        if (typeof v !== 'number' || !Number.isInteger(v) || v < (d.min as number) || v > (d.max as number)) throw elementError(name, k, v, d);
        (out as Int32Array)[k] = v;
        break;
      case 'bigint':
        if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < (d.min as number)) throw elementError(name, k, v, d);
        (out as BigInt64Array)[k] = BigInt(v);
        break;
      case 'bool':
        if (typeof v === 'boolean') (out as Uint8Array)[k] = v ? 1 : 0;
        else if (v === 0 || v === 1) (out as Uint8Array)[k] = v;
        else throw elementError(name, k, v, d);
        break;
      default:
        throw badRequest(`input '${name}': ${d.oip} data must be sent as binary tensor data`);
    }
    k++;
  }
  return k;
}

function countMismatch(name: string, shape: readonly number[], count: number, got: number): InferError {
  return badRequest(`input '${name}': shape ${formatShape(shape)} needs ${count} elements but data has ${got}`);
}

function nestedTooDeep(name: string, shape: readonly number[]): InferError {
  return badRequest(`input '${name}': data is nested deeper than shape ${formatShape(shape)} allows; expected a flat array or arrays nested at most ${Math.max(shape.length, 1)} deep`);
}

/**
 * Elements in JSON `data`, nested at most `depth` arrays deep (the shape's rank; flat data is one
 * deep): the depth bound keeps a body of a few hundred kilobytes of brackets from overflowing the stack.
 */
function countJsonElements(name: string, shape: readonly number[], data: unknown[], depth: number): number {
  let n = 0;
  for (const v of data) {
    if (!Array.isArray(v)) n++;
    else if (depth > 1) n += countJsonElements(name, shape, v, depth - 1);
    else throw nestedTooDeep(name, shape);
  }
  return n;
}

/** Where a binary BOOL tensor holds a byte other than 0 or 1, or -1. */
function firstNonBoolean(a: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if ((a[i] as number) > 1) return i;
  return -1;
}

/** First index of a half-float NaN or ±Infinity, or -1. */
function firstNonFiniteHalf(a: Uint16Array): number {
  for (let i = 0; i < a.length; i++) if (isHalfNonFinite(a[i] as number)) return i;
  return -1;
}

/** First index of NaN or ±Infinity in a float array, or -1. */
function firstNonFinite(a: TypedArray): number {
  const f = a as Float32Array;
  for (let i = 0; i < f.length; i++) {
    const v = f[i] as number;
    if (v - v !== 0) return i; // NaN - NaN and Inf - Inf are NaN; finite - itself is 0
  }
  return -1;
}

/**
 * A tensor's values as the binary data extension carries them: a typed array's own bytes (no
 * copy); strings (BYTES, as ONNX Runtime returns a string tensor) in Triton's layout, each as a
 * 4-byte little-endian length and then its UTF-8 bytes.
 */
export function tensorBinaryData(data: TypedArray | readonly string[]): Buffer {
  if (!Array.isArray(data)) {
    const a = data as TypedArray;
    return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  }
  const encoded = data.map((v) => Buffer.from(String(v), 'utf8'));
  const out = Buffer.allocUnsafe(encoded.reduce((n, b) => n + 4 + b.length, 0));
  let at = 0;
  for (const b of encoded) {
    at = out.writeUInt32LE(b.length, at);
    at += b.copy(out, at);
  }
  return out;
}

/**
 * A tensor's values as the elements of a JSON `data` array (without the brackets), in the
 * datatype's JSON form: numbers, booleans for BOOL, strings for BYTES.
 */
export function tensorJsonData(data: TypedArray | readonly string[], datatype: string): string {
  if (Array.isArray(data)) return data.map((v) => JSON.stringify(String(v))).join(',');
  const a = data as TypedArray;
  if (datatype === 'BOOL') {
    let s = '';
    for (let i = 0; i < a.length; i++) s += (i ? ',' : '') + ((a as Uint8Array)[i] ? 'true' : 'false');
    return s;
  }
  if (datatype === 'FP16') {
    // The array holds half-float bit patterns; JSON carries the numbers they stand for (every
    // half is exactly a double, so the shortest form round-trips). NaN and Infinity become null.
    let s = '';
    for (let i = 0; i < a.length; i++) {
      const v = halfToNumber((a as Uint16Array)[i] as number);
      s += (i ? ',' : '') + (Number.isFinite(v) ? String(v) : 'null');
    }
    return s;
  }
  // Typed-array join is native and prints each value's shortest round-trip form, so a float32
  // decodes back to the identical float32. NaN and Infinity are not JSON: they become null.
  const s = (a as Float32Array).join(',');
  if (datatype !== 'FP32' && datatype !== 'FP64') return s;
  return s.includes('N') || s.includes('I') ? s.replace(/-?Infinity|NaN/g, 'null') : s;
}
