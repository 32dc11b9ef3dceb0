import { describe, expect, it } from 'vitest';
import {
  BASE_CREDIT_POPULATION,
  CREDIT_FEATURE_NAMES,
  CREDIT_SCHEMA,
  creditLogits,
  generateCreditData,
} from '../../../src/models/dataset.js';
import {
  FeatureEncodingError,
  encodeColumns,
  encodeRecords,
  encodedFeatureNames,
  recordsFromColumns,
  sliceLabelledColumns,
} from '../../../src/models/features.js';

describe('credit feature encoding', () => {
  it('names the numeric columns first, then one column per category level', () => {
    expect(CREDIT_FEATURE_NAMES).toEqual([
      'age', 'income', 'debt_ratio', 'credit_history_months', 'num_open_accounts', 'late_payments', 'loan_amount', 'credit_utilization',
      'region=north', 'region=south', 'region=east', 'region=west',
      'employment=salaried', 'employment=self_employed', 'employment=unemployed', 'employment=student',
      'home_ownership=own', 'home_ownership=mortgage', 'home_ownership=rent',
    ]);
    expect(encodedFeatureNames(CREDIT_SCHEMA)).toEqual(CREDIT_FEATURE_NAMES);
  });

  it('encodes raw numbers and one-hot levels, the same from columns and from records', () => {
    const data = generateCreditData(50, 3);
    const fromColumns = encodeColumns(CREDIT_SCHEMA, data);
    const records = recordsFromColumns(CREDIT_SCHEMA, data);
    expect(encodeRecords(CREDIT_SCHEMA, records)).toEqual(fromColumns);

    const width = CREDIT_FEATURE_NAMES.length;
    const first = records[0]!;
    const row = Array.from(fromColumns.subarray(0, width));
    expect(row[0]).toBe(first.age);
    expect(row[1]).toBe(Math.fround(first.income as number));
    expect(row[CREDIT_FEATURE_NAMES.indexOf(`region=${String(first.region)}`)]).toBe(1);
    // Exactly one level set per categorical feature.
    expect(row.slice(8).reduce((a, b) => a + b, 0)).toBe(3);
  });

  it('refuses unknown levels, missing features and non-finite numbers, naming them', () => {
    const [record] = recordsFromColumns(CREDIT_SCHEMA, generateCreditData(1, 1));
    expect(() => encodeRecords(CREDIT_SCHEMA, [{ ...record, region: 'mars' }])).toThrow(FeatureEncodingError);
    expect(() => encodeRecords(CREDIT_SCHEMA, [{ ...record, region: 'mars' }])).toThrow(/row 0: region must be one of north, south, east, west; got "mars"/);
    const { income: _income, ...withoutIncome } = record!;
    expect(() => encodeRecords(CREDIT_SCHEMA, [withoutIncome])).toThrow(/income must be a finite number/);
    expect(() => encodeRecords(CREDIT_SCHEMA, [{ ...record, age: Number.NaN }])).toThrow(/age must be a finite number/);
  });

  it('slices labelled columns without sharing memory', () => {
    const data = generateCreditData(20, 5);
    const slice = sliceLabelledColumns(CREDIT_SCHEMA, data, 5, 10);
    expect(slice.rows).toBe(5);
    expect(Array.from(slice.numeric.age)).toEqual(Array.from(data.numeric.age.subarray(5, 10)));
    slice.numeric.age[0] = -1;
    expect(data.numeric.age[5]).not.toBe(-1);
  });
});

describe('credit dataset', () => {
  it('is a function of its seed', () => {
    const a = generateCreditData(1000, 11);
    const b = generateCreditData(1000, 11);
    const c = generateCreditData(1000, 12);
    expect(encodeColumns(CREDIT_SCHEMA, a)).toEqual(encodeColumns(CREDIT_SCHEMA, b));
    expect(a.labels).toEqual(b.labels);
    expect(a.labels).not.toEqual(c.labels);
  });

  it('has plausible ranges and a balanced-enough default rate', () => {
    const data = generateCreditData(10_000, 1);
    const { age, income, debt_ratio: debt, credit_utilization: utilization, late_payments: late } = data.numeric;
    expect(Math.min(...age)).toBeGreaterThanOrEqual(18);
    expect(Math.max(...age)).toBeLessThanOrEqual(80);
    expect(Math.min(...income)).toBeGreaterThan(0);
    expect(Math.min(...debt)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...utilization)).toBeLessThanOrEqual(1);
    expect(late.every((x) => Number.isInteger(x) && x >= 0)).toBe(true);
    const defaultRate = data.labels.reduce((a, b) => a + b, 0) / data.rows;
    expect(defaultRate).toBeGreaterThan(0.35);
    expect(defaultRate).toBeLessThan(0.65);
  });

  it('draws categories with the population mix and counts with small Poisson rates', () => {
    const data = generateCreditData(20_000, 3);
    const shares = [0, 0, 0, 0];
    for (const level of data.categorical.employment) shares[level]! += 1 / data.rows;
    const mix = BASE_CREDIT_POPULATION.categoryMix.employment;
    [mix.salaried, mix.self_employed, mix.unemployed, mix.student].forEach((p, i) => expect(Math.abs(shares[i]! - p)).toBeLessThan(0.012));
    // Open accounts ~ Poisson(1.5 + min(history, 360) / 120): its mean and variance agree.
    let expectedMean = 0;
    for (const h of data.numeric.credit_history_months) expectedMean += (1.5 + Math.min(h, 360) / 120) / data.rows;
    const accounts = data.numeric.num_open_accounts;
    const mean = accounts.reduce((a, b) => a + b, 0) / data.rows;
    expect(mean).toBeCloseTo(expectedMean, 1);
  });

  it('draws labels from the known relationship', () => {
    const data = generateCreditData(20_000, 2);
    const logits = creditLogits(data, BASE_CREDIT_POPULATION.labelRelationship);
    // Among applicants the relationship calls risky, most default; among the safe, few do.
    let riskyDefaults = 0, risky = 0, safeDefaults = 0, safe = 0;
    for (let r = 0; r < data.rows; r++) {
      if (logits[r]! > 1.5) { risky++; riskyDefaults += data.labels[r]!; }
      if (logits[r]! < -1.5) { safe++; safeDefaults += data.labels[r]!; }
    }
    expect(riskyDefaults / risky).toBeGreaterThan(0.75);
    expect(safeDefaults / safe).toBeLessThan(0.25);
  });
});
