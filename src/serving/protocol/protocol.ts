/**
 * The Open Inference Protocol (KServe v2 / Triton REST) on the wire: reading an infer request,
 * JSON or with the binary tensor data extension, into typed arrays checked against a version's
 * contract, and writing the response the same way back.
 *
 * Validation is by hand rather than by JSON schema: it runs on every request, needs the model's
 * contract (known only after routing), and must name the input and what was expected. Everything
 * here finishes before a request joins a batch, so a bad request can only fail itself.
 */
import type { Attributes } from '../../traffic/generation.js';
import { effectiveRoutingKey } from '../../traffic/routing.js';
import type { TensorContract, VersionSignature } from './signature.js';
import { allocate, bytesOf, checkedElementCount, formatShape, halfToNumber, isFloat, isHalfNonFinite, viewOf, type DatatypeInfo, type TypedArray } from './tensors.js';
import { datatypeByOip } from './tensors.js';

/** A request-level failure with its HTTP status; the message is safe to show the caller. */
export class InferError extends Error {
  override readonly name = 'InferError';
  constructor(readonly statusCode: number, message: string, readonly code = statusCode === 404 ? 'not_found' : 'bad_request') {
    super(message);
  }
}

const bad = (message: string) => new InferError(400, message);

/** The header that splits a binary-extension body into its JSON part and the raw tensor bytes. */
export const HEADER_LENGTH = 'inference-header-content-length';

/** An infer request's JSON part, before it meets a model contract. */
export interface InferEnvelope {
  id: string | undefined;
  inputs: RawInput[];
  /** Requested outputs, or null for all of them. */
  outputs: Array<{ name: string; binary: boolean | undefined }> | null;
  /** Request-level `binary_data_output`. */
  binaryOutput: boolean;
  routingKey: string | undefined;
  attributes: Attributes | undefined;
  /** Raw tensor bytes after the JSON header (binary extension), or null. */
  binary: Buffer | null;
  /** Characters of the JSON part: its `data` arrays cannot hold more than half as many elements. */
  jsonLength: number;
}

interface RawInput {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown;
  binarySize: number | undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A C0 control character, DEL or a C1 control character: not printable, and NUL is not even storable as PostgreSQL text. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Throws unless `s` is printable: the request id is stored in the inference log, and input and
 * output names end up in its error column, where one NUL would fail the COPY of a whole batch.
 */
function checkPrintable(s: string, what: string): void {
  const m = CONTROL.exec(s);
  if (m !== null) {
    const code = (m[0] as string).charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    throw bad(`${what} must be printable text; character ${m.index} is the control character U+${code}`);
  }
}

/** Inference-Header-Content-Length as it must be written: a plain decimal number. */
const DECIMAL = /^[0-9]+$/;

/**
 * Splits the body into JSON header and binary tail and reads the envelope. `headerLength` is the
 * Inference-Header-Content-Length value, if any.
 */
export function readEnvelope(body: Buffer, headerLength: string | undefined): InferEnvelope {
  let jsonPart: string;
  let binary: Buffer | null = null;
  if (headerLength !== undefined) {
    const n = DECIMAL.test(headerLength) ? Number(headerLength) : -1;
    if (n < 0 || n > body.length) {
      const shown = headerLength === '' ? 'empty' : headerLength.length > 20 ? `${headerLength.slice(0, 20)}…` : headerLength;
      throw bad(`Inference-Header-Content-Length is ${shown}; expected a decimal integer between 0 and the body length ${body.length}`);
    }
    jsonPart = body.toString('utf8', 0, n);
    binary = body.subarray(n);
  } else {
    jsonPart = body.toString('utf8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(jsonPart);
  } catch (err) {
    throw bad(`malformed JSON body: ${(err as Error).message}`);
  }
  if (!isObject(parsed)) throw bad('the request body must be a JSON object with an "inputs" array');

  const idRaw = parsed.id;
  if (idRaw !== undefined && typeof idRaw !== 'string') throw bad('"id" must be a string');
  if (typeof idRaw === 'string') {
    if (idRaw.length > 256) throw bad('"id" is longer than 256 characters');
    checkPrintable(idRaw, '"id"');
  }

  const params = parsed.parameters;
  if (params !== undefined && !isObject(params)) throw bad('"parameters" must be an object');
  let routingKey: string | undefined;
  let attributes: Attributes | undefined;
  let binaryOutput = false;
  if (params !== undefined) {
    const key = params.routing_key;
    if (key !== undefined && key !== null) {
      if (typeof key === 'string') routingKey = key;
      else if (typeof key === 'number' && Number.isFinite(key)) routingKey = String(key);
      else throw bad('parameters.routing_key must be a string (a user id)');
      if (routingKey.length > 512) throw bad('parameters.routing_key is longer than 512 characters');
      // A blank key is no key, for routing (random assignment) and for the log (no key hash) alike.
      routingKey = effectiveRoutingKey(routingKey);
    }
    const attrs = params.attributes;
    if (attrs !== undefined && attrs !== null) {
      if (!isObject(attrs)) throw bad('parameters.attributes must be an object of strings, numbers or booleans');
      for (const k in attrs) {
        const v = attrs[k];
        if (typeof v !== 'string' && typeof v !== 'boolean' && !(typeof v === 'number' && Number.isFinite(v))) {
          throw bad(`parameters.attributes.${k} must be a string, a finite number or a boolean`);
        }
      }
      attributes = attrs as Attributes;
    }
    const bo = params.binary_data_output;
    if (bo !== undefined && typeof bo !== 'boolean') throw bad('parameters.binary_data_output must be a boolean');
    binaryOutput = bo === true;
  }

  const rawInputs = parsed.inputs;
  if (!Array.isArray(rawInputs) || rawInputs.length === 0) throw bad('"inputs" must be a non-empty array');
  const inputs: RawInput[] = [];
  for (let i = 0; i < rawInputs.length; i++) {
    const x: unknown = rawInputs[i];
    if (!isObject(x)) throw bad(`inputs[${i}] must be an object with name, shape, datatype and data`);
    const name = x.name;
    if (typeof name !== 'string' || name === '') throw bad(`inputs[${i}].name must be a non-empty string`);
    checkPrintable(name, `inputs[${i}].name`);
    const datatype = x.datatype;
    if (typeof datatype !== 'string') throw bad(`input '${name}': datatype must be a string such as "FP32"`);
    const shape = x.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      const shown = Array.isArray(shape) ? ` ${JSON.stringify(shape).slice(0, 60)}` : '';
      throw bad(`input '${name}': shape${shown} must be an array of non-negative integers no larger than ${Number.MAX_SAFE_INTEGER}`);
    }
    let binarySize: number | undefined;
    const p = x.parameters;
    if (p !== undefined) {
      if (!isObject(p)) throw bad(`input '${name}': parameters must be an object`);
      const size = p.binary_data_size;
      if (size !== undefined) {
        if (!Number.isInteger(size) || (size as number) < 0) throw bad(`input '${name}': binary_data_size must be a non-negative integer`);
        binarySize = size as number;
      }
    }
    if (binarySize === undefined && x.data === undefined) throw bad(`input '${name}': has neither data nor parameters.binary_data_size`);
    if (binarySize !== undefined && x.data !== undefined) throw bad(`input '${name}': has both data and parameters.binary_data_size`);
    inputs.push({ name, datatype, shape: shape as number[], data: x.data, binarySize });
  }

  let outputs: InferEnvelope['outputs'] = null;
  if (parsed.outputs !== undefined) {
    if (!Array.isArray(parsed.outputs)) throw bad('"outputs" must be an array');
    outputs = parsed.outputs.map((o: unknown, i: number) => {
      if (!isObject(o) || typeof o.name !== 'string') throw bad(`outputs[${i}] must be an object with a name`);
      checkPrintable(o.name, `outputs[${i}].name`);
      const p = o.parameters;
      if (p !== undefined && !isObject(p)) throw bad(`output '${o.name}': parameters must be an object`);
      const b = p?.binary_data;
      if (b !== undefined && typeof b !== 'boolean') throw bad(`output '${o.name}': parameters.binary_data must be a boolean`);
      return { name: o.name, binary: b as boolean | undefined };
    });
  }

  return { id: idRaw, inputs, outputs, binaryOutput, routingKey, attributes, binary, jsonLength: jsonPart.length };
}

/** A request's inputs checked against a version's contract: one typed array per model input, in model order. */
export interface CheckedInputs {
  data: TypedArray[];
  shapes: number[][];
  /** Rows along the batch dimension (1 for models that do not batch). */
  rows: number;
}

function describe(c: TensorContract): string {
  return `${c.datatype.oip} ${formatShape(c.shape)}`;
}

function elementError(name: string, index: number, value: unknown, d: DatatypeInfo): InferError {
  const shown = typeof value === 'string' ? JSON.stringify(value.length > 20 ? value.slice(0, 20) + '…' : value) : Array.isArray(value) ? 'an array' : String(value);
  const expected = d.json === 'bool' ? 'a boolean' : d.json === 'float' ? 'a number' : `an integer in [${d.min}, ${d.max}]`;
  return bad(`input '${name}': element ${index} is ${shown}; expected ${expected} (${d.oip})`);
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
        throw bad(`input '${name}': ${d.oip} data must be sent as binary tensor data`);
    }
    k++;
  }
  return k;
}

function countMismatch(name: string, shape: readonly number[], count: number, got: number): InferError {
  return bad(`input '${name}': shape ${formatShape(shape)} needs ${count} elements but data has ${got}`);
}

function nestedTooDeep(name: string, shape: readonly number[]): InferError {
  return bad(`input '${name}': data is nested deeper than shape ${formatShape(shape)} allows; expected a flat array or arrays nested at most ${Math.max(shape.length, 1)} deep`);
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

export interface CheckOptions {
  /** Whether the version's contract admits NaN and ±Infinity in float inputs (binary data can carry them). */
  allowNonFinite: boolean;
  /** Most rows one request may carry. */
  maxRows: number;
}

/**
 * Checks the envelope's inputs against the contract and produces one typed array per model
 * input. JSON data is copied (it arrives as boxed numbers); binary data is viewed in place when
 * aligned.
 */
export function checkInputs(env: InferEnvelope, sig: VersionSignature, opts: CheckOptions): CheckedInputs {
  const contracts = sig.inputs;
  const byName = new Map<string, RawInput>();
  for (const raw of env.inputs) {
    if (byName.has(raw.name)) throw bad(`input '${raw.name}' appears twice`);
    if (!contracts.some((c) => c.name === raw.name)) {
      throw bad(`unexpected input '${raw.name}'; the model expects ${contracts.map((c) => `'${c.name}' (${describe(c)})`).join(', ')}`);
    }
    byName.set(raw.name, raw);
  }
  let binaryOffset = 0;
  const binary = env.binary;
  const data: TypedArray[] = new Array<TypedArray>(contracts.length);
  const shapes: number[][] = new Array<number[]>(contracts.length);
  let rows = -1;
  let rowsFrom = '';
  // Binary chunks follow the JSON header in the order the inputs are listed in the request.
  const chunkOffset = new Map<string, number>();
  for (const raw of env.inputs) {
    if (raw.binarySize !== undefined) {
      chunkOffset.set(raw.name, binaryOffset);
      binaryOffset += raw.binarySize;
    }
  }
  if (binaryOffset > 0 || binary !== null) {
    const have = binary?.length ?? 0;
    if (binaryOffset !== have) throw bad(`the binary tensor data is ${have} bytes but the inputs' binary_data_size add up to ${binaryOffset}`);
  }

  for (let i = 0; i < contracts.length; i++) {
    const c = contracts[i] as TensorContract;
    const raw = byName.get(c.name);
    if (raw === undefined) throw bad(`missing input '${c.name}' (${describe(c)})`);
    const d = datatypeByOip(raw.datatype);
    if (d === undefined) throw bad(`input '${c.name}': unknown datatype ${JSON.stringify(raw.datatype)}; expected ${c.datatype.oip}`);
    if (d !== c.datatype) throw bad(`input '${c.name}': datatype ${d.oip} does not match the model's ${c.datatype.oip}`);
    const shape = raw.shape;
    if (shape.length !== c.shape.length) {
      throw bad(`input '${c.name}': shape ${formatShape(shape)} has ${shape.length} dimensions; the model expects ${c.shape.length} (${formatShape(c.shape)})`);
    }
    for (let j = 0; j < shape.length; j++) {
      const want = c.shape[j] as number;
      if (want >= 0 && shape[j] !== want) {
        throw bad(`input '${c.name}': shape ${formatShape(shape)} does not match the model's ${formatShape(c.shape)} (dimension ${j} must be ${want})`);
      }
    }
    const r = shape.length > 0 ? (shape[0] as number) : 1;
    if (sig.batchable) {
      if (rows === -1) { rows = r; rowsFrom = c.name; }
      else if (r !== rows) throw bad(`inputs '${rowsFrom}' and '${c.name}' disagree on the batch dimension (${rows} vs ${r})`);
      // Before anything is allocated for it: a tiny body can declare any shape.
      if (r > opts.maxRows) throw bad(`input '${c.name}': shape ${formatShape(shape)} has ${r} rows; this worker accepts at most ${opts.maxRows} per request`);
    }
    const count = checkedElementCount(shape);
    if (count < 0) throw bad(`input '${c.name}': shape ${formatShape(shape)} has more than ${Number.MAX_SAFE_INTEGER} elements`);
    let array: TypedArray;
    if (raw.binarySize !== undefined) {
      if (d.array === null) throw bad(`input '${c.name}': ${d.oip} is not supported`);
      const expectBytes = count * d.bytes;
      if (raw.binarySize !== expectBytes) {
        throw bad(`input '${c.name}': binary_data_size is ${raw.binarySize} bytes; shape ${formatShape(shape)} of ${d.oip} needs ${expectBytes}`);
      }
      const at = chunkOffset.get(c.name) as number;
      array = viewOf(d, (binary as Buffer).subarray(at, at + expectBytes));
      if (d.oip === 'BOOL') {
        const wrong = firstNonBoolean(array as Uint8Array);
        if (wrong >= 0) throw bad(`input '${c.name}': element ${wrong} is the byte ${(array as Uint8Array)[wrong]}; expected 0 or 1 (BOOL)`);
      }
    } else {
      if (d.array === null || d.json === 'none') throw bad(`input '${c.name}': ${d.oip} data must be sent as binary tensor data`);
      if (!Array.isArray(raw.data)) throw bad(`input '${c.name}': data must be an array of ${count} elements`);
      const depth = Math.max(shape.length, 1);
      // Each element takes at least two characters of JSON ("1,"): a shape the body cannot fill
      // is refused before anything is allocated for it (a tiny body can declare any shape).
      if (count > (env.jsonLength + 1) / 2) throw countMismatch(c.name, shape, count, countJsonElements(c.name, shape, raw.data, depth));
      array = allocate(d, count);
      const got = fillFromJson(c.name, shape, d, raw.data, array, 0, depth);
      if (got !== count) throw countMismatch(c.name, shape, count, got > count ? countJsonElements(c.name, shape, raw.data, depth) : got);
    }
    if (!opts.allowNonFinite && isFloat(d)) {
      const half = d.oip === 'FP16';
      const at = half ? firstNonFiniteHalf(array as Uint16Array) : firstNonFinite(array);
      if (at >= 0) {
        const v = half ? halfToNumber((array as Uint16Array)[at] as number) : (array as Float32Array)[at] as number;
        throw bad(`input '${c.name}': element ${at} is ${String(v)}; the model's contract forbids NaN and Infinity`);
      }
    }
    data[i] = array;
    shapes[i] = shape;
  }
  if (!sig.batchable) rows = 1;
  if (rows > opts.maxRows) throw bad(`the request has ${rows} rows; this worker accepts at most ${opts.maxRows} per request`);
  if (rows === 0) throw bad('the request has 0 rows');
  return { data, shapes, rows };
}

/** Which outputs to return and how; throws on unknown names. */
export function selectOutputs(env: InferEnvelope, sig: VersionSignature): Array<{ index: number; binary: boolean }> {
  if (env.outputs === null) return sig.outputs.map((_, index) => ({ index, binary: env.binaryOutput }));
  return env.outputs.map((o) => {
    const index = sig.outputs.findIndex((c) => c.name === o.name);
    if (index < 0) throw bad(`unknown output '${o.name}'; the model has ${sig.outputs.map((c) => `'${c.name}'`).join(', ')}`);
    return { index, binary: o.binary ?? env.binaryOutput };
  });
}

export interface ResponseOutput {
  name: string;
  datatype: string;
  shape: number[];
  /** A typed array; for BYTES, the strings ONNX Runtime returns for a string tensor. */
  data: TypedArray | string[];
  binary: boolean;
}

/**
 * A BYTES tensor as the binary data extension carries it (Triton's layout): each element as a
 * 4-byte little-endian length and then its UTF-8 bytes.
 */
function bytesTensor(values: readonly string[]): Buffer {
  const encoded = values.map((v) => Buffer.from(String(v), 'utf8'));
  const out = Buffer.allocUnsafe(encoded.reduce((n, b) => n + 4 + b.length, 0));
  let at = 0;
  for (const b of encoded) {
    at = out.writeUInt32LE(b.length, at);
    at += b.copy(out, at);
  }
  return out;
}

function jsonData(data: TypedArray, datatype: string): string {
  if (datatype === 'BOOL') {
    let s = '';
    for (let i = 0; i < data.length; i++) s += (i ? ',' : '') + ((data as Uint8Array)[i] ? 'true' : 'false');
    return s;
  }
  if (datatype === 'FP16') {
    // The array holds half-float bit patterns; JSON carries the numbers they stand for (every
    // half is exactly a double, so the shortest form round-trips). NaN and Infinity become null.
    let s = '';
    for (let i = 0; i < data.length; i++) {
      const v = halfToNumber((data as Uint16Array)[i] as number);
      s += (i ? ',' : '') + (Number.isFinite(v) ? String(v) : 'null');
    }
    return s;
  }
  // Typed-array join is native and prints each value's shortest round-trip form, so a float32
  // decodes back to the identical float32. NaN and Infinity are not JSON: they become null.
  const s = (data as Float32Array).join(',');
  if (datatype !== 'FP32' && datatype !== 'FP64') return s;
  return s.includes('N') || s.includes('I') ? s.replace(/-?Infinity|NaN/g, 'null') : s;
}

/**
 * The response body: a JSON string, or with any binary output, the JSON header plus raw bytes
 * and its length for Inference-Header-Content-Length. `head` is the pre-serialised fields before
 * "outputs" (model_name, model_version, id, parameters).
 */
export function encodeResponse(head: string, outputs: ResponseOutput[]): { body: string | Buffer; headerLength: number | null } {
  let json = head + ',"outputs":[';
  const tails: Buffer[] = [];
  for (let i = 0; i < outputs.length; i++) {
    const o = outputs[i] as ResponseOutput;
    json += `${i ? ',' : ''}{"name":${JSON.stringify(o.name)},"datatype":"${o.datatype}","shape":[${o.shape.join(',')}]`;
    if (Array.isArray(o.data)) {
      // Strings (BYTES): JSON strings, or length-prefixed in the binary tail.
      const strings = o.data;
      if (o.binary) {
        const tail = bytesTensor(strings);
        json += `,"parameters":{"binary_data_size":${tail.length}}}`;
        tails.push(tail);
      } else {
        json += `,"data":[${strings.map((v) => JSON.stringify(String(v))).join(',')}]}`;
      }
    } else if (o.binary) {
      json += `,"parameters":{"binary_data_size":${o.data.byteLength}}}`;
      tails.push(bytesOf(o.data));
    } else {
      json += `,"data":[${jsonData(o.data, o.datatype)}]}`;
    }
  }
  json += ']}';
  if (tails.length === 0) return { body: json, headerLength: null };
  const header = Buffer.from(json, 'utf8');
  return { body: Buffer.concat([header, ...tails]), headerLength: header.length };
}
