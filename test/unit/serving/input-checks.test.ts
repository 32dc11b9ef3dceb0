// Input checks against reference profiles as the project really builds them: the credit model's
// one-hot encoded input (src/models/features.ts), the feature names registration stores in the
// version's metadata (`embedded`, read from the model file), and profiles from buildReferenceProfile.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  BASE_CREDIT_POPULATION, CREDIT_FEATURE_NAMES, CREDIT_SCHEMA, encodeColumns, encodeRecords, generateCreditData,
  parseModelMetadata, readOnnxModelInfo, recordsFromColumns, type CreditPopulation, type RawRecord,
} from '../../../src/models/index.js';
import { exporterEvaluationSet, exporterFixtureModel, fixtureModel } from '../../../src/models/fixtures.js';
import { compileInputChecks, compileVersionInputChecks, describeViolation, findViolations, type InputChecks } from '../../../src/serving/protocol/input-checks.js';
import { signatureFromMetadata } from '../../../src/serving/protocol/signature.js';
import { exporterFixtureContract } from '../../support/exporter-contracts.js';
import { buildReferenceProfile, type Column } from '../../../src/stats/index.js';

const WIDTH = CREDIT_FEATURE_NAMES.length;

/** The version metadata as registration stores it: `embedded` is the model file's own metadata. */
function registeredMetadata(): Record<string, unknown> {
  const embedded = parseModelMetadata(readOnnxModelInfo(fs.readFileSync(fixtureModel('logreg').path)).metadata);
  if (!embedded) throw new Error('the fixture model carries no Sluice metadata');
  return { embedded: JSON.parse(JSON.stringify(embedded)) as unknown, owner: 'risk-team' };
}

/** Reference applicants from a population that has no applicants from the west. */
const NO_WEST: CreditPopulation = {
  ...BASE_CREDIT_POPULATION,
  categoryMix: { ...BASE_CREDIT_POPULATION.categoryMix, region: { north: 0.3, south: 0.3, east: 0.4, west: 0 } },
};
const reference = generateCreditData(400, 7, NO_WEST);
const records = recordsFromColumns(CREDIT_SCHEMA, reference);

/** A profile as the registry stores it (JSONB), built with the project's profile builder. */
function profileOf(columns: Record<string, Column>, prediction?: string): unknown {
  const built = buildReferenceProfile(columns, { bins: 10, sampleSize: 100, ...(prediction ? { prediction } : {}) });
  if (!built.ok) throw new Error(built.message);
  return JSON.parse(JSON.stringify(built.profile)) as unknown;
}

/**
 * Raw reference data, categorical columns first and with a column the model does not read: the
 * profile's order is not the model's column order.
 */
function rawProfile(): unknown {
  const columns: Record<string, Column> = {};
  for (const { name } of CREDIT_SCHEMA.categorical) columns[name] = records.map((r) => r[name] as string);
  columns.customer_id = records.map((_, i) => i * 13 + 100_000);
  for (const name of CREDIT_SCHEMA.numeric) columns[name] = Array.from(reference.numeric[name]);
  return profileOf(columns);
}

function compiled(profile: unknown, metadata: Record<string, unknown> | undefined = registeredMetadata()): InputChecks {
  const checks = compileInputChecks(profile, metadata, WIDTH);
  if (checks === null) throw new Error('no checks compiled');
  return checks;
}

const minOf = (name: (typeof CREDIT_SCHEMA.numeric)[number]) => Math.min(...reference.numeric[name]);
const maxOf = (name: (typeof CREDIT_SCHEMA.numeric)[number]) => Math.max(...reference.numeric[name]);

describe('input checks from a profile of raw reference data', () => {
  it('the fixture is what the test assumes: one-hot region columns, no west applicant in the reference', () => {
    expect(registeredMetadata().embedded).toMatchObject({ featureNames: [...CREDIT_FEATURE_NAMES] });
    expect(CREDIT_FEATURE_NAMES).toEqual(expect.arrayContaining(['region=north', 'region=south', 'region=east', 'region=west']));
    expect(records.some((r) => r.region === 'west')).toBe(false);
    expect(new Set(records.map((r) => r.region))).toEqual(new Set(['north', 'south', 'east']));
  });

  it('passes every reference row', () => {
    const checks = compiled(rawProfile());
    expect(findViolations(checks, encodeRecords(CREDIT_SCHEMA, records), records.length, 1000)).toEqual([]);
  });

  it('reports a category outside the profile by the feature name, and describes it with the known categories', () => {
    const checks = compiled(rawProfile());
    const west: RawRecord = { ...records[1]!, region: 'west' };
    const batch = encodeRecords(CREDIT_SCHEMA, [records[0]!, west, records[2]!]);
    const violations = findViolations(checks, batch, 3);
    expect(violations).toEqual([{ feature: 'region', kind: 'unknown_category', row: 1, value: 'west' }]);
    const message = describeViolation(violations[0]!, checks);
    expect(message).toMatch(/^feature 'region' \(row 1\) is 'west', not one of the version's known categories \(([^)]*)\)$/);
    const listed = /categories \(([^)]*)\)$/.exec(message)![1]!.split(', ');
    expect(new Set(listed)).toEqual(new Set(['north', 'south', 'east']));
    // The other categorical features hold every level in the reference: all of theirs pass.
    for (const employment of CREDIT_SCHEMA.categorical[1].levels) {
      const row = encodeRecords(CREDIT_SCHEMA, [{ ...records[0]!, employment }]);
      expect(findViolations(checks, row, 1)).toEqual([]);
    }
  });

  it('reports one-hot groups no encoder of this project produces: no category, several, not 0 or 1', () => {
    const checks = compiled(rawProfile());
    const north = CREDIT_FEATURE_NAMES.indexOf('region=north');
    const east = CREDIT_FEATURE_NAMES.indexOf('region=east');
    const row = () => encodeRecords(CREDIT_SCHEMA, [{ ...records[0]!, region: 'north' }]);
    const none = row();
    none[north] = 0;
    const two = row();
    two[east] = 1;
    const half = row();
    half[north] = 0.5;
    for (const [data, value, detail] of [[none, 0, /no category set/], [two, 2, /2 categories set \(north, east\)/], [half, 0.5, /0\.5 in its one-hot column 'region=north'/]] as const) {
      const violations = findViolations(checks, data, 1);
      expect(violations).toEqual([{ feature: 'region', kind: 'invalid_one_hot', row: 0, value, detail: expect.stringMatching(detail) as unknown }]);
      expect(describeViolation(violations[0]!, checks)).toMatch(/^feature 'region' \(row 0\) .*; expected exactly one of the version's known categories \((north|south|east)(, (north|south|east)){2}\)$/);
    }
  });

  it('checks numeric ranges in the model\'s columns, whatever the profile\'s order, and skips columns the model does not read', () => {
    const checks = compiled(rawProfile());
    expect(checks.features.map((f) => f.name)).not.toContain('customer_id');
    const age = Math.fround(minOf('age') - 1);
    const young = encodeRecords(CREDIT_SCHEMA, [{ ...records[0]!, age }]);
    const violations = findViolations(checks, young, 1);
    expect(violations).toEqual([{ feature: 'age', kind: 'below_min', row: 0, value: age }]);
    expect(describeViolation(violations[0]!, checks)).toBe(`feature 'age' (row 0) is ${age}, outside the version's reference range [${minOf('age')}, ${maxOf('age')}]`);
    const utilization = encodeRecords(CREDIT_SCHEMA, [{ ...records[0]!, credit_utilization: maxOf('credit_utilization') + 1 }]);
    expect(findViolations(checks, utilization, 1)).toMatchObject([{ feature: 'credit_utilization', kind: 'above_max', row: 0 }]);
  });

  it('reject stops at the first violation; count gets them all, row by row', () => {
    const checks = compiled(rawProfile());
    const batch = encodeRecords(CREDIT_SCHEMA, [
      { ...records[0]!, region: 'west' },
      { ...records[1]!, age: minOf('age') - 5, region: 'west' },
    ]);
    expect(findViolations(checks, batch, 2, 1)).toEqual([{ feature: 'region', kind: 'unknown_category', row: 0, value: 'west' }]);
    expect(findViolations(checks, batch, 2).map((v) => `${v.row}:${v.feature}:${v.kind}`)).toEqual(['0:region:unknown_category', '1:age:below_min', '1:region:unknown_category']);
  });

  it('holds float32 input to the float32 rounding of the profile\'s float64 bounds', () => {
    const checks = compileInputChecks(profileOf({ x: [0.1, 0.5, 0.952] }), undefined, 1)!;
    expect(checks.features).toMatchObject([{ name: 'x', min: 0.1, max: 0.952 }]);
    expect(Math.fround(0.952)).toBeGreaterThan(0.952);
    expect(findViolations(checks, Float32Array.from([0.1, 0.952]), 2)).toEqual([]);
    expect(findViolations(checks, Float64Array.from([0.1, 0.952]), 2)).toEqual([]);
    expect(findViolations(checks, Float64Array.from([Math.fround(0.952)]), 1)).toMatchObject([{ feature: 'x', kind: 'above_max' }]);
    expect(findViolations(checks, Float32Array.from([0.9521]), 1)).toMatchObject([{ feature: 'x', kind: 'above_max' }]);
  });

  it('leaves rows of another width unchecked', () => {
    const checks = compiled(rawProfile());
    expect(findViolations(checks, new Float32Array(2 * (WIDTH - 1)), 2)).toEqual([]);
  });
});

describe('input checks from a profile of encoded reference data (the form that gets predictions)', () => {
  /** Columns by the model's feature names, as computeReferenceProfile takes them to run the model. */
  function encodedProfile(): unknown {
    const matrix = encodeColumns(CREDIT_SCHEMA, reference);
    const columns: Record<string, Column> = {};
    CREDIT_FEATURE_NAMES.forEach((name, j) => {
      columns[name] = Array.from({ length: reference.rows }, (_, i) => matrix[i * WIDTH + j]!);
    });
    columns.prediction = Array.from({ length: reference.rows }, (_, i) => (i % 10) / 10);
    return profileOf(columns, 'prediction');
  }

  it('passes the reference rows and reports a level never set in the reference on its feature', () => {
    const checks = compiled(encodedProfile());
    expect(checks.features.map((f) => f.name)).not.toContain('region=west');
    expect(findViolations(checks, encodeRecords(CREDIT_SCHEMA, records), records.length, 1000)).toEqual([]);
    const violations = findViolations(checks, encodeRecords(CREDIT_SCHEMA, [{ ...records[3]!, region: 'west' }]), 1);
    expect(violations).toEqual([{ feature: 'region', kind: 'unknown_category', row: 0, value: 'west' }]);
    expect(describeViolation(violations[0]!, checks)).toBe("feature 'region' (row 0) is 'west', not one of the version's known categories (north, south, east)");
    const none = encodeRecords(CREDIT_SCHEMA, [{ ...records[3]!, home_ownership: 'rent' }]);
    none[CREDIT_FEATURE_NAMES.indexOf('home_ownership=rent')] = 0;
    expect(findViolations(checks, none, 1)).toMatchObject([{ feature: 'home_ownership', kind: 'invalid_one_hot' }]);
  });

  it('still checks the numeric ranges', () => {
    const checks = compiled(encodedProfile());
    const rich = encodeRecords(CREDIT_SCHEMA, [{ ...records[0]!, income: maxOf('income') * 2 }]);
    expect(findViolations(checks, rich, 1)).toEqual([{ feature: 'income', kind: 'above_max', row: 0, value: Math.fround(maxOf('income') * 2) }]);
  });
});

describe('input checks without the model\'s feature names', () => {
  it('a hand-written profile places features by index or position, with numeric category codes', () => {
    const checks = compileInputChecks(null, { inputChecks: { features: [{ name: 'age', min: 18, max: 100 }, { name: 'code', categories: ['0', '1', '2'] }] } }, 3);
    expect(checks).not.toBeNull();
    const data = Float32Array.from([30, 1, 9, 5, 3, 9]);
    const violations = findViolations(checks!, data, 2);
    expect(violations).toEqual([
      { feature: 'age', kind: 'below_min', row: 1, value: 5 },
      { feature: 'code', kind: 'unknown_category', row: 1, value: 3 },
    ]);
    expect(describeViolation(violations[0]!, checks!)).toBe("feature 'age' (row 1) is 5, outside the version's reference range [18, 100]");
    expect(describeViolation(violations[1]!, checks!)).toBe("feature 'code' (row 1) is 3, not one of the version's known categories (0, 1, 2)");
  });

  it('feature names that disagree with the input width are not trusted', () => {
    const checks = compileInputChecks({ features: [{ name: 'age', min: 18, max: 100 }] }, { embedded: { featureNames: ['x', 'age'] } }, 3);
    expect(checks?.features).toMatchObject([{ name: 'age', column: 0 }]);
  });

  it('nothing to check compiles to null', () => {
    expect(compileInputChecks(undefined, {}, WIDTH)).toBeNull();
    expect(compileInputChecks({ features: [{ name: 'unread', min: 0, max: 1 }] }, registeredMetadata(), WIDTH)).toBeNull();
  });
});

describe('input checks per named input (a contract with several inputs)', () => {
  // The two-inputs fixture: `numeric` float32 [N,8] and `employment` int64 [N,1] (a category code).
  const kind = 'two-inputs';
  const contract = exporterFixtureContract(kind);
  const signature = signatureFromMetadata(
    exporterFixtureModel(kind).entry.inputs.map((i) => ({ name: i.name, isTensor: true, type: i.type, shape: i.shape })),
    exporterFixtureModel(kind).entry.outputs.map((o) => ({ name: o.name, isTensor: true, type: o.type, shape: o.shape })),
  );
  /** The evaluation set as reference data: every feature of every input, the employment codes as categories. */
  function twoInputProfile(): unknown {
    const { columns, rows } = exporterEvaluationSet(kind);
    const at = (name: string) => columns.indexOf(name);
    const profiled: Record<string, Column> = {};
    for (const input of contract.inputs) {
      for (const feature of input.features ?? [input.name]) {
        profiled[feature] = input.elementType === 'int64' ? rows.map((r) => r[at(feature)] as string) : rows.map((r) => Number(r[at(feature)]));
      }
    }
    return profileOf(profiled);
  }
  const checks = compileVersionInputChecks(twoInputProfile(), {}, signature.inputs, contract);
  const inputs = exporterEvaluationSet(kind);

  it('compiles checks for each input from the one profile, each on its own columns', () => {
    expect(checks.map((c) => [c.input, c.name])).toEqual([[0, 'numeric'], [1, 'employment']]);
    expect(checks[0]?.checks.features.map((f) => f.name)).toEqual(contract.inputs[0]?.features);
    expect(checks[1]?.checks.features).toMatchObject([{ name: 'employment', column: 0, categories: new Set([0, 1, 2, 3]) }]);
    expect(checks[1]?.checks.width).toBe(1);
  });

  it('finds a violation in the second input and names its input and feature', () => {
    const rows = inputs.rows.slice(0, 3);
    const employment = BigInt64Array.from(rows, (r) => BigInt(r[inputs.columns.indexOf('employment')] as string));
    const numeric = Float32Array.from(rows.flatMap((r) => (contract.inputs[0]?.features ?? []).map((f) => Number(r[inputs.columns.indexOf(f)]))));
    expect(findViolations(checks[0]!.checks, numeric, 3)).toEqual([]);
    expect(findViolations(checks[1]!.checks, employment, 3)).toEqual([]);
    employment[2] = 7n;
    const [violation] = findViolations(checks[1]!.checks, employment, 3);
    expect(violation).toEqual({ feature: 'employment', kind: 'unknown_category', row: 2, value: 7 });
    expect(`input '${checks[1]!.name}': ${describeViolation(violation!, checks[1]!.checks)}`)
      .toMatch(/^input 'employment': feature 'employment' \(row 2\) is 7, not one of the version's known categories \([0-3], [0-3], [0-3], [0-3]\)$/);
    numeric[8] = 10_000; // row 1's age, far above the reference's oldest
    expect(findViolations(checks[0]!.checks, numeric, 3)).toMatchObject([{ feature: 'age', kind: 'above_max', row: 1 }]);
  });

  it('checks a string input\'s values against the profile\'s categories (no range), and a violation names the value', () => {
    const strings = signatureFromMetadata(
      [{ name: 'numeric', isTensor: true, type: 'float32', shape: ['N', 8] }, { name: 'employment', isTensor: true, type: 'string', shape: ['N', 1] }], [],
    );
    const csv = exporterEvaluationSet('string-category');
    const words = csv.rows.map((r) => r[csv.columns.indexOf('employment')] as string);
    const profile = profileOf({ age: csv.rows.map((r) => Number(r[csv.columns.indexOf('age')])), employment: words });
    const checks = compileVersionInputChecks(profile, {}, strings.inputs, exporterFixtureContract('string-category'));
    expect(checks.map((c) => [c.name, c.checks.features.map((f) => f.name)])).toEqual([['numeric', ['age']], ['employment', ['employment']]]);
    const employment = checks[1]!.checks;
    expect(findViolations(employment, words.slice(0, 4), 4)).toEqual([]);
    const [violation] = findViolations(employment, [words[0]!, 'astronaut'], 2);
    expect(violation).toEqual({ feature: 'employment', kind: 'unknown_category', row: 1, value: 'astronaut' });
    expect(describeViolation(violation!, employment)).toMatch(/^feature 'employment' \(row 1\) is 'astronaut', not one of the version's known categories \(.*salaried.*\)$/);
    // A profile with no categories for it (a range means nothing for strings): the string input goes unchecked.
    expect(compileVersionInputChecks({ features: [{ name: 'employment', min: 0, max: 3 }] }, {}, strings.inputs, exporterFixtureContract('string-category'))).toEqual([]);
  });

  it('keeps a profile feature to the input it names, and without a contract checks the first input only', () => {
    const scoped = { features: [{ name: 'employment', input: 'other', categories: ['0'] }, { name: 'age', min: 0, max: 1 }] };
    expect(compileVersionInputChecks(scoped, {}, signature.inputs, contract).map((c) => [c.name, c.checks.features.map((f) => f.name)])).toEqual([['numeric', ['age']]]);
    // One input whose contract's names match none of the profile's: read as before contracts, by position.
    const single = signatureFromMetadata([{ name: 'x', isTensor: true, type: 'float32', shape: ['N', 2] }], []);
    const unnamed = { task: 'regression' as const, inputs: [{ name: 'x', elementType: 'float32' as const, features: ['x[0]', 'x[1]'] }], score: { output: 'y', transform: 'none' as const } };
    expect(compileVersionInputChecks({ features: [{ name: 'a', min: 0, max: 1 }] }, {}, single.inputs, unnamed).map((c) => c.checks.features.map((f) => [f.name, f.column]))).toEqual([[['a', 0]]]);
    // Without a contract (and no feature names in the metadata), as before: the first input, its columns by position.
    expect(compileVersionInputChecks(scoped, {}, signature.inputs, null).map((c) => [c.name, c.checks.features.map((f) => f.column)])).toEqual([['numeric', [0, 1]]]);
  });
});
