// The contract an exporter fixture's model gets when registered with the plain flow: inferred from
// its signature as registration stores it, its inputs' columns named as the manifest names them
// (and a regressor's task given, as its one output's name is ambiguous). Nothing here depends on
// vitest, so benchmarks may use it too.
import { inferContract, type ModelContract } from '../../src/contracts/index.js';
import { exporterFixtureModel, type ExporterFixtureKind } from '../../src/models/fixtures.js';
import { exporterFixtureSignature } from './seed.js';

export function exporterFixtureContract(kind: ExporterFixtureKind): ModelContract {
  const { entry } = exporterFixtureModel(kind);
  const inferred = inferContract(exporterFixtureSignature(kind), {
    featureNames: Object.fromEntries(entry.inputs.map((i) => [i.name, i.features ?? [i.name]])),
    ...(entry.task === 'regression' ? { task: 'regression' as const } : {}),
  });
  if (!inferred.ok) throw new Error(`no contract for the ${kind} fixture: ${inferred.message}`);
  return inferred.contract;
}
