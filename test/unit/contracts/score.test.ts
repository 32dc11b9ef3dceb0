import { describe, expect, it } from 'vitest';
import { toStoredSignature } from '../../../src/registry/inspect.js';
import {
  classIndexOf, extractScores, feedsFor, inferContract, predictedClasses, rowScores, targetsFor,
  type EvaluationSet, type ExtractedScores, type ModelContract,
} from '../../../src/contracts/index.js';
import { EXPORTER_FIXTURE_KINDS, exporterEvaluationSet, exporterFixtureModel, type ExporterFixtureKind } from '../../../src/models/fixtures.js';
import { binaryRocAuc, multiclassAccuracy, rootMeanSquaredError } from '../../../src/models/metrics/index.js';
import { loadModelSession, runFeeds } from '../../../src/models/onnx-runtime.js';

const ok = <T extends { ok: boolean }>(r: T): Extract<T, { ok: true }> => {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r)}`);
  return r as Extract<T, { ok: true }>;
};

const binary: ModelContract = {
  task: 'binary_classification', inputs: [{ name: 'x', elementType: 'float32', features: ['a', 'b'] }],
  score: { output: 'probabilities', column: 1, transform: 'none' }, labelOutput: 'label', classLabels: [0, 1], positiveClass: 1, threshold: 0.5,
};

describe('extractScores', () => {
  it('reads column 1 of a two-column probability output', () => {
    const e = ok(extractScores(binary, { probabilities: { data: new Float32Array([0.9, 0.1, 0.3, 0.7]), dims: [2, 2] }, label: { data: new BigInt64Array([0n, 1n]), dims: [2] } }));
    expect(e.task).toBe('binary_classification');
    expect(Array.from(rowScores(e as Exclude<ExtractedScores, { ok: false }>))).toEqual([Math.fround(0.1), Math.fround(0.7)]);
    expect(Array.from(predictedClasses(binary, e) ?? [])).toEqual([0, 1]);
  });

  it('applies the sigmoid to a one-column logit and the softmax to two logits', () => {
    const sigmoid: ModelContract = { ...binary, score: { output: 'logit', transform: 'sigmoid' } };
    const e = ok(extractScores(sigmoid, { logit: { data: new Float32Array([0, 2, -800]), dims: [3, 1] } }));
    expect(e.task === 'binary_classification' && Array.from(e.scores)).toEqual([0.5, 1 / (1 + Math.exp(-2)), expect.closeTo(0, 12)]);
    const soft: ModelContract = { ...binary, score: { output: 'logits', column: 1, transform: 'softmax' } };
    const s = ok(extractScores(soft, { logits: { data: new Float32Array([0, 2]), dims: [1, 2] } }));
    expect(s.task === 'binary_classification' && s.scores[0]).toBeCloseTo(1 / (1 + Math.exp(-2)), 12);
  });

  it('softmaxes multiclass logits without overflow and picks the top class', () => {
    const multi: ModelContract = { task: 'multiclass_classification', inputs: binary.inputs, score: { output: 'logits', transform: 'softmax' }, classLabels: [0, 1, 2] };
    const e = ok(extractScores(multi, { logits: { data: new Float32Array([1000, 1001, 999, 0, 0, 5]), dims: [2, 3] } }));
    if (e.task !== 'multiclass_classification') throw new Error('not multiclass');
    expect(e.probabilities.subarray(0, 3).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(Array.from(rowScores(e))).toEqual([1, 2]);
  });

  it('reads a regression prediction from [N] or [N,1] and fails naming a missing output', () => {
    const reg: ModelContract = { task: 'regression', inputs: binary.inputs, score: { output: 'variable', transform: 'none' } };
    const flat = ok(extractScores(reg, { variable: { data: new Float64Array([1.5, -2]), dims: [2] } }));
    expect(flat.task === 'regression' && Array.from(flat.predictions)).toEqual([1.5, -2]);
    const col = ok(extractScores(reg, { variable: { data: new Float32Array([3, 4]), dims: [2, 1] } }));
    expect(col.task === 'regression' && Array.from(col.predictions)).toEqual([3, 4]);
    const missing = extractScores(reg, { other: { data: new Float32Array([1]), dims: [1] } });
    expect(missing).toMatchObject({ ok: false, field: '/score/output', message: expect.stringContaining('no output variable') });
  });
});

describe('classIndexOf and targetsFor', () => {
  it('maps string and numeric labels to class indices, and refuses unknown classes naming the row', () => {
    const strings: ModelContract = { ...binary, classLabels: ['no', 'yes'], positiveClass: 'yes' };
    expect(classIndexOf(strings, 'yes')).toBe(1);
    expect(classIndexOf(strings, 'no')).toBe(0);
    expect(classIndexOf(binary, '1')).toBe(1);
    expect(classIndexOf(binary, 2)).toBeNull();
    expect(targetsFor(strings, ['yes', 'maybe'])).toMatchObject({ ok: false, field: 'labels/1' });
    expect(targetsFor({ task: 'regression', inputs: binary.inputs, score: { output: 'y', transform: 'none' } }, [1, 'NaN'])).toMatchObject({ ok: false, field: 'labels/1' });
  });
});

describe('feedsFor', () => {
  const set: EvaluationSet = { rows: 2, columns: { a: [1, 2], b: ['3', 'x'] }, labels: [0, 1] };
  it('names the column and row of a cell that is not of the input type', () => {
    const sig = { inputs: [{ name: 'x', datatype: 'float32', shape: [-1, 2] }], outputs: [] };
    expect(feedsFor(binary, sig, set)).toMatchObject({ ok: false, field: 'columns/b/1' });
    expect(ok(feedsFor(binary, sig, set, [0])).feeds[0]).toEqual({ name: 'x', elementType: 'float32', shape: [1, 2], values: [1, 3] });
    expect(feedsFor(binary, sig, { ...set, columns: { a: [1, 2] } })).toMatchObject({ ok: false, field: 'columns/b' });
  });
});

// Every exporter shape the project ships, scored end to end through ONNX Runtime with the
// inferred contract: the scores rank the evaluation labels far better than chance.
const scored = EXPORTER_FIXTURE_KINDS.filter((k): k is Exclude<ExporterFixtureKind, 'zipmap'> => k !== 'zipmap');
describe('inferred contracts score the exporter fixtures', () => {
  it.each(scored)('%s', async (kind) => {
    const fixture = exporterFixtureModel(kind);
    const loaded = await loadModelSession(fixture.path, { sessionOptions: { intraOpNumThreads: 1 } });
    try {
      const sig = toStoredSignature(loaded.signature);
      const hints = {
        featureNames: Object.fromEntries(fixture.entry.inputs.map((i) => [i.name, i.features ?? [i.name]])),
        ...(fixture.entry.task === 'regression' ? { task: 'regression' as const } : {}),
      };
      const contract = ok(inferContract(sig, hints)).contract;
      const csv = exporterEvaluationSet(kind);
      const labelAt = csv.columns.indexOf(fixture.entry.dataset.label);
      const set: EvaluationSet = {
        rows: csv.rows.length,
        columns: Object.fromEntries(csv.columns.map((c, j) => [c, csv.rows.map((r) => r[j] as string)])),
        labels: csv.rows.map((r) => r[labelAt] as string),
      };
      const feeds = ok(feedsFor(contract, sig, set)).feeds;
      const extracted = ok(extractScores(contract, await runFeeds(loaded, feeds)));
      const targets = ok(targetsFor(contract, set.labels)).values;
      expect(extracted.rows).toBe(set.rows);
      if (extracted.task === 'binary_classification') expect(ok(binaryRocAuc(extracted.scores, targets)).value).toBeGreaterThan(0.7);
      else if (extracted.task === 'multiclass_classification') expect(ok(multiclassAccuracy(extracted.probabilities, targets, extracted.classes)).value).toBeGreaterThan(0.6);
      else {
        const mean = targets.reduce((a, b) => a + b, 0) / targets.length;
        const baseline = ok(rootMeanSquaredError(new Float64Array(targets.length).fill(mean), targets)).value;
        expect(ok(rootMeanSquaredError(extracted.predictions, targets)).value).toBeLessThan(baseline * 0.8);
      }
    } finally {
      await loaded.session.release();
    }
  });
});
