// Models and versions over real HTTP: registration of the project's own ONNX fixtures (upload and
// by URI), the refusals (bad sha256, not ONNX, oversize, unknown fields), tenancy, retirement.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelContract } from '../../../src/contracts/index.js';
import { exporterFixtureModel, fixtureManifest, type ExporterFixtureKind } from '../../../src/models/fixtures.js';
import { buildReferenceProfile } from '../../../src/stats/index.js';
import { sklearnShapedClassifier } from '../../support/exporter-shapes.js';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fixture, fixturesDir, readManifest, rowCounts, startHarness, type Harness, type Manifest } from './harness.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('registry API', () => {
  let h: Harness;
  let manifest: Manifest;
  let v1: Buffer;
  let v2: Buffer;
  beforeAll(async () => {
    h = await startHarness({ temporal: false });
    manifest = await readManifest();
    v1 = await fixture(manifest.models[0]!.file);
    v2 = await fixture(manifest.models[1]!.file);
  });
  afterAll(async () => { await h?.close(); });

  const upload = (model: string, version: string, bytes: Uint8Array, o: { key?: string; sha256?: string; headers?: Record<string, string>; query?: string } = {}) =>
    h.call('POST', `/v1/models/${model}/versions/upload?version=${encodeURIComponent(version)}&sha256=${o.sha256 ?? sha(bytes)}${o.query ?? ''}`, {
      key: o.key, raw: bytes, headers: { 'content-type': 'application/octet-stream', ...o.headers },
    });

  it('creates, lists and gets a model; names are validated and unknown fields refused', async () => {
    const created = await h.call('POST', '/v1/models', { key: h.keys.deployer, body: { name: 'credit-risk', description: 'PD model' } });
    expect(created.status).toBe(201);
    // No task given: it is inferred with the contract from the first version, not defaulted to binary.
    expect(created.body).toMatchObject({ name: 'credit-risk', project: 'default', task: null, contract: null, contractDescription: null, productionVersion: null, versionCount: 0 });

    const dup = await h.call('POST', '/v1/models', { body: { name: 'credit-risk' } });
    expect(dup.status).toBe(409);
    expect(dup.headers.get('content-type')).toMatch(/application\/problem\+json/);

    const bad = await h.call('POST', '/v1/models', { body: { name: 'Bad Name!' } });
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe('body/name');
    expect(bad.body.detail).toMatch(/body\/name/);

    const unknown = await h.call('POST', '/v1/models', { body: { name: 'x1', colour: 'blue' } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.detail).toMatch(/body\/colour.*not a known field/);

    const wrongType = await h.call('POST', '/v1/models', { body: { name: 42 } });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.field).toBe('body/name');

    const list = await h.call('GET', '/v1/models', { key: h.keys.viewer });
    expect(list.status).toBe(200);
    expect(list.body.models.map((m: { name: string }) => m.name)).toEqual(['credit-risk']);
    const got = await h.call('GET', '/v1/models/credit-risk', { key: h.keys.viewer });
    expect(got.body.name).toBe('credit-risk');
  });

  it('registers an uploaded fixture with the signature ONNX Runtime reads, into the content-addressed store', async () => {
    const res = await upload('credit-risk', '1', v1, { headers: { 'x-sluice-metadata': JSON.stringify({ owner: 'risk-team' }) } });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ model: 'credit-risk', version: '1', status: 'registered', sha256: manifest.models[0]!.sha256, sizeBytes: v1.length });
    expect(res.body.signature.inputs[0]).toEqual({ name: 'input', datatype: 'float32', shape: [-1, 19] });
    expect(res.body.signature.outputs[0]).toMatchObject({ name: 'probability', datatype: 'float32' });
    expect(res.body.metadata.owner).toBe('risk-team');
    expect(res.body.artifactUri).toBe(h.store.uriFor(sha(v1)));
    expect(res.body.artifactUri).toMatch(new RegExp(`/sha256/${sha(v1).slice(0, 2)}/${sha(v1)}\\.onnx$`));
    expect(await h.store.read(res.body.artifactUri)).toEqual(v1);

    const list = await h.call('GET', '/v1/models/credit-risk/versions', { key: h.keys.viewer });
    expect(list.body.versions).toHaveLength(1);
    const got = await h.call('GET', '/v1/models/credit-risk/versions/1', { key: h.keys.viewer });
    expect(got.body).toMatchObject({ version: '1', referenceProfile: null, hasReferenceProfile: false });
    const audit = await h.t.db.selectFrom('audit_log').selectAll().where('action', '=', 'version.register').execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ target_type: 'version', target_id: 'credit-risk/1', project_id: 'default' });
  });

  it('registers by URI into the store with a reference profile, checking the sha256', async () => {
    const stored = await h.store.putBytes(v2);
    const built = buildReferenceProfile({ age: [25, 31, 47, 52, 38, 29, 61, 44, 35, 50], region: ['north', 'south', 'north', 'east', 'west', 'north', 'south', 'east', 'north', 'west'] }, { bins: 4, sampleSize: 10 });
    if (!built.ok) throw new Error(built.message);
    const profile = JSON.parse(JSON.stringify(built.profile)) as Record<string, unknown>;
    const badProfile = await h.call('POST', '/v1/models/credit-risk/versions', { key: h.keys.deployer, body: { version: '2', artifactUri: stored.uri, sha256: sha(v2), referenceProfile: { features: {} } } });
    expect(badProfile.status).toBe(400);
    expect(badProfile.body.field).toMatch(/^body\/referenceProfile/);
    const mismatch = await h.call('POST', '/v1/models/credit-risk/versions', { key: h.keys.deployer, body: { version: '2', artifactUri: stored.uri, sha256: sha(v1) } });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.code).toBe('sha256_mismatch');
    const outside = await h.call('POST', '/v1/models/credit-risk/versions', { key: h.keys.deployer, body: { version: '2', artifactUri: 'file:///etc/passwd', sha256: sha(v2) } });
    expect(outside.status).toBe(400);
    expect(outside.body.field).toBe('artifactUri');
    const traversal = await h.call('POST', '/v1/models/credit-risk/versions', {
      key: h.keys.deployer, body: { version: '2', artifactUri: `file://${h.store.root}/sha256/../../../etc/${sha(v2)}.onnx`, sha256: sha(v2) },
    });
    expect(traversal.status).toBe(400);
    const ok = await h.call('POST', '/v1/models/credit-risk/versions', {
      key: h.keys.deployer, body: { version: '2', artifactUri: stored.uri, sha256: sha(v2), trainingDataRef: 's3://bucket/credit/2026-01.parquet', referenceProfile: profile },
    });
    expect(ok.status, ok.text).toBe(201);
    expect(ok.body).toMatchObject({ version: '2', hasReferenceProfile: true, trainingDataRef: 's3://bucket/credit/2026-01.parquet' });
    const got = await h.call('GET', '/v1/models/credit-risk/versions/2', { key: h.keys.viewer });
    expect(got.body.referenceProfile).toEqual(profile);
    const bySha = await h.call('POST', '/v1/models/credit-risk/versions', { key: h.keys.deployer, body: { version: '2b', artifactUri: `sha256:${sha(v2)}`, sha256: sha(v2) } });
    expect(bySha.status).toBe(201);
  });

  it('refuses a sha256 mismatch, a file that is not ONNX, an oversize upload and a taken version, writing nothing', async () => {
    const before = await rowCounts(h.t);
    const mismatch = await upload('credit-risk', '9', v1, { sha256: sha(v2) });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body).toMatchObject({ code: 'sha256_mismatch', field: 'sha256' });

    const notOnnx = Buffer.from('this is not an ONNX model at all, just text');
    const bad = await upload('credit-risk', '9', notOnnx);
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('invalid_model');
    expect(bad.body.detail).toMatch(/not a loadable ONNX model/);

    const big = Buffer.alloc(h.store.maxBytes + 1, 7);
    const tooBig = await upload('credit-risk', '9', big);
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.code).toBe('too_large');

    const taken = await upload('credit-risk', '1', v1);
    expect(taken.status).toBe(409);

    const badVersion = await upload('credit-risk', '../../etc', v1);
    expect(badVersion.status).toBe(400);
    expect(badVersion.body.field).toBe('query/version');

    const jsonToUpload = await h.call('POST', `/v1/models/credit-risk/versions/upload?version=9&sha256=${sha(v1)}`, { body: { a: 1 } });
    expect(jsonToUpload.status).toBe(415);
    const octetToJson = await h.call('POST', '/v1/models', { raw: v1, headers: { 'content-type': 'application/octet-stream' } });
    expect(octetToJson.status).toBe(415);
    const badMeta = await upload('credit-risk', '9', v1, { headers: { 'x-sluice-metadata': '[1,2' } });
    expect(badMeta.status).toBe(400);
    expect(badMeta.body.field).toBe('headers/x-sluice-metadata');

    expect(await rowCounts(h.t)).toEqual(before);
    // The refused non-ONNX upload left no file behind.
    await expect(h.store.read(h.store.uriFor(sha(notOnnx)))).rejects.toThrow();
  });

  it('computes a reference profile from reference data, with the model\'s prediction distribution', async () => {
    const golden = JSON.parse(await fs.readFile(path.join(fixturesDir, 'credit-golden.json'), 'utf8')) as { featureNames: string[]; matrix: number[][] };
    const columns = Object.fromEntries(golden.featureNames.map((name, j) => [name, golden.matrix.slice(0, 300).map((row) => row[j] as number)]));
    const res = await h.call('POST', '/v1/models/credit-risk/versions/1/reference-profile/compute', { key: h.keys.deployer, body: { columns, bins: 10 } });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ version: '1', hasReferenceProfile: true, predicted: true });
    const got = await h.call('GET', '/v1/models/credit-risk/versions/1', { key: h.keys.viewer });
    expect(got.body.referenceProfile).toMatchObject({ version: 1, rows: 300, bins: 10 });
    expect(got.body.referenceProfile.features).toHaveLength(golden.featureNames.length);
    expect(got.body.referenceProfile.prediction).toMatchObject({ name: 'prediction', kind: 'numeric', count: 300 });
    const partial = await h.call('POST', '/v1/models/credit-risk/versions/1/reference-profile/compute', { key: h.keys.deployer, body: { columns: { age: [1, 2, 3, 4], region: ['a', 'b', 'a', null] } } });
    expect(partial.status, partial.text).toBe(200);
    expect(partial.body.predicted).toBe(false);
    const ragged = await h.call('POST', '/v1/models/credit-risk/versions/1/reference-profile/compute', { key: h.keys.deployer, body: { columns: { a: [1, 2], b: [1] } } });
    expect(ragged.status).toBe(400);
    expect(ragged.body.field).toBe('columns/b');
    const viewer = await h.call('POST', '/v1/models/credit-risk/versions/1/reference-profile/compute', { key: h.keys.viewer, body: { columns: { a: [1] } } });
    expect(viewer.status).toBe(403);
  });

  it('keeps tenants apart: another project sees 404, never 403', async () => {
    const other = await h.call('GET', '/v1/models/credit-risk', { key: h.keys.other });
    expect(other.status).toBe(404);
    const otherVersions = await h.call('GET', '/v1/models/credit-risk/versions', { key: h.keys.other });
    expect(otherVersions.status).toBe(404);
    const otherUpload = await upload('credit-risk', '7', v1, { key: h.keys.other });
    expect(otherUpload.status).toBe(404);
    const otherList = await h.call('GET', '/v1/models', { key: h.keys.other });
    expect(otherList.body.models).toEqual([]);
    const otherRetire = await h.call('POST', '/v1/models/credit-risk/versions/1/retire', { key: h.keys.otherAdmin, body: {} });
    expect(otherRetire.status).toBe(404);
  });

  it('retires a version (admin only), once', async () => {
    const deployer = await h.call('POST', '/v1/models/credit-risk/versions/2b/retire', { key: h.keys.deployer, body: {} });
    expect(deployer.status).toBe(403);
    const ok = await h.call('POST', '/v1/models/credit-risk/versions/2b/retire', { body: { reason: 'duplicate' } });
    expect(ok.status).toBe(200);
    expect(ok.body.status).toBe('retired');
    const again = await h.call('POST', '/v1/models/credit-risk/versions/2b/retire', { body: {} });
    expect(again.status).toBe(409);
    const audit = await h.t.db.selectFrom('audit_log').selectAll().where('action', '=', 'version.retire').execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]?.before).toEqual({ status: 'registered' });
  });

  it('keeps the model contract: inferred from the first version, a breaking version and a ZipMap output refused with the fix', async () => {
    const credit = await h.t.db.selectFrom('models').select('contract').where('name', '=', 'credit-risk').executeTakeFirstOrThrow();
    expect(credit.contract).toMatchObject({ task: 'binary_classification', score: { output: 'probability', transform: 'none' }, inputs: [{ name: 'input', elementType: 'float32' }] });
    expect(credit.contract?.inputs[0]?.features).toEqual(fixtureManifest().featureNames);

    expect((await h.call('POST', '/v1/models', { key: h.keys.deployer, body: { name: 'skl-binary' } })).status).toBe(201);
    const first = await upload('skl-binary', '1', sklearnShapedClassifier(false));
    expect(first.status, first.text).toBe(201);
    const stored = await h.t.db.selectFrom('models').select('contract').where('name', '=', 'skl-binary').executeTakeFirstOrThrow();
    expect(stored.contract).toMatchObject({ task: 'binary_classification', score: { output: 'probabilities', column: 1, transform: 'none' }, labelOutput: 'label' });

    const before = await rowCounts(h.t);
    const zipmap = await upload('skl-binary', '2', sklearnShapedClassifier(true));
    expect(zipmap.status).toBe(400);
    expect(zipmap.body).toMatchObject({ code: 'invalid_model', field: 'body' });
    expect(zipmap.body.detail).toContain("set options={'zipmap': False} in skl2onnx's convert_sklearn (or to_onnx)");
    const breaking = await upload('skl-binary', '2', v1);
    expect(breaking.status).toBe(400);
    expect(breaking.body.code).toBe('invalid_model');
    expect(breaking.body.detail).toContain('The contract expects (float_input:float32[N,2]) → (score probabilities[:,1], label label); version 2 has (input:float32[N,19]) → (probability:float32[N,1])');
    expect(await rowCounts(h.t)).toEqual(before);
  });

  const exporter = async (kind: ExporterFixtureKind) => await fs.readFile(exporterFixtureModel(kind).path);
  const modelRow = async (name: string) => await h.t.db.selectFrom('models').select(['contract', 'contract_hints', 'task']).where('name', '=', name).executeTakeFirstOrThrow();
  const sklContract = (): ModelContract => ({
    task: 'binary_classification',
    inputs: [{ name: 'float_input', elementType: 'float32', features: ['income', 'debt_ratio'] }],
    score: { output: 'probabilities', column: 1, transform: 'none' }, labelOutput: 'label', classLabels: [0, 1], positiveClass: 1, threshold: 0.5,
  });

  it('answers registration with the contract in plain words, and a dry run shows it storing nothing', async () => {
    expect((await h.call('POST', '/v1/models', { key: h.keys.deployer, body: { name: 'logits' } })).status).toBe(201);
    const bytes = await exporter('multiclass-logits');
    const before = await rowCounts(h.t);
    const onnxFiles = async () => (await fs.readdir(h.store.root, { recursive: true })).filter((f) => f.endsWith('.onnx'));
    const files = await onnxFiles();
    const dry = await upload('logits', '1', bytes, { query: '&dryRun=true' });
    expect(dry.status, dry.text).toBe(200);
    expect(dry.body).toMatchObject({ dryRun: true, model: 'logits', version: '1', contractSource: 'inferred', contract: { task: 'multiclass_classification', score: { output: 'logits', transform: 'softmax' } } });
    expect(dry.body.contractDescription).toMatch(/^Multiclass classification: the score is the row of class scores in output logits, logits turned into probabilities by a softmax/);
    expect(await rowCounts(h.t)).toEqual(before);
    expect((await modelRow('logits')).contract).toBeNull();
    expect(await onnxFiles()).toEqual(files);

    const real = await upload('logits', '1', bytes);
    expect(real.status, real.text).toBe(201);
    expect(real.body).toMatchObject({ version: '1', status: 'registered', contractSource: 'inferred', contractDescription: dry.body.contractDescription, contract: dry.body.contract });
    const got = await h.call('GET', '/v1/models/logits', { key: h.keys.viewer });
    expect(got.body).toMatchObject({ task: 'multiclass_classification', contract: dry.body.contract, contractDescription: dry.body.contractDescription });
    expect((await modelRow('logits')).task).toBe('multiclass_classification');
    const second = await upload('logits', '2', bytes, { query: '&dryRun=true' });
    expect(second.body).toMatchObject({ contractSource: 'kept', dryRun: true });
  });

  it('infers with the creator\'s hints: a task makes a regressor a regressor, feature names name the columns', async () => {
    const bare = await h.call('POST', '/v1/models', { body: { name: 'regressor-bare' } });
    expect(bare.body.task).toBeNull();
    const none = await upload('regressor-bare', '1', await exporter('regressor-column'));
    expect(none.status, none.text).toBe(201);
    // Not misread as a binary probability (the task column's default): skl2onnx's `variable` is a regressor's output.
    expect(none.body).toMatchObject({ contractSource: 'inferred', contract: { task: 'regression' } });
    expect(none.body.contractDescription).toMatch(/^Regression: .* Note: variable is taken to be a regression prediction/);
    expect((await h.call('GET', '/v1/models/regressor-bare')).body.task).toBe('regression');

    const features = ['rooms', 'area', 'age', 'distance', 'floor'];
    const hinted = await h.call('POST', '/v1/models', { body: { name: 'regressor', task: 'regression', featureNames: { float_input: features } } });
    expect(hinted.status, hinted.text).toBe(201);
    expect(hinted.body).toMatchObject({ task: 'regression', contract: null });
    const first = await upload('regressor', '1', await exporter('regressor-column'));
    expect(first.status, first.text).toBe(201);
    expect(first.body.contract).toEqual({ task: 'regression', inputs: [{ name: 'float_input', elementType: 'float32', features }], score: { output: 'variable', transform: 'none' } });
    expect(first.body.contractDescription).toMatch(/^Regression: the prediction is output variable, used as it is\. It takes one input: float_input \(float32, 5 features: rooms, area/);

    const both = await h.call('POST', '/v1/models', { body: { name: 'both', task: 'regression', contract: sklContract() } });
    expect(both.status).toBe(400);
    expect(both.body.field).toBe('body/task');
  });

  it('refuses a bad contract naming the field, storing nothing: a missing output or column, a threshold outside (0,1), a transform on an integer output', async () => {
    const skl = sklearnShapedClassifier(false);
    // Schema errors are refused at creation.
    for (const [threshold, field] of [[1.5, 'body/contract/threshold'], [0, 'body/contract/threshold']] as const) {
      const before = await rowCounts(h.t);
      const res = await h.call('POST', '/v1/models', { body: { name: 'bad-threshold', contract: { ...sklContract(), threshold } } });
      expect(res.status).toBe(400);
      expect(res.body.field).toBe(field);
      expect(res.body.detail).toMatch(/^body\/contract\/threshold: /);
      expect(await rowCounts(h.t)).toEqual(before);
    }
    const unknownField = await h.call('POST', '/v1/models', { body: { name: 'bad-field', contract: { ...sklContract(), scoreColumn: 1 } } });
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.detail).toMatch(/body\/contract\/scoreColumn.*not a known field/);

    // Rules against the signature are checked when the first version registers.
    const cases: Array<{ name: string; contract: ModelContract; field: string; message: RegExp }> = [
      { name: 'no-output', contract: { ...sklContract(), score: { output: 'proba', column: 1, transform: 'none' } }, field: 'contract/score/output', message: /output proba is not among the model's outputs \(label, probabilities\)/ },
      { name: 'no-column', contract: { ...sklContract(), score: { output: 'probabilities', column: 2, transform: 'none' } }, field: 'contract/score/column', message: /column 2 does not exist: output probabilities has 2 columns \(0\.\.1\)/ },
      { name: 'no-input', contract: { ...sklContract(), inputs: [{ name: 'features', elementType: 'float32', features: ['a'] }] }, field: 'contract/inputs/0/name', message: /input features is not among the model's inputs \(float_input\)/ },
      { name: 'int-transform', contract: { ...sklContract(), score: { output: 'label', transform: 'sigmoid' } }, field: 'contract/score/transform', message: /transform sigmoid cannot apply to label, an int64 output/ },
    ];
    for (const c of cases) {
      const created = await h.call('POST', '/v1/models', { body: { name: c.name, contract: c.contract } });
      expect(created.status, created.text).toBe(201);
      expect(created.body.contractDescription).toMatch(/^Binary classification/);
      const before = await rowCounts(h.t);
      const res = await upload(c.name, '1', skl);
      expect(res.status, c.name).toBe(400);
      expect(res.body.code).toBe('invalid_contract');
      expect(res.body.errors.map((e: { field: string }) => e.field), c.name).toContain(c.field);
      expect(res.body.detail).toMatch(c.message);
      expect(res.body.detail).toContain(`${c.field}: `);
      // No version row, the model row as it was (the declared contract, not checked yet).
      expect(await rowCounts(h.t)).toEqual(before);
      expect((await modelRow(c.name)).contract).toEqual(c.contract);
    }
    const fits = await h.call('POST', '/v1/models', { body: { name: 'declared', contract: sklContract() } });
    expect(fits.body.task).toBe('binary_classification');
    const first = await upload('declared', '1', skl);
    expect(first.status, first.text).toBe(201);
    expect(first.body).toMatchObject({ contractSource: 'declared', contract: sklContract() });
  });

  it('replaces a contract only when every version keeps it, audited; a breaking one is refused naming the versions', async () => {
    await h.call('POST', '/v1/models', { body: { name: 'replace' } });
    expect((await upload('replace', '1', sklearnShapedClassifier(false))).status).toBe(201);
    const stored = (await modelRow('replace')).contract!;
    const before = await rowCounts(h.t);
    for (const [contract, pattern] of [
      [{ ...stored, score: { output: 'probabilities', column: 3, transform: 'none' } }, /version 1 of model replace: version 1 breaks the model's contract: column 3 does not exist/],
      [{ ...stored, score: { output: 'label', column: 1, transform: 'softmax' } }, /transform softmax cannot apply to label, an int64 output/],
    ] as const) {
      const res = await h.call('PUT', '/v1/models/replace/contract', { key: h.keys.deployer, body: { contract } });
      expect(res.status).toBe(409);
      expect(res.body.detail).toMatch(pattern);
      expect(res.body.field).toMatch(/^body\/contract\/score\//);
    }
    const threshold = await h.call('PUT', '/v1/models/replace/contract', { body: { contract: { ...stored, threshold: 2 } } });
    expect(threshold.status).toBe(400);
    expect(threshold.body.field).toBe('body/contract/threshold');
    const viewer = await h.call('PUT', '/v1/models/replace/contract', { key: h.keys.viewer, body: { contract: stored } });
    expect(viewer.status).toBe(403);
    expect(await rowCounts(h.t)).toEqual(before);
    expect((await modelRow('replace')).contract).toEqual(stored);

    const ok = await h.call('PUT', '/v1/models/replace/contract', { key: h.keys.deployer, body: { contract: { ...stored, threshold: 0.3 }, reason: 'fewer misses' } });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.contractDescription).toMatch(/at least 0\.3\./);
    const audit = await h.t.db.selectFrom('audit_log').selectAll().where('action', '=', 'model.contract').execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]?.after).toMatchObject({ reason: 'fewer misses', checkedVersions: ['1'] });
  });

  it('two first registrations racing: the contract is read, checked and stored under the model\'s lock, so one is refused', async () => {
    await h.call('POST', '/v1/models', { body: { name: 'race' } });
    const [a, b] = await Promise.all([upload('race', 'a', sklearnShapedClassifier(false)), upload('race', 'b', await exporter('two-inputs'))]);
    expect([a.status, b.status].sort()).toEqual([201, 400]);
    const loser = a.status === 400 ? a : b;
    expect(loser.body.detail).toMatch(/breaks the model's contract/);
    const versions = await h.call('GET', '/v1/models/race/versions');
    expect(versions.body.versions).toHaveLength(1);
    const winner = a.status === 201 ? a : b;
    expect((await modelRow('race')).contract).toEqual(winner.body.contract);
  });
});
