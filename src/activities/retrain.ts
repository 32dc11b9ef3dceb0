// The retrain workflow's activities, up to the verdict on the holdout: gather the training data
// (logged inputs joined with their labels, or a dataset), split it and store both halves as CSV in
// the artifact store; run the policy's trainer on them and store what it wrote (an ONNX model that
// keeps the contract, or the retrain fails saying why); score candidate and production on the
// holdout with the contract's metric. A verdict no retry changes is a RetrainFailed failure,
// never retried; what a retry can fix (a lost connection) throws as it is.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Kysely } from 'kysely';
import { inferContract, targetsFor, type EvaluationSet, type ModelContract, type StoredSignature } from '../contracts/index.js';
import { parseDataset } from '../datasets/index.js';
import type { Database, Model, ModelVersion } from '../db/schema.js';
import type { DataWindow, TrainerRef } from '../loop/lineage.js';
import type { RetrainPolicy } from '../loop/policy.js';
import { trainerFor, TrainerError } from '../loop/trainers/index.js';
import { loggedRowsTable, splitRows, tableCsv } from '../loop/training-data.js';
import { HIGHER_IS_BETTER } from '../models/metrics/index.js';
import { loadModelSession } from '../models/onnx-runtime.js';
import type { ArtifactStore } from '../registry/artifacts.js';
import { findDataset, readEvaluationSet } from '../registry/datasets.js';
import { RegistryError } from '../registry/errors.js';
import { defaultInspector } from '../registry/inspect.js';
import { getModel } from '../registry/models.js';
import { registrationContract } from '../registry/registration.js';
import { updateRetrain } from '../registry/retrains.js';
import { labelledLogRows } from '../registry/training-data.js';
import { findVersion, isArtifactReferenced, listVersions } from '../registry/versions.js';
import { RETRAIN_FAILED } from '../shared/failures.js';
import { artifactPath } from './validation.js';
import { shown } from './validation/report.js';
import { scoreEvaluationSet, taskMetrics } from './validation/scoring.js';

/** The most logged rows one retrain reads. */
const MAX_LOGGED_ROWS = 1_000_000;
/** A dataset smaller than this cannot be split into a training set and a holdout worth the name. */
const MIN_DATASET_ROWS = 20;
/** The holdout metric when the policy names none. */
const DEFAULT_METRIC = { binary_classification: 'roc_auc', multiclass_classification: 'log_loss', regression: 'rmse' } as const;

export interface StoredFile { uri: string; sha256: string; rows: number }

export interface RetrainRequest { retrainId: string; model: string; parentVersion: string | null; policy: RetrainPolicy }

export interface GatheredData { train: StoredFile; holdout: StoredFile; dataWindow: DataWindow; skipped: number }

export interface TrainedCandidate { uri: string; sha256: string; sizeBytes: number; signature: StoredSignature; trainer: TrainerRef }

export interface HoldoutEvaluation {
  better: boolean;
  reason: string;
  metric: string;
  candidate: number;
  production: number | null;
  improvement: number | null;
  rows: number;
  /** The candidate judged (kept in the artifact store whether or not it is registered). */
  artifact: { uri: string; sha256: string };
}

/** A verdict on this retrain that a retry would only repeat. */
export function retrainFailure(message: string): ApplicationFailure {
  return ApplicationFailure.create({ message, type: RETRAIN_FAILED, nonRetryable: true });
}

/** Rethrows a registry or trainer verdict as a RetrainFailed failure; anything else as it is. */
function asVerdict(err: unknown): never {
  if (err instanceof TrainerError || (err instanceof RegistryError && err.code !== 'not_found')) throw retrainFailure(err.message);
  throw err;
}

/** The contract the retrain keeps: the model's, else the one the parent's signature implies. */
export function retrainContract(model: Model, parent: ModelVersion | undefined): ModelContract {
  if (model.contract) return model.contract;
  const inferred = parent ? inferContract(parent.signature) : null;
  if (inferred?.ok) return inferred.contract;
  throw retrainFailure(`model ${model.name} has no contract${inferred ? ` and none can be inferred from version ${parent?.version} (${inferred.message})` : ''}: declare one to retrain it`);
}

export function createRetrainActivities(db: Kysely<Database>, store: ArtifactStore, fetchImpl?: typeof fetch) {
  async function context(args: { model: string; parentVersion: string | null }) {
    const model = await getModel(db, args.model);
    const parent = args.parentVersion ? await findVersion(db, model.id, args.parentVersion) : undefined;
    if (args.parentVersion && !parent) throw retrainFailure(`the parent version ${args.parentVersion} of model ${args.model} is not registered`);
    return { model, parent, contract: retrainContract(model, parent) };
  }

  async function putCsv(text: string, rows: number): Promise<StoredFile> {
    const stored = await store.putDataset(Readable.from([Buffer.from(text, 'utf8')]), 'csv');
    return { uri: stored.uri, sha256: stored.sha256, rows };
  }

  async function readTable(file: StoredFile, contract: ModelContract): Promise<EvaluationSet> {
    const parsed = await parseDataset(store.stream(file.uri), { format: 'csv', contract });
    if (!parsed.ok) throw retrainFailure(`the stored data ${file.uri} does not read against the contract: ${parsed.field}: ${parsed.message}`);
    return parsed.dataset.set;
  }

  async function loggedWindow(model: Model, parent: ModelVersion | undefined, contract: ModelContract, data: Extract<RetrainPolicy['data'], { kind: 'logged' }>, metric: string) {
    const to = new Date();
    const from = new Date(to.getTime() - data.windowSeconds * 1000);
    const window = `data window ${from.toISOString()} .. ${to.toISOString()} of the inference log`;
    const layoutVersion = parent ?? (await listVersions(db, model.id, { limit: 1 }))[0];
    if (!layoutVersion) throw retrainFailure(`model ${model.name} has no version whose signature the logged inputs can be read by`);
    const logged = await labelledLogRows(db, { model: model.name, from, to, metric, limit: MAX_LOGGED_ROWS });
    const table = loggedRowsTable(contract, layoutVersion.signature, logged);
    if (!table.ok) throw retrainFailure(table.message);
    if (table.set.rows < data.minRows) {
      throw retrainFailure(`${window} has ${table.set.rows} rows, needs ${data.minRows} (logged requests with a "${metric}" feedback${table.skipped ? `; ${table.skipped} more did not fit the signature's row` : ''})`);
    }
    return { set: table.set, skipped: table.skipped, window: { source: 'inference_log' as const, from: from.toISOString(), to: to.toISOString() } };
  }

  async function datasetWindow(model: Model, datasetId: string) {
    const dataset = await findDataset(db, model.id, datasetId);
    if (!dataset) throw retrainFailure(`dataset ${datasetId} named by the retrain policy is not a dataset of model ${model.name}`);
    const set = await readEvaluationSet(store, dataset).catch(asVerdict);
    if (set.rows < MIN_DATASET_ROWS) throw retrainFailure(`dataset ${datasetId} has ${set.rows} rows, needs ${MIN_DATASET_ROWS}`);
    return { set, skipped: 0, window: { source: 'dataset' as const, dataset: datasetId } };
  }

  return {
    /**
     * The retrain's data: the policy's window of the inference log joined with its labels (or its
     * dataset), split into training rows and holdout rows by the retrain's id, both stored as CSV.
     * The data window records the training file's sha256: exactly what the trainer reads.
     */
    async gatherTrainingData(args: RetrainRequest): Promise<GatheredData> {
      const { model, parent, contract } = await context(args);
      const { data } = args.policy;
      const gathered = data.kind === 'logged'
        ? await loggedWindow(model, parent, contract, data, data.labelMetric ?? 'label')
        : await datasetWindow(model, data.dataset);
      const split = splitRows(gathered.set.rows, args.policy.holdoutShare, args.retrainId);
      if (split.train.length === 0 || split.holdout.length === 0) {
        throw retrainFailure(`the ${gathered.set.rows} rows split into ${split.train.length} training and ${split.holdout.length} holdout rows (holdout share ${args.policy.holdoutShare}): both need rows`);
      }
      const train = await putCsv(tableCsv(contract, gathered.set, split.train), split.train.length);
      const holdout = await putCsv(tableCsv(contract, gathered.set, split.holdout), split.holdout.length);
      const dataWindow: DataWindow = { ...gathered.window, ...(gathered.window.source === 'inference_log' ? { dataset: train.uri } : {}), rows: train.rows, sha256: train.sha256 };
      await updateRetrain(db, args.retrainId, { dataWindow });
      return { train, holdout, dataWindow, skipped: gathered.skipped };
    },

    /**
     * Runs the policy's trainer on the stored files (heartbeating while it runs) and stores what it
     * wrote. A file ONNX Runtime cannot load, or a model whose signature breaks the contract, ends
     * the retrain here with registration's own message; production is never touched.
     */
    async trainModel(args: RetrainRequest & { data: GatheredData }): Promise<TrainedCandidate> {
      const { model, contract } = await context(args);
      const trainer = trainerFor(args.policy.trainer, fetchImpl);
      await updateRetrain(db, args.retrainId, { trainer: trainer.ref });
      const dir = await fsp.mkdtemp(path.join(os.tmpdir(), `sluice-${args.retrainId}-`));
      const ctx = Context.current();
      try {
        const outFile = path.join(dir, 'model.onnx');
        // Copies: a trainer may do as it likes with its files, never with the content-addressed store's.
        const trainFile = path.join(dir, 'train.csv');
        const holdoutFile = path.join(dir, 'holdout.csv');
        await fsp.copyFile(store.localPath(args.data.train.uri), trainFile);
        await fsp.copyFile(store.localPath(args.data.holdout.uri), holdoutFile);
        await trainer.train({
          retrainId: args.retrainId, model: args.model, contract,
          trainFile, holdoutFile, outFile,
          data: { train: args.data.train, holdout: args.data.holdout }, params: trainer.ref.params, readTrainingSet: () => readTable(args.data.train, contract),
          heartbeat: (details) => ctx.heartbeat(details), signal: ctx.cancellationSignal,
        }).catch(asVerdict);
        const stored = await store.put(fs.createReadStream(outFile));
        try {
          // Registration's own checks, now, so a model that cannot register never gets as far as the holdout.
          const inspected = await defaultInspector(stored.path);
          await db.transaction().execute(async (trx) => await registrationContract(trx, model, `trained by ${trainer.ref.kind} trainer ${trainer.ref.name}`, inspected));
          return { uri: stored.uri, sha256: stored.sha256, sizeBytes: stored.sizeBytes, signature: inspected.signature, trainer: trainer.ref };
        } catch (err) {
          if (!(await isArtifactReferenced(db, stored.sha256))) await fsp.rm(stored.path, { force: true });
          return asVerdict(err);
        }
      } finally {
        await fsp.rm(dir, { recursive: true, force: true });
      }
    },

    /**
     * The candidate and production scored on the holdout with the contract's metric (the policy's,
     * else the task's default): better when it improves on production by at least minImprovement.
     */
    async evaluateOnHoldout(args: RetrainRequest & { data: GatheredData; candidate: TrainedCandidate }): Promise<HoldoutEvaluation> {
      const { parent, contract } = await context(args);
      const set = await readTable(args.data.holdout, contract);
      const targets = targetsFor(contract, set.labels);
      if (!targets.ok) throw retrainFailure(`the holdout's labels: ${targets.message}`);
      const metric = args.policy.metric ?? DEFAULT_METRIC[contract.task];
      const score = async (file: string, signature: StoredSignature, who: string): Promise<number> => {
        const loaded = await loadModelSession(file);
        try {
          const scoring = await scoreEvaluationSet(loaded, contract, signature, set);
          if (!scoring.ok) throw retrainFailure(`${who} cannot be scored on the holdout: ${scoring.field}: ${scoring.message}`);
          const result = (taskMetrics(contract, scoring.scores, targets.values) as Record<string, { ok: true; value: number } | { ok: false; message: string } | undefined>)[metric];
          if (!result) throw retrainFailure(`${metric} is not a metric of a ${contract.task.replace('_', ' ')} model`);
          if (!result.ok) throw retrainFailure(`${metric} of ${who} on the holdout cannot be computed: ${result.message}`);
          return result.value;
        } finally {
          await loaded.session.release().catch(() => undefined);
        }
      };
      const candidate = await score(store.localPath(args.candidate.uri), args.candidate.signature, 'the retrained model');
      const min = args.policy.minImprovement;
      const artifact = { uri: args.candidate.uri, sha256: args.candidate.sha256 };
      let evaluation: HoldoutEvaluation;
      if (!parent) {
        evaluation = { better: true, reason: `no production version to compare with: candidate ${metric} ${shown(candidate)} on the holdout`, metric, candidate, production: null, improvement: null, rows: set.rows, artifact };
      } else {
        const production = await score(artifactPath(parent.artifact_uri), parent.signature, `production version ${parent.version}`);
        const higher = HIGHER_IS_BETTER[metric as keyof typeof HIGHER_IS_BETTER] ?? true;
        const improvement = higher ? candidate - production : production - candidate;
        const better = improvement >= min;
        const numbers = `candidate ${metric} ${shown(candidate)} vs production ${shown(production)} (min improvement ${min.toFixed(2)})`;
        evaluation = { better, reason: `${better ? 'better' : 'not better'} on the holdout: ${numbers}`, metric, candidate, production, improvement, rows: set.rows, artifact };
      }
      await updateRetrain(db, args.retrainId, { evaluation });
      return evaluation;
    },
  };
}
