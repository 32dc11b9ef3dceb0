/**
 * ONNX Runtime sessions for the serving worker: which execution provider this worker gets, how a
 * version's bytes become a session (through src/models' loader), and running one batch of typed
 * arrays through it.
 */
import ort from 'onnxruntime-node';
import { loadModelSession, ModelLoadError, type LoadedModel, type LoadModelOptions } from '../../models/onnx-runtime.js';
import { signatureFromMetadata, type OrtValueMetadata, type VersionSignature } from '../protocol/signature.js';
import type { TensorData } from '../protocol/tensors.js';

export type ExecutionProvider = 'cpu' | 'cuda';

export interface ProviderChoice {
  provider: ExecutionProvider;
  /** Why the worker did not get what it asked for, when it did not. */
  note: string | null;
}

/**
 * CUDA when asked for and this ONNX Runtime build has it, CPU otherwise. The worker reports the
 * outcome (server metadata, /metrics), so a fleet that silently fell back to CPU is visible. A
 * CUDA build that fails to create a session (no driver, no device) is caught at the first load
 * and the worker drops to CPU then; see `createSession`.
 */
export function chooseExecutionProvider(requested: string | undefined): ProviderChoice {
  const want = (requested ?? 'cpu').toLowerCase();
  if (want !== 'cuda') {
    if (want !== 'cpu') return { provider: 'cpu', note: `SLUICE_EXECUTION_PROVIDER=${requested} is not cpu or cuda; using cpu` };
    return { provider: 'cpu', note: null };
  }
  const cuda = ort.listSupportedBackends().find((b) => b.name === 'cuda');
  if (!cuda) return { provider: 'cpu', note: 'this onnxruntime-node build has no CUDA execution provider; using cpu' };
  return { provider: 'cuda', note: null };
}

export interface SessionOptions {
  provider: ExecutionProvider;
  /** Threads ONNX Runtime may use inside one run. One: small models gain nothing from more, and the HTTP loop needs the other core. */
  intraOpThreads: number;
}

export interface OpenedSession {
  session: ort.InferenceSession;
  signature: VersionSignature;
  provider: ExecutionProvider;
  /** Why CUDA was asked for and CPU was used, when that happened. */
  providerNote: string | null;
}

function ortOptions(o: SessionOptions, provider: ExecutionProvider): LoadModelOptions {
  return {
    executionProviders: provider === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
    sessionOptions: { intraOpNumThreads: o.intraOpThreads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' },
  };
}

/**
 * Creates a session from model bytes through the project's one loader (src/models), which tries
 * CUDA first when asked and falls back to CPU, reporting why. Throws ModelLoadError naming the
 * reason when the model cannot be loaded at all.
 */
export async function createSession(bytes: Uint8Array, o: SessionOptions, sourceName = '(artifact)'): Promise<OpenedSession> {
  const loaded: LoadedModel = await loadModelSession(bytes, { ...ortOptions(o, o.provider), sourceName });
  const provider: ExecutionProvider = loaded.executionProvider === 'cuda' ? 'cuda' : 'cpu';
  const skipped = loaded.providerFallbacks.map((f) => `${f.provider}: ${f.reason}`).join('; ');
  const providerNote = provider !== o.provider ? `the ${o.provider} execution provider did not start (${skipped.slice(0, 300)}); using ${provider}` : null;
  const meta = (side: LoadedModel['signature']['inputs']): OrtValueMetadata[] =>
    side.map((t) => ({ name: t.name, isTensor: t.type !== 'non-tensor', type: t.type === 'non-tensor' ? undefined : t.type, shape: t.shape }));
  try {
    const signature = signatureFromMetadata(meta(loaded.signature.inputs), meta(loaded.signature.outputs));
    return { session: loaded.session, signature, provider, providerNote };
  } catch (err) {
    await loaded.session.release();
    throw new ModelLoadError(sourceName, (err as Error).message);
  }
}

export interface BatchOutput {
  /** A typed array, or the strings of a string (BYTES) output. */
  data: TensorData;
  shape: number[];
}

/** Runs one batch: inputs in signature order, outputs in signature order. */
export async function runSession(session: ort.InferenceSession, signature: VersionSignature, inputs: TensorData[], shapes: number[][]): Promise<BatchOutput[]> {
  const feeds: Record<string, ort.Tensor> = {};
  for (let i = 0; i < signature.inputs.length; i++) {
    const c = signature.inputs[i] as VersionSignature['inputs'][number];
    feeds[c.name] = new ort.Tensor(c.datatype.ort as 'float32', inputs[i] as Float32Array, shapes[i]);
  }
  const result = await session.run(feeds);
  return signature.outputs.map((c) => {
    const t = result[c.name] as ort.Tensor | undefined;
    if (!t) throw new Error(`ONNX Runtime returned no output ${c.name}`);
    return { data: t.data as TensorData, shape: [...t.dims] };
  });
}
