import { describe, expect, it } from 'vitest';
import { signatureFromMetadata } from '../../../src/serving/protocol/signature.js';

const tensor = (name: string, type: string, shape: Array<number | string>) => ({ name, isTensor: true, type, shape });

describe('signatureFromMetadata', () => {
  it('batches a model whose inputs and outputs are numeric with an open first dimension', () => {
    const s = signatureFromMetadata([tensor('x', 'float32', ['batch', 4])], [tensor('p', 'float32', ['batch', 1])]);
    expect(s.batchable).toBe(true);
    expect(s.inputs[0]?.rowElements).toBe(4);
  });

  it('batches a model with string inputs or outputs: the batcher concatenates and splits string arrays by rows', () => {
    const s = signatureFromMetadata([tensor('x', 'float32', ['batch', 4]), tensor('category', 'string', ['batch', 1])], [tensor('label', 'string', ['batch'])]);
    expect(s.batchable).toBe(true);
    expect(s.inputs[1]?.datatype.oip).toBe('BYTES');
    expect(s.outputs[0]?.datatype.oip).toBe('BYTES');
    // A fixed batch dimension still runs one request at a time.
    expect(signatureFromMetadata([tensor('category', 'string', [1, 1])], [tensor('label', 'string', [1])]).batchable).toBe(false);
  });
});
