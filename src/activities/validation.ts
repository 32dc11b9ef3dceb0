// Validation of a candidate version before any traffic moves: the artifact is the registered one,
// ONNX Runtime loads it, its signature keeps the model's contract, and it is good, fast and fair
// enough on the model's evaluation set, read through the contract (every input fed, the score read
// as the contract says, the task's metrics) and, when the policy asks, no worse than production on
// the same rows. Each check is recorded with its verdict, its reason and its numbers; the checks
// live in ./validation/.
import { ApplicationFailure, CancelledFailure, heartbeat } from '@temporalio/activity';
import { fileURLToPath } from 'node:url';
import type { Kysely } from 'kysely';
import { checkVersion, formatSignature, inferContract, targetsFor, type EvaluationSet, type ModelContract } from '../contracts/index.js';
import type { Database, Model, ModelVersion } from '../db/schema.js';
import { loadModelSession, ModelLoadError, type LoadedModel } from '../models/onnx-runtime.js';
import { ArtifactStore } from '../registry/artifacts.js';
import { goldenEvaluationSet } from '../registry/datasets.js';
import { findModel } from '../registry/models.js';
import { findVersion, productionVersion } from '../registry/versions.js';
import { VALIDATION_CHECK_ERROR } from '../shared/failures.js';
import { championChallengerCheck } from './validation/champion.js';
import { fairnessCheck } from './validation/fairness.js';
import { latencyCheck } from './validation/latency.js';
import { metricChecks } from './validation/metrics.js';
import { check, type ValidationCheck, type ValidationReport, type ValidationRequest } from './validation/report.js';
import { scoreEvaluationSet, taskMetrics, type Scores } from './validation/scoring.js';

export type { ValidationCheck, ValidationReport, ValidationRequest } from './validation/report.js';

export interface CandidateValidator {
  validate(args: ValidationRequest): Promise<ValidationReport>;
}

/**
 * A check that threw instead of returning a verdict: a bug in the check, or a model it cannot
 * read. `completed` holds the checks that returned before it, so the rollout's record keeps them.
 */
export class ValidationCheckError extends Error {
  override readonly name = VALIDATION_CHECK_ERROR;
  constructor(readonly check: string | null, readonly thrown: unknown, readonly completed: ValidationCheck[] = []) {
    super(`${check ? `check ${check}` : 'the validator'} threw ${thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown)}`, { cause: thrown });
  }
}

/** What a ValidationCheckError's Temporal failure carries to the workflow (its first detail). */
export interface ValidationCheckFailureDetails { check: string | null; completed: ValidationCheck[] }

export interface OnnxValidatorOptions {
  /** Single-row runs timed for the latency check (default 200). */
  latencyRuns?: number;
  /** Where evaluation datasets are stored (default: the configured artifact root). */
  artifacts?: ArtifactStore;
}

const artifactPath = (uri: string) => (uri.startsWith('file:') ? fileURLToPath(uri) : uri);

/** The contract the candidate is judged by: the model's, else the one its signature implies (models registered before contracts). */
function contractFor(model: Model, candidate: ModelVersion): { contract: ModelContract } | { contract: null; why: string } {
  if (model.contract) return { contract: model.contract };
  const inferred = inferContract(candidate.signature);
  return inferred.ok ? { contract: inferred.contract } : { contract: null, why: `the model has no contract and none can be inferred from version ${candidate.version} (${inferred.message})` };
}

/** Gates the policy sets that need an evaluation set: each a failed check when there is none. */
function gatesWithoutEvaluationSet(validation: ValidationRequest['validation'], why: string): ValidationCheck[] {
  const gates: ValidationCheck[] = [check('accuracy', 'info', `${why}; accuracy not checked`)];
  for (const [metric, bound] of Object.entries(validation.metrics ?? {})) {
    if (bound) gates.push(check(metric, 'failed', `the policy bounds ${metric}, but ${why}`, { ...bound }));
  }
  if (validation.championChallenger) gates.push(check('champion_challenger', 'failed', `the policy compares the candidate with production on ${validation.championChallenger.metric}, but ${why}`, { metric: validation.championChallenger.metric }));
  if (validation.fairness) gates.push(check('fairness', 'failed', `the policy sets a fairness floor, but ${why}`, { minRatio: validation.fairness.minRatio }));
  return gates;
}

/** The default validator: ONNX Runtime in the orchestrator process. */
export function createOnnxValidator(db: Kysely<Database>, opts: OnnxValidatorOptions = {}): CandidateValidator {
  const artifacts = opts.artifacts ?? new ArtifactStore();
  return {
    async validate({ model, version, validation }) {
      const checks: ValidationCheck[] = [];
      const fail = (name: string, reason: string, numbers: Record<string, unknown> = {}) => {
        checks.push(check(name, 'failed', reason, numbers));
        return { passed: false, checks };
      };
      const registered = await findModel(db, model);
      const candidate = registered && await findVersion(db, registered.id, version);
      if (!registered || !candidate) return fail('registry', `version ${model}/${version} is not registered`);
      // Production is what the candidate is compared with, unless the candidate is production itself.
      const serving = await productionVersion(db, registered.id);
      const production = serving?.version === version ? undefined : serving;

      let loaded: LoadedModel;
      try {
        loaded = await loadModelSession(artifactPath(candidate.artifact_uri));
      } catch (err) {
        return fail('load', err instanceof ModelLoadError ? err.message : `cannot load artifact: ${(err as Error).message}`);
      }
      // The check under way, named when one throws instead of returning a verdict.
      let running = 'sha256';
      try {
        heartbeat({ check: 'loaded' });
        if (loaded.sha256 !== candidate.sha256) {
          return fail('sha256', `artifact sha256 ${loaded.sha256.slice(0, 12)}… does not match the registered ${candidate.sha256.slice(0, 12)}…`, { expected: candidate.sha256, actual: loaded.sha256 });
        }
        checks.push(check('sha256', 'successful', `artifact sha256 matches (${candidate.sha256.slice(0, 12)}…)`, { sha256: candidate.sha256 }));
        checks.push(check('load', 'successful', `ONNX Runtime loaded it (${loaded.sizeBytes} bytes)`, { sizeBytes: loaded.sizeBytes }));

        // The sha256 matched, so the signature registration stored is this artifact's.
        running = 'signature';
        const signature = candidate.signature;
        if (registered.contract) {
          const kept = checkVersion(registered.contract, signature, version);
          if (!kept.ok) return fail('signature', kept.message, { problems: kept.problems });
          checks.push(check('signature', 'successful', `signature ${formatSignature(signature)} keeps the model's contract`));
        } else if (production && formatSignature(production.signature) !== formatSignature(signature)) {
          return fail('signature', `signature ${formatSignature(signature)} does not match ${formatSignature(production.signature)} of production ${production.version} (the model has no contract to check it against)`);
        } else {
          checks.push(check('signature', 'successful', `signature ${formatSignature(signature)}${production ? ` matches production ${production.version}` : ''} (the model has no contract; its first version's signature stands for one)`));
        }

        running = 'evaluation';
        const judged = contractFor(registered, candidate);
        const set: EvaluationSet | null = judged.contract ? await goldenEvaluationSet(db, artifacts, { ...registered, contract: judged.contract }) : null;
        if (!judged.contract || !set || set.rows === 0) {
          checks.push(...gatesWithoutEvaluationSet(validation, judged.contract ? 'the model has no golden set' : judged.why));
        } else {
          const contract = judged.contract;
          const scored = await scoreEvaluationSet(loaded, contract, signature, set);
          heartbeat({ check: 'evaluation set' });
          if (!scored.ok) return fail('evaluation', `the candidate cannot be scored on the evaluation set: ${scored.message}`, { field: scored.field });
          const targets = targetsFor(contract, set.labels);
          if (!targets.ok) return fail('evaluation', `the evaluation set's labels do not fit the contract: ${targets.message}`, { field: targets.field });
          const scores = scored.scores;
          running = 'metrics';
          checks.push(...metricChecks(scores.task, taskMetrics(contract, scores, targets.values), validation, set.rows));

          const rule = validation.championChallenger;
          if (rule) {
            running = 'champion_challenger';
            if (!production) {
              checks.push(check('champion_challenger', 'info', `no production version to compare with on ${rule.metric}`, { metric: rule.metric }));
            } else {
              const champion = await scoreProduction(production, contract, set);
              checks.push(typeof champion === 'string'
                ? check('champion_challenger', 'failed', `production ${production.version} cannot be scored on the evaluation set to compare with: ${champion}`, { metric: rule.metric, production: production.version })
                : championChallengerCheck(contract, rule, scores, { version: production.version, scores: champion }, targets.values));
              heartbeat({ check: 'champion_challenger' });
            }
          }
          if (validation.fairness) {
            running = 'fairness';
            checks.push(fairnessCheck(contract, validation.fairness, scores, targets.values, set.segments));
          }
        }

        running = 'latency';
        const source = judged.contract && set ? { contract: judged.contract, set } : null;
        checks.push(await latencyCheck(loaded, signature, source, opts.latencyRuns ?? 200, validation.maxP99LatencyMs));
        return { passed: checks.every((c) => c.verdict === 'successful' || c.verdict === 'info'), checks };
      } catch (err) {
        if (err instanceof CancelledFailure) throw err;
        throw new ValidationCheckError(running, err, checks);
      } finally {
        await loaded.session.release().catch(() => undefined);
      }
    },
  };
}

/** Production's scores on the same evaluation set, or why it has none. */
async function scoreProduction(production: ModelVersion, contract: ModelContract, set: EvaluationSet): Promise<Scores | string> {
  // A production registered before the contract may not keep it; then it cannot be read by it.
  const kept = checkVersion(contract, production.signature, production.version);
  if (!kept.ok) return kept.message;
  let loaded: LoadedModel;
  try {
    loaded = await loadModelSession(artifactPath(production.artifact_uri));
  } catch (err) {
    return err instanceof ModelLoadError ? err.message : `cannot load its artifact: ${(err as Error).message}`;
  }
  try {
    const scored = await scoreEvaluationSet(loaded, contract, production.signature, set);
    return scored.ok ? scored.scores : scored.message;
  } finally {
    await loaded.session.release().catch(() => undefined);
  }
}

/** Errors that mean a bug, not bad luck: a retry runs the same code on the same candidate and throws again. */
function isProgrammingError(err: unknown): err is Error {
  return err instanceof RangeError || err instanceof TypeError || err instanceof ReferenceError || err instanceof SyntaxError;
}

/**
 * A check that threw (or a validator's own bug) becomes a non-retryable failure carrying its
 * message and the checks done before it, so the workflow rejects the candidate and says why.
 * Anything else (a lost database connection) is rethrown for Temporal to retry.
 */
export function validationFailure(err: unknown): unknown {
  const thrown = err instanceof ValidationCheckError ? err : isProgrammingError(err) ? new ValidationCheckError(null, err) : null;
  if (!thrown) return err;
  const details: ValidationCheckFailureDetails = { check: thrown.check, completed: thrown.completed };
  return ApplicationFailure.create({
    message: thrown.message, type: VALIDATION_CHECK_ERROR, nonRetryable: true, details: [details],
    ...(thrown.thrown instanceof Error ? { cause: thrown.thrown } : {}),
  });
}

export function createValidationActivities(db: Kysely<Database>, validator: CandidateValidator = createOnnxValidator(db)) {
  return {
    async validateCandidate(args: ValidationRequest): Promise<ValidationReport> {
      try {
        return await validator.validate(args);
      } catch (err) {
        throw validationFailure(err);
      }
    },
  };
}
