import { describe, expect, it } from 'vitest';
import {
  createRandomSource,
  isRandomState,
  seedRandom,
  simulateContinuousBatch,
  thompsonAllocation,
  type RandomState,
  type ThompsonResult,
  type StatsResult,
} from '../../../src/stats/index.js';

function draws(state: RandomState, count: number): number[] {
  const source = createRandomSource(state);
  return Array.from({ length: count }, () => source.uniform());
}

function moments(values: number[]): { mean: number; variance: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1);
  return { mean, variance };
}

function allocated(result: StatsResult<ThompsonResult>): ThompsonResult {
  if (!result.ok) throw new Error(`${result.code}: ${result.message}`);
  return result;
}

describe('seeded random source', () => {
  it('is deterministic per seed and resumable from its JSON state', () => {
    expect(draws(seedRandom(42), 5)).toEqual(draws(seedRandom(42), 5));
    expect(draws(seedRandom(42), 5)).not.toEqual(draws(seedRandom(43), 5));
    expect(draws(seedRandom('42'), 5)).not.toEqual(draws(seedRandom(42), 5));
    const source = createRandomSource(seedRandom('resume'));
    const first = Array.from({ length: 10 }, () => source.uniform());
    const saved = JSON.parse(JSON.stringify(source.state())) as RandomState;
    expect(isRandomState(saved)).toBe(true);
    const rest = Array.from({ length: 10 }, () => source.uniform());
    expect(draws(saved, 10)).toEqual(rest);
    expect(first).not.toEqual(rest);
    expect(isRandomState({ algorithm: 'xoshiro128**', words: [0, 0, 0, 0] })).toBe(false);
    expect(isRandomState({ algorithm: 'xoshiro128**', words: [1, 2, 3] })).toBe(false);
  });

  it('draws from the right distributions (moments within a few standard errors)', () => {
    const source = createRandomSource(seedRandom('moments'));
    const n = 20_000;
    const uniform = moments(Array.from({ length: n }, () => source.uniform()));
    expect(uniform.mean).toBeCloseTo(0.5, 1);
    expect(uniform.variance).toBeCloseTo(1 / 12, 2);
    const normal = moments(Array.from({ length: n }, () => source.normal()));
    expect(Math.abs(normal.mean)).toBeLessThan(0.03);
    expect(Math.abs(normal.variance - 1)).toBeLessThan(0.04);
    for (const shape of [0.3, 1, 4.5, 60]) {
      const gamma = moments(Array.from({ length: n }, () => source.gamma(shape)));
      expect(Math.abs(gamma.mean / shape - 1)).toBeLessThan(0.04);
      expect(Math.abs(gamma.variance / shape - 1)).toBeLessThan(0.1);
    }
    const beta = moments(Array.from({ length: n }, () => source.beta(2, 5)));
    expect(Math.abs(beta.mean - 2 / 7)).toBeLessThan(0.005);
    const binomial = moments(Array.from({ length: n }, () => source.binomial(100, 0.3)));
    expect(Math.abs(binomial.mean - 30)).toBeLessThan(0.2);
    expect(Math.abs(binomial.variance / 21 - 1)).toBeLessThan(0.05);
    expect(source.binomial(50, 1)).toBe(50);
    expect(source.binomial(50, 0)).toBe(0);
  });

  it('simulates a batch of normal outcomes as exact sufficient statistics', () => {
    const source = createRandomSource(seedRandom('batch'));
    const means: number[] = [];
    const variances: number[] = [];
    for (let i = 0; i < 4000; i++) {
      const s = simulateContinuousBatch(source, 100, 3, 2);
      means.push(s.sum / s.n);
      variances.push((s.sumSquares - (s.sum * s.sum) / s.n) / (s.n - 1));
    }
    expect(Math.abs(moments(means).mean - 3)).toBeLessThan(0.01);
    expect(Math.abs(moments(means).variance / 0.04 - 1)).toBeLessThan(0.1);
    expect(Math.abs(moments(variances).mean / 4 - 1)).toBeLessThan(0.02);
  });
});

describe('Thompson sampling allocation', () => {
  const arms = [
    { n: 1000, successes: 100 },
    { n: 1000, successes: 130 },
    { n: 200, successes: 14 },
  ];

  it('returns shares summing to 1, each at least the floor, and P(best) summing to 1', () => {
    const result = allocated(thompsonAllocation(arms, seedRandom('bandit'), { minShare: 0.05, draws: 5000 }));
    expect(result.shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(result.probabilityBest.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    for (const share of result.shares) expect(share).toBeGreaterThanOrEqual(0.05);
    expect(result.shares[1]).toBe(Math.max(...result.shares));
    expect(result.probabilityBest[1]).toBeGreaterThan(0.9);
    expect(result.posteriorMeans[0]).toBeCloseTo(101 / 1002, 12);
  });

  it('is deterministic given the seed, so a workflow replay allocates identically', () => {
    const state = seedRandom('replay');
    const first = allocated(thompsonAllocation(arms, state, { draws: 2000 }));
    const again = allocated(thompsonAllocation(arms, JSON.parse(JSON.stringify(state)) as RandomState, { draws: 2000 }));
    expect(again).toEqual(first);
    expect(first.random).not.toEqual(state);
    const next = allocated(thompsonAllocation(arms, first.random, { draws: 2000 }));
    expect(next.probabilityBest).not.toEqual(first.probabilityBest); // a fresh stream, not a replay
    expect(JSON.parse(JSON.stringify(next))).toEqual(next);
  });

  it('splits evenly between identical arms and starves none', () => {
    const result = allocated(thompsonAllocation([{ n: 0, successes: 0 }, { n: 0, successes: 0 }], seedRandom(7), { minShare: 0.1, draws: 20_000 }));
    expect(Math.abs(result.shares[0]! - 0.5)).toBeLessThan(0.02);
  });

  it('codes bad input', () => {
    const state = seedRandom(1);
    const cases: [ReturnType<typeof thompsonAllocation>, string][] = [
      [thompsonAllocation([{ n: 10, successes: 1 }], state), 'invalid_input'],
      [thompsonAllocation(arms, state, { minShare: 0.4 }), 'invalid_input'],
      [thompsonAllocation(arms, state, { draws: 0 }), 'invalid_input'],
      [thompsonAllocation(arms, { algorithm: 'xoshiro128**', words: [0, 0, 0, 0] }, {}), 'invalid_input'],
      [thompsonAllocation([{ n: 10, successes: 11 }, { n: 10, successes: 1 }], state), 'invalid_input'],
      [thompsonAllocation(arms, state, { priorSuccesses: 0 }), 'invalid_input'],
    ];
    for (const [result, code] of cases) expect(result.ok ? 'ok' : result.code).toBe(code);
  });
});
