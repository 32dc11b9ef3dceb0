// Inference on the worker thread gives exactly the event loop's answers, batched or not; `auto`
// keeps a fast model on the event loop.
import fs from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventLoopExecutor, ThreadExecutor, type InferenceExecutor } from '../../../src/serving/execution/executor.js';
import { publishGeneration } from '../../../src/registry/traffic.js';
import { ModelHost } from '../../../src/serving/execution/host.js';
import { evaluationInputs, exporterEvaluationSet, exporterFixtureModel } from '../../../src/models/fixtures.js';
import { createTestDatabase } from '../../support/db.js';
import { fixture, infer, inferBody, registerModel, row, startWorker, waitFor, WIDTH, type TestWorker } from './support.js';

let loop: TestWorker;
let thread: TestWorker;
let auto: TestWorker;

beforeAll(async () => {
  [loop, thread, auto] = (await Promise.all((['event-loop', 'worker-thread', 'auto'] as const).map((executor) => startWorker(null, { config: { executor } })))) as [TestWorker, TestWorker, TestWorker];
  const mlp = fixture('mlp');
  for (const w of [loop, thread, auto]) {
    const r = await w.admin('POST', '/models/credit/versions/v2/load', { artifactUri: mlp.uri, sha256: mlp.sha256 });
    expect(r.status).toBe(200);
  }
});
afterAll(async () => {
  await Promise.all([loop?.close(), thread?.close(), auto?.close()]);
});

describe('executors', () => {
  it('the worker thread answers exactly like the event loop, for concurrent and multi-row requests', async () => {
    const rows = Array.from({ length: 32 }, (_, i) => row(500 + i));
    const onLoop = await Promise.all(rows.map(async (r) => (await infer(loop.url, 'credit', inferBody([r]))).body.outputs?.[0]?.data[0]));
    const onThread = await Promise.all(rows.map(async (r) => (await infer(thread.url, 'credit', inferBody([r]))).body.outputs?.[0]?.data[0]));
    expect(onThread).toEqual(onLoop);
    expect((await infer(thread.url, 'credit', inferBody(rows))).body.outputs?.[0]?.data).toEqual(onLoop);
    expect((await infer(auto.url, 'credit', inferBody(rows))).body.outputs?.[0]?.data).toEqual(onLoop);
  });

  it('string (BYTES) inputs and outputs cross to the worker thread and back: the same answers as the event loop, batched or not', async () => {
    const kind = 'string-category';
    const fixtureFile = exporterFixtureModel(kind);
    const { columns, rows } = exporterEvaluationSet(kind);
    const inputs = evaluationInputs(fixtureFile.entry, columns, rows.slice(0, 6));
    const body = (from: number, to: number) => ({ inputs: inputs.map((i) => {
      const width = i.shape[1];
      return { name: i.name, datatype: i.type === 'string' ? 'BYTES' : 'FP32', shape: [to - from, width], data: i.values.slice(from * width, to * width) };
    }) });
    const answers = async (w: TestWorker) => {
      expect((await w.admin('POST', '/models/strings/versions/v1/load', { artifactUri: fixtureFile.uri, sha256: fixtureFile.sha256 })).status).toBe(200);
      const one = await Promise.all([0, 1, 2, 3, 4, 5].map(async (r) => (await infer(w.url, 'strings', body(r, r + 1))).body.outputs?.[0]?.data[0]));
      const all = (await infer(w.url, 'strings', body(0, 6))).body.outputs?.[0]?.data;
      return { one, all };
    };
    // Within float32 rounding: concurrent requests may be batched differently, and a batch of other rows may take another kernel path.
    const near = (got: unknown[] | undefined, want: unknown[] | undefined) => {
      expect(got).toHaveLength(6);
      got?.forEach((v, i) => expect(v as number).toBeCloseTo(want?.[i] as number, 6));
    };
    const onLoop = await answers(loop);
    expect(onLoop.one.every((v) => typeof v === 'number')).toBe(true);
    near(onLoop.all, onLoop.one);
    const onThread = await answers(thread);
    near(onThread.one, onLoop.one);
    near(onThread.all, onLoop.all);
  });

  it('SLUICE_EXECUTION_PROVIDER=cuda uses CUDA where it starts, and otherwise says it fell back to CPU', async () => {
    const w = await startWorker(null, { config: { executionProvider: 'cuda' } });
    try {
      const mlp = fixture('mlp');
      expect((await w.admin('POST', '/models/credit/versions/v2/load', { artifactUri: mlp.uri, sha256: mlp.sha256 })).status).toBe(200);
      const server = (await (await fetch(`${w.url}/v2`)).json()) as { parameters: { execution_provider: string; requested_execution_provider: string } };
      expect(server.parameters.requested_execution_provider).toBe('cuda');
      const status = await w.admin('GET', '/status');
      const metrics = await (await fetch(`${w.url}/metrics`)).text();
      expect(metrics).toContain(`sluice_execution_provider{provider="${server.parameters.execution_provider}",requested="cuda"} 1`);
      if (server.parameters.execution_provider === 'cpu') expect(String(status.body.providerNote)).toMatch(/cuda execution provider did not start/);
      expect((await infer(w.url, 'credit', inferBody([row(1)]))).status).toBe(200);
    } finally {
      await w.close();
    }
  });

  it('a fleet member that asked for CUDA records the provider it got in its serving_workers row', async () => {
    const t = await createTestDatabase();
    let w: TestWorker | null = null;
    try {
      await registerModel(t.db, 'credit', { v2: 'mlp' });
      await publishGeneration(t.db, { model: 'credit', weights: { v2: 1 }, createdBy: 'test' });
      // The row is written at join with the provider asked for; the load that follows says what ran.
      w = await startWorker(t.db, { databaseUrl: t.url, config: { executionProvider: 'cuda', workerId: 'device-report' } });
      const got = ((await (await fetch(`${w.url}/v2`)).json()) as { parameters: { execution_provider: string } }).parameters.execution_provider;
      await waitFor('the row to carry the provider the version runs on', async () => {
        const r = await t.db.selectFrom('serving_workers').select('device').where('id', '=', 'device-report').executeTakeFirst();
        return r?.device === got ? true : undefined;
      }, 10_000, 50);
      expect((await infer(w.url, 'credit', inferBody([row(3)]))).status).toBe(200);
    } finally {
      await w?.close();
      await t.drop();
    }
  });

  it('a fallback the executor gives no note for names the provider that was asked for', async () => {
    // An executor that opens on CPU whatever it is asked for, and says nothing about why.
    const inner = new EventLoopExecutor();
    const executor: InferenceExecutor = {
      open: async (key, bytes) => ({ ...(await inner.open(key, bytes, 'cpu')), providerNote: null }),
      close: () => inner.close(),
    };
    const notes: string[] = [];
    const host = new ModelHost({ provider: 'cuda', maxBatchRows: 8, maxWaitUs: 100, executor, warmupRuns: 1, onProviderFallback: (n) => notes.push(n) });
    try {
      const mlp = fixture('mlp');
      const v = await host.load({ model: 'credit', version: 'v2', artifactUri: mlp.uri, sha256: mlp.sha256 });
      expect(v.provider).toBe('cpu');
      expect(notes).toEqual(['the cuda execution provider was not available; using cpu']);
    } finally {
      await host.releaseAll();
      await executor.close();
    }
  });

  it('a worker thread that dies is replaced, and the versions it held open again in the new one', async () => {
    const executor = new ThreadExecutor(1);
    try {
      const version = await executor.open('credit/v2', fs.readFileSync(fixture('mlp').path), 'cpu');
      const x = Float32Array.from([...row(11), ...row(12)]);
      const before = await version.run([x], [[2, WIDTH()]]);
      const thread = (executor as unknown as { worker: Worker | null }).worker;
      expect(thread).not.toBeNull();
      await thread?.terminate();
      const after = await version.run([x], [[2, WIDTH()]]);
      expect(Array.from(after[0]?.data as Float32Array)).toEqual(Array.from(before[0]?.data as Float32Array));
      expect((executor as unknown as { worker: Worker | null }).worker).not.toBe(thread);
    } finally {
      await executor.close();
    }
  });

  it('a standalone worker serves its only version before any generation, and unloads on request', async () => {
    expect((await infer(thread.url, 'credit', inferBody([row(1)]))).body.parameters).toEqual({ routing: 'routed' });
    expect((await thread.admin('DELETE', '/models/credit/versions/v2')).body).toMatchObject({ unloaded: true });
    expect((await infer(thread.url, 'credit', inferBody([row(1)]))).status).toBe(404);
  });
});
