import { describe, expect, it } from 'vitest';
import {
  decideLook,
  initialLookState,
  type ContinuousSummary,
  type ExperimentConfig,
  type LookDecision,
  type LookInput,
  type LookState,
  type StatsResult,
} from '../../../src/stats/index.js';

function continuous(n: number, mean: number, sd: number): ContinuousSummary {
  return { n, sum: n * mean, sumSquares: (n - 1) * sd * sd + n * mean * mean };
}

const config: ExperimentConfig = {
  alpha: 0.05,
  primary: { name: 'conversion', direction: 'increase' },
  guardrails: [{ name: 'latency_ms', direction: 'decrease', maxDegradation: 5 }],
  minSamplePerArm: 100,
  maxSamplePerArm: 20_000,
  maxDurationSeconds: 7 * 86_400,
};

function input(n: number, controlRate: number, treatmentRate: number, latency: [number, number] = [100, 100], extra: Partial<LookInput> = {}): LookInput {
  return {
    primary: { control: { n, successes: Math.round(n * controlRate) }, treatment: { n, successes: Math.round(n * treatmentRate) } },
    guardrails: { latency_ms: { control: continuous(n, latency[0], 20), treatment: continuous(n, latency[1], 20) } },
    elapsedSeconds: 3600,
    ...extra,
  };
}

function decided(result: StatsResult<LookDecision>): LookDecision {
  if (!result.ok) throw new Error(`${result.code}: ${result.message}`);
  return result;
}

// Every number anywhere in a decision is finite: no NaN or Infinity reaches the workflow.
function expectFiniteNumbers(value: unknown, path = 'decision'): void {
  if (typeof value === 'number') expect(Number.isFinite(value), path).toBe(true);
  else if (Array.isArray(value)) value.forEach((v, i) => expectFiniteNumbers(v, `${path}[${i}]`));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) expectFiniteNumbers(v, `${path}.${k}`);
}

describe('decision rule for a look', () => {
  it('continues below the minimum sample without moving the running minimum', () => {
    const d = decided(decideLook(config, input(50, 0.1, 0.3)));
    expect(d.action).toBe('continue');
    expect(d.trigger).toBe('below_min_sample');
    expect(d.primary.status).toBe('not_evaluated');
    expect(d.state).toEqual({ looks: 1, primaryMinPValue: 1, guardrails: { latency_ms: { breachMinPValue: 1, safeMinPValue: 1 } } });
  });

  it('stops with the baseline when the deadline passes before the minimum sample', () => {
    const d = decided(decideLook(config, input(50, 0.1, 0.1, [100, 100], { elapsedSeconds: 8 * 86_400 })));
    expect([d.action, d.trigger]).toEqual(['stop_no_effect', 'max_duration']);
  });

  it('rolls back on a sample-ratio mismatch, before anything else', () => {
    const d = decided(decideLook(config, input(2000, 0.1, 0.2, [100, 100], { assignedUnits: { control: 10_000, treatment: 9_000 } })));
    expect([d.action, d.trigger]).toEqual(['rollback', 'srm']);
    expect(d.srm.mismatch).toBe(true);
    expect(d.srm.pValue!).toBeLessThan(0.001);
    expect(d.reason).toMatch(/sample-ratio mismatch/);
  });

  it('skips the SRM check with fewer than 8 units per arm', () => {
    const d = decided(decideLook(config, input(5, 0.2, 0.2)));
    expect(d.srm.status).toBe('insufficient_data');
    expect(d.srm.mismatch).toBe(false);
  });

  it('rolls back on a proven guardrail breach ("no worse than +5 ms")', () => {
    const d = decided(decideLook(config, input(2000, 0.1, 0.14, [100, 112])));
    expect([d.action, d.trigger]).toEqual(['rollback', 'guardrail_breach']);
    const latency = d.guardrails[0]!;
    expect(latency.breached).toBe(true);
    expect(latency.breachPValue).toBeLessThan(0.05);
    expect(latency.degradationBound!).toBeGreaterThan(5);
    expect(d.reason).toMatch(/latency_ms/);
  });

  it('promotes a significant win and rolls back a significant loss', () => {
    const win = decided(decideLook(config, input(2000, 0.1, 0.14)));
    expect([win.action, win.trigger]).toEqual(['promote', 'primary_win']);
    expect(win.primary.pValue).toBeLessThan(0.05);
    expect(win.primary.confidenceSequence!.lower).toBeGreaterThan(0);
    expect(win.reason).toMatch(/better on conversion/);
    const loss = decided(decideLook(config, input(2000, 0.1, 0.06)));
    expect([loss.action, loss.trigger]).toEqual(['rollback', 'primary_loss']);
  });

  it('reads the direction: lower is better for a decrease metric', () => {
    const errors: ExperimentConfig = { ...config, primary: { name: 'error_rate', direction: 'decrease' } };
    expect(decided(decideLook(errors, input(2000, 0.1, 0.06))).action).toBe('promote');
    expect(decided(decideLook(errors, input(2000, 0.1, 0.14))).action).toBe('rollback');
  });

  it('waits for guardrails that must be proven non-inferior, and gives up at the maximum sample', () => {
    const strict: ExperimentConfig = {
      ...config,
      guardrails: [{ name: 'latency_ms', direction: 'decrease', maxDegradation: 0.5, requireNonInferiority: true }],
    };
    const waiting = decided(decideLook(strict, input(2000, 0.1, 0.14)));
    expect([waiting.action, waiting.trigger]).toEqual(['continue', 'awaiting_guardrails']);
    expect(waiting.guardrails[0]!.nonInferior).toBe(false);
    const atLimit = decided(decideLook({ ...strict, maxSamplePerArm: 2000 }, input(2000, 0.1, 0.14)));
    expect([atLimit.action, atLimit.trigger]).toEqual(['stop_no_effect', 'max_sample']);
    const loose: ExperimentConfig = { ...strict, guardrails: [{ ...strict.guardrails![0]!, maxDegradation: 5 }] };
    expect(decided(decideLook(loose, input(2000, 0.1, 0.14))).action).toBe('promote');
  });

  it('stops for futility once the confidence sequence rules out the minimum effect', () => {
    const futile: ExperimentConfig = { ...config, primary: { name: 'conversion', direction: 'increase', minimumEffect: 0.02 } };
    const d = decided(decideLook(futile, input(15_000, 0.1, 0.1)));
    expect([d.action, d.trigger]).toEqual(['stop_no_effect', 'futility']);
    expect(d.primary.confidenceSequence!.upper).toBeLessThan(0.02);
  });

  it('stops with the baseline at the maximum sample or duration, and continues before', () => {
    expect(decided(decideLook(config, input(20_000, 0.1, 0.1))).trigger).toBe('max_sample');
    expect(decided(decideLook(config, input(3000, 0.1, 0.1, [100, 100], { elapsedSeconds: 7 * 86_400 }))).trigger).toBe('max_duration');
    const open = decided(decideLook(config, input(3000, 0.1, 0.1)));
    expect([open.action, open.trigger]).toEqual(['continue', 'no_decision']);
  });

  it('continues with a coded trigger when the primary cannot be evaluated (zero variance)', () => {
    const d = decided(decideLook(config, input(500, 0, 0)));
    expect([d.action, d.trigger]).toEqual(['continue', 'zero_variance']);
    expect(d.primary.status).toBe('zero_variance');
    expect(d.primary.effect).toBeNull();
    expectFiniteNumbers(d);
  });

  it('carries state across looks as plain JSON and keeps every number finite', () => {
    let state: LookState = initialLookState();
    const rates = [0.1, 0.1, 0.115, 0.12];
    const decisions: LookDecision[] = [];
    for (let look = 1; look <= rates.length; look++) {
      const d = decided(decideLook(config, input(look * 1000, 0.1, rates[look - 1]!), state));
      decisions.push(d);
      expectFiniteNumbers(d);
      expect(JSON.parse(JSON.stringify(d))).toEqual(d);
      state = JSON.parse(JSON.stringify(d.state)) as LookState;
      expect(state.looks).toBe(look);
    }
    for (let i = 1; i < decisions.length; i++) {
      expect(decisions[i]!.primary.pValue).toBeLessThanOrEqual(decisions[i - 1]!.primary.pValue);
    }
  });

  it('answers malformed config, input or state with invalid_input', () => {
    const bad: [ExperimentConfig, LookInput, LookState | undefined][] = [
      [{ ...config, alpha: 2 }, input(500, 0.1, 0.1), undefined],
      [{ ...config, primary: { name: '', direction: 'increase' } }, input(500, 0.1, 0.1), undefined],
      [{ ...config, primary: { name: 'x', direction: 'sideways' as 'increase' } }, input(500, 0.1, 0.1), undefined],
      [{ ...config, treatmentShare: 1 }, input(500, 0.1, 0.1), undefined],
      [{ ...config, maxSamplePerArm: 10 }, input(500, 0.1, 0.1), undefined],
      [{ ...config, guardrails: [{ name: 'latency_ms', direction: 'decrease', maxDegradation: -1 }] }, input(500, 0.1, 0.1), undefined],
      [config, { ...input(500, 0.1, 0.1), guardrails: {} }, undefined],
      [config, { ...input(500, 0.1, 0.1), elapsedSeconds: Number.NaN }, undefined],
      [config, { primary: { control: { n: 10, successes: 11 }, treatment: { n: 10, successes: 1 } }, guardrails: input(10, 0, 0).guardrails! }, undefined],
      [config, input(500, 0.1, 0.1), { looks: 0, primaryMinPValue: Number.NaN, guardrails: {} }],
    ];
    for (const [c, i, s] of bad) {
      const result = decideLook(c, i, s);
      expect(result.ok ? 'ok' : result.code).toBe('invalid_input');
      if (!result.ok) expect(result.message.length).toBeGreaterThan(0);
    }
  });
});
