// The default drift policy on windows of the synthetic credit population: how often an unshifted
// window is called drift (the false-alarm rate the issue bounds at 1%), and how often a shifted
// one is (the detection rate per shift size). Pure: the same judgement the monitor's activity
// makes, without the database.
import { describe, expect, it } from 'vitest';
import { judgeColumns } from '../../../src/loop/judge.js';
import { defaultLoopPolicy } from '../../../src/loop/validate.js';
import type { CreditDrift } from '../../../src/models/drift.js';
import { creditColumns, creditReferenceProfile } from '../../support/credit-traffic.js';

const profile = creditReferenceProfile();
const policy = defaultLoopPolicy().drift;
const ROWS = 300;

function decisions(windows: number, firstSeed: number, drift?: CreditDrift): string[] {
  return Array.from({ length: windows }, (_, w) => {
    const judged = judgeColumns(profile, creditColumns(ROWS, firstSeed + w, drift), policy);
    if (!judged.ok) throw new Error(judged.reason);
    return judged.verdict.decision;
  });
}

const allNumeric = (std: number): CreditDrift => ({
  meanShiftStd: { age: std, income: std, debt_ratio: std, credit_history_months: std, num_open_accounts: std, late_payments: std, loan_amount: std, credit_utilization: std },
});

describe('default drift policy on 300-row windows', () => {
  it('calls at most 1% of unshifted windows drift', () => {
    const seen = decisions(500, 10_000);
    const drift = seen.filter((d) => d === 'drift').length;
    const warning = seen.filter((d) => d === 'warning').length;
    console.log(`false alarms: ${drift}/500 windows drift, ${warning}/500 warnings`);
    expect(drift).toBeLessThanOrEqual(5);
  });

  it('calls a one-standard-deviation shift of every numeric feature drift in every window', () => {
    const seen = decisions(20, 20_000, allNumeric(1));
    console.log(`detection at 1 std: ${seen.filter((d) => d === 'drift').length}/20`);
    expect(seen.every((d) => d === 'drift')).toBe(true);
  });

  it('reports the detection rate of smaller shifts', () => {
    // A location shift moves discrete values (counts, ages) off the values the reference holds, so
    // even 0.1 std is seen by some features: a warning, not drift.
    for (const std of [0.1, 0.25, 0.5]) {
      const seen = decisions(20, 30_000, allNumeric(std));
      console.log(`detection at ${std} std: ${seen.filter((d) => d === 'drift').length}/20 drift, ${seen.filter((d) => d === 'warning').length}/20 warnings`);
    }
    // Half a standard deviation on 300 rows is well within KS's power.
    expect(decisions(20, 40_000, allNumeric(0.5)).filter((d) => d === 'drift').length).toBeGreaterThanOrEqual(18);
  });
});
