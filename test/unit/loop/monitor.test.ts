// The drift monitor's pure decisions: the dataset rule over features and the score, the debounce
// (drift only after N drifting windows in a row, once per episode), the metric drop as a trigger
// of its own (once until it recovers), the realised metric, and the loop policy's refusals.
import { describe, expect, it } from 'vitest';
import { afterWindow, INITIAL_MONITOR_STATE, nextConsecutive, windowVerdict, type JudgedWindow, type PerformanceFigure } from '../../../src/loop/monitor.js';
import { metricDrop, realisedMetric } from '../../../src/loop/realised.js';
import { parseLoopPolicy } from '../../../src/loop/validate.js';
import type { FeatureDrift } from '../../../src/stats/drift/detect.js';
import { exporterFixtureContract } from '../../support/exporter-contracts.js';

function feature(name: string, drifted: boolean, status: FeatureDrift['status'] = 'ok'): FeatureDrift {
  return {
    feature: name, kind: 'numeric', status, message: null, method: 'ks', threshold: 0.01, statistic: 0, pValue: 0.5, adjustedPValue: 0.5, drifted,
    referenceCount: 100, currentCount: 100, currentMissing: 0,
    measures: { psi: null, psiLevel: null, jensenShannon: null, ksStatistic: null, ksPValue: null, ksMethod: null, wasserstein: null, wassersteinNormed: null, chiSquare: null, chiSquareDegreesOfFreedom: null, chiSquarePValue: null, referenceMean: null, currentMean: null, newCategories: null },
  };
}

let reports = 0;
function judged(decision: JudgedWindow['decision'], over: Partial<JudgedWindow> = {}): JudgedWindow {
  return { reportId: `r${++reports}`, decision, rows: 300, shareDrifted: decision === 'drift' ? 0.5 : 0, driftedFeatures: decision === 'drift' ? ['age'] : [], reason: null, performance: null, intervalSeconds: 1, debounceWindows: 3, ...over };
}

function perf(dropped: boolean): PerformanceFigure {
  return { status: 'judged', metric: 'roc_auc', realised: dropped ? 0.6 : 0.8, expected: 0.8, drop: dropped ? 0.2 : 0, labelled: 200, dropped, reason: '' };
}

describe('windowVerdict', () => {
  const policy = { datasetDriftShare: 0.3, warningShare: 0.1 };
  it('counts the score as one feature and leaves unevaluated features out', () => {
    const v = windowVerdict([feature('a', true), feature('b', false), feature('c', false, 'insufficient_data')], feature('prediction', false), policy);
    expect(v.evaluated).toBe(3);
    expect(v.shareDrifted).toBeCloseTo(1 / 3);
    expect(v.decision).toBe('drift');
    expect(v.driftedFeatures).toEqual(['a']);
  });
  it('is a warning between the two shares, none below', () => {
    const ten = Array.from({ length: 10 }, (_, i) => feature(`f${i}`, i < 2));
    expect(windowVerdict(ten, null, policy).decision).toBe('warning');
    expect(windowVerdict(ten, null, { datasetDriftShare: 0.3, warningShare: 0.25 }).decision).toBe('none');
    expect(windowVerdict(ten.map((f) => ({ ...f, drifted: false })), null, policy).decision).toBe('none');
  });
  it('calls nothing drift when nothing could be evaluated', () => {
    expect(windowVerdict([feature('a', false, 'insufficient_data')], null, policy)).toMatchObject({ decision: 'none', evaluated: 0, shareDrifted: 0 });
  });
});

describe('afterWindow (debounce)', () => {
  it('triggers only after debounceWindows drifting windows in a row, then starts counting again', () => {
    let state = INITIAL_MONITOR_STATE;
    const triggers: string[] = [];
    for (const d of ['drift', 'drift', 'none', 'drift', 'insufficient_data', 'drift', 'drift', 'drift', 'drift'] as const) {
      const w = judged(d);
      const next = afterWindow(state, w);
      state = next.state;
      if (next.trigger) triggers.push(next.trigger.kind === 'drift' ? next.trigger.reportId : 'other');
      if (next.trigger) expect(next.trigger.kind === 'drift' && next.trigger.reportId).toBe(w.reportId);
    }
    // none breaks the run; insufficient_data neither counts nor breaks: drift, (insufficient), drift, drift → trigger at the third.
    expect(triggers).toHaveLength(1);
    expect(state.consecutive).toBe(2);
    expect(state.windowsJudged).toBe(9);
  });
  it('records the count a report carries', () => {
    expect(nextConsecutive(2, 'drift')).toBe(3);
    expect(nextConsecutive(2, 'insufficient_data')).toBe(2);
    expect(nextConsecutive(2, 'warning')).toBe(0);
  });
  it('triggers on a metric drop once until it recovers', () => {
    let state = INITIAL_MONITOR_STATE;
    const kinds: Array<string | null> = [];
    for (const dropped of [false, true, true, false, true]) {
      const next = afterWindow(state, judged('none', { performance: perf(dropped) }));
      state = next.state;
      kinds.push(next.trigger?.kind ?? null);
    }
    expect(kinds).toEqual([null, 'metric_drop', null, null, 'metric_drop']);
  });
  it('keeps a metric drop open while labels are not due', () => {
    let state = afterWindow(INITIAL_MONITOR_STATE, judged('none', { performance: perf(true) })).state;
    state = afterWindow(state, judged('none', { performance: { ...perf(false), status: 'labels_not_due', dropped: false } })).state;
    expect(state.metricDropOpen).toBe(true);
    expect(afterWindow(state, judged('none', { performance: perf(true) })).trigger).toBeNull();
  });
});

describe('realised metric', () => {
  const binary = exporterFixtureContract('binary-label-probabilities');
  it('scores logged binary scores against labels, and measures the drop in the metric\'s direction', () => {
    const auc = realisedMetric(binary, 'roc_auc', [0.9, 0.8, 0.3, 0.2], [1, 1, 0, 0], 2);
    expect(auc).toEqual({ ok: true, value: 1 });
    expect(metricDrop('roc_auc', 0.7, 0.8)).toBeCloseTo(0.1);
    expect(metricDrop('log_loss', 0.5, 0.3)).toBeCloseTo(0.2);
    expect(metricDrop('rmse', 1, 2)).toBeCloseTo(-1);
  });
  it('reads multiclass top-class indices as one-hot rows', () => {
    const multi = exporterFixtureContract('multiclass-logits');
    const acc = realisedMetric(multi, 'accuracy', [0, 1, 2, 2], [0, 1, 2, 1], 3);
    expect(acc).toEqual({ ok: true, value: 0.75 });
    expect(realisedMetric(multi, 'log_loss', [0], [0], 3).ok).toBe(false);
  });
  it('says which label is not a class', () => {
    const r = realisedMetric(binary, 'roc_auc', [0.5], [7], 2);
    expect(r.ok).toBe(false);
  });
});

describe('parseLoopPolicy', () => {
  const contract = exporterFixtureContract('binary-label-probabilities');
  const fieldsOf = (input: unknown) => {
    const r = parseLoopPolicy(input, contract);
    return r.ok ? [] : r.errors.map((e) => e.field);
  };
  it('fills every default', () => {
    const r = parseLoopPolicy({}, contract);
    expect(r.ok && r.policy.drift).toMatchObject({ intervalSeconds: 300, debounceWindows: 3, window: { kind: 'time', seconds: 3600 } });
  });
  it('names the field of an invalid threshold', () => {
    expect(fieldsOf({ drift: { pValueThreshold: 1.5 } })).toEqual(['/drift/pValueThreshold']);
    expect(fieldsOf({ drift: { datasetDriftShare: 0 } })).toEqual(['/drift/datasetDriftShare']);
    expect(fieldsOf({ drift: { debounceWindows: 0 } })).toEqual(['/drift/debounceWindows']);
    expect(fieldsOf({ drift: { warningShare: 0.5, datasetDriftShare: 0.3 } })).toEqual(['/drift/warningShare']);
  });
  it('names a feature the contract does not have, and a metric the task has no realised figure for', () => {
    expect(fieldsOf({ drift: { features: ['age', 'shoe_size'] } })).toEqual(['/drift/features/1']);
    expect(fieldsOf({ drift: { features: ['age', 'prediction'] } })).toEqual([]);
    expect(fieldsOf({ drift: { performance: { metric: 'rmse', maxDrop: 0.1 } } })).toEqual(['/drift/performance/metric']);
  });
});
