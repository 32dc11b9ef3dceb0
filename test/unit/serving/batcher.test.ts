import { describe, expect, it } from 'vitest';
import { MicroBatcher, type BatchRun } from '../../../src/serving/execution/batcher.js';
import { datatypeByOip, type TypedArray } from '../../../src/serving/protocol/tensors.js';

const FP32 = datatypeByOip('FP32')!;

/** A fake model: output row i = sum of input row i; records every batch it sees. */
function summingModel(fail?: (x: Float32Array) => boolean) {
  const batches: number[] = [];
  const run: BatchRun = async (inputs, shapes) => {
    const x = inputs[0] as Float32Array;
    const [rows, width] = shapes[0] as [number, number];
    batches.push(rows);
    if (fail?.(x)) throw new Error('poisoned batch');
    const out = new Float32Array(rows);
    for (let r = 0; r < rows; r++) for (let j = 0; j < width; j++) out[r] = (out[r] as number) + (x[r * width + j] as number);
    return [{ data: out as TypedArray, shape: [rows, 1] }];
  };
  return { run, batches };
}

const options = { maxBatchRows: 8, maxWaitUs: 0, concurrency: 1, batchable: true, inputTypes: [FP32] };

describe('MicroBatcher', () => {
  it('concatenates requests that arrive together and hands each its own rows', async () => {
    const model = summingModel();
    const b = new MicroBatcher(model.run, options);
    const results = await Promise.all([1, 2, 3].map((k) => b.submit([Float32Array.of(k, k)], [[1, 2]], 1)));
    expect(model.batches).toEqual([3]);
    expect(results.map((r) => Array.from(r[0]!.data as Float32Array))).toEqual([[2], [4], [6]]);
    expect(results[2]![0]!.shape).toEqual([1, 1]);
  });

  it('never exceeds maxBatchRows, keeps requests whole, and runs one oversized request alone', async () => {
    const model = summingModel();
    const b = new MicroBatcher(model.run, options);
    const sizes = [3, 3, 3, 10, 1];
    const results = await Promise.all(sizes.map((rows, i) => b.submit([new Float32Array(rows * 2).fill(i)], [[rows, 2]], rows)));
    expect(model.batches.every((r) => r <= 8 || r === 10)).toBe(true);
    expect(model.batches.reduce((a, c) => a + c, 0)).toBe(20);
    results.forEach((r, i) => expect(Array.from(r[0]!.data as Float32Array)).toEqual(new Array(sizes[i]).fill(2 * i)));
  });

  it('a failing batch is retried request by request, so only the bad request fails', async () => {
    const model = summingModel((x) => x.some((v) => v < 0));
    const b = new MicroBatcher(model.run, options);
    const settled = await Promise.allSettled([b.submit([Float32Array.of(1, 1)], [[1, 2]], 1), b.submit([Float32Array.of(-1, -1)], [[1, 2]], 1), b.submit([Float32Array.of(2, 2)], [[1, 2]], 1)]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(Array.from((settled[2] as PromiseFulfilledResult<{ data: TypedArray }[]>).value[0]!.data as Float32Array)).toEqual([4]);
  });

  it('a batch whose outputs cannot be split fails its requests (no unhandled rejection), and the next batch is served', async () => {
    let broken = true;
    const run: BatchRun = async (_inputs, shapes) => {
      const rows = (shapes[0] as number[])[0]!;
      // Neither a typed array nor an array of strings: nothing to split by rows.
      const data = broken ? { length: rows } : new Float32Array(rows);
      return [{ data: data as unknown as TypedArray, shape: [rows, 1] }];
    };
    const b = new MicroBatcher(run, options);
    const settled = await Promise.allSettled([1, 2].map((k) => b.submit([Float32Array.of(k, k)], [[1, 2]], 1)));
    expect(settled.map((x) => x.status)).toEqual(['rejected', 'rejected']);
    broken = false;
    const after = await b.submit([Float32Array.of(3, 3)], [[1, 2]], 1);
    expect(after[0]!.shape).toEqual([1, 1]);
    await b.idle();
  });

  it('concatenates string (BYTES) inputs with the numeric ones and splits string outputs, each request its own rows', async () => {
    const seen: Array<{ words: string[]; shape: number[] }> = [];
    const run: BatchRun = async (inputs, shapes) => {
      const words = inputs[1] as string[];
      seen.push({ words: [...words], shape: shapes[1] as number[] });
      const x = inputs[0] as Float32Array;
      // Row r: its number and its word, echoed back as a string output and a float one.
      return [
        { data: words.map((w, r) => `${w}:${x[r]}`), shape: [words.length, 1] },
        { data: Float32Array.from(x), shape: [words.length, 1] },
      ];
    };
    const b = new MicroBatcher(run, { ...options, inputTypes: [FP32, datatypeByOip('BYTES')!] });
    const results = await Promise.all([
      b.submit([Float32Array.of(1), ['a']], [[1, 1], [1, 1]], 1),
      b.submit([Float32Array.of(2, 3), ['b', 'c']], [[2, 1], [2, 1]], 2),
      b.submit([Float32Array.of(4), ['d']], [[1, 1], [1, 1]], 1),
    ]);
    expect(seen).toEqual([{ words: ['a', 'b', 'c', 'd'], shape: [4, 1] }]);
    expect(results.map((r) => r[0]!.data)).toEqual([['a:1'], ['b:2', 'c:3'], ['d:4']]);
    expect(results.map((r) => r[0]!.shape)).toEqual([[1, 1], [2, 1], [1, 1]]);
    expect(results.map((r) => Array.from(r[1]!.data as Float32Array))).toEqual([[1], [2, 3], [4]]);
  });

  it('queues while a batch runs and reports depth, an estimated wait, and idleness', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const run: BatchRun = async (inputs, shapes) => { await gate; return [{ data: new Float32Array((shapes[0] as number[])[0]!) as TypedArray, shape: [(shapes[0] as number[])[0]!, 1] }]; };
    const b = new MicroBatcher(run, options);
    b.seedRunTime(100);
    const first = b.submit([new Float32Array(2)], [[1, 2]], 1);
    await new Promise((r) => setImmediate(r));
    const later = [b.submit([new Float32Array(2)], [[1, 2]], 1), b.submit([new Float32Array(2)], [[1, 2]], 1)];
    expect(b.inflight).toBe(1);
    expect(b.depthRows).toBe(2);
    expect(b.estimatedWaitUs()).toBeGreaterThanOrEqual(200);
    let idle = false;
    const idlePromise = b.idle().then(() => { idle = true; });
    expect(idle).toBe(false);
    release();
    await Promise.all([first, ...later, idlePromise]);
    expect(idle).toBe(true);
    expect(b.depthRows).toBe(0);
  });

  it('runs requests of a non-batchable model one at a time', async () => {
    const model = summingModel();
    const b = new MicroBatcher(model.run, { ...options, batchable: false });
    await Promise.all([b.submit([Float32Array.of(1)], [[1, 1]], 1), b.submit([Float32Array.of(2)], [[1, 1]], 1)]);
    expect(model.batches).toEqual([1, 1]);
  });

  it('waits up to maxWaitUs to fill a batch', async () => {
    const model = summingModel();
    const b = new MicroBatcher(model.run, { ...options, maxWaitUs: 20_000 });
    const first = b.submit([Float32Array.of(1, 1)], [[1, 2]], 1);
    await new Promise((r) => setTimeout(r, 5));
    const second = b.submit([Float32Array.of(1, 1)], [[1, 2]], 1);
    await Promise.all([first, second]);
    expect(model.batches).toEqual([2]);
  });
});
