import { describe, expect, it } from 'vitest';
import { evaluateShadowWindow, type ShadowWindow } from '../../../src/policy/gates.js';

const window = (compared: number, agreed: number): ShadowWindow => ({ compared, agreed, agreement: compared > 0 ? agreed / compared : 0, shadowErrors: 0 });

describe('shadow gate', () => {
  it('passes when the candidate agrees with the primary at least as often as the floor', () => {
    const e = evaluateShadowWindow(window(200, 180), { minAgreement: 0.9 });
    expect(e).toEqual({ verdict: 'successful', reason: 'agreement 90.0% over 200 mirrored requests (floor 90%)', failure: null });
  });

  it('fails below the floor, with the reason the rollout rolls back for', () => {
    const e = evaluateShadowWindow(window(200, 170), { minAgreement: 0.9 });
    expect(e.verdict).toBe('failed');
    expect(e.reason).toBe('agreement 85.0% over 200 mirrored requests (floor 90%)');
    expect(e.failure).toBe('shadow agreement 85.0% below 90%');
  });

  it('is inconclusive, not failed, when nothing was mirrored', () => {
    const e = evaluateShadowWindow(window(0, 0), { minAgreement: 0.8 });
    expect(e.verdict).toBe('inconclusive');
    expect(e.failure).toBeNull();
    expect(e.reason).toBe('agreement 0.0% over 0 mirrored requests (floor 80%)');
  });

  it('a single mirrored request decides by itself (the floor is a share, not a count)', () => {
    expect(evaluateShadowWindow(window(1, 1), { minAgreement: 1 }).verdict).toBe('successful');
    expect(evaluateShadowWindow(window(1, 0), { minAgreement: 0.01 }).verdict).toBe('failed');
  });
});
