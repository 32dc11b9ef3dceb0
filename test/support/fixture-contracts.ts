// The contract an exporter fixture's model gets when its feature names are known: inferred from
// the signature its manifest records, hinted with the manifest's feature names (as the fixture's
// evaluation CSV names its columns), and the regression task where the fixture is a regressor.
import { toStoredSignature } from '../../src/api/services/inspect.js';
import { inferContract, type ModelContract, type StoredSignature } from '../../src/contracts/index.js';
import { exporterFixtureModel, type ExporterFixtureKind } from '../../src/models/fixtures.js';

export function exporterSignature(kind: ExporterFixtureKind): StoredSignature {
  const { entry } = exporterFixtureModel(kind);
  return toStoredSignature({ inputs: entry.inputs, outputs: entry.outputs } as Parameters<typeof toStoredSignature>[0]);
}

export function exporterContract(kind: ExporterFixtureKind): ModelContract {
  const { entry } = exporterFixtureModel(kind);
  const inferred = inferContract(exporterSignature(kind), {
    featureNames: Object.fromEntries(entry.inputs.map((i) => [i.name, i.features ?? [i.name]])),
    ...(entry.task === 'regression' ? { task: 'regression' as const } : {}),
  });
  if (!inferred.ok) throw new Error(`no contract for the ${kind} fixture: ${inferred.message}`);
  return inferred.contract;
}
