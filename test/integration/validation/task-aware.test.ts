// Task-aware validation run directly against a real database and real ONNX Runtime, on every
// exporter-shaped fixture: the metrics the validator records are checked against metrics computed
// here, independently, from the fixture's CSV and the model's raw outputs; floors and ceilings
// pass and fail; champion/challenger rejects a worse challenger with the interval; the same seed
// gives the same interval.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { createOnnxValidator, createValidationActivities, type ValidationCheck, type ValidationCheckFailureDetails, type ValidationReport } from '../../../src/activities/validation.js';
import { inferContract, requiredColumns, type ModelContract } from '../../../src/contracts/index.js';
import {
  evaluationInputs, exporterEvaluationSet, exporterFixtureModel, type ExporterFixtureKind,
} from '../../../src/models/fixtures.js';
import { loadModelSession } from '../../../src/models/onnx-runtime.js';
import { parseRolloutPolicy, validationPolicyProblems } from '../../../src/policy/index.js';
import type { RolloutPolicy } from '../../../src/policy/schema.js';
import { ArtifactStore } from '../../../src/registry/artifacts.js';
import { setGoldenSet, setModelContract } from '../../../src/registry/models.js';
import { VALIDATION_CHECK_ERROR } from '../../../src/shared/failures.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';
import { exporterFixtureContract } from '../../support/exporter-contracts.js';
import { attachGoldenDataset } from '../../support/golden-dataset.js';
import { exporterFixtureSignature, seedFixtureModel, type SeedArtifact } from '../../support/seed.js';
import { constantRegressor, oneFeatureBinaryClassifier, type WeakModel } from '../../support/weak-models.js';

type Kind = Exclude<ExporterFixtureKind, 'zipmap'>;

/** How each fixture's score is read, written out here rather than taken from the contract. */
const SCORE: Record<Kind, { output: string; read: 'column1' | 'softmax' | 'flat' }> = {
  'binary-label-probabilities': { output: 'probabilities', read: 'column1' },
  'multiclass-logits': { output: 'logits', read: 'softmax' },
  'regressor-flat': { output: 'prediction', read: 'flat' },
  'regressor-column': { output: 'variable', read: 'flat' },
  'two-inputs': { output: 'probability', read: 'flat' },
  'string-category': { output: 'probability', read: 'flat' },
  float64: { output: 'probability', read: 'flat' },
};

/** The fixture's CSV as the legacy golden-set JSON (numeric columns, in the contract's order), and its labels. */
function goldenSetOf(kind: Kind, contract: ModelContract) {
  const csv = exporterEvaluationSet(kind);
  const entry = exporterFixtureModel(kind).entry;
  const at = (name: string) => csv.columns.indexOf(name);
  const features = csv.rows.map((r) => requiredColumns(contract).map((c) => Number(r[at(c)])));
  const labels = csv.rows.map((r) => Number(r[at(entry.dataset.label)]));
  const segments = entry.dataset.segment ? csv.rows.map((r) => r[at(entry.dataset.segment ?? '')] as string) : undefined;
  return { features, labels, ...(segments ? { segments } : {}) };
}

// ---- independent metrics, straight from the definitions ----
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const clip = (p: number) => Math.min(Math.max(p, Number.EPSILON), 1 - Number.EPSILON);
function auc(p: number[], y: number[]): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < p.length; i++) for (let j = 0; j < p.length; j++) {
    if (y[i] === 1 && y[j] === 0) {
      pairs++;
      wins += (p[i] as number) > (p[j] as number) ? 1 : p[i] === p[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}
function ece(p: number[], y: number[]): number {
  let total = 0;
  for (let b = 0; b < 10; b++) {
    const rows = p.map((v, i) => [v, i] as const).filter(([v]) => Math.min(Math.floor(v * 10), 9) === b).map(([, i]) => i);
    if (rows.length > 0) total += (rows.length / p.length) * Math.abs(mean(rows.map((i) => y[i] as number)) - mean(rows.map((i) => p[i] as number)));
  }
  return total;
}
function independentMetrics(kind: Kind, out: number[][], y: number[]): Record<string, number> {
  const read = SCORE[kind].read;
  if (read === 'softmax') {
    const probs = out.map((row) => { const m = Math.max(...row); const e = row.map((v) => Math.exp(v - m)); const s = e.reduce((a, b) => a + b, 0); return e.map((v) => v / s); });
    const pred = probs.map((row) => row.indexOf(Math.max(...row)));
    const classes = [...new Set([...y, ...pred])];
    const f1 = mean(classes.map((c) => {
      const tp = pred.filter((p, i) => p === c && y[i] === c).length;
      return (2 * tp) / (pred.filter((p) => p === c).length + y.filter((l) => l === c).length);
    }));
    return { accuracy: mean(pred.map((p, i) => (p === y[i] ? 1 : 0))), macro_f1: f1, log_loss: mean(probs.map((row, i) => -Math.log(clip(row[y[i] as number] as number)))) };
  }
  const flat = out.map((row) => (read === 'column1' ? row[1] : row[0]) as number);
  if (exporterFixtureModel(kind).entry.task === 'regression') {
    const residuals = flat.map((p, i) => p - (y[i] as number));
    const ybar = mean(y);
    return {
      rmse: Math.sqrt(mean(residuals.map((r) => r * r))), mae: mean(residuals.map(Math.abs)),
      r2: 1 - residuals.reduce((a, r) => a + r * r, 0) / y.reduce((a, v) => a + (v - ybar) ** 2, 0),
    };
  }
  return {
    accuracy: mean(flat.map((p, i) => ((p >= 0.5 ? 1 : 0) === y[i] ? 1 : 0))),
    roc_auc: auc(flat, y),
    log_loss: mean(flat.map((p, i) => -((y[i] as number) * Math.log(clip(p)) + (1 - (y[i] as number)) * Math.log(clip(1 - p))))),
    brier: mean(flat.map((p, i) => (p - (y[i] as number)) ** 2)),
    ece: ece(flat, y),
  };
}

/** The fixture's raw score output on its CSV, by ONNX Runtime with tensors built here. */
async function rawOutputs(kind: Kind): Promise<number[][]> {
  const fixture = exporterFixtureModel(kind);
  const csv = exporterEvaluationSet(kind);
  const loaded = await loadModelSession(fixture.path, { sessionOptions: { intraOpNumThreads: 1 } });
  try {
    const feeds = Object.fromEntries(evaluationInputs(fixture.entry, csv.columns, csv.rows).map((input) => {
      const values = input.type === 'string' ? input.values.map(String)
        : input.type === 'float64' ? Float64Array.from(input.values as number[])
          : input.type === 'int64' ? BigInt64Array.from(input.values as number[], (v) => BigInt(v))
            : Float32Array.from(input.values as number[]);
      return [input.name, new Tensor(input.type as 'float32', values as Float32Array, input.shape)];
    }));
    const result = (await loaded.session.run(feeds))[SCORE[kind].output];
    if (!result) throw new Error(`no output ${SCORE[kind].output}`);
    const width = result.dims.slice(1).reduce((a, b) => a * b, 1);
    const data = Array.from(result.data as Float32Array, Number);
    return Array.from({ length: result.dims[0] as number }, (_, i) => data.slice(i * width, (i + 1) * width));
  } finally {
    await loaded.session.release();
  }
}

function policyWith(validation: Record<string, unknown>): RolloutPolicy['validation'] {
  const parsed = parseRolloutPolicy({ validation: { maxP99LatencyMs: 60_000, ...validation } });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.policy.validation;
}

const byName = (report: ValidationReport, name: string): ValidationCheck => {
  const found = report.checks.find((c) => c.name === name);
  if (!found) throw new Error(`no check ${name} in ${JSON.stringify(report.checks.map((c) => c.name))}`);
  return found;
};

describe('task-aware validation (real database, real ONNX Runtime)', () => {
  let t: TestDatabase;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-validation-'));
  let weakBinary: WeakModel;
  let weakRegressor: WeakModel;
  let counter = 0;

  beforeAll(async () => {
    t = await createTestDatabase();
    weakBinary = await oneFeatureBinaryClassifier(tmp, { width: 19, feature: 4, weight: 0.3, bias: -0.5 });
    const targets = goldenSetOf('regressor-column', exporterFixtureContract('regressor-column')).labels;
    weakRegressor = await constantRegressor(tmp, { width: 5, value: mean(targets) });
  });

  afterAll(async () => {
    await t?.drop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const store = () => new ArtifactStore({ root: path.join(tmp, 'artifacts') });

  /** A model of the fixture's contract with the fixture's CSV as its golden dataset; `production` serves when given. */
  async function seed(kind: Kind, versions: Record<string, SeedArtifact>, opts: { production?: string; relabel?: (label: number, row: number) => number; golden?: boolean } = {}) {
    const model = `m${++counter}-${kind}`;
    const contract = exporterFixtureContract(kind);
    const { modelId } = await seedFixtureModel(t.db, { model, versions, ...(opts.production ? { production: opts.production } : {}) });
    await setModelContract(t.db, modelId, contract);
    if (opts.golden !== false) await attachGoldenDataset(t.db, store(), { modelId, kind, contract, ...(opts.relabel ? { relabel: opts.relabel } : {}) });
    return model;
  }

  const validator = () => createOnnxValidator(t.db, { latencyRuns: 3, artifacts: store() });
  // The validator heartbeats as the activity it runs in; here it runs in a mock activity context.
  const validate = async (model: string, version: string, validation: RolloutPolicy['validation']): Promise<ValidationReport> =>
    await new MockActivityEnvironment().run(validator().validate, { model, version, validation });

  const kinds: Kind[] = ['binary-label-probabilities', 'multiclass-logits', 'regressor-flat', 'regressor-column', 'two-inputs', 'string-category', 'float64'];
  it.each(kinds)('%s: every metric of its task, as computed independently from the CSV', async (kind) => {
    const model = await seed(kind, { v1: kind });
    const report = await validate(model, 'v1', policyWith({ minAccuracy: 0 }));
    const expected = independentMetrics(kind, await rawOutputs(kind), goldenSetOf(kind, exporterFixtureContract(kind)).labels);
    expect(Object.keys(expected).length).toBeGreaterThanOrEqual(3);
    for (const [metric, value] of Object.entries(expected)) {
      const recorded = byName(report, metric);
      expect(recorded.numbers[metric], `${kind} ${metric}`).toBeCloseTo(value, 6);
      expect(recorded.numbers.rows).toBe(200);
    }
    // Latency ran on a real row with every input fed.
    const latency = byName(report, 'latency');
    expect(latency.reason).toContain('the first row of the evaluation set');
    expect(latency.numbers.inputs).toEqual(exporterFixtureModel(kind).entry.inputs.map((i) => i.name));
    expect(report.passed, JSON.stringify(report.checks)).toBe(true);
  });

  it('floors and ceilings pass and fail, and minAccuracy is a note for a regressor', async () => {
    const binary = await seed('binary-label-probabilities', { v1: 'binary-label-probabilities' });
    const auc0 = byName(await validate(binary, 'v1', policyWith({ minAccuracy: 0 })), 'roc_auc').numbers.roc_auc as number;
    const ok = await validate(binary, 'v1', policyWith({ minAccuracy: 0, metrics: { roc_auc: { min: auc0 - 0.01 }, log_loss: { max: 5 } } }));
    expect(byName(ok, 'roc_auc').verdict).toBe('successful');
    expect(byName(ok, 'log_loss').verdict).toBe('successful');
    expect(ok.passed).toBe(true);
    const low = await validate(binary, 'v1', policyWith({ minAccuracy: 0, metrics: { roc_auc: { min: auc0 + 0.01 }, log_loss: { max: 0.01 } } }));
    expect(low.passed).toBe(false);
    expect(byName(low, 'roc_auc')).toMatchObject({ verdict: 'failed', numbers: { min: auc0 + 0.01 } });
    expect(byName(low, 'roc_auc').reason).toMatch(/golden-set roc_auc 0\.\d+ < 0\.\d+ \(the floor\)/);
    expect(byName(low, 'log_loss').reason).toMatch(/golden-set log_loss \d\.\d+ > 0\.01 \(the ceiling\)/);

    const regressor = await seed('regressor-column', { v1: 'regressor-column' });
    const rmse = byName(await validate(regressor, 'v1', policyWith({})), 'rmse').numbers.rmse as number;
    const pass = await validate(regressor, 'v1', policyWith({ minAccuracy: 0.99, metrics: { rmse: { max: rmse * 1.1 } } }));
    expect(pass.passed, JSON.stringify(pass.checks)).toBe(true);
    expect(byName(pass, 'accuracy')).toMatchObject({ verdict: 'info', reason: expect.stringContaining('does not apply to a regression model') });
    const fail = await validate(regressor, 'v1', policyWith({ metrics: { rmse: { max: rmse * 0.9 }, r2: { min: 0.999 } } }));
    expect(fail.passed).toBe(false);
    expect(byName(fail, 'rmse').verdict).toBe('failed');
    expect(byName(fail, 'r2').verdict).toBe('failed');
  });

  it('a metric that cannot be computed is recorded with its code; bounding it fails; a metric of another task fails naming why', async () => {
    // Every label positive: ROC AUC is undefined.
    const oneClass = await seed('binary-label-probabilities', { v1: 'binary-label-probabilities' }, { relabel: () => 1 });
    const unbounded = await validate(oneClass, 'v1', policyWith({ minAccuracy: 0 }));
    expect(byName(unbounded, 'roc_auc')).toMatchObject({ verdict: 'info', numbers: { code: 'one_class' } });
    expect(JSON.stringify(unbounded.checks)).not.toContain('NaN');
    expect(unbounded.passed).toBe(true);
    const bounded = await validate(oneClass, 'v1', policyWith({ minAccuracy: 0, metrics: { roc_auc: { min: 0.5 }, rmse: { max: 1 } } }));
    expect(byName(bounded, 'roc_auc')).toMatchObject({ verdict: 'failed', numbers: { code: 'one_class' } });
    expect(byName(bounded, 'rmse')).toMatchObject({ verdict: 'failed', reason: expect.stringContaining('which a binary classification model does not have') });
    expect(bounded.passed).toBe(false);

    // The same mistake is refused when the rollout starts, naming the field.
    expect(validationPolicyProblems(policyWith({ metrics: { rmse: { max: 1 } }, championChallenger: { metric: 'roc_auc' } }), 'regression')).toEqual([
      { field: '/validation/championChallenger/metric', message: 'roc_auc is not a metric of a regression model (its metrics: rmse, mae, r2)' },
    ]);
    expect(validationPolicyProblems(policyWith({ metrics: { rmse: { max: 1 } }, fairness: { metric: 'r2', minRatio: 0.5 } }), 'binary_classification').map((p) => p.field))
      .toEqual(['/validation/metrics/rmse', '/validation/fairness/metric']);
    expect(parseRolloutPolicy({ validation: { metrics: { rmse: { min: 2, max: 1 } } } })).toMatchObject({ ok: false, errors: [{ field: '/validation/metrics/rmse/min' }] });
    expect(parseRolloutPolicy({ validation: { metrics: { auc: { min: 0.7 } } } })).toMatchObject({ ok: false, errors: [{ field: expect.stringContaining('/validation/metrics') }] });
  });

  it('champion/challenger: a challenger worse than production on ROC AUC by more than δ is rejected with the numbers; the same seed gives the same interval', async () => {
    const weak: SeedArtifact = { uri: weakBinary.uri, sha256: weakBinary.sha256, sizeBytes: weakBinary.sizeBytes, signature: weakBinary.signature };
    const model = await seed('binary-label-probabilities', { v1: 'binary-label-probabilities', v2: weak }, { production: 'v1' });
    const rule = { metric: 'roc_auc', maxDegradation: 0.01, resamples: 400, seed: 42 };
    const report = await validate(model, 'v2', policyWith({ minAccuracy: 0, championChallenger: rule }));
    const cc = byName(report, 'champion_challenger');
    expect(report.passed).toBe(false);
    expect(cc.verdict).toBe('failed');
    const n = cc.numbers as { estimate: number; difference: number; candidate: number; productionValue: number; interval: { lower: number; upper: number; level: number }; improvementInterval: { lower: number; upper: number }; maxDegradation: number; resamples: number; seed: number };
    expect(n.difference).toBeCloseTo(n.candidate - n.productionValue, 12);
    expect(n.estimate).toBeLessThan(-0.01);
    expect(n.improvementInterval.lower).toBeLessThan(-0.01);
    expect(n.interval.lower).toBeLessThanOrEqual(n.estimate);
    expect(n).toMatchObject({ maxDegradation: 0.01, resamples: 400, seed: 42, interval: { level: 0.95 } });
    expect(cc.reason).toMatch(/roc_auc candidate .* vs production v1 .*95% CI \[.*\].*below −δ = −0.01/);
    // The production AUC is the one the fixture gets on its own.
    expect(n.productionValue).toBeCloseTo(independentMetrics('binary-label-probabilities', await rawOutputs('binary-label-probabilities'), goldenSetOf('binary-label-probabilities', exporterFixtureContract('binary-label-probabilities')).labels).roc_auc as number, 6);

    const again = byName(await validate(model, 'v2', policyWith({ minAccuracy: 0, championChallenger: rule })), 'champion_challenger');
    expect(again.numbers.interval).toEqual(n.interval);
    const other = byName(await validate(model, 'v2', policyWith({ minAccuracy: 0, championChallenger: { ...rule, seed: 43 } })), 'champion_challenger');
    expect(other.numbers.interval).not.toEqual(n.interval);

    // The other way round (production weak, candidate good), the same rule passes.
    const swapped = await seed('binary-label-probabilities', { v1: weak, v2: 'binary-label-probabilities' }, { production: 'v1' });
    const better = byName(await validate(swapped, 'v2', policyWith({ minAccuracy: 0, championChallenger: rule })), 'champion_challenger');
    expect(better.verdict).toBe('successful');
    expect(better.numbers.estimate as number).toBeGreaterThan(0.01);
  });

  it('champion/challenger on RMSE: a constant regressor loses to the linear one; lower is better', async () => {
    const weak: SeedArtifact = { uri: weakRegressor.uri, sha256: weakRegressor.sha256, sizeBytes: weakRegressor.sizeBytes, signature: weakRegressor.signature };
    const model = await seed('regressor-column', { v1: 'regressor-column', v2: weak }, { production: 'v1' });
    const report = await validate(model, 'v2', policyWith({ championChallenger: { metric: 'rmse', maxDegradation: 0.01, resamples: 300, seed: 'replay-me' } }));
    const cc = byName(report, 'champion_challenger');
    expect(cc.verdict).toBe('failed');
    expect(cc.numbers).toMatchObject({ higherIsBetter: false, seed: 'replay-me', resamples: 300 });
    expect(cc.numbers.difference as number).toBeGreaterThan(0);
    expect(cc.numbers.estimate).toBeCloseTo(-(cc.numbers.difference as number), 12);
    expect((cc.numbers.improvementInterval as { upper: number }).upper).toBeLessThan(0);
    // Without production there is nothing to compare with: a note, not a failure.
    const alone = await seed('regressor-column', { v1: 'regressor-column' });
    expect(byName(await validate(alone, 'v1', policyWith({ championChallenger: { metric: 'rmse' } })), 'champion_challenger').verdict).toBe('info');
  });

  it('a production that does not keep the contract fails champion/challenger saying why, not with a throw', async () => {
    const model = await seed('binary-label-probabilities', { v1: 'regressor-column', v2: 'binary-label-probabilities' }, { production: 'v1' });
    const cc = byName(await validate(model, 'v2', policyWith({ minAccuracy: 0, championChallenger: { metric: 'roc_auc' } })), 'champion_challenger');
    expect(cc).toMatchObject({ verdict: 'failed', numbers: { production: 'v1' } });
    expect(cc.reason).toMatch(/^production v1 cannot be scored on the evaluation set to compare with: version v1 breaks the model's contract/);
  });

  it('a check that throws becomes a non-retryable failure naming the check, with the checks done before it', async () => {
    // The stored signature hides the model's second input, so the contract (and the signature
    // check) see one input, and ONNX Runtime refuses the run: a throw inside the evaluation.
    const fixture = exporterFixtureModel('two-inputs');
    const hidden = exporterFixtureSignature('two-inputs');
    const lying: SeedArtifact = { uri: fixture.uri, sha256: fixture.sha256, sizeBytes: fixture.sizeBytes, signature: { inputs: hidden.inputs.slice(0, 1), outputs: hidden.outputs } };
    const model = `m${++counter}-lying`;
    const { modelId } = await seedFixtureModel(t.db, { model, versions: { v1: lying } });
    const contract = inferContract({ inputs: hidden.inputs.slice(0, 1), outputs: hidden.outputs }, { featureNames: { numeric: fixture.entry.inputs[0]?.features ?? [] } });
    if (!contract.ok) throw new Error(contract.message);
    await setModelContract(t.db, modelId, contract.contract);
    // The legacy golden-set JSON, which names its columns by the contract's first input.
    await setGoldenSet(t.db, modelId, goldenSetOf('two-inputs', contract.contract));

    const activities = createValidationActivities(t.db, validator());
    const failure = await new MockActivityEnvironment().run(activities.validateCandidate, { model, version: 'v1', validation: policyWith({}) }).then(() => null, (err: unknown) => err);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    const app = failure as ApplicationFailure;
    expect(app).toMatchObject({ type: VALIDATION_CHECK_ERROR, nonRetryable: true });
    expect(app.message).toMatch(/^check evaluation threw /);
    const details = app.details?.[0] as ValidationCheckFailureDetails;
    expect(details.check).toBe('evaluation');
    expect(details.completed.map((c) => c.name)).toEqual(['sha256', 'load', 'signature']);
  });

  it('fairness per segment on the chosen metric, and gates without an evaluation set fail saying why', async () => {
    const binary = await seed('two-inputs', { v1: 'two-inputs' });
    const fair = byName(await validate(binary, 'v1', policyWith({ minAccuracy: 0, fairness: { minRatio: 0.1 } })), 'fairness');
    expect(fair.verdict).toBe('successful');
    expect(fair.numbers.metric).toBe('accuracy');
    const perSegment = fair.numbers.perSegment as Record<string, { n: number; value: number }>;
    expect(Object.values(perSegment).reduce((a, s) => a + s.n, 0)).toBe(200);
    const values = Object.values(perSegment).map((s) => s.value);
    expect(fair.numbers.ratio).toBeCloseTo(Math.min(...values) / Math.max(...values), 12);
    const strict = byName(await validate(binary, 'v1', policyWith({ minAccuracy: 0, fairness: { metric: 'brier', minRatio: 0.999 } })), 'fairness');
    expect(strict.verdict).toBe('failed');
    expect(strict.reason).toMatch(/worst\/best segment brier ratio/);

    const regressor = await seed('regressor-flat', { v1: 'regressor-flat' });
    const noSegments = byName(await validate(regressor, 'v1', policyWith({ fairness: { minRatio: 0.5 } })), 'fairness');
    expect(noSegments).toMatchObject({ verdict: 'failed', numbers: { metric: 'rmse' }, reason: expect.stringContaining('0 segments') });

    const bare = await seed('two-inputs', { v1: 'two-inputs' }, { golden: false });
    const report = await validate(bare, 'v1', policyWith({ metrics: { roc_auc: { min: 0.7 } } }));
    expect(byName(report, 'roc_auc')).toMatchObject({ verdict: 'failed', reason: expect.stringContaining('no golden set') });
    // Latency still feeds both inputs, on a synthetic row.
    expect(byName(report, 'latency')).toMatchObject({ verdict: 'successful', numbers: { inputs: ['numeric', 'employment'] }, reason: expect.stringContaining('synthetic row') });
  });
});
