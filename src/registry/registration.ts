// Registering a version, the one way both callers do it: the API's register routes (a person's
// upload or artifact URI) and the retrain workflow (a trainer's output). With the model's row
// locked in the caller's transaction, the version is checked against the model's contract (or the
// first one is inferred; contractOnRegistration's errors name why it cannot register), inserted,
// with its lineage, an inferred contract stored with it; the API's audit entry commits with it.
import type { Model, ModelVersion } from '../db/schema.js';
import type { VersionLineage } from '../loop/lineage.js';
import type { StoredArtifact } from './artifacts.js';
import type { Db } from './db.js';
import type { InspectedModel } from './inspect.js';
import { contractOnRegistration, type RegistrationContract } from './model-contract.js';
import { lockModel, setModelContract } from './models.js';
import { insertVersion } from './versions.js';

export interface RegistrationInput {
  version: string;
  metadata?: Record<string, unknown>;
  trainingDataRef?: string;
  referenceProfile?: unknown;
  createdBy: string | null;
  lineage?: VersionLineage;
}

/** The contract the version would register under, read under the model's row lock (`db` a transaction); writes nothing. */
export async function registrationContract(db: Db, model: Model, version: string, inspected: InspectedModel): Promise<RegistrationContract> {
  const { model: current, versionCount } = await lockModel(db, model.id);
  return contractOnRegistration(current, versionCount, version, inspected);
}

/** Registers the inspected artifact as a version, in `db` (a transaction, which keeps the model's row locked until it ends). */
export async function registerVersion(db: Db, model: Model, stored: StoredArtifact, inspected: InspectedModel, input: RegistrationInput): Promise<{ row: ModelVersion; found: RegistrationContract }> {
  const found = await registrationContract(db, model, input.version, inspected);
  const row = await insertVersion(db, {
    modelId: model.id, version: input.version, artifactUri: stored.uri, sha256: stored.sha256, sizeBytes: stored.sizeBytes,
    signature: inspected.signature,
    metadata: { ...(inspected.embedded ? { embedded: inspected.embedded } : {}), ...input.metadata },
    trainingDataRef: input.trainingDataRef ?? (inspected.embedded ? `sha256:${inspected.embedded.trainingDataSha256}` : null),
    referenceProfile: input.referenceProfile ?? null, createdBy: input.createdBy, lineage: input.lineage ?? null,
  });
  if (found.store && found.contract) await setModelContract(db, model.id, found.contract);
  return { row, found };
}
