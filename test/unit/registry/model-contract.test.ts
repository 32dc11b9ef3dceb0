import { describe, expect, it } from 'vitest';
import { contractOnRegistration } from '../../../src/registry/model-contract.js';
import type { ModelContract } from '../../../src/contracts/index.js';
import type { Model, ModelSignature } from '../../../src/db/schema.js';
import { RegistryError } from '../../../src/registry/errors.js';

const model = (task: string, contract: ModelContract | null = null) => ({ id: '1', project_id: 'default', name: 'm', description: '', task, golden_set: null, contract, created_at: new Date() }) as Model;
const regressor: ModelSignature = { inputs: [{ name: 'x', datatype: 'float32', shape: [-1, 1] }], outputs: [{ name: 'variable', datatype: 'float32', shape: [-1, 1] }] };

describe('contractOnRegistration', () => {
  it("infers the first version's contract with the model's task as the hint", () => {
    expect(contractOnRegistration(model('regression'), 'v1', { signature: regressor, embedded: null }))
      .toEqual({ task: 'regression', inputs: [{ name: 'x', elementType: 'float32', features: ['x'] }], score: { output: 'variable', transform: 'none' } });
  });

  it('registers without a contract when none can be inferred', () => {
    const unknown: ModelSignature = { ...regressor, outputs: [{ name: 'output', datatype: 'float32', shape: [-1, 10] }] };
    expect(contractOnRegistration(model('multiclass_classification'), 'v1', { signature: unknown, embedded: null })).toBeNull();
  });

  it('refuses a version that breaks the stored contract, and keeps the stored one', () => {
    const contract = contractOnRegistration(model('regression'), 'v1', { signature: regressor, embedded: null });
    const withContract = model('regression', contract);
    expect(contractOnRegistration(withContract, 'v2', { signature: regressor, embedded: null })).toBeNull();
    const broken = { ...regressor, inputs: [{ name: 'x', datatype: 'float64', shape: [-1, 1] }] };
    expect(() => contractOnRegistration(withContract, 'v2', { signature: broken, embedded: null })).toThrowError(RegistryError);
    try {
      contractOnRegistration(withContract, 'v2', { signature: broken, embedded: null });
    } catch (err) {
      expect(err).toMatchObject({ code: 'invalid_model', field: 'body' });
      expect((err as Error).message).toContain('version v2 has (x:float64[N,1]) → (variable:float32[N,1])');
    }
  });

  it('refuses a non-tensor output even on a model without a contract', () => {
    const zipmap: ModelSignature = { ...regressor, outputs: [{ name: 'output_probability', datatype: 'non-tensor', shape: [] }] };
    expect(() => contractOnRegistration(model('binary_classification'), 'v1', { signature: zipmap, embedded: null }))
      .toThrowError(/version v1: output output_probability is not a tensor.*options=\{'zipmap': False\}/);
  });
});
