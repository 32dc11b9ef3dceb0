// Sufficient statistics per arm. Everything downstream (fixed-horizon tests, the sequential test,
// bandits, reports) is fed these, never raw events: a window of feedback reduces to three numbers
// per arm in SQL, windows merge by addition, and the workflow can carry them in its state.
import { fail, isCount, isFiniteNumber, succeed, type StatsResult } from './result.js';

/** A continuous metric (revenue, latency, a score): count, sum and sum of squares. */
export interface ContinuousSummary {
  readonly n: number;
  readonly sum: number;
  readonly sumSquares: number;
}

/** A binary metric (converted, clicked, correct): count and successes. */
export interface BinarySummary {
  readonly n: number;
  readonly successes: number;
}

export type MetricSummary = ContinuousSummary | BinarySummary;

/** Mean and per-unit variance of one arm, as every test consumes them. */
export interface ArmMoments {
  readonly n: number;
  readonly mean: number;
  /** Per-unit variance: the sample variance (n − 1) for continuous metrics, p(1 − p) for binary. */
  readonly variance: number;
}

export function isBinarySummary(summary: MetricSummary): summary is BinarySummary {
  return 'successes' in summary;
}

export function emptyContinuousSummary(): ContinuousSummary {
  return { n: 0, sum: 0, sumSquares: 0 };
}

export function emptyBinarySummary(): BinarySummary {
  return { n: 0, successes: 0 };
}

/** Reduces raw values. Non-finite values are kept (they poison the sums) so validation reports them. */
export function summarizeContinuous(values: ArrayLike<number>): ContinuousSummary {
  let sum = 0;
  let sumSquares = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    sum += v;
    sumSquares += v * v;
  }
  return { n: values.length, sum, sumSquares };
}

/** Reduces raw outcomes: true or 1 is a success, false or 0 a failure. */
export function summarizeBinary(outcomes: ArrayLike<boolean | number>): BinarySummary {
  let successes = 0;
  for (let i = 0; i < outcomes.length; i++) {
    const v = outcomes[i];
    if (v === true || v === 1) successes += 1;
  }
  return { n: outcomes.length, successes };
}

/** Adds windows together: the summary of a union is the sum of the summaries. */
export function mergeContinuous(...parts: readonly ContinuousSummary[]): ContinuousSummary {
  let n = 0;
  let sum = 0;
  let sumSquares = 0;
  for (const part of parts) {
    n += part.n;
    sum += part.sum;
    sumSquares += part.sumSquares;
  }
  return { n, sum, sumSquares };
}

export function mergeBinary(...parts: readonly BinarySummary[]): BinarySummary {
  let n = 0;
  let successes = 0;
  for (const part of parts) {
    n += part.n;
    successes += part.successes;
  }
  return { n, successes };
}

/** Checks a summary's shape and values; `label` names the arm in the message. */
export function validateSummary(summary: MetricSummary, label: string): StatsResult<{ readonly summary: MetricSummary }> {
  if (summary === null || typeof summary !== 'object') {
    return fail('invalid_input', `${label}: summary must be an object`);
  }
  if (!isCount(summary.n)) {
    return fail('invalid_input', `${label}: n must be a non-negative integer (got ${String(summary.n)})`);
  }
  if (isBinarySummary(summary)) {
    if (!isCount(summary.successes) || summary.successes > summary.n) {
      return fail('invalid_input', `${label}: successes must be an integer between 0 and n = ${summary.n} (got ${String(summary.successes)})`);
    }
    return succeed({ summary });
  }
  const { sum, sumSquares } = summary as Partial<ContinuousSummary>;
  if (!isFiniteNumber(sum) || !isFiniteNumber(sumSquares)) {
    return fail('invalid_input', `${label}: sum and sumSquares must be finite numbers (got ${String(sum)}, ${String(sumSquares)}); a NaN or infinite value reached the summary`);
  }
  if (sumSquares < 0) {
    return fail('invalid_input', `${label}: sumSquares must not be negative (got ${sumSquares})`);
  }
  return succeed({ summary });
}

/**
 * Mean and per-unit variance of an arm, validated. `minN` is the smallest n the caller can use
 * (2 for a sample variance). The variance from sums loses digits when the mean dwarfs the spread
 * (sum of squares − n·mean²); it is clamped at 0 so rounding never yields a negative variance.
 */
export function armMoments(summary: MetricSummary, label: string, minN = 1): StatsResult<ArmMoments> {
  const checked = validateSummary(summary, label);
  if (!checked.ok) return checked;
  const needed = isBinarySummary(summary) ? Math.max(1, minN) : Math.max(2, minN);
  if (summary.n < needed) {
    return fail('insufficient_data', `${label}: n = ${summary.n}, at least ${needed} needed`);
  }
  if (isBinarySummary(summary)) {
    const rate = summary.successes / summary.n;
    return succeed({ n: summary.n, mean: rate, variance: rate * (1 - rate) });
  }
  const mean = summary.sum / summary.n;
  const variance = Math.max(0, (summary.sumSquares - summary.sum * mean) / (summary.n - 1));
  return succeed({ n: summary.n, mean, variance });
}
