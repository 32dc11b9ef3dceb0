import { describe, expect, it } from 'vitest';
import { checkInputs, encodeResponse, readEnvelope, selectOutputs } from '../../../src/serving/protocol/protocol.js';
import { signatureFromMetadata } from '../../../src/serving/protocol/signature.js';
import { halfToNumber } from '../../../src/serving/protocol/tensors.js';

const sig = signatureFromMetadata(
  [{ name: 'x', isTensor: true, type: 'float32', shape: ['batch', 3] }, { name: 'ids', isTensor: true, type: 'int64', shape: ['batch', 2] }],
  [{ name: 'y', isTensor: true, type: 'float32', shape: ['batch', 1] }],
);
const opts = { allowNonFinite: false, maxRows: 100 };
const json = (o: unknown) => Buffer.from(JSON.stringify(o));

describe('reading infer requests', () => {
  it('reads nested and flat JSON data into typed arrays, with routing parameters', () => {
    const env = readEnvelope(json({
      id: 'r1', parameters: { routing_key: 42, attributes: { tier: 'gold', age: 30 } },
      inputs: [{ name: 'ids', shape: [2, 2], datatype: 'INT64', data: [1, 2, 3, 4] }, { name: 'x', shape: [2, 3], datatype: 'FP32', data: [[1, 2, 3], [4, 5, 6]] }],
    }), undefined);
    expect(env).toMatchObject({ id: 'r1', routingKey: '42', attributes: { tier: 'gold', age: 30 } });
    const checked = checkInputs(env, sig, opts);
    expect(checked.rows).toBe(2);
    expect(Array.from(checked.data[0] as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(checked.data[1] as BigInt64Array)).toEqual([1n, 2n, 3n, 4n]);
  });

  it('reads binary tensor data, aligned or not, in the order the inputs are listed', () => {
    const x = new Float32Array([1, 2, 3]);
    const ids = new BigInt64Array([7n, 8n]);
    const header = json({ inputs: [
      { name: 'ids', shape: [1, 2], datatype: 'INT64', parameters: { binary_data_size: 16 } },
      { name: 'x', shape: [1, 3], datatype: 'FP32', parameters: { binary_data_size: 12 } },
    ] });
    for (const pad of [0, 1, 3]) {
      const body = Buffer.concat([Buffer.alloc(pad), header, Buffer.from(ids.buffer), Buffer.from(x.buffer)]).subarray(pad);
      const checked = checkInputs(readEnvelope(body, String(header.length)), sig, opts);
      expect(Array.from(checked.data[0] as Float32Array)).toEqual([1, 2, 3]);
      expect(Array.from(checked.data[1] as BigInt64Array)).toEqual([7n, 8n]);
    }
  });

  const bad = (body: unknown, message: RegExp, headerLength?: string) => {
    expect(() => checkInputs(readEnvelope(Buffer.isBuffer(body) ? body : json(body), headerLength), sig, opts)).toThrow(message);
  };
  const x1 = { name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] };
  const ids1 = { name: 'ids', shape: [1, 2], datatype: 'INT64', data: [1, 2] };

  it('names the input and what was expected for every kind of bad input', () => {
    bad(Buffer.from('{"inputs": ['), /malformed JSON body/);
    bad([1, 2], /must be a JSON object/);
    bad({ inputs: [] }, /"inputs" must be a non-empty array/);
    bad({ inputs: [x1] }, /missing input 'ids' \(INT64 \[-1,2\]\)/);
    bad({ inputs: [x1, ids1, { ...x1, name: 'z' }] }, /unexpected input 'z'; the model expects 'x' \(FP32 \[-1,3\]\), 'ids'/);
    bad({ inputs: [x1, x1, ids1] }, /input 'x' appears twice/);
    bad({ inputs: [{ ...x1, datatype: 'FP64' }, ids1] }, /input 'x': datatype FP64 does not match the model's FP32/);
    bad({ inputs: [{ ...x1, datatype: 'FLOAT' }, ids1] }, /input 'x': unknown datatype "FLOAT"; expected FP32/);
    bad({ inputs: [{ ...x1, shape: [1, 4], data: [1, 2, 3, 4] }, ids1] }, /input 'x': shape \[1,4\] does not match the model's \[-1,3\] \(dimension 1 must be 3\)/);
    bad({ inputs: [{ ...x1, shape: [3] }, ids1] }, /input 'x': shape \[3\] has 1 dimensions; the model expects 2/);
    bad({ inputs: [{ ...x1, data: [1, 2] }, ids1] }, /input 'x': shape \[1,3\] needs 3 elements but data has 2/);
    bad({ inputs: [{ ...x1, data: [1, 2, 3, 4] }, ids1] }, /needs 3 elements but data has 4/);
    bad({ inputs: [{ ...x1, data: [1, 'two', 3] }, ids1] }, /input 'x': element 1 is "two"; expected a number \(FP32\)/);
    bad({ inputs: [{ ...x1, data: [1, null, 3] }, ids1] }, /element 1 is null; expected a number/);
    bad({ inputs: [x1, { ...ids1, data: [1, 2.5] }] }, /input 'ids': element 1 is 2.5; expected an integer/);
    bad({ inputs: [{ ...x1, shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }, ids1] }, /inputs 'x' and 'ids' disagree on the batch dimension \(2 vs 1\)/);
    bad({ inputs: [{ ...x1, shape: [0, 3], data: [] }, { ...ids1, shape: [0, 2], data: [] }] }, /0 rows/);
    bad({ inputs: [{ ...x1, shape: [101, 3], data: new Array(303).fill(0) }, { ...ids1, shape: [101, 2], data: new Array(202).fill(0) }] }, /101 rows; this worker accepts at most 100/);
    bad({ inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32' }, ids1] }, /has neither data nor parameters.binary_data_size/);
    bad({ parameters: { routing_key: { id: 1 } }, inputs: [x1, ids1] }, /routing_key must be a string/);
    bad({ parameters: { attributes: { tier: ['a'] } }, inputs: [x1, ids1] }, /attributes.tier must be a string, a finite number or a boolean/);
  });

  it('rejects NaN and Infinity in binary float data unless the contract allows them', () => {
    const x = new Float32Array([1, Number.NaN, 3]);
    const header = json({ inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', parameters: { binary_data_size: 12 } }, ids1] });
    const body = Buffer.concat([header, Buffer.from(x.buffer)]);
    bad(body, /input 'x': element 1 is NaN; the model's contract forbids NaN and Infinity/, String(header.length));
    const inf = Buffer.concat([header, Buffer.from(new Float32Array([1, 2, Infinity]).buffer)]);
    bad(inf, /element 2 is Infinity/, String(header.length));
    expect(checkInputs(readEnvelope(body, String(header.length)), sig, { ...opts, allowNonFinite: true }).rows).toBe(1);
  });

  it('checks a declared shape against the row limit and the data before allocating for it', () => {
    // A body of a hundred bytes declaring 800 million elements: refused by the row limit, naming the input.
    bad({ inputs: [{ ...x1, shape: [200_000_000, 3], data: [1] }, { ...ids1, shape: [200_000_000, 2], data: [1] }] },
      /input 'x': shape \[200000000,3\] has 200000000 rows; this worker accepts at most 100 per request/);
    // Dimensions past 2^53 (1e200 is an integer to JavaScript) are not shapes.
    bad({ inputs: [{ ...x1, shape: [1e200, 3] }, ids1] }, /input 'x': shape \[1e\+200,3\] must be an array of non-negative integers no larger than 9007199254740991/);
    // A model with open dimensions and no batch axis: no row limit applies, so the data's own count must.
    const open = signatureFromMetadata([{ name: 'm', isTensor: true, type: 'float32', shape: ['a', 'b'] }], [{ name: 'y', isTensor: true, type: 'float32', shape: ['a'] }]);
    const check = (shape: number[], data: unknown) => () => checkInputs(readEnvelope(json({ inputs: [{ name: 'm', shape, datatype: 'FP32', data }] }), undefined), open, opts);
    expect(check([100_000_000, 50_000_000], [1])).toThrow(/input 'm': shape \[100000000,50000000\] needs 5000000000000000 elements but data has 1/);
    expect(check([1 << 30, 1 << 30], [1])).toThrow(/input 'm': shape \[1073741824,1073741824\] has more than 9007199254740991 elements/);
    expect(check([2, 2], [[1, 2], [3, 4]])).not.toThrow();
    expect(check([1, 2], [[[1, 2]]])).toThrow(/input 'm': data is nested deeper than shape \[1,2\] allows; expected a flat array or arrays nested at most 2 deep/);
  });

  it('refuses data nested far deeper than the shape with a 400, not a stack overflow', () => {
    const depth = 200_000;
    const body = Buffer.from(`{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":${'['.repeat(depth)}1${']'.repeat(depth)}},${JSON.stringify(ids1)}]}`);
    let thrown: unknown;
    try {
      checkInputs(readEnvelope(body, undefined), sig, opts);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ name: 'InferError', statusCode: 400 });
    expect((thrown as Error).message).toMatch(/input 'x': data is nested deeper than shape \[1,3\] allows/);
  });

  it('refuses request ids, input and output names with control characters, which the inference log cannot store', () => {
    bad({ id: 'a\u0000b', inputs: [x1, ids1] }, /"id" must be printable text; character 1 is the control character U\+0000/);
    bad({ id: 'tab\there', inputs: [x1, ids1] }, /"id" must be printable text; character 3 is the control character U\+0009/);
    bad({ id: 'del\u007f', inputs: [x1, ids1] }, /"id" must be printable text/);
    bad({ id: 'x'.repeat(257), inputs: [x1, ids1] }, /"id" is longer than 256 characters/);
    bad({ inputs: [x1, ids1, { ...x1, name: 'z\u0000' }] }, /inputs\[2\].name must be printable text; character 1 is the control character U\+0000/);
    expect(() => readEnvelope(json({ inputs: [x1], outputs: [{ name: 'y\u0001' }] }), undefined)).toThrow(/outputs\[0\].name must be printable text/);
    expect(readEnvelope(json({ id: 'ünïcode id – ok 🙂', inputs: [x1] }), undefined).id).toBe('ünïcode id – ok 🙂');
  });

  it('accepts Inference-Header-Content-Length only as a plain decimal integer', () => {
    const body = json({ inputs: [x1, ids1] });
    const n = body.length;
    expect(checkInputs(readEnvelope(body, String(n)), sig, opts).rows).toBe(1);
    for (const v of [`0x${n.toString(16)}`, `${n}.0`, `+${n}`, '1e1', '', ' ', '-0']) {
      expect(() => readEnvelope(body, v), JSON.stringify(v)).toThrow(/Inference-Header-Content-Length is .*; expected a decimal integer between 0 and the body length/);
    }
    expect(() => readEnvelope(body, '')).toThrow(/Inference-Header-Content-Length is empty/);
  });

  it('checks binary sizes against the shape and the body', () => {
    const header = json({ inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', parameters: { binary_data_size: 8 } }, ids1] });
    bad(Buffer.concat([header, Buffer.alloc(8)]), /binary_data_size is 8 bytes; shape \[1,3\] of FP32 needs 12/, String(header.length));
    const ok = json({ inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', parameters: { binary_data_size: 12 } }, ids1] });
    bad(Buffer.concat([ok, Buffer.alloc(10)]), /binary tensor data is 10 bytes but the inputs' binary_data_size add up to 12/, String(ok.length));
    bad(ok, /Inference-Header-Content-Length is 9999/, '9999');
  });
});

describe('routing keys', () => {
  it('reads a blank routing key as none (random assignment, no key hash in the log), and keeps others as sent', () => {
    const key = (k: unknown) => readEnvelope(json({ inputs: [{ name: 'x', shape: [1, 1], datatype: 'FP32', data: [1] }], parameters: { routing_key: k } }), undefined).routingKey;
    expect(key('')).toBeUndefined();
    expect(key(' \t ')).toBeUndefined();
    expect(key(' u1 ')).toBe(' u1 ');
    expect(key(42)).toBe('42');
  });
});

describe('FP16 and BOOL binary inputs', () => {
  const typed = signatureFromMetadata(
    [{ name: 'h', isTensor: true, type: 'float16', shape: ['batch', 2] }, { name: 'b', isTensor: true, type: 'bool', shape: ['batch', 2] }],
    [{ name: 'y', isTensor: true, type: 'float32', shape: ['batch', 1] }],
  );
  const body = (h: number[], b: number[]) => {
    const header = json({ inputs: [
      { name: 'h', shape: [1, 2], datatype: 'FP16', parameters: { binary_data_size: 4 } },
      { name: 'b', shape: [1, 2], datatype: 'BOOL', parameters: { binary_data_size: 2 } },
    ] });
    return { buf: Buffer.concat([header, Buffer.from(Uint16Array.from(h).buffer), Buffer.from(b)]), hl: String(header.length) };
  };
  const check = (h: number[], b: number[], allowNonFinite = false) => {
    const { buf, hl } = body(h, b);
    return () => checkInputs(readEnvelope(buf, hl), typed, { ...opts, allowNonFinite });
  };

  it('rejects half-float NaN and Infinity unless the contract allows them', () => {
    expect(check([0x3c00, 0xc000], [0, 1])()).toMatchObject({ rows: 1 });
    expect(check([0x3c00, 0x7c00], [0, 1])).toThrow(/input 'h': element 1 is Infinity; the model's contract forbids NaN and Infinity/);
    expect(check([0xfc00, 0x3c00], [0, 1])).toThrow(/input 'h': element 0 is -Infinity/);
    expect(check([0x7e00, 0x3c00], [0, 1])).toThrow(/input 'h': element 0 is NaN/);
    expect(check([0x7e00, 0x7c00], [0, 1], true)).not.toThrow();
  });

  it('rejects BOOL bytes other than 0 and 1', () => {
    expect(check([0, 0], [1, 2])).toThrow(/input 'b': element 1 is the byte 2; expected 0 or 1 \(BOOL\)/);
    expect(check([0, 0], [255, 0])).toThrow(/input 'b': element 0 is the byte 255/);
  });

  it('decodes half-float bit patterns', () => {
    expect([0x3c00, 0xc000, 0x3555, 0x0001, 0x7bff, 0x8000].map(halfToNumber)).toEqual([1, -2, 0.333251953125, 2 ** -24, 65504, -0]);
    expect(halfToNumber(0x7c00)).toBe(Infinity);
    expect(halfToNumber(0x7c01)).toBeNaN();
  });
});

describe('writing responses', () => {
  it('FP16 JSON outputs are numbers, not bit patterns; binary FP16 outputs stay raw', () => {
    const data = Uint16Array.of(0x3c00, 0xc100, 0x3555, 0x7e00);
    const r = encodeResponse('{"id":"a"', [{ name: 'y', datatype: 'FP16', shape: [4, 1], data, binary: false }]);
    expect(JSON.parse(r.body as string).outputs[0].data).toEqual([1, -2.5, 0.333251953125, null]);
    const b = encodeResponse('{"id":"a"', [{ name: 'y', datatype: 'FP16', shape: [4, 1], data, binary: true }]);
    expect((b.body as Buffer).subarray(b.headerLength!)).toEqual(Buffer.from(data.buffer));
  });

  it('JSON outputs print exact float32 values; NaN becomes null', () => {
    const r = encodeResponse('{"id":"a"', [{ name: 'y', datatype: 'FP32', shape: [3, 1], data: Float32Array.of(0.1, Number.NaN, -Infinity), binary: false }]);
    expect(r.headerLength).toBeNull();
    const parsed = JSON.parse(r.body as string);
    expect(parsed.outputs[0].data[0]).toBe(Math.fround(0.1));
    expect(parsed.outputs[0].data.slice(1)).toEqual([null, null]);
  });

  it('binary outputs follow the JSON header with their size in parameters', () => {
    const data = Float32Array.of(1, 2);
    const r = encodeResponse('{"id":"a"', [{ name: 'y', datatype: 'FP32', shape: [2, 1], data, binary: true }]);
    const body = r.body as Buffer;
    const header = JSON.parse(body.subarray(0, r.headerLength!).toString());
    expect(header.outputs[0].parameters.binary_data_size).toBe(8);
    expect(Array.from(new Float32Array(body.subarray(r.headerLength!).buffer.slice(body.byteOffset + r.headerLength!, body.byteOffset + body.length)))).toEqual([1, 2]);
  });

  it('selects requested outputs and refuses unknown ones', () => {
    const env = readEnvelope(json({ inputs: [x1Input()], outputs: [{ name: 'y', parameters: { binary_data: true } }] }), undefined);
    expect(selectOutputs(env, sig)).toEqual([{ index: 0, binary: true }]);
    const bad = readEnvelope(json({ inputs: [x1Input()], outputs: [{ name: 'nope' }] }), undefined);
    expect(() => selectOutputs(bad, sig)).toThrow(/unknown output 'nope'; the model has 'y'/);
  });
});

function x1Input() {
  return { name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] };
}

describe('string (BYTES) inputs', () => {
  const strings = signatureFromMetadata(
    [{ name: 'num', isTensor: true, type: 'float32', shape: ['N', 2] }, { name: 'category', isTensor: true, type: 'string', shape: ['N', 1] }],
    [{ name: 'p', isTensor: true, type: 'float32', shape: ['N', 1] }],
  );
  /** Triton's layout: a 4-byte little-endian length, then the UTF-8 bytes, per element. */
  const lengthPrefixed = (values: string[]) => Buffer.concat(values.flatMap((v) => {
    const b = Buffer.from(v, 'utf8');
    const n = Buffer.alloc(4);
    n.writeUInt32LE(b.length);
    return [n, b];
  }));
  const binaryBody = (tail: Buffer, shape = [2, 1]) => {
    const num = Float32Array.of(1, 2, 3, 4);
    const header = json({ inputs: [
      { name: 'num', shape: [2, 2], datatype: 'FP32', parameters: { binary_data_size: num.byteLength } },
      { name: 'category', shape, datatype: 'BYTES', parameters: { binary_data_size: tail.length } },
    ] });
    return readEnvelope(Buffer.concat([header, Buffer.from(num.buffer), tail]), String(header.length));
  };

  it('reads JSON strings, flat or nested, with the rows of the numeric inputs', () => {
    for (const data of [['salaried', 'étudiant'], [['salaried'], ['étudiant']]]) {
      const checked = checkInputs(readEnvelope(json({ inputs: [
        { name: 'num', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3, 4] }, { name: 'category', shape: [2, 1], datatype: 'BYTES', data },
      ] }), undefined), strings, opts);
      expect(checked.rows).toBe(2);
      expect(checked.data[1]).toEqual(['salaried', 'étudiant']);
    }
  });

  it('reads binary BYTES as length-prefixed UTF-8 elements, empty strings included', () => {
    const checked = checkInputs(binaryBody(lengthPrefixed(['', 'self_employed'])), strings, opts);
    expect(checked.data[1]).toEqual(['', 'self_employed']);
    expect(Array.from(checked.data[0] as Float32Array)).toEqual([1, 2, 3, 4]);
  });

  it('refuses bad string data with a 400 naming the input', () => {
    const bad = (env: () => ReturnType<typeof readEnvelope>) => {
      try {
        checkInputs(env(), strings, opts);
      } catch (err) {
        return { status: (err as { statusCode?: number }).statusCode, message: (err as Error).message };
      }
      throw new Error('accepted');
    };
    const jsonWith = (data: unknown, shape = [2, 1]) => () => readEnvelope(json({ inputs: [
      { name: 'num', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3, 4] }, { name: 'category', shape, datatype: 'BYTES', data },
    ] }), undefined);
    expect(bad(jsonWith(['a', 7]))).toEqual({ status: 400, message: "input 'category': element 1 is 7; expected a string (BYTES)" });
    expect(bad(jsonWith(['a']))).toMatchObject({ status: 400, message: expect.stringMatching(/^input 'category': shape \[2,1\] needs 2 elements but data has 1/) });
    expect(bad(jsonWith(['a', 'b', 'c']))).toMatchObject({ status: 400, message: expect.stringMatching(/^input 'category': shape \[2,1\] needs 2 elements but data has 3/) });
    expect(bad(jsonWith('ab'))).toMatchObject({ status: 400, message: expect.stringMatching(/^input 'category': data must be an array/) });
    const tail = lengthPrefixed(['a', 'b']);
    expect(bad(() => binaryBody(tail.subarray(0, tail.length - 1)))).toMatchObject({ status: 400, message: expect.stringMatching(/^input 'category': element 1 declares 1 bytes but only 0 remain/) });
    expect(bad(() => binaryBody(Buffer.concat([tail, Buffer.from([0])])))).toMatchObject({ status: 400, message: expect.stringMatching(/^input 'category': binary data has 1 bytes after the 2 elements/) });
    expect(bad(() => binaryBody(Buffer.alloc(4)))).toMatchObject({ status: 400, message: expect.stringMatching(/^input 'category': binary_data_size is 4 bytes; shape \[2,1\] of BYTES needs at least 8/) });
    expect(bad(() => binaryBody(Buffer.concat([lengthPrefixed(['a']), Buffer.from([1, 0, 0, 0, 0xff])])))).toMatchObject({ status: 400, message: "input 'category': element 1 is not valid UTF-8 text (BYTES elements are strings)" });
  });
});
