import { describe, expect, it } from 'vitest';
import { BASE_CREDIT_POPULATION, CREDIT_SCHEMA, generateCreditData } from '../../../src/models/dataset.js';
import type { CreditCategoricalFeature, CreditDataset } from '../../../src/models/dataset.js';
import {
  EXAMPLE_CONCEPT_DRIFT,
  creditFeatureMoments,
  driftCreditPopulation,
  generateDriftedCreditData,
  numericMoments,
} from '../../../src/models/drift.js';
import { accuracy } from '../../../src/models/metrics/index.js';
import { predict, trainLogisticRegression, trainMlp, trainingSetFromColumns } from '../../../src/models/train.js';

const ROWS = 20_000;
const base = generateCreditData(ROWS, 5);

function levelShares(data: CreditDataset, feature: CreditCategoricalFeature): number[] {
  const levels = CREDIT_SCHEMA.categorical.find((c) => c.name === feature)!.levels;
  const counts = levels.map(() => 0);
  for (const index of data.categorical[feature]) counts[index]! += 1;
  return counts.map((c) => c / data.rows);
}

describe('drift generator', () => {
  it('moves means by the requested number of standard deviations, and nothing else', () => {
    const shifts = { income: 1, debt_ratio: -0.5, age: 2 } as const;
    const drifted = generateDriftedCreditData(ROWS, 5, { meanShiftStd: shifts });
    const unpaired = generateDriftedCreditData(ROWS, 6, { meanShiftStd: shifts });
    for (const [name, shift] of Object.entries(shifts) as [keyof typeof shifts, number][]) {
      const before = numericMoments(base.numeric[name]);
      const after = numericMoments(drifted.numeric[name]);
      expect((after.mean - before.mean) / before.std).toBeCloseTo(shift, 1);
      // A location shift keeps the spread.
      expect(after.std / before.std).toBeCloseTo(1, 6);
      const independent = numericMoments(unpaired.numeric[name]);
      expect(Math.abs((independent.mean - before.mean) / before.std - shift)).toBeLessThan(0.05);
    }
    // Same seed, so every column not named is drawn identically.
    expect(drifted.numeric.late_payments).toEqual(base.numeric.late_payments);
    expect(drifted.numeric.loan_amount).toEqual(base.numeric.loan_amount);
    expect(drifted.categorical.region).toEqual(base.categorical.region);
  });

  it('measures the shift in the base population’s standard deviations', () => {
    const reference = creditFeatureMoments();
    expect(creditFeatureMoments(BASE_CREDIT_POPULATION)).toBe(reference);
    const population = driftCreditPopulation(BASE_CREDIT_POPULATION, { meanShiftStd: { credit_utilization: 1.5 } });
    expect(population.numericShift.credit_utilization).toBeCloseTo(1.5 * reference.credit_utilization.std, 12);
    expect(population.numericShift.age).toBe(0);
    expect(reference.income.std / numericMoments(base.numeric.income).std).toBeCloseTo(1, 1);
  });

  it('changes the category mix to the one requested', () => {
    const mix = { north: 0.7, south: 0.1, east: 0.1, west: 0.1 };
    const drifted = generateDriftedCreditData(ROWS, 5, { categoryMix: { region: mix, employment: { salaried: 1, self_employed: 1, unemployed: 1, student: 1 } } });
    const shares = levelShares(drifted, 'region');
    expect(levelShares(base, 'region')[0]).toBeCloseTo(0.28, 1);
    Object.values(mix).forEach((share, i) => expect(Math.abs(shares[i]! - share)).toBeLessThan(0.015));
    levelShares(drifted, 'employment').forEach((share) => expect(Math.abs(share - 0.25)).toBeLessThan(0.015));
    expect(drifted.categorical.home_ownership).toEqual(base.categorical.home_ownership);
  });

  it('changes the label relationship so a model trained before loses accuracy', () => {
    const trainRows = 6000;
    const before = trainingSetFromColumns(CREDIT_SCHEMA, generateCreditData(trainRows, 41));
    const model = trainMlp(before, { seed: 1, hiddenUnits: 8, epochs: 12 });

    const conceptDrift = { labelRelationship: EXAMPLE_CONCEPT_DRIFT };
    const drifted = generateDriftedCreditData(ROWS, 5, conceptDrift);
    // Concept drift alone: the applicants are the same people, only who defaults changes.
    expect(drifted.numeric.income).toEqual(base.numeric.income);
    expect(drifted.categorical.employment).toEqual(base.categorical.employment);
    expect(drifted.labels).not.toEqual(base.labels);

    const baseSet = trainingSetFromColumns(CREDIT_SCHEMA, base);
    const driftedSet = trainingSetFromColumns(CREDIT_SCHEMA, drifted);
    const accuracyBefore = accuracy(predict(model.params, baseSet.features, baseSet.rows), baseSet.labels);
    const accuracyAfter = accuracy(predict(model.params, driftedSet.features, driftedSet.rows), driftedSet.labels);
    expect(accuracyBefore).toBeGreaterThan(0.72);
    expect(accuracyAfter).toBeLessThan(accuracyBefore - 0.15);

    // Retraining on drifted data recovers: the new relationship is learnable.
    const retrained = trainLogisticRegression(trainingSetFromColumns(CREDIT_SCHEMA, generateDriftedCreditData(trainRows, 42, conceptDrift)));
    expect(accuracy(predict(retrained.params, driftedSet.features, driftedSet.rows), driftedSet.labels)).toBeGreaterThan(accuracyAfter + 0.1);
  });

  it('refuses drift it cannot apply', () => {
    expect(() => driftCreditPopulation(BASE_CREDIT_POPULATION, { categoryMix: { region: { north: 1, mars: 1 } as never } })).toThrow(/region has no level mars/);
    expect(() => driftCreditPopulation(BASE_CREDIT_POPULATION, { categoryMix: { region: { north: 0, south: 0, east: 0, west: 0 } } })).toThrow(/positive weight/);
    expect(() => driftCreditPopulation(BASE_CREDIT_POPULATION, { meanShiftStd: { age: Number.NaN } })).toThrow(/finite/);
  });

  it('leaves the base population untouched', () => {
    const snapshot = JSON.stringify(BASE_CREDIT_POPULATION);
    driftCreditPopulation(BASE_CREDIT_POPULATION, { meanShiftStd: { age: 1 }, categoryMix: { region: { north: 1, south: 0, east: 0, west: 0 } }, labelRelationship: EXAMPLE_CONCEPT_DRIFT });
    expect(JSON.stringify(BASE_CREDIT_POPULATION)).toBe(snapshot);
  });
});
