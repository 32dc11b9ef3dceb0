/**
 * The Open Inference Protocol (KServe v2 / Triton REST) on the wire: reading an infer request,
 * JSON or with the binary tensor data extension, into typed arrays checked against a version's
 * contract, and writing the response the same way back. This module reads the envelope (ids,
 * routing parameters, which inputs with which datatype and shape) and matches it against the
 * contract; each tensor's values are decoded by tensor-codec.ts (decodeTensor) and encoded back
 * by its mirror functions.
 *
 * Validation is by hand rather than by JSON schema: it runs on every request, needs the model's
 * contract (known only after routing), and must name the input and what was expected. Everything
 * here finishes before a request joins a batch, so a bad request can only fail itself.
 */
import type { Attributes } from '../../traffic/generation.js';
import { effectiveRoutingKey } from '../../traffic/routing.js';
import type { TensorContract, VersionSignature } from './signature.js';
import { badRequest as bad } from './infer-error.js';
import { decodeTensor, tensorBinaryData, tensorJsonData } from './tensor-codec.js';
import { datatypeByOip, formatShape, type TensorData } from './tensors.js';

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

/** A request's inputs checked against a version's contract: one typed array (strings for BYTES) per model input, in model order. */
export interface CheckedInputs {
  data: TensorData[];
  shapes: number[][];
  /** Rows along the batch dimension (1 for models that do not batch). */
  rows: number;
}

function describe(c: TensorContract): string {
  return `${c.datatype.oip} ${formatShape(c.shape)}`;
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
  const data: TensorData[] = new Array<TensorData>(contracts.length);
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
    let bytes: Buffer | null = null;
    if (raw.binarySize !== undefined) {
      const at = chunkOffset.get(c.name) as number;
      bytes = (binary as Buffer).subarray(at, at + raw.binarySize);
    }
    data[i] = decodeTensor(c.name, d, shape, raw.data, bytes, opts.allowNonFinite, env.jsonLength);
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
  data: TensorData;
  binary: boolean;
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
    if (o.binary) {
      const tail = tensorBinaryData(o.data);
      json += `,"parameters":{"binary_data_size":${tail.length}}}`;
      tails.push(tail);
    } else {
      json += `,"data":[${tensorJsonData(o.data, o.datatype)}]}`;
    }
  }
  json += ']}';
  if (tails.length === 0) return { body: json, headerLength: null };
  const header = Buffer.from(json, 'utf8');
  return { body: Buffer.concat([header, ...tails]), headerLength: header.length };
}
