// Models shaped like the common exporters' (test/fixtures/models/exporters/), seeded into the
// registry as registration stores them (with the contract the plain flow infers) and served by a
// real worker over OIP REST: every output comes back with its datatype and shape and the values
// ONNX Runtime gives in this process, for JSON and for the binary tensor extension, with int64,
// float64 and string (BYTES) tensors on the wire; every answered request is logged with one score
// per row, as the contract reads it from the outputs the caller got; each input is checked
// against the reference profile on its own features.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EXPORTER_FIXTURE_KINDS, evaluationInputs, exporterEvaluationSet, exporterFixtureModel,
  type EvaluationInput, type ExporterFixtureKind,
} from '../../../src/models/fixtures.js';
import { extractScores, rowScores, type OutputValues } from '../../../src/contracts/index.js';
import { loadModelSession, tensorFromValues } from '../../../src/models/onnx-runtime.js';
import { publishGeneration } from '../../../src/registry/traffic.js';
import { datatypeByOrt } from '../../../src/serving/protocol/tensors.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';
import { exporterFixtureContract } from '../../support/exporter-contracts.js';
import { exporterFixtureSignature, seedFixtureModel } from '../../support/seed.js';
import { startWorker, waitFor, type TestWorker } from './support.js';

/** Every shape the worker serves. ZipMap is refused at registration (see the model contract), never served. */
const SERVED = EXPORTER_FIXTURE_KINDS.filter((k): k is Exclude<ExporterFixtureKind, 'zipmap'> => k !== 'zipmap');
type ServedKind = (typeof SERVED)[number];
const ROWS = 5;
/** The two-inputs model again, with a reference profile and input checks that reject. */
const CHECKED = 'two-inputs-checked';
const SHADOWED = 'multiclass-shadowed';
/** The string-category model with a profile of its categories and input checks that reject. */
const STRING_CHECKED = 'string-category-checked';

let t: TestDatabase;
let w: TestWorker;

beforeAll(async () => {
  t = await createTestDatabase();
  for (const kind of SERVED) {
    await seedFixtureModel(t.db, { model: kind, versions: { v1: kind }, contract: exporterFixtureContract(kind) });
    await publishGeneration(t.db, { model: kind, weights: { v1: 1 }, createdBy: 'test' });
  }
  // A profile of every feature of both inputs, as a multi-input model's reference profile names them.
  const referenceProfile = { features: [
    { name: 'age', min: 18, max: 90 }, { name: 'income', min: 0, max: 1_000_000 }, { name: 'employment', categories: ['0', '1', '2', '3'] },
  ] };
  await seedFixtureModel(t.db, { model: CHECKED, versions: { v1: { artifact: 'two-inputs', referenceProfile } }, contract: exporterFixtureContract('two-inputs') });
  await publishGeneration(t.db, { model: CHECKED, weights: { v1: 1 }, spec: { inputChecks: 'reject' }, createdBy: 'test' });
  const stringProfile = { features: [{ name: 'age', min: 18, max: 90 }, { name: 'employment', categories: ['salaried', 'self_employed', 'unemployed', 'student'] }] };
  await seedFixtureModel(t.db, { model: STRING_CHECKED, versions: { v1: { artifact: 'string-category', referenceProfile: stringProfile } }, contract: exporterFixtureContract('string-category') });
  await publishGeneration(t.db, { model: STRING_CHECKED, weights: { v1: 1 }, spec: { inputChecks: 'reject' }, createdBy: 'test' });
  // A multiclass model whose every answer is mirrored to a shadow version (the same artifact).
  await seedFixtureModel(t.db, { model: SHADOWED, versions: { v1: 'multiclass-logits', v2: 'multiclass-logits' }, contract: exporterFixtureContract('multiclass-logits') });
  await publishGeneration(t.db, { model: SHADOWED, weights: { v1: 1 }, spec: { shadow: { version: 'v2', share: 1 } }, createdBy: 'test' });
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

/** Answered requests by id: the model and the outputs its caller got, to check the logged scores against. */
const answered = new Map<string, { kind: ServedKind; outputs: OipOutput[] }>();
let nextId = 0;
const requestId = (kind: string) => `${kind}-${nextId++}`;

/** The caller's outputs as typed arrays of their datatypes, by name: what extractScores reads. */
function outputValues(outputs: readonly OipOutput[]): Record<string, OutputValues> {
  const typed = (o: OipOutput): OutputValues['data'] => {
    if (o.datatype === 'FP32') return Float32Array.from(o.data);
    if (o.datatype === 'FP64') return Float64Array.from(o.data);
    if (o.datatype === 'INT64') return BigInt64Array.from(o.data, (v) => BigInt(v));
    return o.data;
  };
  return Object.fromEntries(outputs.map((o) => [o.name, { data: typed(o), dims: o.shape }]));
}

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
      const id = requestId(kind);
      const res = await fetch(`${w.url}/v2/models/${kind}/infer`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id, inputs: inputs.map((i) => ({ name: i.name, datatype: oip(i.type), shape: i.shape, data: i.values })) }),
      });
      const body = (await res.json()) as { outputs?: OipOutput[]; error?: string };
      expect(res.status, body.error).toBe(200);
      answered.set(id, { kind, outputs: body.outputs ?? [] });
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

  for (const kind of ['two-inputs', 'string-category', 'float64', 'regressor-flat', 'binary-label-probabilities', 'multiclass-logits'] as const) {
    it(`${kind}: concurrent one-row requests, batched together by the worker, each get their own row's answer`, async () => {
      const all = sampleInputs(kind);
      const expected = await inProcess(kind, all);
      const replies = await Promise.all(Array.from({ length: ROWS }, async (_, r) => {
        const inputs = all.map((i) => {
          const width = i.shape[1];
          return { name: i.name, datatype: oip(i.type), shape: [1, width], data: i.values.slice(r * width, (r + 1) * width) };
        });
        const id = requestId(kind);
        const res = await fetch(`${w.url}/v2/models/${kind}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, inputs }) });
        expect(res.status).toBe(200);
        const { outputs } = (await res.json()) as { outputs: OipOutput[] };
        answered.set(id, { kind, outputs });
        return outputs;
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

  it('string-category: string (BYTES) input in the binary tail, each element a 4-byte little-endian length and its UTF-8 bytes', async () => {
    const kind = 'string-category';
    const [numeric, employment] = sampleInputs(kind) as [EvaluationInput, EvaluationInput];
    const x = Float32Array.from(numeric.values);
    const words = Buffer.concat(employment.values.flatMap((v) => {
      const b = Buffer.from(String(v), 'utf8');
      const n = Buffer.alloc(4);
      n.writeUInt32LE(b.length);
      return [n, b];
    }));
    const id = requestId(kind);
    const header = Buffer.from(JSON.stringify({ id, inputs: [
      { name: 'employment', datatype: 'BYTES', shape: employment.shape, parameters: { binary_data_size: words.length } },
      { name: 'numeric', datatype: 'FP32', shape: numeric.shape, parameters: { binary_data_size: x.byteLength } },
    ] }));
    const res = await fetch(`${w.url}/v2/models/${kind}/infer`, {
      method: 'POST', headers: { 'inference-header-content-length': String(header.length), 'content-type': 'application/octet-stream' },
      body: Buffer.concat([header, words, Buffer.from(x.buffer, x.byteOffset, x.byteLength)]),
    });
    const body = (await res.json()) as { outputs: OipOutput[]; error?: string };
    expect(res.status, body.error).toBe(200);
    answered.set(id, { kind, outputs: body.outputs });
    const expected = await inProcess(kind, [numeric, employment]);
    expectSameValues(kind, 'probability', body.outputs[0]?.data ?? [], expected.probability?.data ?? [], 'float32');
  });

  it('string-category: a bad string input is a 400 naming the input, and nothing runs', async () => {
    const kind = 'string-category';
    const [numeric] = sampleInputs(kind) as [EvaluationInput];
    const send = async (employment: Record<string, unknown>, binary?: Buffer) => {
      const json = Buffer.from(JSON.stringify({ inputs: [
        { name: 'numeric', datatype: 'FP32', shape: numeric.shape, data: numeric.values },
        { name: 'employment', datatype: 'BYTES', shape: [ROWS, 1], ...employment },
      ] }));
      const res = await fetch(`${w.url}/v2/models/${kind}/infer`, {
        method: 'POST', headers: binary ? { 'inference-header-content-length': String(json.length) } : { 'content-type': 'application/json' },
        body: binary ? Buffer.concat([json, binary]) : json,
      });
      return { status: res.status, error: ((await res.json()) as { error: string }).error };
    };
    expect(await send({ data: ['salaried', 'student', 3, 'salaried', 'salaried'] })).toEqual({ status: 400, error: "input 'employment': element 2 is 3; expected a string (BYTES)" });
    expect(await send({ data: ['salaried'] })).toMatchObject({ status: 400, error: expect.stringMatching(/^input 'employment': shape \[5,1\] needs 5 elements but data has 1/) });
    expect(await send({ parameters: { binary_data_size: 7 } }, Buffer.from([3, 0, 0, 0, 0x61, 0x62, 0x63]))).toMatchObject({ status: 400, error: expect.stringMatching(/^input 'employment': binary_data_size is 7 bytes; shape \[5,1\] of BYTES needs at least 20/) });
  });

  it('checks each input on its own features: a violation in the second input is refused naming it', async () => {
    const [numeric, employment] = sampleInputs('two-inputs') as [EvaluationInput, EvaluationInput];
    const send = async (employmentCodes: number[], numericValues = numeric.values) => {
      const res = await fetch(`${w.url}/v2/models/${CHECKED}/infer`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [
          { name: 'numeric', datatype: 'FP32', shape: numeric.shape, data: numericValues },
          { name: 'employment', datatype: 'INT64', shape: employment.shape, data: employmentCodes },
        ] }),
      });
      return { status: res.status, error: ((await res.json()) as { error?: string }).error };
    };
    const codes = employment.values.map(Number);
    expect(await send(codes)).toEqual({ status: 200, error: undefined });
    const unknown = [...codes];
    unknown[3] = 9;
    expect(await send(unknown)).toEqual({ status: 400, error: expect.stringMatching(/^input 'employment': feature 'employment' \(row 3\) is 9, not one of the version's known categories/) });
    const old = [...numeric.values];
    old[8] = 130; // row 1's age
    expect(await send(codes, old)).toEqual({ status: 400, error: "input 'numeric': feature 'age' (row 1) is 130, outside the version's reference range [18, 90]" });
  });

  it('checks a string input against the profile\'s categories: an unknown one is refused naming input, feature and value', async () => {
    const [numeric, employment] = sampleInputs('string-category') as [EvaluationInput, EvaluationInput];
    const send = async (words: Array<string | number>) => {
      const res = await fetch(`${w.url}/v2/models/${STRING_CHECKED}/infer`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [
          { name: 'numeric', datatype: 'FP32', shape: numeric.shape, data: numeric.values },
          { name: 'employment', datatype: 'BYTES', shape: employment.shape, data: words },
        ] }),
      });
      return { status: res.status, error: ((await res.json()) as { error?: string }).error };
    };
    expect(await send(employment.values)).toEqual({ status: 200, error: undefined });
    const unknown = [...employment.values];
    unknown[4] = 'astronaut';
    expect(await send(unknown)).toEqual({ status: 400, error: "input 'employment': feature 'employment' (row 4) is 'astronaut', not one of the version's known categories (salaried, self_employed, unemployed, student)" });
  });

  it('a version loaded by hand through the admin API takes its contract in the body: checked on arrival, then its rows scored', async () => {
    const kind = 'regressor-column';
    const file = exporterFixtureModel(kind);
    const bad = await w.admin('POST', '/models/by-hand/versions/v1/load', { artifactUri: file.uri, sha256: file.sha256, contract: { task: 'regression', inputs: [] } });
    expect(bad.status).toBe(400);
    expect(String(bad.body.error)).toMatch(/^contract\/(inputs|score)/);
    const contract = exporterFixtureContract(kind);
    expect((await w.admin('POST', '/models/by-hand/versions/v1/load', { artifactUri: file.uri, sha256: file.sha256, contract })).status).toBe(200);
    const inputs = sampleInputs(kind);
    const id = requestId('by-hand');
    const res = await fetch(`${w.url}/v2/models/by-hand/versions/v1/infer`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id, inputs: inputs.map((i) => ({ name: i.name, datatype: oip(i.type), shape: i.shape, data: i.values })) }),
    });
    const { outputs } = (await res.json()) as { outputs: OipOutput[] };
    expect(res.status).toBe(200);
    const [logged] = await waitFor('the by-hand row', async () => {
      const got = await t.db.selectFrom('inference_log').select('scores').where('request_id', '=', id).execute();
      return got.length === 1 ? got : undefined;
    }, 15_000, 100);
    // A regressor's score is its prediction, one per row.
    expect(logged?.scores?.map(Math.fround)).toEqual((outputs[0]?.data ?? []).map(Math.fround));
    expect(logged?.scores).toHaveLength(ROWS);
  });

  it('shadow rows are logged with their own scores, one per row', async () => {
    const kind = 'multiclass-logits';
    const inputs = sampleInputs(kind);
    const id = requestId(SHADOWED);
    const res = await fetch(`${w.url}/v2/models/${SHADOWED}/infer`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id, inputs: inputs.map((i) => ({ name: i.name, datatype: oip(i.type), shape: i.shape, data: i.values })) }),
    });
    const { outputs } = (await res.json()) as { outputs: OipOutput[] };
    expect(res.status).toBe(200);
    const rows = await waitFor('the primary and shadow rows', async () => {
      const logged = await t.db.selectFrom('inference_log').select(['version', 'shadow', 'scores']).where('request_id', '=', id).orderBy('shadow').execute();
      return logged.length === 2 ? logged : undefined;
    }, 15_000, 100);
    const extracted = extractScores(exporterFixtureContract(kind), outputValues(outputs));
    if (!extracted.ok) throw new Error(extracted.message);
    const expected = Array.from(rowScores(extracted));
    expect(expected).toHaveLength(ROWS);
    // The top class of each row, the same for both: the shadow runs the same artifact on the same inputs.
    expect(rows.map((r) => [r.version, r.shadow, r.scores])).toEqual([['v1', false, expected], ['v2', true, expected]]);
  });

  it('logs every request of every shape without an error, with one score per row as the contract reads the outputs the caller got', async () => {
    const ids = [...answered.keys()];
    expect(new Set([...answered.values()].map((a) => a.kind))).toEqual(new Set(SERVED));
    const rows = await waitFor('the inference log to hold every answered request', async () => {
      const logged = await t.db.selectFrom('inference_log').select(['request_id', 'model', 'error', 'scores']).where('request_id', 'in', ids).execute();
      return logged.length === ids.length ? logged : undefined;
    }, 15_000, 100);
    expect(rows.filter((r) => r.error !== null)).toEqual([]);
    for (const r of rows) {
      const { kind, outputs } = answered.get(r.request_id) as { kind: ServedKind; outputs: OipOutput[] };
      expect(r.model).toBe(kind);
      const extracted = extractScores(exporterFixtureContract(kind), outputValues(outputs));
      if (!extracted.ok) throw new Error(`${kind}: ${extracted.message}`);
      const expected = Array.from(rowScores(extracted), Math.fround);
      expect(expected, `${kind} ${r.request_id}`).toHaveLength(outputs[0]?.shape[0] ?? -1);
      // real[]: float32, read back through its shortest decimal.
      expect(r.scores?.map(Math.fround), `${kind} ${r.request_id}`).toEqual(expected);
    }
  });
});
