// Registration's side of the model contract (src/contracts/): a version with a non-tensor output
// (a ZipMap) is refused with the exporter fix; a version of a model with a contract must keep it,
// or is refused quoting both signatures; the first version of a model without one gives it the
// contract inferred from its signature (stored with the version, in the same transaction).
import { checkVersion, featureNamesFromMetadata, inferContract, nonTensorOutputProblems, type ModelContract, type ModelTask } from '../contracts/index.js';
import type { Model } from '../db/schema.js';
import { RegistryError } from './errors.js';
import type { InspectedModel } from './inspect.js';

const TASKS: readonly string[] = ['binary_classification', 'multiclass_classification', 'regression'];

/**
 * Throws a RegistryError (invalid_model, field body) for a version the model cannot take; returns
 * the contract to store when the model has none yet and one could be inferred, else null. A model
 * whose first version's contract cannot be inferred registers without one (to be declared later).
 */
export function contractOnRegistration(model: Model, version: string, inspected: InspectedModel): ModelContract | null {
  const [nonTensor] = nonTensorOutputProblems(inspected.signature);
  if (nonTensor) throw new RegistryError('invalid_model', `version ${version}: ${nonTensor.message}`, 'body');
  if (model.contract) {
    const check = checkVersion(model.contract, inspected.signature, version);
    if (!check.ok) throw new RegistryError('invalid_model', check.message, 'body');
    return null;
  }
  const inferred = inferContract(inspected.signature, {
    ...(TASKS.includes(model.task) ? { task: model.task as ModelTask } : {}),
    featureNames: featureNamesFromMetadata({ embedded: inspected.embedded }),
  });
  return inferred.ok ? inferred.contract : null;
}
