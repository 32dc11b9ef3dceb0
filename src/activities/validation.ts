// Validation of a candidate version before any traffic moves: the artifact is the registered one,
// ONNX Runtime loads it, its signature matches the model's contract, and it is accurate, fast and
// fair enough on the model's golden set. Each check is recorded with its numbers.
import { ApplicationFailure, CancelledFailure, heartbeat } from '@temporalio/activity';
import { fileURLToPath } from 'node:url';
import type { Kysely } from 'kysely';
import type { Database, GoldenSet, StepVerdict } from '../db/schema.js';
import { loadModelSession, ModelLoadError, runFloatMatrix, type LoadedModel } from '../models/onnx-runtime.js';
import type { RolloutPolicy } from '../policy/schema.js';
import { findModel } from '../registry/models.js';
import { findVersion, productionVersion } from '../registry/versions.js';
import { VALIDATION_CHECK_ERROR } from '../shared/failures.js';

export interface ValidationCheck { name: string; verdict: StepVerdict; reason: string; numbers: Record<string, unknown> }
export interface ValidationReport { passed: boolean; checks: ValidationCheck[] }
export interface ValidationRequest { model: string; version: string; validation: RolloutPolicy['validation'] }

export interface CandidateValidator {
  validate(args: ValidationRequest): Promise<ValidationReport>;
}

/**
 * A check that threw instead of returning a verdict: a bug in the check, or a model it cannot
 * read (today, an output it does not expect). `completed` holds the checks that returned before it,
 * so the rollout's record keeps them.
 */
export class ValidationCheckError extends Error {
  override readonly name = VALIDATION_CHECK_ERROR;
  constructor(readonly check: string | null, readonly thrown: unknown, readonly completed: ValidationCheck[] = []) {
    super(`${check ? `check ${check}` : 'the validator'} threw ${thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown)}`, { cause: thrown });
  }
}

/** What a ValidationCheckError's Temporal failure carries to the workflow (its first detail). */
export interface ValidationCheckFailureDetails { check: string | null; completed: ValidationCheck[] }

/** A signature reduced to what a caller depends on: names, element types, non-batch dimensions. */
interface ContractTensor { name: string; type: string; dims: string }

function contract(signature: unknown): ContractTensor[] | null {
  const list = (signature as { inputs?: unknown[] } | null)?.inputs;
  if (!Array.isArray(list)) return null;
  return list.map((t) => {
    const tensor = t as { name?: string; type?: string; datatype?: string; shape?: Array<number | string> };
    return {
      name: String(tensor.name),
      type: normaliseType(String(tensor.type ?? tensor.datatype ?? '')),
      dims: (tensor.shape ?? []).slice(1).map((d) => (typeof d === 'number' && d > 0 ? String(d) : '?')).join('x'),
    };
  });
}

function contractOutputs(signature: unknown): ContractTensor[] | null {
  const outputs = (signature as { outputs?: unknown[] } | null)?.outputs;
  return outputs ? contract({ inputs: outputs }) : null;
}

function normaliseType(type: string): string {
  const t = type.toLowerCase();
  return t === 'fp32' ? 'float32' : t === 'fp64' ? 'float64' : t === 'int64' ? 'int64' : t;
}

function sameContract(a: ContractTensor[] | null, b: ContractTensor[] | null): boolean {
  return a !== null && b !== null && JSON.stringify(a) === JSON.stringify(b);
}

function describe(c: ContractTensor[] | null): string {
  return c ? c.map((t) => `${t.name}:${t.type}[N${t.dims ? `x${t.dims}` : ''}]`).join(', ') : 'unknown';
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
}

/** Scores a loaded model on the golden set: overall accuracy and accuracy per segment. */
async function scoreGoldenSet(model: LoadedModel, golden: GoldenSet): Promise<{ accuracy: number; perSegment: Record<string, { n: number; accuracy: number }> }> {
  const rows = golden.features.length;
  const width = golden.features[0]?.length ?? 0;
  const matrix = new Float32Array(rows * width);
  golden.features.forEach((row, i) => matrix.set(row, i * width));
  const probabilities = await runFloatMatrix(model, matrix, rows);
  let correct = 0;
  const perSegment: Record<string, { n: number; correct: number }> = {};
  for (let i = 0; i < rows; i++) {
    const hit = ((probabilities[i] ?? 0) >= 0.5 ? 1 : 0) === golden.labels[i] ? 1 : 0;
    correct += hit;
    const segment = golden.segments?.[i];
    if (segment !== undefined) {
      const s = (perSegment[segment] ??= { n: 0, correct: 0 });
      s.n++;
      s.correct += hit;
    }
  }
  return {
    accuracy: rows > 0 ? correct / rows : 0,
    perSegment: Object.fromEntries(Object.entries(perSegment).map(([k, v]) => [k, { n: v.n, accuracy: v.correct / v.n }])),
  };
}

/** The default validator: ONNX Runtime in the orchestrator process. */
export function createOnnxValidator(db: Kysely<Database>, opts: { latencyRuns?: number } = {}): CandidateValidator {
  return {
    async validate({ model, version, validation }) {
      const checks: ValidationCheck[] = [];
      const fail = (name: string, reason: string, numbers: Record<string, unknown> = {}) => {
        checks.push({ name, verdict: 'failed', reason, numbers });
        return { passed: false, checks };
      };
      const registered = await findModel(db, model);
      const candidate = registered && await findVersion(db, registered.id, version);
      if (!registered || !candidate) return fail('registry', `version ${model}/${version} is not registered`);
      // The contract to match is production's, unless the candidate is production itself.
      const serving = await productionVersion(db, registered.id);
      const production = serving?.version === version ? undefined : serving;

      let loaded: LoadedModel;
      try {
        const path = candidate.artifact_uri.startsWith('file:') ? fileURLToPath(candidate.artifact_uri) : candidate.artifact_uri;
        loaded = await loadModelSession(path);
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
        checks.push({ name: 'sha256', verdict: 'successful', reason: `artifact sha256 matches (${candidate.sha256.slice(0, 12)}…)`, numbers: { sha256: candidate.sha256 } });
        checks.push({ name: 'load', verdict: 'successful', reason: `ONNX Runtime loaded it (${loaded.sizeBytes} bytes)`, numbers: { sizeBytes: loaded.sizeBytes } });

        running = 'signature';
        const actualIn = contract(loaded.signature);
        const actualOut = contractOutputs(loaded.signature);
        const expected = production?.signature ?? candidate.signature;
        const expectedIn = contract(expected);
        const expectedOut = contractOutputs(expected);
        if (!sameContract(actualIn, expectedIn) || !sameContract(actualOut, expectedOut)) {
          return fail('signature', `signature ${describe(actualIn)} → ${describe(actualOut)} does not match the contract ${describe(expectedIn)} → ${describe(expectedOut)}${production ? ` of production ${production.version}` : ''}`);
        }
        checks.push({ name: 'signature', verdict: 'successful', reason: `signature matches ${production ? `production ${production.version}` : 'the registered contract'}: ${describe(actualIn)} → ${describe(actualOut)}`, numbers: {} });

        const golden = registered.golden_set;
        if (golden && golden.features.length > 0) {
          running = 'accuracy';
          const score = await scoreGoldenSet(loaded, golden);
          heartbeat({ check: 'golden set' });
          const ok = score.accuracy >= validation.minAccuracy;
          checks.push({ name: 'accuracy', verdict: ok ? 'successful' : 'failed', reason: `golden-set accuracy ${score.accuracy.toFixed(3)} ${ok ? '≥' : '<'} ${validation.minAccuracy}`, numbers: { accuracy: score.accuracy, rows: golden.features.length, floor: validation.minAccuracy } });
          if (validation.fairness) {
            running = 'fairness';
            const segments = Object.entries(score.perSegment);
            if (segments.length < 2) {
              checks.push({ name: 'fairness', verdict: 'failed', reason: `fairness needs the golden set's segments (${validation.fairness.segmentFeature}); found ${segments.length}`, numbers: {} });
            } else {
              const accuracies = segments.map(([, s]) => s.accuracy);
              const ratio = Math.max(...accuracies) > 0 ? Math.min(...accuracies) / Math.max(...accuracies) : 0;
              const fair = ratio >= validation.fairness.minRatio;
              checks.push({ name: 'fairness', verdict: fair ? 'successful' : 'failed', reason: `worst/best segment accuracy ${ratio.toFixed(3)} ${fair ? '≥' : '<'} ${validation.fairness.minRatio}`, numbers: { ratio, perSegment: score.perSegment } });
            }
          }
        } else {
          checks.push({ name: 'accuracy', verdict: 'info', reason: 'the model has no golden set; accuracy not checked', numbers: {} });
        }

        // Single-row latency, the serving hot path; a few warm-up runs first.
        running = 'latency';
        const width = Number(actualIn?.[0]?.dims.split('x')[0]) || golden?.features[0]?.length || 1;
        const rowData = new Float32Array(width).fill(0.5);
        for (let i = 0; i < 5; i++) await runFloatMatrix(loaded, rowData, 1);
        const times: number[] = [];
        for (let i = 0; i < (opts.latencyRuns ?? 200); i++) {
          const t0 = performance.now();
          await runFloatMatrix(loaded, rowData, 1);
          times.push(performance.now() - t0);
        }
        times.sort((a, b) => a - b);
        const p99 = percentile(times, 0.99);
        const fast = p99 <= validation.maxP99LatencyMs;
        checks.push({ name: 'latency', verdict: fast ? 'successful' : 'failed', reason: `single-row p99 ${p99.toFixed(3)} ms ${fast ? '≤' : '>'} ${validation.maxP99LatencyMs} ms`, numbers: { p50Ms: percentile(times, 0.5), p99Ms: p99, runs: times.length } });
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
