import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../src/db/schema.js';

/** Seeds a model with versions (the first one in production) straight into the registry tables. */
export async function seedModel(db: Kysely<Database>, opts: { model: string; versions: string[]; production?: string | null; artifactUri?: (v: string) => string; sha256?: (v: string) => string }): Promise<{ modelId: string; versionIds: Record<string, string> }> {
  const model = await db.insertInto('models').values({ project_id: 'default', name: opts.model }).returning('id').executeTakeFirstOrThrow();
  const versionIds: Record<string, string> = {};
  for (const version of opts.versions) {
    const row = await db.insertInto('model_versions').values({
      model_id: model.id, version,
      artifact_uri: opts.artifactUri?.(version) ?? `file:///nonexistent/${version}.onnx`,
      sha256: opts.sha256?.(version) ?? 'a'.repeat(64), size_bytes: 1,
      signature: { inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }], outputs: [{ name: 'probability', datatype: 'FP32', shape: [-1, 1] }] },
      status: version === (opts.production === undefined ? opts.versions[0] : opts.production) ? 'production' : 'registered',
    }).returning('id').executeTakeFirstOrThrow();
    versionIds[version] = row.id;
  }
  return { modelId: model.id, versionIds };
}

/** Inserts the rollouts row the API writes before it starts a workflow. */
export async function seedRollout(db: Kysely<Database>, opts: { modelId: string; candidateId: string; baselineId: string | null; model: string; policy: object }): Promise<string> {
  const id = `ro_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  await db.insertInto('rollouts').values({
    id, workflow_id: `rollout:${opts.model}`, model_id: opts.modelId, candidate_version_id: opts.candidateId,
    baseline_version_id: opts.baselineId, policy: opts.policy as Record<string, unknown>, started_by: 'test',
  }).execute();
  return id;
}
