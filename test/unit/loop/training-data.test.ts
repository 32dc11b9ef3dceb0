import { describe, expect, it } from 'vitest';
import { retrainedVersionName } from '../../../src/activities/retrain-register.js';
import type { ModelContract } from '../../../src/contracts/index.js';
import { builtinLimitation } from '../../../src/loop/trainers/index.js';
import { loggedRowsTable, splitRows, tableCsv } from '../../../src/loop/training-data.js';
import { exporterFixtureContract } from '../../support/exporter-contracts.js';
import { exporterFixtureSignature } from '../../support/seed.js';

const bytes = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);

describe('training data for a retrain', () => {
  it('splits the same rows the same way for the same retrain, and differently for another', () => {
    const a = splitRows(1000, 0.2, 'rt_1');
    expect(splitRows(1000, 0.2, 'rt_1')).toEqual(a);
    expect(splitRows(1000, 0.2, 'rt_2').holdout).not.toEqual(a.holdout);
    expect(a.train.length + a.holdout.length).toBe(1000);
    expect(a.holdout.length).toBeGreaterThan(150);
    expect(a.holdout.length).toBeLessThan(250);
    expect(new Set([...a.train, ...a.holdout]).size).toBe(1000);
  });

  it('splits logged rows back into the contract\'s feature columns (two inputs, in signature order), skipping rows of another width', () => {
    const contract = exporterFixtureContract('two-inputs');
    const sig = exporterFixtureSignature('two-inputs');
    const names = contract.inputs.flatMap((i) => i.features ?? [i.name]);
    const row = names.map((_, j) => j + 0.5);
    const table = loggedRowsTable(contract, sig, [{ inputs: bytes(row), label: 1 }, { inputs: bytes([1, 2]), label: 0 }, { inputs: bytes(row.map((v) => -v)), label: 0 }]);
    if (!table.ok) throw new Error(table.message);
    expect(table.skipped).toBe(1);
    expect(table.set.rows).toBe(2);
    expect(table.set.labels).toEqual([1, 0]);
    names.forEach((name, j) => expect(table.set.columns[name]).toEqual([j + 0.5, -(j + 0.5)]));
  });

  it('reads logged rows in the signature\'s input order when the contract lists the inputs in another', () => {
    const contract = exporterFixtureContract('two-inputs');
    const sig = exporterFixtureSignature('two-inputs');
    const reversed: ModelContract = { ...contract, inputs: [...contract.inputs].reverse() };
    const inSignatureOrder = sig.inputs.flatMap((t) => contract.inputs.find((i) => i.name === t.name)?.features ?? [t.name]);
    const row = inSignatureOrder.map((_, j) => j + 0.25);
    const table = loggedRowsTable(reversed, sig, [{ inputs: bytes(row), label: 1 }]);
    if (!table.ok) throw new Error(table.message);
    inSignatureOrder.forEach((name, j) => expect(table.set.columns[name]).toEqual([j + 0.25]));
  });

  it('refuses to read a string input from the log (it is not logged), naming the input', () => {
    const table = loggedRowsTable(exporterFixtureContract('string-category'), exporterFixtureSignature('string-category'), []);
    expect(table.ok).toBe(false);
    expect(!table.ok && table.message).toMatch(/^input \S+ is string: the inference log leaves strings out/);
  });

  it('writes CSV with the feature columns then label, quoting what needs it', () => {
    const contract: ModelContract = { task: 'binary_classification', inputs: [{ name: 'x', elementType: 'string', features: ['city', 'n'] }], score: { output: 'p', transform: 'none' } };
    const csv = tableCsv(contract, { rows: 2, columns: { city: ['Paris, FR', 'say "hi"'], n: [1, 2] }, labels: [0, 1] }, [1, 0]);
    expect(csv).toBe('city,n,label\n"say ""hi""",2,1\n"Paris, FR",1,0\n');
  });
});

describe('retrained version names and the built-in trainer\'s reach', () => {
  it('numbers a retrained version after its parent, past the ones already taken', () => {
    expect(retrainedVersionName('v2', ['v1', 'v2'])).toBe('v3');
    expect(retrainedVersionName('v1', ['v1', 'v2', 'v10', 'vx'])).toBe('v11');
    expect(retrainedVersionName('champion', [])).toBe('champion-rt1');
    expect(retrainedVersionName('v1-rt2', ['v1-rt1', 'v1-rt2', 'v1-rtx'])).toBe('v1-rt3');
    expect(retrainedVersionName(null, [])).toBe('v-rt1');
  });

  it('names why the built-in trainer cannot build a model of another shape', () => {
    expect(builtinLimitation(exporterFixtureContract('regressor-flat'))).toMatch(/\(its task is regression\): use a command or webhook trainer$/);
    expect(builtinLimitation(exporterFixtureContract('two-inputs'))).toMatch(/\(it has 2 inputs\)/);
    expect(builtinLimitation({ task: 'binary_classification', inputs: [{ name: 'input', elementType: 'float32', features: ['a'] }], score: { output: 'probability', transform: 'none' } })).toBeNull();
  });
});
