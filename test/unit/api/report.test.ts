import { describe, expect, it } from 'vitest';
import { temporalUiUrl } from '../../../src/api/present.js';
import { buildExperimentReport } from '../../../src/api/services/report.js';
import type { RolloutView } from '../../../src/registry/rollouts.js';

const rollout = { id: 'ro_1', model: 'm' } as RolloutView;
const experiment = {
  id: 'e1', kind: 'ab', salt: 's', arms: [{ name: 'control', version: '1' }, { name: 'treatment', version: '2' }], primary_metric: 'repaid',
  config: {}, status: 'running', decision: null, started_at: new Date('2026-01-01T00:00:00Z'), ended_at: null,
};
const look = (n: number, result: unknown, decision = 'continue') => ({ look: n, decision, arm_stats: { control: { n } }, result, at: new Date(Date.UTC(2026, 0, 1, n)) });

describe('experiment report', () => {
  it('reads the confidence interval wherever the look result keeps it', () => {
    const report = buildExperimentReport(rollout, experiment, [
      look(1, { primary: { effect: 0.1, ci: { lower: -0.1, upper: 0.3 }, pValue: 0.4 } }),
      look(2, { delta: 0.05, confidenceSequence: { lower: 0.01, upper: 0.09 }, alwaysValidP: 0.02, srm: { pValue: 0.5 }, guardrails: { latency: 'ok' } }, 'promote'),
      look(3, { nothing: true }),
    ]);
    expect(report.confidenceSequence).toEqual([
      { look: 1, at: '2026-01-01T01:00:00.000Z', decision: 'continue', estimate: 0.1, lower: -0.1, upper: 0.3, pValue: 0.4 },
      { look: 2, at: '2026-01-01T02:00:00.000Z', decision: 'promote', estimate: 0.05, lower: 0.01, upper: 0.09, pValue: 0.02 },
      { look: 3, at: '2026-01-01T03:00:00.000Z', decision: 'continue', estimate: null, lower: null, upper: null, pValue: null },
    ]);
    expect(report.srm).toBeNull();
    expect(report.arms).toEqual({ control: { n: 3 } });
    expect(report.decision).toEqual({ decision: 'continue', look: 3 });
  });

  it('is empty but well-formed before the first look', () => {
    const report = buildExperimentReport(rollout, experiment, []);
    expect(report).toMatchObject({ looks: 0, arms: null, confidenceSequence: [], srm: null, latest: null, decision: null });
  });

  it('links to the workflow in the Temporal UI', () => {
    expect(temporalUiUrl('http://ui:8233/', 'default', 'rollout:m', 'run-1')).toBe('http://ui:8233/namespaces/default/workflows/rollout%3Am/run-1/history');
    expect(temporalUiUrl(null, 'default', 'rollout:m')).toBeNull();
  });
});
