import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { feedsFor, requiredColumns, targetsFor, type ModelContract } from '../../../src/contracts/index.js';
import { CsvReader, JsonlReader, parseDataset, readStoredDataset, type DatasetOptions, type ParsedDataset } from '../../../src/datasets/index.js';
import { exporterEvaluationSet, exporterFixtureModel, type ExporterFixtureKind } from '../../../src/models/fixtures.js';
import { legacyEvaluationSet } from '../../../src/registry/datasets.js';
import { exporterFixtureContract } from '../../support/exporter-contracts.js';
import { exporterFixtureSignature as exporterSignature } from '../../support/seed.js';

const ok = async (p: Promise<Awaited<ReturnType<typeof parseDataset>>>): Promise<ParsedDataset> => {
  const r = await p;
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r)}`);
  return r.dataset;
};

function csvRecords(text: string, chunk = text.length): string[][] | { line: number; message: string } {
  const reader = new CsvReader();
  const out: string[][] = [];
  for (let i = 0; i < text.length; i += chunk) {
    const r = reader.push(text.slice(i, i + chunk));
    if ('problem' in r) return r.problem;
    out.push(...r.records.map((x) => x.cells));
  }
  const r = reader.end();
  if ('problem' in r) return r.problem;
  return [...out, ...r.records.map((x) => x.cells)];
}

describe('CsvReader (RFC 4180)', () => {
  const text = 'a,b,c\r\n1,"x, y","say ""hi"""\r\n"multi\nline",,"\n"\n\n3,4,5';
  const expected = [['a', 'b', 'c'], ['1', 'x, y', 'say "hi"'], ['multi\nline', '', '\n'], ['3', '4', '5']];
  it('reads quoted commas, doubled quotes, line breaks in quotes, CRLF and a last line without a break', () => {
    expect(csvRecords(text)).toEqual(expected);
  });
  it('reads the same records whatever the chunk boundaries', () => {
    for (const chunk of [1, 2, 3, 7]) expect(csvRecords(text, chunk), `chunk ${chunk}`).toEqual(expected);
  });
  it('names the line of an unclosed quote, a stray quote and text after a closing quote', () => {
    expect(csvRecords('a,b\n1,"open\n\n')).toEqual({ line: 2, message: 'a quoted field is never closed' });
    expect(csvRecords('a,b\n1,x"y\n')).toMatchObject({ line: 2, message: expect.stringMatching(/quote inside an unquoted field/) });
    expect(csvRecords('a,b\n1,"x"y\n')).toMatchObject({ line: 2, message: expect.stringMatching(/after a closing quote/) });
  });
  it('counts lines inside quoted fields for the records after them', () => {
    const reader = new CsvReader();
    const r = reader.push('a\n"1\n2"\n3\n');
    expect('records' in r && r.records.map((x) => x.line)).toEqual([1, 2, 4]);
  });
});

describe('JsonlReader', () => {
  it('reads one object per line across chunks, skipping blank lines, and names a bad line', () => {
    const reader = new JsonlReader();
    const a = reader.push('{"x": 1}\n\n{"x"');
    const b = reader.push(': 2}\n{"x": 3}');
    const c = reader.end();
    expect([a, b, c].flatMap((r) => ('records' in r ? r.records : []))).toEqual([{ value: { x: 1 }, line: 1 }, { value: { x: 2 }, line: 3 }, { value: { x: 3 }, line: 4 }]);
    expect(new JsonlReader().push('{"x": 1}\n[1]\n')).toEqual({ problem: { line: 2, message: 'must be a JSON object of column: value' } });
    expect(new JsonlReader().push('{"x": 1}\n{x}\n')).toMatchObject({ problem: { line: 2, message: expect.stringMatching(/not valid JSON/) } });
  });
});

const kinds: ExporterFixtureKind[] = ['two-inputs', 'string-category', 'multiclass-logits', 'regressor-flat', 'binary-label-probabilities', 'float64'];

describe('parseDataset on the exporter fixtures\' evaluation CSVs', () => {
  it.each(kinds)('%s: every row, typed by its input, labels the model\'s, segments where the file has them', async (kind) => {
    const fixture = exporterFixtureModel(kind);
    const contract = exporterFixtureContract(kind);
    const bytes = fs.readFileSync(fixture.datasetPath);
    // Cut into small chunks, one of them inside a multi-byte boundary's reach: the reader must not care.
    const chunks = Array.from({ length: Math.ceil(bytes.length / 97) }, (_, i) => bytes.subarray(i * 97, (i + 1) * 97));
    const d = await ok(parseDataset(chunks, { format: 'csv', contract }));
    const csv = exporterEvaluationSet(kind);
    expect(d.rows).toBe(fixture.entry.dataset.rows);
    expect(d.columns.map((c) => c.name)).toEqual(csv.columns);
    expect(d.label).toBe('label');
    expect(d.segment).toBe(fixture.entry.dataset.segment ?? null);
    expect(Object.keys(d.set.columns)).toEqual(requiredColumns(contract));
    for (const input of contract.inputs) {
      for (const feature of input.features ?? [input.name]) {
        const j = csv.columns.indexOf(feature);
        expect(d.set.columns[feature], feature).toEqual(csv.rows.map((r) => (input.elementType === 'string' ? r[j] : Number(r[j]))));
      }
    }
    const labelAt = csv.columns.indexOf('label');
    expect(d.set.labels).toEqual(csv.rows.map((r) => Number(r[labelAt])));
    if (d.segment) expect(d.set.segments).toEqual(csv.rows.map((r) => r[csv.columns.indexOf('segment')]));
    else expect(d.set.segments).toBeUndefined();
    // What came out is what validation feeds the model and scores against.
    expect(feedsFor(contract, exporterSignature(kind), d.set).ok).toBe(true);
    expect(targetsFor(contract, d.set.labels).ok).toBe(true);
    // And it reads back the same by the columns recorded at upload, without the contract.
    const back = await readStoredDataset([bytes], { format: 'csv', columns: d.columns });
    expect(back.ok && back.dataset.set).toEqual(d.set);
  });

  it('reads the same dataset as JSON lines, with typed JSON values', async () => {
    const kind = 'string-category';
    const contract = exporterFixtureContract(kind);
    const csv = exporterEvaluationSet(kind);
    const lines = csv.rows.map((r) => JSON.stringify(Object.fromEntries(csv.columns.map((c, j) => [c, c === 'employment' || c === 'segment' ? r[j] : Number(r[j])]))));
    const fromJson = await ok(parseDataset([lines.join('\n') + '\n'], { format: 'jsonl', contract }));
    const fromCsv = await ok(parseDataset([fs.readFileSync(exporterFixtureModel(kind).datasetPath)], { format: 'csv', contract }));
    expect(fromJson.set).toEqual(fromCsv.set);
    expect(fromJson.columns).toEqual(fromCsv.columns);
  });
});

describe('parseDataset refuses, naming the field', () => {
  const contract = exporterFixtureContract('two-inputs');
  const csv = exporterEvaluationSet('two-inputs');
  const header = csv.columns;
  const rows = csv.rows.slice(0, 3);
  const text = (h: string[], rs: string[][]) => [h.join(','), ...rs.map((r) => r.join(','))].join('\n') + '\n';
  const refuse = async (body: string, opts: Partial<DatasetOptions> = {}) => {
    const r = await parseDataset([body], { format: 'csv', contract, ...opts });
    if (r.ok) throw new Error('expected a refusal');
    return r;
  };
  const at = (name: string) => header.indexOf(name);
  const withCell = (row: number, name: string, value: string) => rows.map((r, i) => (i === row ? r.map((c, j) => (j === at(name) ? value : c)) : r));

  it('missing and extra columns, each named', async () => {
    const missing = await refuse(text(header.filter((c) => c !== 'income' && c !== 'label'), rows.map((r) => r.filter((_, j) => j !== at('income') && j !== at('label')))));
    expect(missing.field).toBe('columns');
    expect(missing.message).toMatch(/missing columns "income", "label"/);
    const extra = await refuse(text([...header, 'colour'], rows.map((r) => [...r, 'red'])));
    expect(extra).toMatchObject({ field: 'columns', message: expect.stringMatching(/^extra column "colour"/) });
    const both = await refuse(text([...header.filter((c) => c !== 'age'), 'colour'], rows.map((r) => [...r.filter((_, j) => j !== at('age')), 'red'])));
    expect(both.message).toMatch(/missing column "age"; extra column "colour"/);
    expect((await refuse(text([...header, 'age'], rows.map((r) => [...r, '1'])))).message).toMatch(/column "age" appears more than once/);
  });

  it('a named label or segment column the file lacks; a label column that is a feature', async () => {
    expect(await refuse(text(header, rows), { label: 'target' })).toMatchObject({ field: 'columns', message: expect.stringMatching(/missing column "target"; extra column "label"/) });
    expect(await refuse(text(header, rows), { segment: 'region' })).toMatchObject({ field: 'columns', message: expect.stringMatching(/missing column "region"; extra column "segment"/) });
    expect(await refuse(text(header, rows), { label: 'age' })).toMatchObject({ field: 'label' });
  });

  it('a cell not of its input\'s type, by column and row', async () => {
    expect(await refuse(text(header, withCell(1, 'income', 'lots')))).toEqual({
      ok: false, field: 'columns/income/1', message: 'row 1 (line 3) of column income is "lots", not a float32 value',
    });
    // employment is an int64 input here: 1.5 is no integer, and an empty cell is no number.
    expect(await refuse(text(header, withCell(2, 'employment', '1.5')))).toMatchObject({ field: 'columns/employment/2' });
    expect(await refuse(text(header, withCell(0, 'age', '')))).toMatchObject({ field: 'columns/age/0' });
  });

  it('labels that are not the model\'s classes, empty or NaN (and NaN regression targets)', async () => {
    expect(await refuse(text(header, withCell(2, 'label', '2')))).toMatchObject({ field: 'columns/label/2', message: expect.stringMatching(/row 2's label "2" is not a class/) });
    expect(await refuse(text(header, withCell(0, 'label', '')))).toMatchObject({ field: 'columns/label/0' });
    expect(await refuse(text(header, withCell(1, 'label', 'NaN')))).toMatchObject({ field: 'columns/label/1' });
    const reg = exporterEvaluationSet('regressor-flat');
    const regText = text(reg.columns, reg.rows.slice(0, 2).map((r, i) => (i === 1 ? [...r.slice(0, -1), 'NaN'] : r)));
    expect(await parseDataset([regText], { format: 'csv', contract: exporterFixtureContract('regressor-flat') })).toMatchObject({ ok: false, field: 'columns/label/1', message: expect.stringMatching(/not a finite number/) });
  });

  it('rows of the wrong width, broken quoting, no rows, not UTF-8, over the row limit', async () => {
    expect(await refuse(text(header, [rows[0]!, rows[1]!.slice(1)]))).toMatchObject({ field: 'rows/1', message: expect.stringMatching(/row 1 \(line 3\) has 10 values; the header has 11/) });
    expect(await refuse(`${header.join(',')}\n"${rows[0]!.join(',')}\n`)).toMatchObject({ field: 'lines/2' });
    expect(await refuse(`${header.join(',')}\n`)).toMatchObject({ field: 'body', message: 'has a header but no rows' });
    expect(await refuse('')).toMatchObject({ field: 'body' });
    const latin1 = await parseDataset([Buffer.from([0x61, 0xe9, 0x0a])], { format: 'csv', contract });
    expect(latin1).toMatchObject({ ok: false, field: 'body', message: 'is not UTF-8 text' });
    expect(await refuse(text(header, rows), { maxRows: 2 })).toMatchObject({ field: 'body', tooLarge: true });
  });

  it('JSON lines: a row lacking a column or with one more, a null cell, a line that is no object', async () => {
    const json = (objs: object[]) => objs.map((o) => JSON.stringify(o)).join('\n');
    const row = (i: number) => Object.fromEntries(header.map((c, j) => [c, c === 'segment' ? rows[i]![j] : Number(rows[i]![j])]));
    const jsonl = (objs: object[], opts: Partial<DatasetOptions> = {}) => parseDataset([json(objs)], { format: 'jsonl', contract, ...opts });
    expect((await jsonl([row(0), row(1)])).ok).toBe(true);
    const { age: _age, ...noAge } = row(1);
    expect(await jsonl([row(0), noAge])).toMatchObject({ ok: false, field: 'rows/1', message: expect.stringMatching(/lacks "age"/) });
    expect(await jsonl([row(0), { ...row(1), colour: 'red' }])).toMatchObject({ ok: false, field: 'rows/1', message: expect.stringMatching(/has "colour"/) });
    expect(await jsonl([row(0), { ...row(1), income: null }])).toMatchObject({ ok: false, field: 'columns/income/1', message: expect.stringMatching(/is null/) });
    expect(await jsonl([{ ...row(0), colour: 'red' }])).toMatchObject({ ok: false, field: 'columns' });
    expect(await parseDataset([`${json([row(0)])}\n"text"\n`], { format: 'jsonl', contract })).toMatchObject({ ok: false, field: 'lines/2' });
  });
});

describe('string labels', () => {
  it('are kept as the model\'s class labels and checked against them', async () => {
    const contract: ModelContract = {
      task: 'binary_classification', inputs: [{ name: 'x', elementType: 'float32', features: ['a'] }],
      score: { output: 'p', column: 1, transform: 'none' }, classLabels: ['no', 'yes'], positiveClass: 'yes',
    };
    const d = await ok(parseDataset(['a,label\n1,yes\n2,no\n'], { format: 'csv', contract }));
    expect(d.set).toEqual({ rows: 2, columns: { a: [1, 2] }, labels: ['yes', 'no'] });
    expect(await parseDataset(['a,label\n1,maybe\n'], { format: 'csv', contract })).toMatchObject({ ok: false, field: 'columns/label/0' });
  });
});

describe('legacyEvaluationSet (the golden_set JSON as an evaluation set)', () => {
  const golden = { features: [[1, 2], [3, 4]], labels: [0, 1], segments: ['a', 'b'] };
  it('names columns by the contract\'s first input\'s features, else <input>[j], else features[j]', () => {
    const named: ModelContract = { task: 'binary_classification', inputs: [{ name: 'x', elementType: 'float32', features: ['a', 'b'] }], score: { output: 'p', transform: 'none' } };
    expect(legacyEvaluationSet(named, golden)).toEqual({ rows: 2, columns: { a: [1, 3], b: [2, 4] }, labels: [0, 1], segments: ['a', 'b'] });
    const unnamed: ModelContract = { ...named, inputs: [{ name: 'x', elementType: 'float32' }] };
    expect(Object.keys(legacyEvaluationSet(unnamed, golden).columns)).toEqual(['x[0]', 'x[1]']);
    const narrower: ModelContract = { ...named, inputs: [{ name: 'x', elementType: 'float32', features: ['only'] }] };
    expect(Object.keys(legacyEvaluationSet(narrower, golden).columns)).toEqual(['x[0]', 'x[1]']);
    expect(legacyEvaluationSet(null, { features: [[5]], labels: [1] })).toEqual({ rows: 1, columns: { 'features[0]': [5] }, labels: [1] });
  });
});
