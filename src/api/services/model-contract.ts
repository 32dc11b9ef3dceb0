// Registration's side of the model contract (src/contracts/): a version with a non-tensor output
// (a ZipMap) is refused with the exporter fix; a version of a model with a contract must keep it,
// or is refused quoting both signatures; the first version of a model checks the contract declared
// at creation (each problem naming the contract's field), or gives the model the contract inferred
// from its signature and the creator's hints. The route calls this with the model's row locked,
// in the transaction that stores the version.
import {
  checkVersion, describeContract, featureNamesFromMetadata, inferContract, nonTensorOutputProblems, validateContract,
  type ContractHints, type ModelContract,
} from '../../contracts/index.js';
import type { Model } from '../../db/schema.js';
import { RegistryError } from '../../registry/errors.js';
import { ApiError } from '../problem.js';
import type { InspectedModel } from './inspect.js';

/**
 * declared: given at creation, checked now against the first version; inferred: read from the first
 * version's signature; kept: the stored contract, which this version keeps; none: it could not be
 * inferred (note says why), so the version registers without one and the contract is declared later.
 */
export type ContractSource = 'declared' | 'inferred' | 'kept' | 'none';

export interface RegistrationContract {
  contract: ModelContract | null;
  source: ContractSource;
  /** The contract in plain words (and any note on the inference), shown before anything is saved. */
  description: string;
  /** Whether the model's row must be written: an inferred contract is stored with the first version. */
  store: boolean;
}

/**
 * The contract a version registers under. `versionCount` is the model's versions before this one
 * (read under the model's row lock): with none, a stored contract is a declared one not yet checked
 * against any signature. Throws a 400 naming the field for a version the model cannot take.
 */
export function contractOnRegistration(model: Model, versionCount: number, version: string, inspected: InspectedModel): RegistrationContract {
  const [nonTensor] = nonTensorOutputProblems(inspected.signature);
  if (nonTensor) throw new RegistryError('invalid_model', `version ${version}: ${nonTensor.message}`, 'body');
  if (model.contract && versionCount === 0) {
    const problems = validateContract(model.contract, inspected.signature);
    if (problems.length > 0) {
      const errors = problems.map((p) => ({ field: `contract${p.field}`, message: p.message }));
      const [first] = errors as [{ field: string; message: string }];
      throw new ApiError(400, 'invalid_contract', `the model's declared contract does not fit version ${version}: `
        + `${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}`, first.field, errors);
    }
    return { contract: model.contract, source: 'declared', description: describeContract(model.contract), store: false };
  }
  if (model.contract) {
    const check = checkVersion(model.contract, inspected.signature, version);
    if (!check.ok) throw new RegistryError('invalid_model', check.message, 'body');
    return { contract: model.contract, source: 'kept', description: describeContract(model.contract), store: false };
  }
  const hints: ContractHints = { ...model.contract_hints };
  const named = hints.featureNames && !Array.isArray(hints.featureNames) ? Object.keys(hints.featureNames) : [];
  const unknown = named.find((name) => !inspected.signature.inputs.some((t) => t.name === name));
  if (unknown !== undefined) {
    throw new ApiError(400, 'invalid_contract', `featureNames/${unknown}: the model's feature names, given at creation, name input ${unknown}, `
      + `which version ${version} does not take (its inputs: ${inspected.signature.inputs.map((t) => t.name).join(', ')})`, `featureNames/${unknown}`);
  }
  hints.featureNames ??= featureNamesFromMetadata({ embedded: inspected.embedded });
  const inferred = inferContract(inspected.signature, hints);
  if (!inferred.ok) {
    return {
      contract: null, source: 'none', store: false,
      description: `No contract could be inferred (${inferred.field}: ${inferred.message}). The version is registered without one; `
        + `declare it with PUT /v1/models/${model.name}/contract (sluice models set-contract), which every later version is then checked against.`,
    };
  }
  return { contract: inferred.contract, source: 'inferred', description: inferred.explanation, store: true };
}
