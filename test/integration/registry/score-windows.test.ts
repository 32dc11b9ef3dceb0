// The canary and shadow windows read the score each worker logged (inference_log.scores) the way
// the model's contract says, on a real PostgreSQL: a binary probability in bins on [0, 1], a
// regression prediction on the baseline's quantile bins, a multiclass class mix; shadow agreement
// at the contract's threshold, by top class, within a regression tolerance. Rows without scores
// (or a model without a contract) keep the first-output rule.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelContract, StoredSignature } from '../../../src/contracts/contract.js';
import { evaluateCanaryWindow, evaluateShadowWindow } from '../../../src/policy/gates.js';
import type { CanaryGates } from '../../../src/policy/schema.js';
import { canaryWindow, shadowAgreement } from '../../../src/registry/inference-windows.js';
import { createModel, setModelContract } from '../../../src/registry/models.js';
import { insertVersion, setReferenceProfile } from '../../../src/registry/versions.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';

let t: TestDatabase;
beforeAll(async () => { t = await createTestDatabase(); });
afterAll(async () => { await t?.drop(); });

const gates: CanaryGates = { maxErrorRate: 0.02, maxErrorRateDelta: 0.01, maxP99LatencyRatio: 2, maxPredictionPsi: 0.25, minRequests: 20, minPredictionSamples: 200 };
const inputs = [{ name: 'x', elementType: 'float32' as const, features: ['a', 'b'] }];
const contracts: Record<string, ModelContract> = {
  binary: { task: 'binary_classification', inputs, score: { output: 'probabilities', column: 1, transform: 'none' }, labelOutput: 'label', threshold: 0.7 },
  multiclass: { task: 'multiclass_classification', inputs, score: { output: 'logits', transform: 'softmax' } },
  regression: { task: 'regression', inputs, score: { output: 'variable', transform: 'none' } },
};
const signatures: Record<string, StoredSignature> = {
  binary: { inputs: [{ name: 'x', datatype: 'float32', shape: [-1, 2] }], outputs: [{ name: 'label', datatype: 'int64', shape: [-1] }, { name: 'probabilities', datatype: 'float32', shape: [-1, 2] }] },
  multiclass: { inputs: [{ name: 'x', datatype: 'float32', shape: [-1, 2] }], outputs: [{ name: 'logits', datatype: 'float32', shape: [-1, 4] }] },
  regression: { inputs: [{ name: 'x', datatype: 'float32', shape: [-1, 2] }], outputs: [{ name: 'variable', datatype: 'float32', shape: [-1, 1] }] },
  plain: { inputs: [{ name: 'x', datatype: 'float32', shape: [-1, 2] }], outputs: [{ name: 'probability', datatype: 'float32', shape: [-1, 1] }] },
};

/** A model named after its task, with versions base and cand; no contract for 'plain'. */
async function model(task: keyof typeof signatures): Promise<string> {
  const m = await createModel(t.db, { projectId: 'default', name: task });
  for (const [i, version] of ['base', 'cand'].entries()) {
    await insertVersion(t.db, { modelId: m.id, version, artifactUri: `file:///nowhere/${task}-${version}.onnx`, sha256: String(i).repeat(64), sizeBytes: 1, signature: signatures[task] as StoredSignature });
  }
  const contract = contracts[task];
  if (contract) await setModelContract(t.db, m.id, contract);
  return task;
}

interface Row { version: string; scores: number[] | null; outputs?: number[]; shadow?: boolean; requestId?: string; error?: string }
let seq = 0;
async function log(modelName: string, at: Date, rows: Row[]): Promise<void> {
  await t.db.insertInto('inference_log').values(rows.map((r) => ({
    request_id: r.requestId ?? `req-${seq++}`, at, model: modelName, version: r.version, shadow: r.shadow ?? false,
    outputs: r.error ? null : (r.outputs ?? [0.5]), scores: r.error ? null : r.scores, error: r.error ?? null, latency_us: 1000, worker_id: 'w',
  }))).execute();
}
const windowAt = (iso: string) => ({ from: iso, to: new Date(Date.parse(iso) + 60_000).toISOString(), at: new Date(Date.parse(iso) + 1000) });
/** n values spread evenly over [lo, hi). */
const spread = (n: number, lo: number, hi: number) => Array.from({ length: n }, (_, i) => lo + ((i + 0.5) / n) * (hi - lo));

describe('canary window on the logged scores', () => {
  it('binary: the positive-class probability of every row in bins on [0, 1]; a shifted candidate fails the probability PSI', async () => {
    const name = await model('binary');
    const w1 = windowAt('2026-03-01T00:00:00Z');
    // The first output is the label (0 or 1): binning it would say nothing about the probabilities.
    await log(name, w1.at, [
      ...spread(300, 0, 1).map((s) => ({ version: 'base', scores: [s], outputs: [s >= 0.7 ? 1 : 0] })),
      // Two-row requests: every row's score counts.
      ...Array.from({ length: 150 }, (_, i) => ({ version: 'cand', scores: spread(300, 0, 1).slice(2 * i, 2 * i + 2), outputs: [0, 0] })),
    ]);
    const same = await canaryWindow(t.db, { model: name, baseline: 'base', candidate: 'cand', from: w1.from, to: w1.to });
    expect(same.shift?.measure).toBe('probability');
    expect(same.baseline.predictionHistogram).toEqual(new Array(10).fill(30));
    expect(same.candidate.predictionHistogram).toEqual(new Array(10).fill(30));
    expect(same.candidate.requests).toBe(150);
    const pass = evaluateCanaryWindow(same, gates);
    expect(pass.verdict).toBe('successful');
    expect(pass.reason).toContain('probability PSI 0.000');

    const w2 = windowAt('2026-03-01T01:00:00Z');
    await log(name, w2.at, [
      ...spread(300, 0, 1).map((s) => ({ version: 'base', scores: [s] })),
      ...spread(300, 0.6, 1).map((s) => ({ version: 'cand', scores: [s] })),
    ]);
    const shifted = evaluateCanaryWindow(await canaryWindow(t.db, { model: name, baseline: 'base', candidate: 'cand', from: w2.from, to: w2.to }), gates);
    expect(shifted.verdict).toBe('failed');
    expect(shifted.reason).toMatch(/^probability PSI \d+\.\d{3} > 0\.25$/);
    expect(shifted.checks.find((c) => c.gate === 'prediction_shift')?.verdict).toBe('failed');
  });

  it('multiclass: the class mix; a shifted mix fails the class-mix gate, the same mix passes', async () => {
    const name = await model('multiclass');
    const mix = (version: string, counts: number[]) => counts.flatMap((n, cls) => Array.from({ length: n }, () => ({ version, scores: [cls] })));
    const w1 = windowAt('2026-03-02T00:00:00Z');
    await log(name, w1.at, [...mix('base', [150, 90, 60, 0]), ...mix('cand', [148, 92, 59, 1])]);
    const same = await canaryWindow(t.db, { model: name, baseline: 'base', candidate: 'cand', from: w1.from, to: w1.to });
    expect(same.shift?.measure).toBe('class_mix');
    // One bin per class of the contract's score output (4 columns), the unpredicted one included.
    expect(same.baseline.predictionHistogram).toEqual([150, 90, 60, 0]);
    expect(same.candidate.predictionHistogram).toEqual([148, 92, 59, 1]);
    const pass = evaluateCanaryWindow(same, gates);
    expect(pass.verdict).toBe('successful');
    // One stray prediction of a class the baseline never predicted does not blow the PSI up.
    expect(pass.numbers.predictionPsi).toBeLessThan(0.05);
    expect(pass.checks.find((c) => c.gate === 'class_mix')?.reason).toMatch(/^class-mix PSI/);
    expect(pass.numbers.classMixChiSquareP).toBeGreaterThan(0.3);

    const w2 = windowAt('2026-03-02T01:00:00Z');
    await log(name, w2.at, [...mix('base', [150, 90, 60, 0]), ...mix('cand', [30, 90, 180, 0])]);
    const shifted = evaluateCanaryWindow(await canaryWindow(t.db, { model: name, baseline: 'base', candidate: 'cand', from: w2.from, to: w2.to }), gates);
    expect(shifted.verdict).toBe('failed');
    expect(shifted.reason).toMatch(/^class-mix PSI \d+\.\d{3} > 0\.25$/);
    expect(shifted.checks.find((c) => c.gate === 'class_mix')?.verdict).toBe('failed');
    expect(shifted.numbers.classMixChiSquareP).toBeLessThan(1e-6);

    // Too few predictions: the gate is not judged (minPredictionSamples still applies).
    const w3 = windowAt('2026-03-02T02:00:00Z');
    await log(name, w3.at, [...mix('base', [50, 30, 20, 0]), ...mix('cand', [10, 30, 60, 0])]);
    const few = evaluateCanaryWindow(await canaryWindow(t.db, { model: name, baseline: 'base', candidate: 'cand', from: w3.from, to: w3.to }), gates);
    expect(few.checks.map((c) => c.gate)).not.toContain('class_mix');
  });

  it('regression: bins at the baseline\'s quantiles (in the window, or its reference profile\'s); a shifted prediction fails', async () => {
    const name = await model('regression');
    const w1 = windowAt('2026-03-03T00:00:00Z');
    await log(name, w1.at, [
      ...spread(300, 100, 200).map((s) => ({ version: 'base', scores: [s] })),
      ...spread(300, 100.5, 200.5).map((s) => ({ version: 'cand', scores: [s] })),
    ]);
    const same = await canaryWindow(t.db, { model: name, baseline: 'base', candidate: 'cand', from: w1.from, to: w1.to });
    expect(same.shift).toEqual({ measure: 'regression', bins: "bins at the baseline's quantiles in the window" });
    expect(same.baseline.predictionHistogram.reduce((a, b) => a + b, 0)).toBe(300);
    // Predictions far outside [0, 1] still spread over every bin (not piled in the top one).
    expect(Math.max(...same.baseline.predictionHistogram)).toBeLessThanOrEqual(31);
    expect(evaluateCanaryWindow(same, gates).verdict).toBe('successful');

    const w2 = windowAt('2026-03-03T01:00:00Z');
    await log(name, w2.at, [
      ...spread(300, 100, 200).map((s) => ({ version: 'base', scores: [s] })),
      ...spread(300, 150, 250).map((s) => ({ version: 'cand', scores: [s] })),
    ]);
    const shifted = evaluateCanaryWindow(await canaryWindow(t.db, { model: name, baseline: 'base', candidate: 'cand', from: w2.from, to: w2.to }), gates);
    expect(shifted.verdict).toBe('failed');
    expect(shifted.reason).toMatch(/^prediction PSI \d+\.\d{3} > 0\.25 \(bins at the baseline's quantiles in the window\)$/);

    // With a reference profile on the baseline, its score bins are the fixed reference.
    const base = await t.db.selectFrom('model_versions').innerJoin('models', 'models.id', 'model_versions.model_id')
      .select('model_versions.id').where('models.name', '=', name).where('model_versions.version', '=', 'base').executeTakeFirstOrThrow();
    await setReferenceProfile(t.db, base.id, { version: 1, prediction: { name: 'prediction', kind: 'numeric', binEdges: [120, 140, 160, 180], max: 200 } });
    const profiled = await canaryWindow(t.db, { model: name, baseline: 'base', candidate: 'cand', from: w2.from, to: w2.to });
    expect(profiled.shift?.bins).toBe("bins at the baseline's reference-profile quantiles");
    // Four edges make five bins, and what lies above the reference's largest prediction a sixth.
    expect(profiled.baseline.predictionHistogram).toEqual([60, 60, 60, 60, 60, 0]);
    expect(profiled.candidate.predictionHistogram).toEqual([0, 0, 30, 60, 60, 150]);
    await setReferenceProfile(t.db, base.id, null);
  });

  it('regression: a baseline that predicts one value still shows a candidate predicting another', async () => {
    const w = windowAt('2026-03-03T02:00:00Z');
    await log('regression', w.at, [
      ...Array.from({ length: 250 }, () => ({ version: 'base', scores: [5] })),
      ...Array.from({ length: 250 }, () => ({ version: 'cand', scores: [7] })),
    ]);
    const window = await canaryWindow(t.db, { model: 'regression', baseline: 'base', candidate: 'cand', from: w.from, to: w.to });
    expect(window.baseline.predictionHistogram).toEqual([0, 250, 0]);
    expect(window.candidate.predictionHistogram).toEqual([0, 0, 250]);
    expect(evaluateCanaryWindow(window, gates).verdict).toBe('failed');
    // And one predicting less than the baseline ever did.
    const w2 = windowAt('2026-03-03T03:00:00Z');
    await log('regression', w2.at, [
      ...Array.from({ length: 250 }, () => ({ version: 'base', scores: [5] })),
      ...Array.from({ length: 250 }, () => ({ version: 'cand', scores: [3] })),
    ]);
    const below = await canaryWindow(t.db, { model: 'regression', baseline: 'base', candidate: 'cand', from: w2.from, to: w2.to });
    expect(below.candidate.predictionHistogram).toEqual([250, 0, 0]);
    expect(evaluateCanaryWindow(below, gates).verdict).toBe('failed');
  });

  it('without a contract, or with no scores logged, bins the first output on [0, 1] as before', async () => {
    const name = await model('plain');
    const w = windowAt('2026-03-04T00:00:00Z');
    await log(name, w.at, [
      ...spread(200, 0, 1).map((s) => ({ version: 'base', scores: null, outputs: [s] })),
      ...spread(200, 0, 0.1).map((s) => ({ version: 'cand', scores: null, outputs: [s] })),
    ]);
    const plain = await canaryWindow(t.db, { model: name, baseline: 'base', candidate: 'cand', from: w.from, to: w.to });
    expect(plain.shift?.measure).toBe('first_output');
    expect(plain.candidate.predictionHistogram).toEqual([200, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(evaluateCanaryWindow(plain, gates).reason).toMatch(/^prediction PSI \d+\.\d{3} > 0\.25$/);

    // A contract but rows logged before workers wrote scores: the same fallback.
    const wb = windowAt('2026-03-04T01:00:00Z');
    await log('binary', wb.at, spread(50, 0, 1).map((s) => ({ version: 'base', scores: null, outputs: [s] })));
    const unscored = await canaryWindow(t.db, { model: 'binary', baseline: 'base', candidate: 'cand', from: wb.from, to: wb.to });
    expect(unscored.shift?.measure).toBe('first_output');
    expect(unscored.baseline.predictionHistogram).toEqual(new Array(10).fill(5));
  });
});

describe('shadow agreement on the logged scores', () => {
  const pair = (id: string, primary: number[] | null, shadow: number[] | null, outputs: [number, number] = [0.9, 0.9]): Row[] => [
    { requestId: id, version: 'base', scores: primary, outputs: [outputs[0]] },
    { requestId: id, version: 'cand', scores: shadow, outputs: [outputs[1]], shadow: true },
  ];

  it('binary: the same side of the contract\'s threshold (0.7), not of 0.5', async () => {
    const w = windowAt('2026-03-05T00:00:00Z');
    await log('binary', w.at, [
      ...pair('b1', [0.65], [0.75]), // both ≥ 0.5, but on either side of 0.7: disagree
      ...pair('b2', [0.71], [0.99]),
      ...pair('b3', [0.1], [0.69]),
      ...pair('b4', [0.1, 0.9], [0.1, 0.2]), // a two-row request agrees only when every row does
      ...pair('b5', [0.7], [0.7]), // at the threshold exactly, both positive
      ...pair('b6', null, null, [0.6, 0.4]), // no scores: the first output on the same side of 0.5
    ]);
    const s = await shadowAgreement(t.db, { model: 'binary', primary: 'base', shadow: 'cand', from: w.from, to: w.to });
    expect(s).toEqual({ compared: 6, agreed: 3, agreement: 0.5, shadowErrors: 0, rule: 'same class at threshold 0.7' });
    expect(evaluateShadowWindow(s, { minAgreement: 0.8 }).reason).toBe('agreement 50.0% over 6 mirrored requests (same class at threshold 0.7; floor 80%)');
  });

  it('multiclass: the same top class', async () => {
    const w = windowAt('2026-03-05T01:00:00Z');
    await log('multiclass', w.at, [...pair('m1', [2], [2]), ...pair('m2', [0], [3]), ...pair('m3', [1, 1], [1, 1])]);
    const s = await shadowAgreement(t.db, { model: 'multiclass', primary: 'base', shadow: 'cand', from: w.from, to: w.to });
    expect(s).toMatchObject({ compared: 3, agreed: 2, rule: 'same top class' });
  });

  it('regression: within the absolute plus relative tolerance', async () => {
    const w = windowAt('2026-03-05T02:00:00Z');
    await log('regression', w.at, [
      ...pair('r1', [100], [104]), // within 5% of 100
      ...pair('r2', [100], [106]), // beyond 5%
      ...pair('r3', [0], [0.5]), // relative tolerance of 0 is 0: needs the absolute part
      ...pair('r4', [-10], [-10.4]),
    ]);
    const byDefault = await shadowAgreement(t.db, { model: 'regression', primary: 'base', shadow: 'cand', from: w.from, to: w.to });
    expect(byDefault).toMatchObject({ compared: 4, agreed: 2, rule: 'prediction within 0 + 5.0% of the primary\'s' });
    const wider = await shadowAgreement(t.db, { model: 'regression', primary: 'base', shadow: 'cand', from: w.from, to: w.to, regressionTolerance: 3.5, regressionRelativeTolerance: 0.01 });
    // r1: 4 ≤ 3.5 + 1; r2: 6 > 4.5; r3: 0.5 ≤ 3.5; r4: 0.4 ≤ 3.6.
    expect(wider).toMatchObject({ agreed: 3, rule: 'prediction within 3.5 + 1.0% of the primary\'s' });
  });
});
