// Simulated feedback as sufficient statistics, drawn exactly per batch rather than unit by unit:
// the A/A and A/B simulations (tests, bench, the demo) look after every batch of users, and a
// batch of 100 normal outcomes costs one normal and one chi-square draw instead of 100 normals.
import type { RandomSource } from './random.js';
import type { BinarySummary, ContinuousSummary } from './summary.js';

/**
 * Summary of `n` independent N(mean, sd²) outcomes. The sample mean is N(mean, sd²/n) and, apart
 * from it and independent of it, Σ(x − x̄)² is sd²·χ²(n − 1); sum and sum of squares follow.
 */
export function simulateContinuousBatch(source: RandomSource, n: number, mean: number, sd: number): ContinuousSummary {
  if (n <= 0) return { n: 0, sum: 0, sumSquares: 0 };
  const sampleMean = mean + (sd / Math.sqrt(n)) * source.normal();
  const deviations = n > 1 ? sd * sd * source.chiSquare(n - 1) : 0;
  return { n, sum: n * sampleMean, sumSquares: deviations + n * sampleMean * sampleMean };
}

/** Summary of `n` independent Bernoulli(rate) outcomes. */
export function simulateBinaryBatch(source: RandomSource, n: number, rate: number): BinarySummary {
  return { n, successes: source.binomial(n, rate) };
}
