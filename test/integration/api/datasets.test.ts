// Evaluation datasets over real HTTP, PostgreSQL and the artifact store: each exporter fixture's
// evaluation CSV uploaded for a model registered from that fixture, read back as the golden set
// validation scores on; the same bytes again are the same dataset; every bad upload is a 4xx
// naming the field, with no row and no file left behind; and the CLI's datasets commands.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requiredColumns } from '../../../src/contracts/index.js';
import { exporterEvaluationSet, exporterFixtureModel, type ExporterFixtureKind } from '../../../src/models/fixtures.js';
import { listAudit } from '../../../src/registry/audit.js';
import { goldenEvaluationSet, readEvaluationSet } from '../../../src/registry/datasets.js';
import { findModel, setModelContract } from '../../../src/registry/models.js';
import { exporterFixtureContract } from '../../support/exporter-contracts.js';
import { rowCounts, startHarness, type Harness } from './harness.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const KINDS: ExporterFixtureKind[] = ['two-inputs', 'string-category', 'multiclass-logits', 'regressor-flat', 'binary-label-probabilities'];
const modelName = (kind: string) => `ds-${kind}`;
const MAX_DATASET_BYTES = 64 * 1024;

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name)).sort();
}

describe('datasets API', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ temporal: false, maxDatasetBytes: MAX_DATASET_BYTES });
    for (const kind of KINDS) {
      const fixture = exporterFixtureModel(kind);
      const model = modelName(kind);
      expect((await h.call('POST', '/v1/models', { body: { name: model, task: fixture.entry.task } })).status).toBe(201);
      const bytes = await fs.readFile(fixture.path);
      const up = await h.call('POST', `/v1/models/${model}/versions/upload?version=1&sha256=${fixture.sha256}`, { raw: bytes, headers: { 'content-type': 'application/octet-stream' } });
      expect(up.status, up.text).toBe(201);
      // Registration infers the contract with features named <input>[j]; the fixture's CSV names
      // them (age, income, ...). Nothing in the API declares feature names yet, so the test stores
      // the contract with the fixture's names directly.
      const row = await findModel(h.t.db, model);
      expect(row?.contract).not.toBeNull();
      await setModelContract(h.t.db, row!.id, exporterFixtureContract(kind));
    }
  });
  afterAll(async () => { await h?.close(); });

  const upload = (model: string, body: Buffer | string | Readable, query = '', o: { key?: string; contentType?: string } = {}) =>
    h.call('POST', `/v1/models/${model}/datasets${query ? `?${query}` : ''}`, {
      raw: body as never, headers: { 'content-type': o.contentType ?? 'text/csv' }, ...(o.key !== undefined ? { key: o.key } : {}),
    });
  const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

  it.each(KINDS)('%s: uploads its evaluation CSV, again as the same dataset, and it becomes the golden set read back row for row', async (kind) => {
    const fixture = exporterFixtureModel(kind);
    const model = modelName(kind);
    const bytes = await fs.readFile(fixture.datasetPath);
    const first = await upload(model, bytes, `name=eval&sha256=${fixture.entry.dataset.sha256}`, { key: h.keys.deployer });
    expect(first.status, first.text).toBe(201);
    expect(first.body).toMatchObject({
      model, name: 'eval', format: 'csv', sha256: fixture.entry.dataset.sha256, sizeBytes: bytes.length, rows: fixture.entry.dataset.rows,
      label: 'label', segment: fixture.entry.dataset.segment ?? null, golden: false, createdBy: expect.stringMatching(/^key:[0-9a-f]{16}$/),
    });
    expect(first.body.id).toMatch(/^ds_[0-9a-f]{32}$/);
    expect(first.body.columns.map((c: { name: string }) => c.name)).toEqual(fixture.entry.dataset.columns);
    expect(first.body.artifactUri).toBe(h.store.uriFor(fixture.entry.dataset.sha256, 'csv'));
    expect(await fs.readFile(h.store.pathFor(fixture.entry.dataset.sha256, 'csv'))).toEqual(bytes);

    const again = await upload(model, bytes, 'name=another-name');
    expect(again.status, again.text).toBe(200);
    expect(again.body).toEqual(first.body);
    expect((await h.call('GET', `/v1/models/${model}/datasets`, { key: h.keys.viewer })).body.datasets).toEqual([first.body]);

    const golden = await h.call('PUT', `/v1/models/${model}/golden-dataset`, { body: { dataset: first.body.id }, key: h.keys.deployer });
    expect(golden.status, golden.text).toBe(200);
    expect(golden.body).toEqual({ model, dataset: { ...first.body, golden: true } });
    expect((await h.call('GET', `/v1/models/${model}/datasets/${first.body.id}`, { key: h.keys.viewer })).body.golden).toBe(true);

    const row = await findModel(h.t.db, model);
    const set = await goldenEvaluationSet(h.t.db, h.store, row!);
    const csv = exporterEvaluationSet(kind);
    const contract = exporterFixtureContract(kind);
    expect(set?.rows).toBe(csv.rows.length);
    expect(Object.keys(set!.columns)).toEqual(requiredColumns(contract));
    for (const input of contract.inputs) {
      for (const feature of input.features ?? [input.name]) {
        const j = csv.columns.indexOf(feature);
        expect(set!.columns[feature], feature).toEqual(csv.rows.map((r) => (input.elementType === 'string' ? r[j] : Number(r[j]))));
      }
    }
    expect(set!.labels).toEqual(csv.rows.map((r) => Number(r[csv.columns.indexOf('label')])));
    if (fixture.entry.dataset.segment) expect(set!.segments).toEqual(csv.rows.map((r) => r[csv.columns.indexOf('segment')]));
  });

  it('reads JSON lines (by content type or format=), and a golden-set JSON sets rows that replace the dataset', async () => {
    const kind = 'regressor-flat';
    const model = modelName(kind);
    const csv = exporterEvaluationSet(kind);
    const lines = csv.rows.slice(0, 20).map((r) => JSON.stringify(Object.fromEntries(csv.columns.map((c, j) => [c, Number(r[j])])))).join('\n');
    const res = await upload(model, lines, 'name=holdout', { contentType: 'application/x-ndjson' });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ format: 'jsonl', rows: 20, segment: null });
    const dataset = (await h.t.db.selectFrom('datasets').selectAll().where('id', '=', res.body.id).executeTakeFirstOrThrow());
    const set = await readEvaluationSet(h.store, dataset);
    expect(set.labels).toEqual(csv.rows.slice(0, 20).map((r) => Number(r.at(-1))));
    expect((await upload(model, `${lines}\n`, 'format=ndjson', { contentType: 'application/octet-stream' })).status).toBe(201);

    // Rows set as JSON win from then on: the dataset is detached.
    const features = [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]];
    expect((await h.call('PUT', `/v1/models/${model}/golden-set`, { body: { features, labels: [0.5, 1.5] } })).status).toBe(200);
    const row = await findModel(h.t.db, model);
    expect(row?.golden_dataset_id).toBeNull();
    expect(await goldenEvaluationSet(h.t.db, h.store, row!)).toEqual({
      rows: 2, columns: { rooms: [1, 6], area: [2, 7], age: [3, 8], distance: [4, 9], floor: [5, 10] }, labels: [0.5, 1.5],
    });
  });

  it('refuses every bad upload with a 4xx naming the field, and keeps no row and no file', async () => {
    const model = modelName('two-inputs');
    const csv = exporterEvaluationSet('two-inputs');
    const text = (header: string[], rows: string[][]) => [header.join(','), ...rows.map((r) => r.join(','))].join('\n') + '\n';
    const rows = csv.rows.slice(0, 5);
    const at = (c: string) => csv.columns.indexOf(c);
    const withCell = (row: number, c: string, v: string) => rows.map((r, i) => (i === row ? r.map((x, j) => (j === at(c) ? v : x)) : r));
    const good = text(csv.columns, rows);
    const big = good + Array.from({ length: 1000 }, () => rows[0]!.join(',')).join('\n');
    expect(big.length).toBeGreaterThan(MAX_DATASET_BYTES);
    await fs.mkdir(path.join(h.store.root, 'sha256'), { recursive: true });

    const noContract = 'ds-no-contract';
    expect((await h.call('POST', '/v1/models', { body: { name: noContract } })).status).toBe(201);
    const beforeRows = await rowCounts(h.t);
    const beforeFiles = await filesUnder(path.join(h.store.root, 'sha256'));

    const cases: Array<{ name: string; body: string | Buffer | (() => Readable); query?: string; contentType?: string; model?: string; key?: string; status: number; field: string; detail?: RegExp }> = [
      { name: 'missing column', body: text(csv.columns.filter((c) => c !== 'income'), rows.map((r) => r.filter((_, j) => j !== at('income')))), status: 400, field: 'body/columns', detail: /missing column "income"/ },
      { name: 'extra column', body: text([...csv.columns, 'colour'], rows.map((r) => [...r, 'red'])), status: 400, field: 'body/columns', detail: /extra column "colour"/ },
      { name: 'wrong type', body: text(csv.columns, withCell(3, 'income', 'lots')), status: 400, field: 'body/columns/income/3', detail: /row 3 \(line 5\) of column income is "lots", not a float32 value/ },
      { name: 'int64 input given a fraction', body: text(csv.columns, withCell(1, 'employment', '0.5')), status: 400, field: 'body/columns/employment/1' },
      { name: 'NaN label', body: text(csv.columns, withCell(0, 'label', 'NaN')), status: 400, field: 'body/columns/label/0', detail: /not a class of the model/ },
      { name: 'empty label', body: text(csv.columns, withCell(2, 'label', '')), status: 400, field: 'body/columns/label/2' },
      { name: 'unknown class', body: text(csv.columns, withCell(4, 'label', '7')), status: 400, field: 'body/columns/label/4' },
      { name: 'short row', body: text(csv.columns, [rows[0]!, rows[1]!.slice(2)]), status: 400, field: 'body/rows/1' },
      { name: 'open quote', body: `${good}"1,2\n`, status: 400, field: 'body/lines/7' },
      { name: 'header only', body: `${csv.columns.join(',')}\n`, status: 400, field: 'body' },
      { name: 'label column absent', body: good, query: 'label=target', status: 400, field: 'body/columns', detail: /missing column "target"/ },
      { name: 'segment is a feature', body: good, query: 'segment=age', status: 400, field: 'query/segment' },
      { name: 'bad JSON line', body: '{"age": 1}\nnope\n', contentType: 'application/x-ndjson', status: 400, field: 'body/lines/2' },
      { name: 'sha256 mismatch', body: good, query: `sha256=${'0'.repeat(64)}`, status: 400, field: 'sha256' },
      { name: 'over the limit (declared)', body: big, status: 413, field: 'body' },
      { name: 'over the limit (streamed)', body: () => Readable.from([Buffer.from(big)]), status: 413, field: 'body' },
      { name: 'no format', body: good, contentType: 'application/octet-stream', status: 400, field: 'query/format' },
      { name: 'format and content type disagree', body: good, query: 'format=jsonl', status: 400, field: 'query/format' },
      { name: 'unknown format', body: good, query: 'format=xlsx', status: 400, field: 'query/format' },
      { name: 'no contract', body: good, model: noContract, status: 409, field: 'model', detail: /register a version first/ },
      { name: 'viewer', body: good, key: h.keys.viewer, status: 403, field: '' },
      { name: 'another tenant', body: good, key: h.keys.other, status: 404, field: 'model' },
    ];
    for (const c of cases) {
      const body = typeof c.body === 'function' ? c.body() : c.body;
      const res = await upload(c.model ?? model, body, c.query ?? '', { ...(c.contentType ? { contentType: c.contentType } : {}), ...(c.key ? { key: c.key } : {}) });
      expect(res.status, `${c.name}: ${res.text}`).toBe(c.status);
      if (c.field) expect(res.body.field, `${c.name}: ${res.text}`).toBe(c.field);
      if (c.detail) expect(res.body.detail, c.name).toMatch(c.detail);
    }
    expect(await rowCounts(h.t)).toEqual(beforeRows);
    expect(await filesUnder(path.join(h.store.root, 'sha256'))).toEqual(beforeFiles);
    expect(await filesUnder(path.join(h.store.root, 'tmp'))).toEqual([]);

    // Bytes that are a dataset already, read with another label column: a conflict, not a second dataset.
    const existing = await upload(model, good, 'name=small');
    expect(existing.status, existing.text).toBe(201);
    const relabelled = await upload(model, good, 'label=segment');
    expect(relabelled.status).toBe(409);
    expect(relabelled.body.field).toBe('query/label');
    expect(sha(good)).toBe(existing.body.sha256);
    const asJsonl = await upload(model, good, '', { contentType: 'application/x-ndjson' });
    expect(asJsonl.status).toBe(409);
    expect(asJsonl.body.field).toBe('query/format');
    expect(await fs.stat(h.store.pathFor(sha(good), 'jsonl')).catch(() => null)).toBeNull();
    expect(await fs.stat(h.store.pathFor(sha(good), 'csv')).catch(() => null)).not.toBeNull();
  });

  it('attaches only the model\'s own datasets, deployers and admins only, audited', async () => {
    const model = modelName('string-category');
    const other = modelName('two-inputs');
    const mine = (await h.call('GET', `/v1/models/${model}/datasets`)).body.datasets[0];
    const theirs = (await h.call('GET', `/v1/models/${other}/datasets`)).body.datasets[0];
    expect(mine?.id).toBeDefined();
    expect(theirs?.id).toBeDefined();
    const put = (body: unknown, key?: string, m = model) => h.call('PUT', `/v1/models/${m}/golden-dataset`, { body, ...(key ? { key } : {}) });
    expect((await put({ dataset: theirs.id })).body).toMatchObject({ status: 404, field: 'dataset' });
    expect((await put({ dataset: 'ds_nope' })).body).toMatchObject({ status: 400, field: 'body/dataset' });
    expect((await put({ dataset: mine.id }, h.keys.viewer)).status).toBe(403);
    expect((await put({ dataset: mine.id }, h.keys.other)).status).toBe(404);
    expect((await h.call('GET', `/v1/models/${model}/datasets/${theirs.id}`)).status).toBe(404);
    const detached = await put({ dataset: null }, h.keys.admin);
    expect(detached.status, detached.text).toBe(200);
    expect(detached.body).toEqual({ model, dataset: null });
    expect((await findModel(h.t.db, model))?.golden_dataset_id).toBeNull();
    expect(await goldenEvaluationSet(h.t.db, h.store, (await findModel(h.t.db, model))!)).toBeNull();

    const uploads = await listAudit(h.t.db, { projectId: 'default', action: 'dataset.upload' });
    expect(uploads.find((a) => a.target_id === `${model}/${mine.id}`)?.after).toMatchObject({ id: mine.id, sha256: mine.sha256, rows: mine.rows, created: true });
    const attached = await listAudit(h.t.db, { projectId: 'default', action: 'model.golden_dataset' });
    expect(attached.filter((a) => a.target_id === model).map((a) => [a.before, a.after])).toEqual([
      [{ dataset: mine.id }, { dataset: null }],
      [{ dataset: null }, { dataset: mine.id }],
    ]);
  });

  it('sluice datasets upload --golden, datasets list and models set-golden', async () => {
    const kind = 'multiclass-logits';
    const model = modelName(kind);
    const { DATABASE_URL: _db, SLUICE_API_KEY: _key, ...rest } = process.env;
    const env = { ...rest, SLUICE_API_URL: h.url, SLUICE_API_KEY: h.keys.deployer, NO_COLOR: '1' };
    const sluice = (args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, env, timeout: 120_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      });
    });
    const csv = exporterEvaluationSet(kind);
    const dir = await fs.mkdtemp(path.join(h.store.root, 'cli-'));
    const file = path.join(dir, 'holdout.csv');
    await fs.writeFile(file, [csv.columns.join(','), ...csv.rows.slice(0, 30).map((r) => r.join(','))].join('\n') + '\n');

    const up = await sluice(['datasets', 'upload', model, file, '--golden']);
    expect(up.code, up.stderr).toBe(0);
    const id = /dataset (ds_[0-9a-f]{32}) of ds-multiclass-logits: 30 rows, sha256 ([0-9a-f]{64}) \(the golden set\)/.exec(up.stdout);
    expect(id, up.stdout).not.toBeNull();
    expect(id![2]).toBe(sha(await fs.readFile(file)));
    expect((await findModel(h.t.db, model))?.golden_dataset_id).toBe(id![1]);

    const list = await sluice(['datasets', 'list', model, '--json']);
    expect(list.code, list.stderr).toBe(0);
    const listed = JSON.parse(list.stdout) as { datasets: Array<{ id: string; name: string; golden: boolean }> };
    expect(listed.datasets.map((d) => [d.name, d.golden])).toEqual([['holdout.csv', true], ['eval', false]]);

    const evalId = listed.datasets.find((d) => d.name === 'eval')!.id;
    const set = await sluice(['models', 'set-golden', model, evalId]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(new RegExp(`golden set of ${model}: dataset ${evalId} \\(eval, 200 rows\\)`));
    expect((await findModel(h.t.db, model))?.golden_dataset_id).toBe(evalId);

    const wrongExtension = await sluice(['datasets', 'upload', model, path.join(dir, 'holdout.txt')]);
    expect(wrongExtension.code).toBe(2);
    const refused = await sluice(['datasets', 'upload', model, file, '--label', 'sensor_1']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/409|query\/label/);
  });
});
