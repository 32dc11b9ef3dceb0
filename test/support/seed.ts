// The one seeder of fixture models for tests and benchmarks: a model and its versions written
// straight into the registry tables, each version stored as registration stores it (the artifact's
// uri, sha256 and size, and the signature ONNX Runtime reads from the fixtures). Benchmarks import
// it too, so nothing here may depend on vitest.
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { toStoredSignature } from '../../src/api/services/inspect.js';
import type { ModelContract } from '../../src/contracts/index.js';
import type { Database, ModelSignature, VersionStatus } from '../../src/db/schema.js';
import { rolloutWorkflowId } from '../../src/workflows/messages.js';
import {
  exporterFixtureModel, fixtureGoldenSet, fixtureManifest, fixtureModel, isExporterFixtureKind,
  type ExporterFixtureKind, type FixtureKind, type FixtureModel,
} from '../../src/models/fixtures.js';

/**
 * A credit fixture by kind, an exporter-shaped fixture by kind (stored with its own signature), or
 * any artifact on disk (a deliberately slow or corrupt model), with its signature when it is not
 * the credit fixtures'.
 */
export type SeedArtifact = FixtureKind | ExporterFixtureKind | (Pick<FixtureModel, 'uri' | 'sha256' | 'sizeBytes'> & { signature?: ModelSignature });

export interface SeedVersion {
  artifact: SeedArtifact;
  metadata?: Record<string, unknown>;
  referenceProfile?: unknown;
}

export interface SeedModelOptions {
  model: string;
  /** default: the default project */
  project?: string;
  /** version → artifact, registered in this order; a model already seeded gets the versions added */
  versions: Record<string, SeedArtifact | SeedVersion>;
  /** The version that serves production (the others are 'registered'); none when absent. */
  production?: string;
  /** Store the fixtures' golden set on the model, for validation's accuracy check. */
  goldenSet?: boolean;
  /** The model's contract (models.contract), as registration would have stored it; none when absent. */
  contract?: ModelContract;
}

export interface SeededModel { modelId: string; versionIds: Record<string, string> }

/** The credit fixtures' contract as registration stores it: the manifest's input and output, open dimensions as -1. */
export function fixtureSignature(): ModelSignature {
  const { input, output } = fixtureManifest();
  // The manifest's element types are ONNX Runtime's names, as registration reads them.
  return toStoredSignature({ inputs: [input], outputs: [output] } as Parameters<typeof toStoredSignature>[0]);
}

/** An exporter fixture's signature as registration stores it (ZipMap's sequence output as 'non-tensor'). */
export function exporterFixtureSignature(kind: ExporterFixtureKind): ModelSignature {
  const { inputs, outputs } = exporterFixtureModel(kind).entry;
  return toStoredSignature({ inputs, outputs } as Parameters<typeof toStoredSignature>[0]);
}

function seedArtifact(artifact: SeedArtifact): { file: Pick<FixtureModel, 'uri' | 'sha256' | 'sizeBytes'>; signature: ModelSignature } {
  if (typeof artifact !== 'string') return { file: artifact, signature: artifact.signature ?? fixtureSignature() };
  if (isExporterFixtureKind(artifact)) return { file: exporterFixtureModel(artifact), signature: exporterFixtureSignature(artifact) };
  return { file: fixtureModel(artifact), signature: fixtureSignature() };
}

export async function seedFixtureModel(db: Kysely<Database>, opts: SeedModelOptions): Promise<SeededModel> {
  const project = opts.project ?? 'default';
  const golden = opts.goldenSet ? fixtureGoldenSet() : null;
  const existing = await db.selectFrom('models').select('id').where('project_id', '=', project).where('name', '=', opts.model).executeTakeFirst();
  const modelId = existing?.id ?? (await db.insertInto('models').values({
    project_id: project, name: opts.model, ...(golden ? { golden_set: JSON.stringify({ features: golden.matrix, labels: golden.labels }) } : {}),
    ...(opts.contract ? { contract: JSON.stringify(opts.contract) } : {}),
  }).returning('id').executeTakeFirstOrThrow()).id;
  const versionIds: Record<string, string> = {};
  for (const [version, spec] of Object.entries(opts.versions)) {
    const v: SeedVersion = typeof spec === 'string' || !('artifact' in spec) ? { artifact: spec } : spec;
    const { file, signature } = seedArtifact(v.artifact);
    const status: VersionStatus = version === opts.production ? 'production' : 'registered';
    const row = await db.insertInto('model_versions').values({
      model_id: modelId, version, artifact_uri: file.uri, sha256: file.sha256, size_bytes: file.sizeBytes, signature: JSON.stringify(signature), status,
      metadata: v.metadata ?? {},
      reference_profile: v.referenceProfile === undefined ? null : JSON.stringify(v.referenceProfile),
    }).returning('id').executeTakeFirstOrThrow();
    versionIds[version] = row.id;
  }
  return { modelId, versionIds };
}

/** Inserts the rollouts row the API writes before it starts a workflow. */
export async function seedRollout(db: Kysely<Database>, opts: { modelId: string; candidateId: string; baselineId: string | null; model: string; policy: object; id?: string; startedBy?: string }): Promise<string> {
  const id = opts.id ?? `ro_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  await db.insertInto('rollouts').values({
    id, workflow_id: rolloutWorkflowId(opts.model), model_id: opts.modelId, candidate_version_id: opts.candidateId,
    baseline_version_id: opts.baselineId, policy: opts.policy as Record<string, unknown>, started_by: opts.startedBy ?? 'test',
  }).execute();
  return id;
}
