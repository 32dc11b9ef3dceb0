// Models shaped like the common exporters' (test/fixtures/models/exporters/), seeded into the
// registry as registration stores them and served by a real worker over OIP REST: every output
// comes back with its datatype and shape and the values ONNX Runtime gives in this process, for
// JSON and for the binary tensor extension, with int64 and float64 tensors on the wire.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EXPORTER_FIXTURE_KINDS, evaluationInputs, exporterEvaluationSet, exporterFixtureModel,
  type EvaluationInput, type ExporterFixtureKind,
} from '../../../src/models/fixtures.js';
import { loadModelSession, tensorFromValues } from '../../../src/models/onnx-runtime.js';
import { publishGeneration } from '../../../src/registry/traffic.js';
import { datatypeByOrt } from '../../../src/serving/protocol/tensors.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';
import { exporterFixtureSignature, seedFixtureModel } from '../../support/seed.js';
import { startWorker, waitFor, type TestWorker } from './support.js';

/**
 * Every shape the worker serves. ZipMap is refused at registration (see the model contract), never
 * served. A string (BYTES) input is not served yet: the worker's warm-up allocates a typed array
 * per input (there is none for strings), and the protocol codec decodes BYTES inputs neither from
 * JSON nor from binary data.
 */
const SERVED = EXPORTER_FIXTURE_KINDS.filter((k): k is Exclude<ExporterFixtureKind, 'zipmap' | 'string-category'> => k !== 'zipmap' && k !== 'string-category');
const ROWS = 5;

let t: TestDatabase;
let w: TestWorker;

beforeAll(async () => {
  t = await createTestDatabase();
  for (const kind of SERVED) {
    await seedFixtureModel(t.db, { model: kind, versions: { v1: kind } });
    await publishGeneration(t.db, { model: kind, weights: { v1: 1 }, createdBy: 'test' });
  }
  w = await startWorker(t.db, { databaseUrl: t.url });
});
afterAll(async () => {
  await w?.close();
  await t?.drop();
});

const oip = (ortType: string) => datatypeByOrt(ortType)?.oip as string;

/** The first ROWS rows of the model's evaluation set, as model inputs. */
function sampleInputs(kind: ExporterFixtureKind): EvaluationInput[] {
  const { columns, rows } = exporterEvaluationSet(kind);
  return evaluationInputs(exporterFixtureModel(kind).entry, columns, rows.slice(0, ROWS));
}

/** What ONNX Runtime answers in this process for the same inputs: per output, its data as plain numbers and its dims. */
async function inProcess(kind: ExporterFixtureKind, inputs: readonly EvaluationInput[]) {
  const model = await loadModelSession(exporterFixtureModel(kind).path);
  try {
    const feeds = Object.fromEntries(inputs.map((i) => [i.name, tensorFromValues(i.type, i.values, i.shape)]));
    const out = await model.session.run(feeds);
    return Object.fromEntries(Object.entries(out).map(([name, tensor]) => [name, { type: tensor.type, dims: [...tensor.dims], data: Array.from(tensor.data as ArrayLike<number | bigint>, Number) }]));
  } finally {
    await model.session.release();
  }
}

interface OipOutput { name: string; datatype: string; shape: number[]; data: number[] }

function expectSameValues(kind: string, name: string, served: readonly number[], expected: readonly number[], type: string) {
  expect(served, `${kind} ${name}`).toHaveLength(expected.length);
  // Integers exactly; floats to a few ulps, since a batch of other rows may take another kernel path.
  if (type === 'int64') expect(served).toEqual(expected);
  else served.forEach((v, i) => expect(Math.abs(v - (expected[i] as number)), `${kind} ${name}[${i}]`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(expected[i] as number))));
}

describe('exporter-shaped models through a real worker', () => {
  it('shows each model\'s inputs and outputs in the protocol\'s metadata, as the registry stores them', async () => {
    for (const kind of SERVED) {
      const meta = (await (await fetch(`${w.url}/v2/models/${kind}`)).json()) as { inputs: unknown[]; outputs: unknown[] };
      const stored = exporterFixtureSignature(kind);
      expect(meta.inputs, kind).toEqual(stored.inputs.map((i) => ({ name: i.name, datatype: oip(i.datatype), shape: i.shape })));
      expect(meta.outputs, kind).toEqual(stored.outputs.map((o) => ({ name: o.name, datatype: oip(o.datatype), shape: o.shape })));
    }
  });

  for (const kind of SERVED) {
    it(`${kind}: JSON infer answers every output with its datatype, shape and ONNX Runtime's values`, async () => {
      const inputs = sampleInputs(kind);
      const res = await fetch(`${w.url}/v2/models/${kind}/infer`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: inputs.map((i) => ({ name: i.name, datatype: oip(i.type), shape: i.shape, data: i.values })) }),
      });
      const body = (await res.json()) as { outputs?: OipOutput[]; error?: string };
      expect(res.status, body.error).toBe(200);
      const expected = await inProcess(kind, inputs);
      const { entry } = exporterFixtureModel(kind);
      expect(body.outputs?.map((o) => o.name)).toEqual(entry.outputs.map((o) => o.name));
      for (const output of body.outputs ?? []) {
        const want = expected[output.name];
        expect(want, output.name).toBeDefined();
        if (!want) continue;
        expect(output.datatype, `${kind} ${output.name}`).toBe(oip(want.type));
        expect(output.shape, `${kind} ${output.name}`).toEqual(want.dims);
        expectSameValues(kind, output.name, output.data, want.data, want.type);
      }
    });
  }

  it('binary tensor data: the skl2onnx classifier\'s int64 labels and float32 probabilities in the tail', async () => {
    const kind = 'binary-label-probabilities';
    const [input] = sampleInputs(kind) as [EvaluationInput];
    const x = Float32Array.from(input.values);
    const header = Buffer.from(JSON.stringify({
      inputs: [{ name: input.name, datatype: 'FP32', shape: input.shape, parameters: { binary_data_size: x.byteLength } }],
      parameters: { binary_data_output: true },
    }));
    const res = await fetch(`${w.url}/v2/models/${kind}/infer`, {
      method: 'POST', headers: { 'inference-header-content-length': String(header.length), 'content-type': 'application/octet-stream' },
      body: Buffer.concat([header, Buffer.from(x.buffer, x.byteOffset, x.byteLength)]),
    });
    expect(res.status).toBe(200);
    const raw = Buffer.from(await res.arrayBuffer());
    const headerLength = Number(res.headers.get('inference-header-content-length'));
    const reply = JSON.parse(raw.toString('utf8', 0, headerLength)) as { outputs: Array<{ name: string; datatype: string; shape: number[]; parameters: { binary_data_size: number } }> };
    expect(reply.outputs.map((o) => [o.name, o.datatype, o.shape])).toEqual([['label', 'INT64', [ROWS]], ['probabilities', 'FP32', [ROWS, 2]]]);
    let at = headerLength;
    const tail: Record<string, Buffer> = {};
    for (const o of reply.outputs) {
      tail[o.name] = Buffer.from(raw.subarray(at, at + o.parameters.binary_data_size));
      at += o.parameters.binary_data_size;
    }
    expect(at).toBe(raw.length);
    const label = tail.label as Buffer;
    const probabilities = tail.probabilities as Buffer;
    expect(label.length).toBe(8 * ROWS);
    expect(probabilities.length).toBe(4 * 2 * ROWS);
    const expected = await inProcess(kind, [input]);
    expectSameValues(kind, 'label', Array.from({ length: ROWS }, (_, r) => Number(label.readBigInt64LE(8 * r))), expected.label?.data ?? [], 'int64');
    expectSameValues(kind, 'probabilities', Array.from({ length: 2 * ROWS }, (_, i) => probabilities.readFloatLE(4 * i)), expected.probabilities?.data ?? [], 'float32');
  });

  for (const kind of ['two-inputs', 'float64', 'regressor-flat', 'binary-label-probabilities'] as const) {
    it(`${kind}: concurrent one-row requests, batched together by the worker, each get their own row's answer`, async () => {
      const all = sampleInputs(kind);
      const expected = await inProcess(kind, all);
      const replies = await Promise.all(Array.from({ length: ROWS }, async (_, r) => {
        const inputs = all.map((i) => {
          const width = i.shape[1];
          return { name: i.name, datatype: oip(i.type), shape: [1, width], data: i.values.slice(r * width, (r + 1) * width) };
        });
        const res = await fetch(`${w.url}/v2/models/${kind}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs }) });
        expect(res.status).toBe(200);
        return ((await res.json()) as { outputs: OipOutput[] }).outputs;
      }));
      replies.forEach((outputs, r) => {
        for (const output of outputs) {
          const want = expected[output.name];
          if (!want) throw new Error(`unexpected output ${output.name}`);
          const perRow = want.data.length / ROWS;
          expect(output.shape, `${kind} ${output.name}`).toEqual([1, ...want.dims.slice(1)]);
          expectSameValues(kind, `${output.name} row ${r}`, output.data, want.data.slice(r * perRow, (r + 1) * perRow), want.type);
        }
      });
    });
  }

  it('logs every request of every shape without an error', async () => {
    const counts = await waitFor('the inference log to hold every model\'s requests', async () => {
      const rows = await t.db.selectFrom('inference_log').select(['model', 'error']).execute();
      return SERVED.every((kind) => rows.some((r) => r.model === kind)) ? rows : undefined;
    }, 15_000, 100);
    expect(counts.filter((r) => r.error !== null)).toEqual([]);
  });
});
