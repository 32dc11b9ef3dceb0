/**
 * The inference worker thread (see executor.ts): holds ONNX Runtime sessions by key and runs the
 * batches the event loop hands over, transferring output buffers back without copying.
 */
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { createSession, type ExecutionProvider } from './session.js';

interface OpenMessage { op: 'open'; id: number; key: string; bytes: ArrayBuffer; provider: ExecutionProvider }
interface RunMessage { op: 'run'; id: number; key: string; inputs: Array<{ name: string; type: string; dims: number[]; buffer?: ArrayBuffer; strings?: string[] }> }
interface ReleaseMessage { op: 'release'; id: number; key: string }
type Message = OpenMessage | RunMessage | ReleaseMessage;

const port = parentPort;
if (!port) throw new Error('inference-thread.ts must run as a worker thread');
const intraOpThreads = (workerData as { intraOpThreads?: number } | null)?.intraOpThreads ?? 1;
const sessions = new Map<string, ort.InferenceSession>();

const typedArrays: Record<string, new (b: ArrayBuffer) => ArrayBufferView> = {
  float32: Float32Array, float64: Float64Array, int8: Int8Array, int16: Int16Array, int32: Int32Array,
  int64: BigInt64Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, uint64: BigUint64Array, bool: Uint8Array, float16: Uint16Array,
};

async function handle(m: Message): Promise<void> {
  try {
    if (m.op === 'open') {
      const opened = await createSession(new Uint8Array(m.bytes), { provider: m.provider, intraOpThreads }, m.key);
      sessions.set(m.key, opened.session);
      port?.postMessage({ id: m.id, ok: true, inputs: opened.session.inputMetadata, outputs: opened.session.outputMetadata, provider: opened.provider, providerNote: opened.providerNote });
    } else if (m.op === 'run') {
      const session = sessions.get(m.key);
      if (!session) throw new Error(`no session ${m.key} on the inference thread`);
      const feeds: Record<string, ort.Tensor> = {};
      for (const x of m.inputs) {
        if (x.strings) { feeds[x.name] = new ort.Tensor('string', x.strings, x.dims); continue; }
        const ctor = typedArrays[x.type];
        if (!ctor || !x.buffer) throw new Error(`input type ${x.type} is not supported`);
        feeds[x.name] = new ort.Tensor(x.type as 'float32', new ctor(x.buffer) as Float32Array, x.dims);
      }
      const out = await session.run(feeds);
      const results = session.outputNames.map((name) => {
        const t = out[name] as ort.Tensor;
        // A string output has no buffer to transfer: its strings are cloned.
        if (t.type === 'string') return { type: t.type, dims: [...t.dims], strings: t.data as string[] };
        const data = t.data as Float32Array;
        // A fresh buffer of exactly this tensor, ours to transfer.
        const buffer = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data.buffer as ArrayBuffer : (data.buffer as ArrayBuffer).slice(data.byteOffset, data.byteOffset + data.byteLength);
        return { type: t.type, dims: [...t.dims], buffer };
      });
      try {
        port?.postMessage({ id: m.id, ok: true, results }, results.flatMap((r) => (r.buffer ? [r.buffer] : [])));
      } catch {
        // Memory ONNX Runtime owns cannot be detached: send copies instead.
        const copies = results.map((r) => (r.buffer ? { ...r, buffer: r.buffer.slice(0) } : r));
        port?.postMessage({ id: m.id, ok: true, results: copies }, copies.flatMap((r) => (r.buffer ? [r.buffer] : [])));
      }
    } else {
      const session = sessions.get(m.key);
      sessions.delete(m.key);
      await session?.release();
      port?.postMessage({ id: m.id, ok: true });
    }
  } catch (err) {
    port?.postMessage({ id: m.id, ok: false, error: (err as Error).message });
  }
}

port.on('message', (m: Message) => { void handle(m); });
