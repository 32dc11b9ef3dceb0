/**
 * Loads an ONNX model into ONNX Runtime and describes it: its signature (input and output names,
 * element types, shapes), the file's sha256, its header and Sluice metadata. Serving workers and
 * the validation activity both load through here, so both see the same failures the same way.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { InferenceSession, Tensor, listSupportedBackends } from 'onnxruntime-node';
import type { ModelMetadata } from './model-metadata.js';
import { parseModelMetadata } from './model-metadata.js';
import type { OnnxModelInfo } from './onnx-model-info.js';
import { readOnnxModelInfo } from './onnx-model-info.js';

/** A model that cannot be loaded; the message names the source and the reason, never a stack. */
export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError';
  constructor(readonly source: string, readonly reason: string, options?: { cause?: unknown }) {
    super(`Cannot load ONNX model ${source}: ${reason}`, options);
  }
}

export interface TensorSignature {
  readonly name: string;
  /** ONNX Runtime's element type name ('float32', 'int64', ...), or 'non-tensor' for maps and sequences. */
  readonly type: Tensor.Type | 'non-tensor';
  /** Fixed sizes as numbers, symbolic dimensions (such as 'batch') as strings; empty when unknown. */
  readonly shape: readonly (number | string)[];
}

export interface ModelSignature {
  readonly inputs: readonly TensorSignature[];
  readonly outputs: readonly TensorSignature[];
}

export interface LoadedModel {
  readonly session: InferenceSession;
  /** The file path, or the name given for in-memory bytes. */
  readonly source: string;
  /** sha256 of exactly the bytes ONNX Runtime loaded. */
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly signature: ModelSignature;
  readonly info: OnnxModelInfo;
  /** Sluice's metadata, or null for a model Sluice did not build. */
  readonly metadata: ModelMetadata | null;
  /** The preferred execution provider the session was created with (later ones in the list back it up). */
  readonly executionProvider: string;
  /** Preferred providers that could not be used, and why. */
  readonly providerFallbacks: readonly ProviderFallback[];
}

export interface ProviderFallback {
  readonly provider: string;
  readonly reason: string;
}

export interface LoadModelOptions {
  /** In order of preference, e.g. ['cuda', 'cpu'] or [{ name: 'cuda', deviceId: 1 }, 'cpu']; default ['cpu']. */
  readonly executionProviders?: readonly InferenceSession.ExecutionProviderConfig[];
  /** Further ONNX Runtime session options (threads, graph optimisation level, ...). */
  readonly sessionOptions?: Omit<InferenceSession.SessionOptions, 'executionProviders'>;
  /** How to name in-memory bytes in errors. */
  readonly sourceName?: string;
}

export async function loadModelSession(pathOrBytes: string | Uint8Array, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const source = typeof pathOrBytes === 'string' ? pathOrBytes : (options.sourceName ?? '(in-memory bytes)');
  const bytes = typeof pathOrBytes === 'string' ? await readModelFile(pathOrBytes) : pathOrBytes;
  if (bytes.length === 0) throw new ModelLoadError(source, 'the file is empty');

  // ONNX Runtime fails outright when a listed provider cannot start (no CUDA libraries, no GPU),
  // and silently drops one this build lacks, so each preference is tried in turn, the rest of
  // the list kept as its backups, and every skipped preference is reported with its reason.
  const preferences = options.executionProviders ?? ['cpu'];
  if (preferences.length === 0) throw new RangeError('executionProviders must name at least one provider');
  const providerFallbacks: ProviderFallback[] = [];
  let session: InferenceSession | undefined;
  let executionProvider = '';
  let lastError: unknown;
  for (let i = 0; i < preferences.length && !session; i++) {
    const provider = providerName(preferences[i]);
    const isLast = i === preferences.length - 1;
    if (!supportedProviders().has(provider)) {
      lastError = new Error(`execution provider ${provider} is not in this onnxruntime-node build (it has ${[...supportedProviders()].join(', ')})`);
      if (!isLast) providerFallbacks.push({ provider, reason: firstLine(lastError) });
      continue;
    }
    const providers = preferences.slice(i).filter((p) => supportedProviders().has(providerName(p)));
    try {
      session = await InferenceSession.create(bytes, { ...options.sessionOptions, executionProviders: providers });
      executionProvider = provider;
    } catch (error) {
      lastError = error;
      if (!isLast) providerFallbacks.push({ provider, reason: firstLine(error) });
    }
  }
  if (!session) throw new ModelLoadError(source, `ONNX Runtime refused it: ${firstLine(lastError)}`, { cause: lastError });

  try {
    const info = readOnnxModelInfo(bytes);
    return {
      session,
      source,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      sizeBytes: bytes.length,
      signature: { inputs: session.inputMetadata.map(describeValue), outputs: session.outputMetadata.map(describeValue) },
      info,
      metadata: parseModelMetadata(info.metadata),
      executionProvider,
      providerFallbacks,
    };
  } catch (error) {
    await session.release().catch(() => undefined);
    throw new ModelLoadError(source, firstLine(error), { cause: error });
  }
}

/**
 * Runs a `[rows, F]` float32 matrix through a loaded single-input, single-output model and
 * returns the output's data (for Sluice models, one probability per row).
 */
export async function runFloatMatrix(model: LoadedModel, features: Float32Array, rows: number): Promise<Float32Array> {
  const [input] = model.signature.inputs;
  const [output] = model.signature.outputs;
  if (!input || !output || model.signature.inputs.length !== 1) {
    throw new RangeError(`${model.source} must have exactly one input and at least one output`);
  }
  const width = rows === 0 ? 0 : features.length / rows;
  if (!Number.isInteger(width)) throw new RangeError(`${features.length} values do not split into ${rows} rows`);
  const result = await model.session.run({ [input.name]: new Tensor('float32', features, [rows, width]) });
  const data = result[output.name]?.data;
  if (!(data instanceof Float32Array)) throw new RangeError(`${model.source} output ${output.name} is not float32`);
  return data;
}

/**
 * A tensor of ONNX Runtime's element type `type` (float32, float64, int64, int32 or string) from
 * plain values: how evaluation rows are fed to a model with inputs of any of them.
 */
export function tensorFromValues(type: string, cells: readonly (number | string | boolean)[], shape: readonly number[]): Tensor {
  if (type === 'string') return new Tensor('string', cells.map(String), shape);
  if (type === 'bool') return new Tensor('bool', Uint8Array.from(cells, (c) => (c === true || c === 1 || c === '1' || c === 'true' ? 1 : 0)), shape);
  const values = cells.map(Number);
  switch (type) {
    case 'float32': return new Tensor('float32', Float32Array.from(values), shape);
    case 'float64': return new Tensor('float64', Float64Array.from(values), shape);
    case 'int64': return new Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), shape);
    case 'int32': return new Tensor('int32', Int32Array.from(values), shape);
    default: throw new RangeError(`no tensor of element type ${type} from plain values`);
  }
}

/**
 * Runs a model on named feeds of any element type (an evaluation set's rows, as
 * contracts/evaluation.ts builds them) and returns every output as values and dimensions, the form
 * contracts/score.ts reads the score from. Tensors ONNX Runtime allocated are released.
 */
export async function runFeeds(
  model: LoadedModel,
  feeds: ReadonlyArray<{ readonly name: string; readonly elementType: string; readonly shape: readonly number[]; readonly values: readonly (number | string | boolean)[] }>,
): Promise<Record<string, { data: Tensor['data']; dims: readonly number[] }>> {
  const inputs = Object.fromEntries(feeds.map((f) => [f.name, tensorFromValues(f.elementType, f.values, f.shape)]));
  const result = await model.session.run(inputs);
  return Object.fromEntries(Object.entries(result).map(([name, t]) => [name, { data: t.data, dims: [...t.dims] }]));
}

async function readModelFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file'
      : code === 'EISDIR' ? 'it is a directory, not a file'
        : code === 'EACCES' ? 'permission denied'
          : firstLine(error);
    throw new ModelLoadError(path, reason, { cause: error });
  }
}

function describeValue(value: InferenceSession.ValueMetadata): TensorSignature {
  return value.isTensor
    ? { name: value.name, type: value.type, shape: [...value.shape] }
    : { name: value.name, type: 'non-tensor', shape: [] };
}

let supportedProviderNames: ReadonlySet<string> | undefined;
function supportedProviders(): ReadonlySet<string> {
  supportedProviderNames ??= new Set(listSupportedBackends().map((backend) => backend.name));
  return supportedProviderNames;
}

function providerName(config: InferenceSession.ExecutionProviderConfig | undefined): string {
  return typeof config === 'string' ? config : (config?.name ?? 'unknown');
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]?.trim() || 'unknown error';
}
