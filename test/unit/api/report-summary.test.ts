import { describe, expect, it } from 'vitest';
import { buildExperimentReport, formatPValue } from '../../../src/api/services/report.js';
import type { RolloutView } from '../../../src/registry/rollouts.js';

const rollout = (metricType: 'binary' | 'continuous') => ({ id: 'ro_1', model: 'm', policy: { experiment: { primaryMetric: { name: 'spend', type: metricType } } } }) as unknown as RolloutView;
const experiment = (over: Record<string, unknown> = {}) => ({
  id: 'e1', kind: 'ab', salt: 's', arms: [{ name: 'control', version: '1' }, { name: 'treatment', version: '2' }], primary_metric: 'spend',
  config: { alpha: 0.1 }, status: 'running', decision: null, started_at: new Date('2026-01-01T00:00:00Z'), ended_at: null, ...over,
});
const snapshot = {
  assigned: { control: 500, treatment: 430 },
  metrics: { spend: { control: { n: 480, successes: 0, sum: 960, sumSquares: 4000 }, treatment: { n: 400, successes: 0, sum: 1000, sumSquares: 5000 } } },
};
const srm = { status: 'checked', assigned: { control: 500, treatment: 430 }, expectedTreatmentShare: 0.5, chiSquare: 5.27, pValue: 0.0000217, pValueThreshold: 0.001, mismatch: true };
const result = { reason: 'sample-ratio mismatch', primary: { effect: 0.5, confidenceSequence: { lower: 0.1, upper: 0.9 }, pValue: 0.03 }, srm, guardrails: [
  { name: 'latency', effect: 0.2, degradationBound: 0.05, breached: false, nonInferior: true, status: 'evaluated' },
  { name: 'errors', effect: 0.3, degradationBound: 0.2, breached: true, nonInferior: false, status: 'evaluated' },
  { name: 'refunds', effect: null, degradationBound: null, breached: false, nonInferior: false, status: 'insufficient_data' },
] };
const look = { look: 4, decision: 'rollback', arm_stats: snapshot, result, at: new Date('2026-01-01T01:00:00Z') };

describe('experiment report summary', () => {
  it('gives each arm its units and its mean per unit for a continuous metric', () => {
    const { summary } = buildExperimentReport(rollout('continuous'), experiment(), [look]);
    expect(summary.metricType).toBe('continuous');
    expect(summary.arms).toEqual([
      { arm: 'control', version: '1', units: 500, n: 480, mean: 2 },
      { arm: 'treatment', version: '2', units: 430, n: 400, mean: 2.5 },
    ]);
    expect(summary.effect).toEqual({ look: 4, estimate: 0.5, lower: 0.1, upper: 0.9, pValue: 0.03, level: 0.9 });
  });

  it('says a sample-ratio mismatch in a sentence with its counts and p', () => {
    const { summary } = buildExperimentReport(rollout('binary'), experiment(), [look]);
    expect(summary.srm).toMatchObject({ checked: true, mismatch: true, pValue: 0.0000217, threshold: 0.001 });
    expect(summary.srm.verdict).toBe('Sample-ratio mismatch: the arms\' units differ from the planned split (control 500 and treatment 430 units against a planned 50% treatment share), p = 2.2e-5 < 0.001; the assignment is broken, so the effect cannot be trusted.');
  });

  it('names each guardrail\'s verdict in words', () => {
    const { summary } = buildExperimentReport(rollout('binary'), experiment(), [look]);
    expect(summary.guardrails.map((g) => [g.name, g.verdict])).toEqual([['latency', 'within its limit'], ['errors', 'breached'], ['refunds', 'insufficient data']]);
  });

  it('takes the decision from the experiment once decided, from the latest look while it runs', () => {
    expect(buildExperimentReport(rollout('binary'), experiment(), [look]).summary.decision)
      .toEqual({ action: 'rollback', reason: 'sample-ratio mismatch', look: 4, final: false });
    const decided = experiment({ status: 'decided', decision: { action: 'rollback', trigger: 'srm', reason: 'SRM at look 4', look: 4 } });
    expect(buildExperimentReport(rollout('binary'), decided, [look]).summary.decision)
      .toEqual({ action: 'rollback', reason: 'SRM at look 4', look: 4, final: true });
  });

  it('has no SRM check for a bandit, and nothing to say before the first look', () => {
    const bandit = buildExperimentReport(rollout('binary'), experiment({ kind: 'bandit' }), [{ ...look, result: { reason: 'best so far 2' } }]);
    expect(bandit.summary.srm).toMatchObject({ checked: false, mismatch: null });
    expect(bandit.summary.srm.verdict).toMatch(/^Not checked: a bandit moves traffic/);
    const empty = buildExperimentReport(rollout('binary'), experiment(), []);
    expect(empty.summary.arms).toEqual([{ arm: 'control', version: '1', units: null, n: null, mean: null }, { arm: 'treatment', version: '2', units: null, n: null, mean: null }]);
    expect(empty.summary.decision).toEqual({ action: 'none', reason: 'no look has been taken yet', look: null, final: false });
  });

  it('formats p-values for people', () => {
    expect(formatPValue(0.04567)).toBe('0.0457');
    expect(formatPValue(0.0000217)).toBe('2.2e-5');
    expect(formatPValue(0)).toBe('0.0000');
  });
});
