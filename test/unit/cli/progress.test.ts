import { describe, expect, it } from 'vitest';
import type { RolloutDetailOut } from '../../../src/api/schemas.js';
import { outcomeLine, progressBoard, progressLine, progressOf } from '../../../src/cli/progress.js';

const rollout = (over: Partial<RolloutDetailOut> = {}): RolloutDetailOut => ({
  id: 'ro_1', workflowId: 'rollout:m', model: 'm', candidateVersion: '2', baselineVersion: '1', status: 'running', phase: 'experiment',
  outcomeReason: null, policy: {}, startedBy: 'key:x', startedAt: '2026-01-01T00:00:00.000Z', endedAt: null, temporalUiUrl: null, stateError: null,
  state: {
    rolloutId: 'ro_1', model: 'm', candidateVersion: '2', baselineVersion: '1', phase: 'experiment', step: { name: 'look 3', index: 3, of: 10 },
    paused: false, waitingFor: null, generation: 4, weights: { 1: 0.5, 2: 0.5 }, decisions: [], outcome: null,
    latestStatistics: { experiment: {
      look: 3, action: 'continue', trigger: 'no_decision', sample: { control: 300, treatment: 310 }, effect: 0.0123,
      pValue: 0.21, confidenceSequence: { lower: -0.01, upper: 0.04 }, srm: { pValue: 0.7, mismatch: false },
    } },
  },
  ...over,
});

describe('rollout progress', () => {
  it('one reading of the state, two layouts: the watch line and the demo board', () => {
    const p = progressOf(rollout());
    expect(progressLine(p)).toBe('experiment | step look 3 3/10 | weights 1=50% 2=50% (gen 4) | look 3: effect +0.0123 [-0.0100, +0.0400] p=0.2100 → continue');
    expect(progressBoard(p)).toBe('  [experiment  ] look 3  1 █████░░░░░  50%  2 █████░░░░░  50%  look 3: n=300/310 effect 0.012 p=0.2100');
  });

  it('an ended rollout shows its status, the report\'s last look and its outcome', () => {
    const ended = rollout({ status: 'promoted', phase: 'completed', state: null, outcomeReason: 'treatment is better' });
    const p = progressOf(ended, { look: 7, at: '2026-01-01T00:01:00.000Z', decision: 'promote', estimate: 0.05, lower: 0.01, upper: 0.09, pValue: 0.001 });
    expect(progressLine(p)).toBe('promoted | look 7: effect +0.0500 [+0.0100, +0.0900] p=0.0010 → promote');
    expect(outcomeLine(ended)).toBe('outcome: promoted — treatment is better');
  });

  it('says when the state could not be read, and when a human is awaited', () => {
    const waiting = rollout({ stateError: 'the workflow did not answer in time' });
    if (waiting.state) waiting.state.waitingFor = { kind: 'approval', gate: 'canary step 1 (5%)', deadline: '2026-01-01T01:00:00.000Z' };
    expect(progressLine(progressOf(waiting))).toMatch(/\| waiting for approval: canary step 1 \(5%\) \(until 2026-01-01T01:00:00.000Z\) \| .* \| \(state: the workflow did not answer in time\)$/);
  });
});
