// The Open Inference Protocol through real HTTP against a real worker, with the project's ONNX
// fixtures: metadata, JSON and binary infer, every kind of bad input, batching that neither
// changes answers nor lets one bad request hurt others, metrics (by arm; queue depth), feedback
// and admin auth.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushGeneration } from '../../../src/fleet/index.js';
import { publishGeneration } from '../../../src/registry/traffic.js';
import { buildServingApp } from '../../../src/serving/app.js';
import { routingKeyHash } from '../../../src/shared/routing-hash.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';
import { infer, inferBody, inferMany, INPUT, metric, registerModel, registerVersion, row, slowModel, startWorker, TOKEN, waitFor, WIDTH, type TestWorker } from './support.js';

let t: TestDatabase;
let w: TestWorker;

beforeAll(async () => {
  t = await createTestDatabase();
  await registerModel(t.db, 'credit', { v1: 'logreg', v2: 'mlp' });
  await publishGeneration(t.db, { model: 'credit', weights: { v1: 1 }, createdBy: 'test' });
  w = await startWorker(t.db, { databaseUrl: t.url, config: { bodyLimitBytes: 256 * 1024, inferenceLog: { enabled: true, capacity: 100_000, batchRows: 1000, flushMs: 20, sampleRate: 1, inputSampleRate: 1 } } });
});
afterAll(async () => {
  await w?.close();
  await t?.drop();
});

async function post(path: string, body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const res = await fetch(`${w.url}${path}`, { method: 'POST', headers, body });
  return { status: res.status, headers: res.headers, buffer: Buffer.from(await res.arrayBuffer()) };
}

describe('metadata and health', () => {
  it('answers liveness, readiness, server, model and version metadata', async () => {
    expect(await (await fetch(`${w.url}/v2/health/live`)).json()).toEqual({ live: true });
    expect((await fetch(`${w.url}/v2/health/ready`)).status).toBe(200);
    const server = (await (await fetch(`${w.url}/v2`)).json()) as { extensions: string[]; parameters: Record<string, string> };
    expect(server.extensions).toContain('binary_tensor_data');
    expect(server.parameters.execution_provider).toBe('cpu');
    const meta = (await (await fetch(`${w.url}/v2/models/credit`)).json()) as Record<string, unknown>;
    expect(meta).toMatchObject({
      name: 'credit', versions: ['v1'], platform: 'onnxruntime_onnx',
      inputs: [{ name: INPUT(), datatype: 'FP32', shape: [-1, WIDTH()] }], outputs: [{ datatype: 'FP32', shape: [-1, 1] }],
      parameters: { generation: 1, weights: { v1: 1 }, version: 'v1', execution_provider: 'cpu', batchable: true },
    });
    expect((await fetch(`${w.url}/v2/models/credit/ready`)).status).toBe(200);
    expect((await fetch(`${w.url}/v2/models/credit/versions/v1/ready`)).status).toBe(200);
    expect((await fetch(`${w.url}/v2/models/credit/versions/v1`)).status).toBe(200);
  });

  it('404s name what is missing', async () => {
    for (const path of ['/v2/models/nope', '/v2/models/nope/ready', '/v2/models/credit/versions/v9', '/v2/models/credit/versions/v9/ready']) {
      const res = await fetch(`${w.url}${path}`);
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { error: string }).error).toMatch(/nope|v9/);
    }
    expect((await infer(w.url, 'nope', inferBody([row(1)]))).body.error).toBe("model 'nope' is not served by this worker");
    const v9 = await infer(w.url, 'credit', inferBody([row(1)]), 'v9');
    expect(v9).toMatchObject({ status: 404, body: { error: "version 'v9' of model 'credit' is not loaded on this worker" } });
  });
});

describe('infer', () => {
  it('JSON in, JSON out: the version, the generation and the caller id come back', async () => {
    const r = await infer(w.url, 'credit', inferBody([row(1), row(2)], { routing_key: 'user-1' }, { id: 'my-request-1' }));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ model_name: 'credit', model_version: 'v1', id: 'my-request-1', parameters: { routing: 'routed', generation: 1 } });
    expect(r.body.outputs?.[0]).toMatchObject({ datatype: 'FP32', shape: [2, 1] });
    for (const p of r.body.outputs?.[0]?.data ?? []) expect(p).toBeGreaterThan(0);
  });

  it('binary tensor data in and out gives exactly the JSON answer', async () => {
    const rows = [row(3), row(4), row(5)];
    const viaJson = await infer(w.url, 'credit', inferBody(rows));
    const x = Float32Array.from(rows.flat());
    const header = Buffer.from(JSON.stringify({
      inputs: [{ name: INPUT(), shape: [3, WIDTH()], datatype: 'FP32', parameters: { binary_data_size: x.byteLength } }],
      outputs: [{ name: 'probability', parameters: { binary_data: true } }],
    }));
    // tritonclient sends no JSON content type for binary bodies.
    const res = await post('/v2/models/credit/infer', Buffer.concat([header, Buffer.from(x.buffer)]), { 'inference-header-content-length': String(header.length), 'content-type': 'application/octet-stream' });
    expect(res.status).toBe(200);
    const hl = Number(res.headers.get('inference-header-content-length'));
    const head = JSON.parse(res.buffer.subarray(0, hl).toString()) as { outputs: Array<{ parameters: { binary_data_size: number } }> };
    expect(head.outputs[0]?.parameters.binary_data_size).toBe(12);
    const out = new Float32Array(res.buffer.buffer.slice(res.buffer.byteOffset + hl, res.buffer.byteOffset + res.buffer.length));
    expect(Array.from(out)).toEqual(viaJson.body.outputs?.[0]?.data);
  });

  it('the versioned path bypasses routing', async () => {
    expect((await w.admin('POST', '/models/credit/versions/v2/load', {})).status).toBe(200);
    const r = await infer(w.url, 'credit', inferBody([row(1)], { routing_key: 'user-1' }), 'v2');
    expect(r.body).toMatchObject({ model_version: 'v2', parameters: { routing: 'pinned' } });
    expect((await infer(w.url, 'credit', inferBody([row(1)], { routing_key: 'user-1' }))).body.model_version).toBe('v1');
  });
});

describe('bad input gets a 400 that names the problem, and the worker stays up', () => {
  const good = () => inferBody([row(1)]);
  const input = (patch: Record<string, unknown>) => ({ inputs: [{ name: INPUT(), shape: [1, WIDTH()], datatype: 'FP32', data: row(1), ...patch }] });
  const cases: Array<[string, () => string | Record<string, unknown>, RegExp]> = [
    ['wrong input name', () => input({ name: 'features' }), new RegExp(`unexpected input 'features'; the model expects '${'input'}' \\(FP32 \\[-1,\\d+\\]\\)`)],
    ['wrong datatype', () => input({ datatype: 'INT32' }), /input '\w+': datatype INT32 does not match the model's FP32/],
    ['wrong shape', () => input({ shape: [1, 7], data: [1, 2, 3, 4, 5, 6, 7] }), /shape \[1,7\] does not match the model's \[-1,\d+\] \(dimension 1 must be \d+\)/],
    ['wrong element count', () => input({ data: row(1).slice(1) }), /needs \d+ elements but data has \d+/],
    ['non-numeric data', () => input({ data: [...row(1).slice(1), 'x'] }), /element \d+ is "x"; expected a number \(FP32\)/],
    ['NaN written as a string', () => input({ data: [...row(1).slice(1), 'NaN'] }), /element \d+ is "NaN"; expected a number/],
    ['malformed JSON', () => '{"inputs": [{"name": ', /malformed JSON body/],
    ['no inputs', () => ({ inputs: [] }), /"inputs" must be a non-empty array/],
    ['unknown output', () => ({ ...good(), outputs: [{ name: 'logits' }] }), /unknown output 'logits'/],
    // A hundred-byte body must not make the worker allocate for the shape it declares.
    ['a huge shape in a tiny body', () => input({ shape: [200_000_000, WIDTH()], data: [1] }), /input '\w+': shape \[200000000,\d+\] has 200000000 rows; this worker accepts at most \d+ per request/],
    ['a dimension past 2^53', () => input({ shape: [1e200, WIDTH()] }), /input '\w+': shape \[1e\+200,\d+\] must be an array of non-negative integers no larger than 9007199254740991/],
    ['data nested 100k deep', () => JSON.stringify(input({ data: 0 })).replace('"data":0', `"data":${'['.repeat(100_000)}1${']'.repeat(100_000)}`),
      /input '\w+': data is nested deeper than shape \[1,\d+\] allows/],
    ['a request id with a NUL', () => ({ ...good(), id: 'a\u0000b' }), /"id" must be printable text; character 1 is the control character U\+0000/],
  ];
  for (const [name, body, message] of cases) {
    it(name, async () => {
      const b = body();
      const r = await infer(w.url, 'credit', b);
      expect(r.status).toBe(400);
      expect(r.body.error).toMatch(message);
    });
  }

  it('NaN and Infinity in binary float data', async () => {
    const x = Float32Array.from(row(1));
    x[2] = Number.POSITIVE_INFINITY;
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: INPUT(), shape: [1, WIDTH()], datatype: 'FP32', parameters: { binary_data_size: x.byteLength } }] }));
    const res = await post('/v2/models/credit/infer', Buffer.concat([header, Buffer.from(x.buffer)]), { 'inference-header-content-length': String(header.length) });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.buffer.toString()).error).toMatch(/element 2 is Infinity; the model's contract forbids NaN and Infinity/);
  });

  it('an Inference-Header-Content-Length that is not a plain decimal number', async () => {
    const x = Float32Array.from(row(1));
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: INPUT(), shape: [1, WIDTH()], datatype: 'FP32', parameters: { binary_data_size: x.byteLength } }] }));
    const body = Buffer.concat([header, Buffer.from(x.buffer)]);
    expect((await post('/v2/models/credit/infer', body, { 'inference-header-content-length': String(header.length) })).status).toBe(200);
    for (const v of [`0x${header.length.toString(16)}`, `${header.length}.0`, '']) {
      const res = await post('/v2/models/credit/infer', body, { 'inference-header-content-length': v });
      expect(res.status, JSON.stringify(v)).toBe(400);
      expect(JSON.parse(res.buffer.toString()).error, JSON.stringify(v)).toMatch(/Inference-Header-Content-Length is .+; expected a decimal integer between 0 and the body length/);
    }
  });

  it('a body over the size limit (413) and an empty body', async () => {
    const big = JSON.stringify(inferBody(Array.from({ length: 2000 }, (_, i) => row(i))));
    const res = await post('/v2/models/credit/infer', big);
    expect(res.status).toBe(413);
    expect(JSON.parse(res.buffer.toString()).error).toMatch(/larger than this worker's limit of 262144 bytes/);
    const empty = await post('/v2/models/credit/infer', '');
    expect(empty.status).toBe(400);
  });

  it('bad requests mixed into a batch fail alone; good ones get their own answers', async () => {
    const singles = await Promise.all(Array.from({ length: 10 }, async (_, i) => (await infer(w.url, 'credit', inferBody([row(100 + i)]))).body.outputs?.[0]?.data[0]));
    const before = await metric(w.url, 'sluice_batch_requests_sum');
    const mixed = await Promise.all(Array.from({ length: 40 }, (_, i) => i % 4 === 3
      ? infer(w.url, 'credit', input({ data: [...row(1).slice(1), 'bad'] }))
      : infer(w.url, 'credit', inferBody([row(100 + (i % 10))]))));
    mixed.forEach((r, i) => {
      if (i % 4 === 3) expect(r.status).toBe(400);
      else expect(r.body.outputs?.[0]?.data[0]).toBe(singles[i % 10]);
    });
    expect(await metric(w.url, 'sluice_batch_requests_sum')).toBeGreaterThan(before);
    expect((await fetch(`${w.url}/v2/health/live`)).status).toBe(200);
  });
});

describe('batching', () => {
  it('batched outputs equal unbatched outputs exactly', async () => {
    const rows = Array.from({ length: 64 }, (_, i) => row(1000 + i));
    // Alone: one request at a time, so each runs as a batch of one.
    const alone: number[] = [];
    for (const r of rows) alone.push((await infer(w.url, 'credit', inferBody([r]))).body.outputs?.[0]?.data[0] as number);
    const batchesBefore = await metric(w.url, 'sluice_batch_rows_count', { version: 'v1' });
    const rowsBefore = await metric(w.url, 'sluice_batch_rows_sum', { version: 'v1' });
    // Together: 64 concurrent single-row requests share runs.
    const together = await Promise.all(rows.map(async (r) => (await infer(w.url, 'credit', inferBody([r]))).body.outputs?.[0]?.data[0]));
    const runs = (await metric(w.url, 'sluice_batch_rows_count', { version: 'v1' })) - batchesBefore;
    const batchedRows = (await metric(w.url, 'sluice_batch_rows_sum', { version: 'v1' })) - rowsBefore;
    expect(batchedRows).toBe(64);
    expect(runs).toBeLessThan(64); // some requests did share a run
    // And one 64-row request.
    const oneRequest = (await infer(w.url, 'credit', inferBody(rows))).body.outputs?.[0]?.data;
    expect(together).toEqual(alone);
    expect(oneRequest).toEqual(alone);
  });
});

describe('telemetry and feedback', () => {
  it('/metrics reports requests, latency, batch sizes, queue depth and the execution provider', async () => {
    const text = await (await fetch(`${w.url}/metrics`)).text();
    for (const name of ['sluice_inference_requests_total{model="credit",version="v1",arm=""}', 'sluice_inference_latency_seconds_bucket', 'sluice_batch_rows_bucket',
      'sluice_inference_errors_total{model="credit",version="v1",arm="",code="bad_request"}', 'sluice_execution_provider{provider="cpu",requested="cpu"} 1',
      'sluice_queue_depth_rows{model="credit",version="v1"}', 'sluice_inference_log_dropped_total', 'sluice_inference_log_inputs_dropped_total 0',
      'sluice_inference_log_buffered_bytes']) {
      expect(text, name).toContain(name);
    }
  });

  it('/metrics counts requests and latency by model, version and experiment arm, as the responses name them', async () => {
    await registerModel(t.db, 'abtest', { v1: 'logreg', v2: 'mlp' });
    await publishGeneration(t.db, { model: 'abtest', weights: { v1: 0.5, v2: 0.5 }, spec: { experiment: { id: 'exp-metrics', salt: 'exp-metrics-salt', arms: { control: 'v1', treatment: 'v2' } } }, createdBy: 'test' });
    expect((await pushGeneration(t.db, { model: 'abtest', adminToken: TOKEN })).allAcked).toBe(true);
    const served: Record<string, number> = {};
    await inferMany(w.url, 'abtest', 300, (i) => inferBody([row(i)], { routing_key: `arm-key-${i}` }), (i, r) => {
      expect(r.status).toBe(200);
      const key = `${r.body.model_version}/${r.body.parameters?.arm}`;
      served[key] = (served[key] ?? 0) + 1;
    }, { connections: 4, depth: 8 });
    // Pinned requests bypass routing: outside the experiment, under no arm.
    for (let i = 0; i < 3; i++) expect((await infer(w.url, 'abtest', inferBody([row(i)]), 'v2')).status).toBe(200);
    expect(Object.keys(served).sort()).toEqual(['v1/control', 'v2/treatment']);
    expect(served['v1/control']).toBeGreaterThan(100);
    expect(served['v2/treatment']).toBeGreaterThan(100);

    const series = { 'v1/control': served['v1/control'] ?? 0, 'v2/treatment': served['v2/treatment'] ?? 0, 'v1/treatment': 0, 'v2/control': 0, 'v1/': 0, 'v2/': 3 };
    for (const [key, count] of Object.entries(series)) {
      const [version, arm] = key.split('/') as [string, string];
      const labels = { model: 'abtest', version, arm };
      expect(await metric(w.url, 'sluice_inference_requests_total', labels), key).toBe(count);
      expect(await metric(w.url, 'sluice_inference_latency_seconds_count', labels), key).toBe(count);
      expect(await metric(w.url, 'sluice_inference_latency_seconds_bucket', { ...labels, le: '+Inf' }), key).toBe(count);
      if (count > 0) expect(await metric(w.url, 'sluice_inference_latency_seconds_sum', labels), key).toBeGreaterThan(0);
    }
    // A request its arm's version turns away counts as that arm's error.
    const bad = await infer(w.url, 'abtest', { ...inferBody([row(1)], { routing_key: 'arm-key-0' }), inputs: [{ name: 'nope', shape: [1, 1], datatype: 'FP32', data: [1] }] });
    expect(bad.status).toBe(400);
    const arm = String((await infer(w.url, 'abtest', inferBody([row(1)], { routing_key: 'arm-key-0' }))).body.parameters?.arm);
    expect(['control', 'treatment']).toContain(arm);
    expect(await metric(w.url, 'sluice_inference_errors_total', { model: 'abtest', arm, code: 'bad_request' })).toBe(1);
  });

  it('the queue-depth gauge shows rows waiting while a slow version\'s batches run, and none once they are done', async () => {
    // Injected fault delays act before a request joins its batch, so they hold no batch. A slow
    // version does: it runs on the inference thread, two batches at a time, and requests beyond
    // those wait in its queue.
    const slow = await slowModel();
    await registerVersion(t.db, 'credit', 'slow', slow);
    expect((await w.admin('POST', '/models/credit/versions/slow/load', { artifactUri: slow.uri, sha256: slow.sha256 })).status).toBe(200);
    const depth = () => metric(w.url, 'sluice_queue_depth_rows', { model: 'credit', version: 'slow' });
    expect(await depth()).toBe(0);
    let stop = false;
    const client = async (c: number) => {
      for (let i = 0; !stop; i++) {
        expect((await infer(w.url, 'credit', inferBody(Array.from({ length: 64 }, (_, k) => row(c * 1000 + i * 64 + k))), 'slow')).status).toBe(200);
      }
    };
    // Twelve clients keep 768 rows outstanding: more than two 256-row batches can hold.
    const clients = Array.from({ length: 12 }, (_, c) => client(c));
    let seen: number;
    try {
      seen = await waitFor('rows waiting for a batch', async () => { const d = await depth(); return d > 0 ? d : undefined; }, 30_000, 5);
    } finally {
      stop = true;
      await Promise.all(clients);
    }
    expect(seen % 64).toBe(0); // whole requests wait, never part of one
    expect(seen).toBeLessThanOrEqual(768);
    await w.app.serving.host.find('credit', 'slow')?.batcher.idle();
    expect(await depth()).toBe(0);
    expect((await w.admin('DELETE', '/models/credit/versions/slow')).body).toMatchObject({ unloaded: true });
  });

  it('logs requests to inference_log with the hashed routing key, inputs and outputs', async () => {
    await infer(w.url, 'credit', inferBody([row(7)], { routing_key: 'user-77' }, { id: 'logged-1' }));
    const logged = await waitFor('the log row', async () => (await t.db.selectFrom('inference_log').selectAll().where('request_id', '=', 'logged-1').executeTakeFirst()) ?? undefined);
    expect(logged).toMatchObject({ model: 'credit', version: 'v1', routing_key_hash: routingKeyHash('user-77'), shadow: false, fallback: false, worker_id: w.app.serving.config.workerId });
    // inputs: float32 little-endian bytes (bytea), exactly the request's values.
    expect(logged.inputs).toBeInstanceOf(Buffer);
    expect(logged.inputs).toHaveLength(4 * WIDTH());
    const inputs = Array.from({ length: WIDTH() }, (_, j) => (logged.inputs as Buffer).readFloatLE(4 * j));
    expect(inputs).toEqual(Array.from(Float32Array.from(row(7))));
    expect(logged.outputs).toHaveLength(1);
    expect(logged.latency_us).toBeGreaterThan(0);
    expect(logged.error).toBeNull();
  });

  it('a request id or input name with a NUL is refused before the log, so the log batch it would have shared is written', async () => {
    const [badId, badName, ok] = await Promise.all([
      infer(w.url, 'credit', inferBody([row(8)], {}, { id: 'nul-\u0000-id' })),
      infer(w.url, 'credit', { id: 'nul-name-1', inputs: [{ name: 'in\u0000put', shape: [1, WIDTH()], datatype: 'FP32', data: row(8) }] }),
      infer(w.url, 'credit', inferBody([row(8)], {}, { id: 'beside-nul-1' })),
    ]);
    expect(badId).toMatchObject({ status: 400, body: { error: expect.stringMatching(/"id" must be printable text/) as unknown } });
    expect(badName).toMatchObject({ status: 400, body: { error: expect.stringMatching(/inputs\[0\].name must be printable text/) as unknown } });
    expect(ok.status).toBe(200);
    await waitFor('the row beside them', async () => (await t.db.selectFrom('inference_log').select('request_id').where('request_id', '=', 'beside-nul-1').executeTakeFirst()) ?? undefined);
    expect(await t.db.selectFrom('inference_log').select('request_id').where('request_id', '=', 'nul-name-1').executeTakeFirst()).toBeUndefined();
  });

  it('requests the routed version turned away are logged with their error, for per-version error rates', async () => {
    const bad = { id: 'logged-bad-1', inputs: [{ name: INPUT(), shape: [1, WIDTH()], datatype: 'FP32', data: [...row(1).slice(1), 'x'] }] };
    expect((await infer(w.url, 'credit', bad)).status).toBe(400);
    const logged = await waitFor('the error row', async () => (await t.db.selectFrom('inference_log').selectAll().where('request_id', '=', 'logged-bad-1').executeTakeFirst()) ?? undefined);
    expect(logged).toMatchObject({ version: 'v1', outputs: null, shadow: false });
    expect(logged.error).toMatch(/^bad_request: input '\w+': element \d+ is "x"/);
  });

  it('POST /v2/feedback stores one event or many, keyed by request id or hashed routing key', async () => {
    const one = await post('/v2/feedback', JSON.stringify({ model: 'credit', request_id: 'logged-1', metric: 'repaid', value: 1 }));
    expect(one.status).toBe(200);
    const many = await post('/v2/feedback', JSON.stringify([
      { model: 'credit', routing_key: 'user-77', metric: 'revenue', value: 12.5, time: '2026-01-02T03:04:05Z' },
      { model: 'credit', routing_key: 'user-78', metric: 'revenue', value: 0, time: 1767225600000 },
    ]));
    expect(JSON.parse(many.buffer.toString())).toEqual({ accepted: 2 });
    const rows = await t.db.selectFrom('feedback').selectAll().orderBy('id').execute();
    expect(rows.map((r) => [r.request_id, r.routing_key_hash, r.metric, r.value])).toEqual([
      ['logged-1', null, 'repaid', 1], [null, routingKeyHash('user-77'), 'revenue', 12.5], [null, routingKeyHash('user-78'), 'revenue', 0],
    ]);
    expect(rows[1]?.at.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    for (const bad of [{ model: 'credit', metric: 'repaid', value: 1 }, { model: 'credit', request_id: 'x', metric: 'Bad Name', value: 1 }, { model: 'credit', request_id: 'x', metric: 'ok', value: 'high' }]) {
      const r = await post('/v2/feedback', JSON.stringify(bad));
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(JSON.parse(r.buffer.toString()).error).toBeTruthy();
    }
  });

  it('feedback metrics label only hosted models and a bounded set of metric names; anything else is "other"', async () => {
    const feedbackSeries = async () => (await (await fetch(`${w.url}/metrics`)).text()).split('\n').filter((l) => l.startsWith('sluice_feedback_events_total{'));
    const unknown = await post('/v2/feedback', JSON.stringify([
      { model: 'no-such-model-7f3a', request_id: 'r-1', metric: 'repaid', value: 1 },
      { model: 'no-such-model-9c1e', request_id: 'r-2', metric: 'repaid', value: 1 },
    ]));
    expect(unknown.status).toBe(200);
    let series = await feedbackSeries();
    expect(series.join('\n')).not.toContain('no-such-model');
    expect(await metric(w.url, 'sluice_feedback_events_total', { model: 'other', metric: 'repaid' })).toBe(2);
    expect(await metric(w.url, 'sluice_feedback_events_total', { model: 'credit', metric: 'repaid' })).toBeGreaterThanOrEqual(1);

    // Metric names are caller-chosen too: past a bound they are counted as "other".
    const names = Array.from({ length: 100 }, (_, i) => `made_up_${i}`);
    expect((await post('/v2/feedback', JSON.stringify(names.map((metric) => ({ model: 'credit', request_id: 'r-3', metric, value: 1 }))))).status).toBe(200);
    series = await feedbackSeries();
    const metricLabels = new Set(series.map((l) => /metric="([^"]*)"/.exec(l)?.[1]));
    expect(metricLabels.size).toBeLessThanOrEqual(65);
    expect(metricLabels).toContain('other');
    expect(series.join('\n')).not.toContain('made_up_99');
  });

  it('a blank routing key in feedback is no key, as in routing: a request_id is then needed', async () => {
    const before = await t.db.selectFrom('feedback').select('id').orderBy('id', 'desc').limit(1).executeTakeFirst();
    const withId = await post('/v2/feedback', JSON.stringify({ model: 'credit', request_id: 'r-blank', routing_key: '', metric: 'repaid', value: 1 }));
    expect(withId.status).toBe(200);
    const stored = await t.db.selectFrom('feedback').selectAll().where('id', '>', before?.id ?? '0').execute();
    expect(stored.map((r) => [r.request_id, r.routing_key_hash])).toEqual([['r-blank', null]]);
    for (const key of ['', '   ']) {
      const r = await post('/v2/feedback', JSON.stringify({ model: 'credit', routing_key: key, metric: 'repaid', value: 1 }));
      expect(r.status, JSON.stringify(key)).toBe(400);
      expect(JSON.parse(r.buffer.toString()).error).toMatch(/needs a request_id or a non-blank routing_key/);
    }
  });
});

describe('admin', () => {
  it('refuses requests without the bearer token, or with a wrong one', async () => {
    expect((await fetch(`${w.url}/admin/status`)).status).toBe(401);
    expect((await fetch(`${w.url}/admin/status`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(`${w.url}/admin/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  });

  it('refuses to build without a token unless insecure dev mode is explicit', async () => {
    await expect(buildServingApp({ db: null })).rejects.toThrow(/SLUICE_ADMIN_TOKEN is not set/);
    const app = await buildServingApp({ db: null, config: { insecureAdmin: true } });
    await app.close();
  });

  it('loading a version with a wrong sha256 fails and leaves nothing half-loaded', async () => {
    const r = await w.admin('POST', '/models/credit/versions/v7/load', { artifactUri: 'file:///nonexistent/model.onnx', sha256: 'a'.repeat(64) });
    expect(r.status).toBe(422);
    expect(String(r.body.error)).toMatch(/cannot read artifact/);
    const status = await w.admin('GET', '/status');
    expect(JSON.stringify(status.body)).not.toContain('"v7"');
  });
});
