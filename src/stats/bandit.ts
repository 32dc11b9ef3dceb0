// Thompson sampling for Bernoulli rewards, in its batched form (randomized probability matching):
// at each look the workflow sets each arm's traffic share to the posterior probability that the
// arm is best, floored at a minimum share so no arm starves and estimates stay unbiased enough to
// keep learning. The probabilities are estimated by Monte Carlo on the seeded source, so the
// workflow passes its RandomState in and stores the returned one: a replay allocates identically.
import { createRandomSource, isRandomState, type RandomState } from './random.js';
import { checkPositive, fail, isCount, isFiniteNumber, succeed, type StatsResult } from './result.js';
import { validateSummary, type BinarySummary } from './summary.js';

export interface ThompsonOptions {
  /** Floor on each arm's share; arms × minShare must not exceed 1. Default 0.05. */
  readonly minShare?: number;
  /** Monte Carlo draws for the probability of being best. Default 10,000 (standard error ≤ 0.005). */
  readonly draws?: number;
  /** Beta prior: pseudo-successes and pseudo-failures added to every arm. Default 1 and 1 (uniform). */
  readonly priorSuccesses?: number;
  readonly priorFailures?: number;
}

export interface ThompsonResult {
  /** Traffic share per arm, in input order; each ≥ minShare, summing to 1. */
  readonly shares: readonly number[];
  /** Posterior probability that each arm has the highest rate (Monte Carlo estimate). */
  readonly probabilityBest: readonly number[];
  /** Posterior mean rate per arm. */
  readonly posteriorMeans: readonly number[];
  readonly draws: number;
  /** Store this and pass it to the next look. */
  readonly random: RandomState;
}

const MAX_DRAWS = 1_000_000;

/** One allocation step of Thompson sampling over `arms` (binary summaries, in a fixed order). */
export function thompsonAllocation(
  arms: readonly BinarySummary[],
  random: RandomState,
  options: ThompsonOptions = {},
): StatsResult<ThompsonResult> {
  const minShare = options.minShare ?? 0.05;
  const draws = options.draws ?? 10_000;
  const priorSuccesses = options.priorSuccesses ?? 1;
  const priorFailures = options.priorFailures ?? 1;
  if (!Array.isArray(arms) || arms.length < 2) return fail('invalid_input', 'a bandit needs at least two arms');
  if (!isRandomState(random)) return fail('invalid_input', 'random must be a RandomState from seedRandom() or a previous allocation');
  if (!isFiniteNumber(minShare) || minShare < 0 || minShare * arms.length > 1) {
    return fail('invalid_input', `minShare must be in [0, 1/${arms.length}] for ${arms.length} arms (got ${String(minShare)})`);
  }
  if (!isCount(draws) || draws < 1 || draws > MAX_DRAWS) {
    return fail('invalid_input', `draws must be an integer between 1 and ${MAX_DRAWS} (got ${String(draws)})`);
  }
  const priorBad = checkPositive(priorSuccesses, 'priorSuccesses') ?? checkPositive(priorFailures, 'priorFailures');
  if (priorBad) return priorBad;
  const alphas: number[] = [];
  const betas: number[] = [];
  for (let i = 0; i < arms.length; i++) {
    const arm = arms[i]!;
    const checked = validateSummary(arm, `arm ${i}`);
    if (!checked.ok) return checked;
    if (!('successes' in arm)) return fail('invalid_input', `arm ${i}: Thompson sampling needs binary summaries {n, successes}`);
    alphas.push(priorSuccesses + arm.successes);
    betas.push(priorFailures + arm.n - arm.successes);
  }

  const source = createRandomSource(random);
  const wins = new Array<number>(arms.length).fill(0);
  for (let d = 0; d < draws; d++) {
    let best = 0;
    let bestValue = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < arms.length; i++) {
      const value = source.beta(alphas[i]!, betas[i]!);
      if (value > bestValue) {
        bestValue = value;
        best = i;
      }
    }
    wins[best]! += 1;
  }
  const probabilityBest = wins.map((w) => w / draws);
  // Floor then scale: share_i = m + (1 − k·m)·P(best_i) keeps every share ≥ m and the sum at 1.
  const free = 1 - minShare * arms.length;
  const shares = probabilityBest.map((p) => minShare + free * p);
  return succeed({
    shares,
    probabilityBest,
    posteriorMeans: alphas.map((a, i) => a / (a + betas[i]!)),
    draws,
    random: source.state(),
  });
}
