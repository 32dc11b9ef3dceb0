// Registering a version, the one way both callers do it: the API's register routes (a person's
// upload or artifact URI) and the retrain workflow (a trainer's output). The stored artifact is
// loaded with ONNX Runtime (its signature read, a file the runtime refuses is refused), checked
// against the model's contract (checkVersion's message when it breaks it), and inserted with the
// model's first contract in the caller's transaction, so the API's audit entry commits with it.
import type { ModelContract } from '../contracts/index.js';
import type { Model, ModelVersion } from '../db/schema.js';
import type { VersionLineage } from '../loop/lineage.js';
import type { StoredArtifact } from './artifacts.js';
import type { Db } from './db.js';
import type { InspectedModel, ModelInspector } from './inspect.js';
import { contractOnRegistration } from './model-contract.js';
import { setModelContract } from './models.js';
import { setVersionLineage } from './retrains.js';
import { insertVersion } from './versions.js';

export interface PreparedRegistration {
  inspected: InspectedModel;
  /** The contract to store with the model's first version; null when the model keeps its own. */
  contract: ModelContract | null;
}

export interface RegistrationInput {
  version: string;
  metadata?: Record<string, unknown>;
  trainingDataRef?: string;
  referenceProfile?: unknown;
  createdBy: string | null;
  lineage?: VersionLineage;
}

/**
 * Loads the stored artifact and checks it against the model: throws a RegistryError (invalid_model)
 * naming why a version cannot be registered. Nothing is written.
 */
export async function prepareRegistration(inspect: ModelInspector, model: Model, version: string, stored: StoredArtifact): Promise<PreparedRegistration> {
  const inspected = await inspect(stored.path);
  return { inspected, contract: contractOnRegistration(model, version, inspected) };
}

/** Inserts the prepared version (and the model's first contract, and the version's lineage) with `db`, a transaction in both callers. */
export async function insertRegisteredVersion(db: Db, model: Model, stored: StoredArtifact, prepared: PreparedRegistration, input: RegistrationInput): Promise<ModelVersion> {
  const { inspected, contract } = prepared;
  const row = await insertVersion(db, {
    modelId: model.id, version: input.version, artifactUri: stored.uri, sha256: stored.sha256, sizeBytes: stored.sizeBytes,
    signature: inspected.signature,
    metadata: { ...(inspected.embedded ? { embedded: inspected.embedded } : {}), ...input.metadata },
    trainingDataRef: input.trainingDataRef ?? (inspected.embedded ? `sha256:${inspected.embedded.trainingDataSha256}` : null),
    referenceProfile: input.referenceProfile ?? null, createdBy: input.createdBy,
  });
  if (contract) await setModelContract(db, model.id, contract, { onlyIfUnset: true });
  if (input.lineage) await setVersionLineage(db, row.id, input.lineage);
  return row;
}
