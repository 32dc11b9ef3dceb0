import { describe, expect, it } from 'vitest';
import { describePolicyErrors, parseRolloutPolicy } from '../../../src/policy/index.js';
import { evaluateCanaryWindow, type VersionWindow } from '../../../src/policy/gates.js';

describe('rollout policy', () => {
  it('fills defaults; no metric means no experiment phase, a metric turns the A/B test on', () => {
    const plain = parseRolloutPolicy(undefined);
    expect(plain.ok && plain.policy.experiment.kind).toBe('none');
    expect(plain.ok && plain.policy.canary.steps.map((s) => s.weight)).toEqual([0.05, 0.2]);
    const ab = parseRolloutPolicy({ experiment: { primaryMetric: { name: 'converted' } } });
    expect(ab.ok && ab.policy.experiment.kind).toBe('ab');
    expect(ab.ok && ab.policy.experiment.primaryMetric).toEqual({ name: 'converted', type: 'binary', direction: 'increase' });
  });

  it('keeps older validation policies valid and fills the champion/challenger defaults', () => {
    const old = parseRolloutPolicy({ validation: { minAccuracy: 0.7, maxP99LatencyMs: 50, fairness: { segmentFeature: 'region', minRatio: 0.8 } } });
    expect(old.ok && old.policy.validation).toEqual({ minAccuracy: 0.7, maxP99LatencyMs: 50, fairness: { segmentFeature: 'region', minRatio: 0.8 } });
    const cc = parseRolloutPolicy({ validation: { metrics: { roc_auc: { min: 0.75 }, log_loss: { max: 0.6 } }, championChallenger: { metric: 'roc_auc' } } });
    expect(cc.ok && cc.policy.validation.championChallenger).toEqual({ metric: 'roc_auc', maxDegradation: 0, resamples: 1000, level: 0.95, seed: 1 });
    expect(cc.ok && cc.policy.validation.metrics).toEqual({ roc_auc: { min: 0.75 }, log_loss: { max: 0.6 } });
    const seeded = parseRolloutPolicy({ validation: { championChallenger: { metric: 'rmse', seed: 'release-7' } } });
    expect(seeded.ok && seeded.policy.validation.championChallenger?.seed).toBe('release-7');
  });

  it('takes a webhook URL without the API loaded (the orchestrator parses policies too), refusing one that is not http(s)', () => {
    const hooked = parseRolloutPolicy({ notifications: { webhookUrl: 'https://hooks.example.test/sluice' } });
    expect(hooked.ok && hooked.policy.notifications.webhookUrl).toBe('https://hooks.example.test/sluice');
    const bad = parseRolloutPolicy({ notifications: { webhookUrl: 'ftp://hooks.example.test' } });
    expect(!bad.ok && bad.errors.map((e) => e.field)).toEqual(['/notifications/webhookUrl']);
  });

  it('refuses bad policies naming the field', () => {
    const cases: Array<[unknown, string]> = [
      [{ canary: { steps: [{ weight: 1.5 }] } }, '/canary/steps/0/weight'],
      [{ canary: { steps: [{ weight: 0.2 }, { weight: 0.1 }] } }, '/canary/steps/1/weight'],
      [{ experiment: { alpha: 0.7, primaryMetric: { name: 'x' } } }, '/experiment/alpha'],
      [{ experiment: { alpha: 0, primaryMetric: { name: 'x' } } }, '/experiment/alpha'],
      [{ experiment: { kind: 'ab' } }, '/experiment/primaryMetric'],
      [{ experiment: { primaryMetric: { name: 'Not A Metric!' } } }, '/experiment/primaryMetric/name'],
      [{ experiment: { primaryMetric: { name: 'x' }, minSamplePerArm: 500, maxSamplePerArm: 100 } }, '/experiment/minSamplePerArm'],
      [{ unknownField: true }, '/unknownField'],
      [{ validation: { metrics: { roc_auc: {} } } }, '/validation/metrics/roc_auc'],
      [{ validation: { metrics: { rmse: { min: 2, max: 1 } } } }, '/validation/metrics/rmse/min'],
      [{ validation: { metrics: { auc: { min: 0.7 } } } }, '/validation/metrics/auc'],
      [{ validation: { championChallenger: { metric: 'roc_auc', maxDegradation: -0.1 } } }, '/validation/championChallenger/maxDegradation'],
      [{ validation: { championChallenger: { metric: 'roc_auc', level: 1 } } }, '/validation/championChallenger/level'],
      [{ validation: { championChallenger: { metric: 'auc' } } }, '/validation/championChallenger/metric'],
      [{ validation: { fairness: { metric: 'f1', minRatio: 0.8 } } }, '/validation/fairness/metric'],
    ];
    for (const [input, field] of cases) {
      const result = parseRolloutPolicy(input);
      expect(result.ok, JSON.stringify(input)).toBe(false);
      if (!result.ok) {
        expect(result.errors.map((e) => e.field), JSON.stringify(input)).toContain(field);
        expect(describePolicyErrors(result.errors)).toContain(field);
      }
    }
  });
});

describe('canary gates', () => {
  const gates = { maxErrorRate: 0.02, maxErrorRateDelta: 0.01, maxP99LatencyRatio: 2, maxPredictionPsi: 0.25, minRequests: 20, minPredictionSamples: 50 };
  const w = (requests: number, errors: number, p99: number | null, hist = [10, 20, 40, 20, 10]): VersionWindow => ({ requests, errors, p99LatencyMs: p99, predictionHistogram: hist });

  it('passes a healthy window', () => {
    expect(evaluateCanaryWindow({ baseline: w(500, 1, 5), candidate: w(100, 0, 6) }, gates).verdict).toBe('successful');
  });
  it('fails an error spike even on little traffic', () => {
    const e = evaluateCanaryWindow({ baseline: w(500, 1, 5), candidate: w(10, 5, 6) }, gates);
    expect(e.verdict).toBe('failed');
    expect(e.reason).toContain('candidate error rate 50.00%');
  });
  it('fails a latency regression and a prediction shift', () => {
    expect(evaluateCanaryWindow({ baseline: w(500, 0, 5), candidate: w(100, 0, 15) }, gates).reason).toContain('p99 is 3.00× baseline');
    expect(evaluateCanaryWindow({ baseline: w(500, 0, 5), candidate: w(100, 0, 5, [80, 10, 5, 3, 2]) }, gates).reason).toMatch(/prediction PSI/);
  });
  it('does not judge prediction shift on too few predictions', () => {
    const few = evaluateCanaryWindow({ baseline: w(500, 0, 5), candidate: w(30, 0, 5, [20, 5, 3, 1, 1]) }, gates);
    expect(few.verdict).toBe('successful');
    expect(few.checks.map((c) => c.gate)).not.toContain('prediction_shift');
  });
  it('is inconclusive on too little traffic and an error on malformed counts', () => {
    expect(evaluateCanaryWindow({ baseline: w(500, 0, 5), candidate: w(5, 0, 5) }, gates).verdict).toBe('inconclusive');
    expect(evaluateCanaryWindow({ baseline: w(500, 0, 5), candidate: w(5, 9, 5) }, gates).verdict).toBe('error');
  });
});
