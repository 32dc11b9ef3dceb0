// A model with a string (BYTES) output, built here: x float [batch, 1] → Cast to string → label,
// and Identity → value. Requests are batched as for any model (the batcher splits the string
// array by rows); its answers carry JSON strings, or Triton's length-prefixed bytes in the binary tail.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker, type TestWorker } from './support.js';

const { onnx } = onnxProto;
let w: TestWorker;
let dir: string;

function valueInfo(name: string, elemType: number): onnxProto.onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType, shape: { dim: [{ dimParam: 'batch' }, { dimValue: 1 }] } } } };
}

beforeAll(async () => {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'labels',
      node: [
        { opType: 'Cast', input: ['x'], output: ['label'], name: 'to_text', attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: onnx.TensorProto.DataType.STRING }] },
        { opType: 'Identity', input: ['x'], output: ['value'], name: 'same' },
      ],
      input: [valueInfo('x', onnx.TensorProto.DataType.FLOAT)],
      output: [valueInfo('label', onnx.TensorProto.DataType.STRING), valueInfo('value', onnx.TensorProto.DataType.FLOAT)],
    },
  });
  const bytes = onnx.ModelProto.encode(model).finish();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-strings-'));
  const file = path.join(dir, 'labels.onnx');
  fs.writeFileSync(file, bytes);
  w = await startWorker(null);
  const loaded = await w.admin('POST', '/models/labels/versions/v1/load', { artifactUri: pathToFileURL(file).href, sha256: createHash('sha256').update(bytes).digest('hex') });
  expect(loaded.status).toBe(200);
});
afterAll(async () => {
  await w?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const body = (x: number, binary = false) => JSON.stringify({
  inputs: [{ name: 'x', shape: [1, 1], datatype: 'FP32', data: [x] }],
  ...(binary ? { parameters: { binary_data_output: true } } : {}),
});

describe('a model with a string output', () => {
  it('answers concurrent requests with JSON strings, each its own', async () => {
    const replies = await Promise.all([1.5, -2, 42].map(async (x) => {
      const res = await fetch(`${w.url}/v2/models/labels/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(x) });
      expect(res.status).toBe(200);
      return (await res.json()) as { outputs: Array<{ name: string; datatype: string; shape: number[]; data: unknown[] }> };
    }));
    expect(replies.map((r) => r.outputs.find((o) => o.name === 'label'))).toEqual([
      { name: 'label', datatype: 'BYTES', shape: [1, 1], data: ['1.5'] },
      { name: 'label', datatype: 'BYTES', shape: [1, 1], data: ['-2'] },
      { name: 'label', datatype: 'BYTES', shape: [1, 1], data: ['42'] },
    ]);
    expect(replies.map((r) => r.outputs.find((o) => o.name === 'value')?.data)).toEqual([[1.5], [-2], [42]]);
  });

  it('sends BYTES in the binary tail as a 4-byte little-endian length and the UTF-8 bytes', async () => {
    const res = await fetch(`${w.url}/v2/models/labels/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(0.25, true) });
    expect(res.status).toBe(200);
    const headerLength = Number(res.headers.get('inference-header-content-length'));
    const raw = Buffer.from(await res.arrayBuffer());
    const header = JSON.parse(raw.toString('utf8', 0, headerLength)) as { outputs: Array<{ name: string; parameters: { binary_data_size: number } }> };
    let at = headerLength;
    const tails = Object.fromEntries(header.outputs.map((o) => { const b = raw.subarray(at, at + o.parameters.binary_data_size); at += o.parameters.binary_data_size; return [o.name, b]; }));
    expect(at).toBe(raw.length);
    const label = tails.label as Buffer;
    expect(label.readUInt32LE(0)).toBe(4);
    expect(label.toString('utf8', 4)).toBe('0.25');
    expect((tails.value as Buffer).readFloatLE(0)).toBe(0.25);
  });
});
