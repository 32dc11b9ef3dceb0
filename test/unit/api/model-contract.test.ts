import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/api/problem.js';
import { contractOnRegistration } from '../../../src/api/services/model-contract.js';
import type { ContractHints, ModelContract } from '../../../src/contracts/index.js';
import type { Model, ModelSignature } from '../../../src/db/schema.js';
import { RegistryError } from '../../../src/registry/errors.js';

const model = (hints: ContractHints | null, contract: ModelContract | null = null) =>
  ({ id: '1', project_id: 'default', name: 'm', description: '', task: 'binary_classification', golden_set: null, contract, contract_hints: hints, created_at: new Date() }) as Model;
const regressor: ModelSignature = { inputs: [{ name: 'x', datatype: 'float32', shape: [-1, 1] }], outputs: [{ name: 'variable', datatype: 'float32', shape: [-1, 1] }] };
const inspected = (signature: ModelSignature) => ({ signature, embedded: null });

describe('contractOnRegistration', () => {
  it("infers the first version's contract with the creator's hints, to be stored", () => {
    const found = contractOnRegistration(model({ task: 'regression' }), 0, 'v1', inspected(regressor));
    expect(found).toMatchObject({ source: 'inferred', store: true });
    expect(found.contract).toEqual({ task: 'regression', inputs: [{ name: 'x', elementType: 'float32', features: ['x'] }], score: { output: 'variable', transform: 'none' } });
    expect(found.description).toMatch(/^Regression: the prediction is output variable/);
  });

  it('does not take the task column (binary by default) for a hint: a regressor with no hints is read as a regressor', () => {
    const found = contractOnRegistration(model(null), 0, 'v1', inspected(regressor));
    expect(found).toMatchObject({ source: 'inferred', store: true, contract: { task: 'regression' } });
    const ambiguous = contractOnRegistration(model(null), 0, 'v1', inspected({ ...regressor, outputs: [{ name: 'output', datatype: 'float32', shape: [-1, 1] }] }));
    expect(ambiguous).toMatchObject({ source: 'none', contract: null, store: false });
    expect(ambiguous.description).toMatch(/could be a regression prediction or a binary probability/);
  });

  it('names feature columns from the hints', () => {
    const wide: ModelSignature = { inputs: [{ name: 'x', datatype: 'float32', shape: [-1, 2] }], outputs: [{ name: 'probabilities', datatype: 'float32', shape: [-1, 2] }] };
    const found = contractOnRegistration(model({ featureNames: { x: ['age', 'income'] } }), 0, 'v1', inspected(wide));
    expect(found.contract?.inputs).toEqual([{ name: 'x', elementType: 'float32', features: ['age', 'income'] }]);
  });

  it('refuses feature names for an input the version does not take', () => {
    expect(() => contractOnRegistration(model({ featureNames: { features: ['a'] } }), 0, 'v1', inspected(regressor)))
      .toThrowError(/featureNames\/features: .* name input features, which version v1 does not take \(its inputs: x\)/);
  });

  it('registers without a contract when none can be inferred', () => {
    const unknown: ModelSignature = { ...regressor, outputs: [{ name: 'output', datatype: 'float32', shape: [-1, 10] }] };
    expect(contractOnRegistration(model({ task: 'multiclass_classification' }), 0, 'v1', inspected(unknown))).toMatchObject({ contract: null, source: 'none' });
  });

  it('checks a declared contract against the first version, naming the contract field', () => {
    const declared: ModelContract = { task: 'regression', inputs: [{ name: 'x', elementType: 'float32', features: ['x'] }], score: { output: 'prediction', transform: 'none' } };
    expect(() => contractOnRegistration(model(null, declared), 0, 'v1', inspected(regressor))).toThrowError(ApiError);
    try {
      contractOnRegistration(model(null, declared), 0, 'v1', inspected(regressor));
    } catch (err) {
      expect(err).toMatchObject({ statusCode: 400, code: 'invalid_contract', field: 'contract/score/output' });
      expect((err as Error).message).toContain('output prediction is not among the model\'s outputs (variable)');
    }
    const fits = { ...declared, score: { output: 'variable', transform: 'none' as const } };
    expect(contractOnRegistration(model(null, fits), 0, 'v1', inspected(regressor))).toMatchObject({ source: 'declared', store: false, contract: fits });
  });

  it('refuses a version that breaks the stored contract, and keeps the stored one', () => {
    const { contract } = contractOnRegistration(model({ task: 'regression' }), 0, 'v1', inspected(regressor));
    const withContract = model(null, contract);
    expect(contractOnRegistration(withContract, 1, 'v2', inspected(regressor))).toMatchObject({ source: 'kept', store: false });
    const broken = { ...regressor, inputs: [{ name: 'x', datatype: 'float64', shape: [-1, 1] }] };
    expect(() => contractOnRegistration(withContract, 1, 'v2', inspected(broken))).toThrowError(RegistryError);
    try {
      contractOnRegistration(withContract, 1, 'v2', inspected(broken));
    } catch (err) {
      expect(err).toMatchObject({ code: 'invalid_model', field: 'body' });
      expect((err as Error).message).toContain('version v2 has (x:float64[N,1]) → (variable:float32[N,1])');
    }
  });

  it('refuses a non-tensor output even on a model without a contract', () => {
    const zipmap: ModelSignature = { ...regressor, outputs: [{ name: 'output_probability', datatype: 'non-tensor', shape: [] }] };
    expect(() => contractOnRegistration(model(null), 0, 'v1', inspected(zipmap)))
      .toThrowError(/version v1: output output_probability is not a tensor.*options=\{'zipmap': False\}/);
  });
});
