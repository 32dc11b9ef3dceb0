// Multiple-testing control across features (or metrics). With 32 features each tested at 0.05, a
// window with no drift at all flags at least one feature four times in five; adjusting the
// p-values keeps per-feature alerts meaningful.

export type MultipleTestingMethod = 'none' | 'bonferroni' | 'benjamini_hochberg';

/** Bonferroni: p · m, capped at 1. Controls the family-wise error rate. */
export function bonferroni(pValues: readonly number[]): number[] {
  const m = pValues.length;
  return pValues.map((p) => Math.min(1, p * m));
}

/**
 * Benjamini–Hochberg adjusted p-values (the step-up procedure): q_(i) = min over j ≥ i of
 * m · p_(j) / j, capped at 1. Rejecting q < α controls the false discovery rate at α.
 */
export function benjaminiHochberg(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((_, i) => i).sort((a, b) => pValues[a]! - pValues[b]! || a - b);
  const adjusted = new Array<number>(m).fill(1);
  let running = 1;
  for (let rank = m; rank >= 1; rank--) {
    const index = order[rank - 1]!;
    running = Math.min(running, (pValues[index]! * m) / rank);
    adjusted[index] = Math.min(1, running);
  }
  return adjusted;
}

export function adjustPValues(pValues: readonly number[], method: MultipleTestingMethod): number[] {
  if (method === 'bonferroni') return bonferroni(pValues);
  if (method === 'benjamini_hochberg') return benjaminiHochberg(pValues);
  return pValues.slice();
}
