// Baseline servers for bench/serving.ts, each started as its own process so none shares an event
// loop or a heap with another (or with the load generator):
//   hello  a bare Fastify JSON endpoint (GET /hello -> {"hello":"world"})
//   hello-processes  the same, one process per core on one port (node:cluster, as Sluice's
//          SLUICE_PROCESSES=auto): what a bare endpoint does with the machine's every core
//   sink   a bare Fastify endpoint that takes a body of any type and answers {"ok":true}: the
//          most requests per second the load generator can send of a given size on this machine
//   naive  Fastify + one ONNX Runtime run per request, the way a first version is written:
//          Fastify's own JSON parsing and serialisation, the default session options, no batching.
// Prints "READY <port>" when listening.
import cluster from 'node:cluster';
import os from 'node:os';
import Fastify from 'fastify';
import { loadModelSession } from '../../src/models/onnx-runtime.js';
import ort from 'onnxruntime-node';

const [kind, modelPath] = process.argv.slice(2);

if (kind === 'hello-processes' && cluster.isPrimary) {
  // The primary only forks and reports: the processes share one port (port 0 in cluster workers
  // is one port the primary picks for all of them).
  const n = os.availableParallelism();
  const ports = await Promise.all(Array.from({ length: n }, () => new Promise<number>((resolve) => {
    cluster.fork().once('listening', (a) => resolve(a.port));
  })));
  process.stdout.write(`READY ${ports[0]}\n`);
  const stop = () => { for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL'); process.exit(0); };
  process.on('SIGTERM', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
} else {
  await serveTarget();
}

async function serveTarget(): Promise<void> {
  const app = Fastify();

  if (kind === 'hello' || kind === 'hello-processes') {
    app.get('/hello', async () => ({ hello: 'world' }));
  } else if (kind === 'sink') {
    // Bodies of every type stay raw (JSON too): the sink reads them and does nothing else.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 64 << 20 }, (_req, body, done) => done(null, body));
    app.post('/sink', async () => ({ ok: true }));
  } else if (kind === 'naive') {
    const model = await loadModelSession(modelPath as string);
    const input = model.signature.inputs[0];
    const output = model.signature.outputs[0];
    if (!input || !output) throw new Error('the naive server needs a model with an input and an output');
    const width = Number(input.shape[1]);
    app.post<{ Body: { inputs: Array<{ name: string; shape: number[]; data: number[] }> } }>('/infer', async (req) => {
      const x = req.body.inputs[0];
      if (!x || x.data.length % width !== 0) throw Object.assign(new Error('bad input'), { statusCode: 400 });
      const rows = x.data.length / width;
      const result = await model.session.run({ [input.name]: new ort.Tensor('float32', Float32Array.from(x.data), [rows, width]) });
      const out = result[output.name] as ort.Tensor;
      return { model_name: 'credit', outputs: [{ name: output.name, datatype: 'FP32', shape: out.dims, data: Array.from(out.data as Float32Array) }] };
    });
  } else {
    throw new Error(`unknown target ${kind}; expected hello, hello-processes, sink or naive`);
  }

  await app.listen({ port: 0, host: '127.0.0.1' });
  if (cluster.isWorker) return; // the primary reports and stops the group
  const address = app.server.address();
  process.stdout.write(`READY ${typeof address === 'object' && address ? address.port : 0}\n`);
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
