// An exporter fixture as a user would register it: its contract inferred from the signature as
// registration stores it (the manifest's feature names and, for a regressor, the task as hints, as
// its one output's name is ambiguous), a version row as registration writes it, and its evaluation
// CSV as columns of reference data. Nothing here depends on vitest, so benchmarks may use it too.
import { inferContract, type ModelContract } from '../../src/contracts/index.js';
import type { ModelVersion } from '../../src/db/schema.js';
import { exporterEvaluationSet, exporterFixtureModel, type ExporterFixtureKind } from '../../src/models/fixtures.js';
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

/** The evaluation set's columns: numbers, except a string input's features (kept as text). */
export function exporterReferenceColumns(kind: ExporterFixtureKind): Record<string, Array<number | string>> {
  const { entry } = exporterFixtureModel(kind);
  const text = new Set(entry.inputs.filter((i) => i.type === 'string').flatMap((i) => i.features ?? [i.name]));
  const csv = exporterEvaluationSet(kind);
  return Object.fromEntries(csv.columns.map((c, j) => [c, csv.rows.map((r) => (text.has(c) || c === 'segment' ? r[j] as string : Number(r[j])))]));
}

/** A version row of the fixture as registration writes it, its artifact at `uri`. */
export function exporterVersionRow(kind: ExporterFixtureKind, uri: string, version = '1'): ModelVersion {
  const fixture = exporterFixtureModel(kind);
  return {
    id: '1', model_id: '1', version, artifact_uri: uri, sha256: fixture.sha256, size_bytes: String(fixture.sizeBytes),
    signature: exporterFixtureSignature(kind), metadata: {}, training_data_ref: null, reference_profile: null, metrics: {},
    status: 'registered', created_by: null, created_at: new Date(0), lineage: null,
  };
}
