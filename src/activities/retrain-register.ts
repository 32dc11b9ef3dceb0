// The retrain workflow's writes after a better candidate: its version registered through the same
// service as the API's register routes (the same checks, audited as the system's registration),
// with its lineage and a reference profile of the training data; the rollouts row its lifecycle
// workflow finds (the workflow starts that workflow itself, as a child it abandons); and the
// retrains row finished. Each is idempotent, so a retried attempt writes nothing twice.
import type { Kysely } from 'kysely';
import type { Database, Model } from '../db/schema.js';
import { parseDataset } from '../datasets/index.js';
import type { LineageCause, RetrainStatus, VersionLineage } from '../loop/lineage.js';
import { describePolicyErrors, parseRolloutPolicy, validationPolicyProblems } from '../policy/index.js';
import type { RolloutPolicy } from '../policy/schema.js';
import type { ArtifactStore } from '../registry/artifacts.js';
import { recordAudit } from '../registry/audit.js';
import { RegistryError } from '../registry/errors.js';
import { defaultInspector } from '../registry/inspect.js';
import { getModel } from '../registry/models.js';
import { computeReferenceProfile } from '../registry/profiles.js';
import { registerVersion } from '../registry/registration.js';
import { finishRetrain, versionNamesStartingWith, versionOfRetrain } from '../registry/retrains.js';
import { failRollout, insertRollout, newRolloutId, runningRolloutForModel, runningRolloutWithVersion } from '../registry/rollouts.js';
import { findVersion, productionVersion, setReferenceProfile } from '../registry/versions.js';
import { retrainContract, retrainFailure, type GatheredData, type HoldoutEvaluation, type RetrainRequest, type TrainedCandidate } from './retrain.js';

/** Who the audit log names for what a retrain does. */
const RETRAIN_ACTOR = 'system:retrain';

/** Versions numbered as people usually number them: v1, v2, … */
const NUMBERED_VERSION = /^v(\d+)$/;

/** What a retrained version's name starts with: `v` for a numbered parent, else its parent's name without the parent's own -rtN, then `-rt`. */
export function retrainedVersionBase(parent: string | null): string {
  if (parent !== null && NUMBERED_VERSION.test(parent)) return 'v';
  return `${(parent ?? 'v').replace(/-rt\d+$/, '').slice(0, 56)}-rt`;
}

/**
 * The retrained version's name, numbered after the model's versions that start with the same base
 * (`existing`): after a numbered parent the model's next number (v3 when v1 and v2 exist), so the
 * lineage reads v1 → v2 → v3 as a person would have named it; otherwise `<parent>-rt<N>`.
 */
export function retrainedVersionName(parent: string | null, existing: readonly string[]): string {
  const base = retrainedVersionBase(parent);
  const taken = existing.filter((v) => v.startsWith(base) && /^\d+$/.test(v.slice(base.length))).map((v) => Number(v.slice(base.length)));
  return `${base}${Math.max(0, ...taken) + 1}`;
}

export interface OpenedRollout {
  rolloutId: string;
  workflowId: string;
  baselineVersion: string | null;
  policy: RolloutPolicy;
}

export function createRetrainRegisterActivities(db: Kysely<Database>, store: ArtifactStore) {
  /** A profile of the training data (features and the model's score on them), as `reference-profile/compute` makes one. */
  async function profileOf(model: Model, versionId: string, version: string, data: GatheredData): Promise<void> {
    const row = await findVersion(db, model.id, version);
    if (!row || row.reference_profile !== null) return;
    const contract = retrainContract(model, row);
    const parsed = await parseDataset(store.stream(data.train.uri), { format: 'csv', contract });
    if (!parsed.ok) throw retrainFailure(`the training data no longer reads against the contract: ${parsed.field}: ${parsed.message}`);
    const { profile } = await computeReferenceProfile(store, row, { columns: parsed.dataset.set.columns }, contract);
    await setReferenceProfile(db, versionId, profile);
  }

  return {
    /**
     * Registers the candidate as `<parent>-rt<N>` with its lineage (parent, cause, data window,
     * trainer, retrain) and the training data's reference profile. A retried attempt finds the
     * version its first attempt registered.
     */
    async registerRetrainedVersion(args: RetrainRequest & { cause: LineageCause; data: GatheredData; candidate: TrainedCandidate; evaluation: HoldoutEvaluation }): Promise<{ version: string }> {
      const model = await getModel(db, args.model);
      let row = await versionOfRetrain(db, model.id, args.retrainId);
      if (!row) {
        const stored = await store.resolve(args.candidate.uri, args.candidate.sha256);
        const version = retrainedVersionName(args.parentVersion, await versionNamesStartingWith(db, model.id, retrainedVersionBase(args.parentVersion)));
        const inspected = await defaultInspector(stored.path).catch((err: Error) => { throw retrainFailure(err.message); });
        const lineage: VersionLineage = {
          parent: args.parentVersion, cause: args.cause, dataWindow: args.data.dataWindow, trainer: args.candidate.trainer, retrainId: args.retrainId,
        };
        const registered = await db.transaction().execute(async (trx) => {
          const { row: inserted } = await registerVersion(trx, model, stored, inspected, {
            version, createdBy: RETRAIN_ACTOR, lineage, trainingDataRef: `sha256:${args.data.dataWindow.sha256}`,
            metadata: { retrain: { id: args.retrainId, holdout: { metric: args.evaluation.metric, candidate: args.evaluation.candidate, production: args.evaluation.production, rows: args.evaluation.rows } } },
          });
          await recordAudit(trx, {
            projectId: model.project_id, actor: RETRAIN_ACTOR, action: 'version.register', targetType: 'version', targetId: `${model.name}/${version}`,
            before: null, after: { version, sha256: stored.sha256, lineage }, requestId: null,
          });
          return inserted;
        }).catch((err: unknown) => {
          // The contract's refusal is a verdict (production untouched); anything else may pass on a retry.
          if (err instanceof RegistryError && err.code !== 'not_found' && err.code !== 'conflict') throw retrainFailure(err.message);
          throw err;
        });
        row = registered;
      }
      await profileOf(model, row.id, row.version, args.data);
      return { version: row.version };
    },

    /**
     * The rollouts row the new version's lifecycle workflow writes to (as the API inserts it before it
     * starts one), with the retrain policy's rollout policy. No row when the model already has a
     * running rollout: the reason says which.
     */
    async openRetrainRollout(args: { retrainId: string; model: string; version: string; workflowId: string; rolloutPolicy: unknown; requestedBy: string }): Promise<OpenedRollout | { rolloutId: null; reason: string }> {
      const model = await getModel(db, args.model);
      const candidate = await findVersion(db, model.id, args.version);
      if (!candidate) throw retrainFailure(`version ${args.version} of model ${args.model} vanished before its rollout`);
      const parsed = parseRolloutPolicy(args.rolloutPolicy ?? {});
      if (!parsed.ok) throw retrainFailure(`the retrain policy's rolloutPolicy: ${describePolicyErrors(parsed.errors)}`);
      const problems = model.contract ? validationPolicyProblems(parsed.policy.validation, model.contract.task) : [];
      if (problems.length > 0) throw retrainFailure(`the retrain policy's rolloutPolicy: ${describePolicyErrors(problems)}`);
      const { workflowId } = args;
      const baseline = await productionVersion(db, model.id);
      const mine = await runningRolloutWithVersion(db, candidate.id);
      if (mine) return { rolloutId: mine.id, workflowId, baselineVersion: baseline?.version ?? null, policy: parsed.policy };
      const running = await runningRolloutForModel(db, model.id);
      if (running) return { rolloutId: null, reason: `model ${model.name} already has a running rollout (${running.id}), so version ${args.version} was registered without one` };
      const id = newRolloutId();
      await db.transaction().execute(async (trx) => {
        await insertRollout(trx, {
          id, workflowId, modelId: model.id, candidateVersionId: candidate.id, baselineVersionId: baseline?.id ?? null,
          policy: parsed.policy as unknown as Record<string, unknown>, startedBy: args.requestedBy,
        });
        await recordAudit(trx, {
          projectId: model.project_id, actor: RETRAIN_ACTOR, action: 'rollout.start', targetType: 'rollout', targetId: id,
          before: null, after: { model: model.name, candidate: args.version, baseline: baseline?.version ?? null, workflowId, retrainId: args.retrainId }, requestId: null,
        });
      });
      return { rolloutId: id, workflowId, baselineVersion: baseline?.version ?? null, policy: parsed.policy };
    },

    /** Closes a rollouts row whose workflow never started. */
    async abandonRetrainRollout(args: { rolloutId: string; reason: string }): Promise<void> {
      await failRollout(db, args.rolloutId, args.reason);
    },

    /** Ends the retrains row (once: a retried attempt leaves the first ending). */
    async finishRetrainRun(args: { retrainId: string; status: Exclude<RetrainStatus, 'running'>; reason: string; version: string | null }): Promise<void> {
      await finishRetrain(db, args.retrainId, { status: args.status, reason: args.reason, producedVersion: args.version });
    },
  };
}
