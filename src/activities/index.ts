import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { probeDatabase } from '../registry/health.js';
import { createExperimentActivities } from './experiments.js';
import { createFleetActivities, type FleetClient } from './fleet.js';
import { createMetricsActivities } from './metrics.js';
import { createNotifyActivities } from './notify.js';
import { createMonitorActivities, type ActivityTemporal } from './monitor.js';
import { createRegistryActivities } from './registry.js';
import { createRetrainActivities } from './retrain.js';
import { createRetrainRegisterActivities } from './retrain-register.js';
import type { Notifier } from '../loop/notify.js';
import { ArtifactStore } from '../registry/artifacts.js';
import { createOnnxValidator, createValidationActivities, type CandidateValidator } from './validation.js';

export interface ActivityDeps {
  db: Kysely<Database>;
  fleet: FleetClient;
  /** Scores a candidate on the model's golden set; defaults to ONNX Runtime in this process. */
  validator?: CandidateValidator;
  /** Where evaluation datasets, retrains' data and retrained models live; defaults to the configured artifact root. */
  artifacts?: ArtifactStore;
  /** Sends and logs the loop's and the lifecycle's events; defaults to SLUICE_WEBHOOK_SECRET / SLUICE_WEBHOOK_URL. */
  notifier?: Notifier;
  /** A Temporal client: the drift monitor's activities start the retrain and the monitor with it. */
  temporal?: ActivityTemporal;
}

/**
 * Every side effect the workflows need, built from explicit dependencies so tests can pass their
 * own (a test database, a stub fleet). Workflows import this file as a type only.
 */
export function createActivities(deps: ActivityDeps) {
  const artifacts = deps.artifacts ?? new ArtifactStore();
  return {
    /** Proves the orchestrator reaches its database: used by the stack's readiness probe. */
    async probeDatabase(): Promise<{ serverVersion: string; migrations: number }> {
      return await probeDatabase(deps.db);
    },
    ...createRegistryActivities(deps.db),
    ...createNotifyActivities(deps.db, deps.notifier),
    ...createMetricsActivities(deps.db),
    ...createExperimentActivities(deps.db),
    ...createFleetActivities(deps.fleet),
    ...createMonitorActivities(deps.db, deps.temporal),
    ...createValidationActivities(deps.db, deps.validator ?? createOnnxValidator(deps.db, { artifacts })),
    ...createRetrainActivities(deps.db, artifacts),
    ...createRetrainRegisterActivities(deps.db, artifacts),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { FleetClient } from './fleet.js';
export type { ActivityTemporal } from './monitor.js';
