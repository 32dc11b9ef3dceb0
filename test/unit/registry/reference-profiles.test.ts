// Reference profiles of exporter-shaped models, by their contracts: every feature of every input
// profiled (a string input's as categories), and the score column computed by feeding every input
// (a probability, a regression prediction, or the top class index as a category).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requiredColumns } from '../../../src/contracts/index.js';
import { exporterFixtureModel, type ExporterFixtureKind } from '../../../src/models/fixtures.js';
import { ArtifactStore } from '../../../src/registry/artifacts.js';
import { computeReferenceProfile, PREDICTION_COLUMN } from '../../../src/registry/profiles.js';
import type { CategoricalFeatureProfile, NumericFeatureProfile } from '../../../src/stats/index.js';
import { exporterFixtureContract, exporterReferenceColumns, exporterVersionRow } from '../../support/exporter-contracts.js';

let root: string;
let store: ArtifactStore;
const uris: Partial<Record<ExporterFixtureKind, string>> = {};
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'sluice-profiles-'));
  store = new ArtifactStore({ root });
  for (const kind of ['two-inputs', 'multiclass-logits', 'regressor-flat', 'string-category', 'binary-label-probabilities'] as const) {
    uris[kind] = (await store.putBytes(await fs.readFile(exporterFixtureModel(kind).path))).uri;
  }
});
afterAll(async () => { await fs.rm(root, { recursive: true, force: true }); });

async function profileOf(kind: ExporterFixtureKind, columns = exporterReferenceColumns(kind), predict?: boolean) {
  return await computeReferenceProfile(store, exporterVersionRow(kind, uris[kind] as string), { columns, ...(predict === undefined ? {} : { predict }) }, exporterFixtureContract(kind));
}

describe('reference profiles by the contract', () => {
  it('two inputs (float32 matrix and int64 code): every feature of both, and the probability', async () => {
    const { profile, predicted } = await profileOf('two-inputs');
    expect(predicted).toBe(true);
    const names = profile.features.map((f) => f.name);
    for (const c of requiredColumns(exporterFixtureContract('two-inputs'))) expect(names).toContain(c);
    const score = profile.prediction as NumericFeatureProfile;
    expect(score).toMatchObject({ name: PREDICTION_COLUMN, kind: 'numeric', count: 200, missing: 0 });
    expect(score.min).toBeGreaterThanOrEqual(0);
    expect(score.max).toBeLessThanOrEqual(1);
    expect(score.max - score.min).toBeGreaterThan(0.3);
  });

  it('a string input: its feature profiled as categories, the score from feeding the strings', async () => {
    const { profile, predicted } = await profileOf('string-category');
    expect(predicted).toBe(true);
    const employment = profile.features.find((f) => f.name === 'employment') as CategoricalFeatureProfile;
    expect(employment.kind).toBe('categorical');
    expect(employment.categories).toContain('salaried');
    expect(profile.prediction).toMatchObject({ kind: 'numeric', count: 200 });
  });

  it('multiclass logits: the top class index, profiled as a category', async () => {
    const { profile } = await profileOf('multiclass-logits');
    const score = profile.prediction as CategoricalFeatureProfile;
    expect(score.kind).toBe('categorical');
    expect(score.count).toBe(200);
    expect([...score.categories].sort()).toEqual(['0', '1', '2']);
    // The model is accurate (score.test.ts): the predicted mix follows the labels' mix.
    const labels = exporterReferenceColumns('multiclass-logits').label as number[];
    for (const [i, c] of score.categories.entries()) {
      const truth = labels.filter((l) => String(l) === c).length;
      expect(Math.abs((score.counts[i] as number) - truth)).toBeLessThan(40);
    }
  });

  it('a regressor with a flat [N] output: the prediction, on the labels\' scale', async () => {
    const { profile } = await profileOf('regressor-flat');
    const score = profile.prediction as NumericFeatureProfile;
    expect(score.kind).toBe('numeric');
    expect(score.count).toBe(200);
    const labels = exporterReferenceColumns('regressor-flat').label as number[];
    const mean = labels.reduce((a, b) => a + b, 0) / labels.length;
    const sd = Math.sqrt(labels.reduce((a, b) => a + (b - mean) ** 2, 0) / labels.length);
    expect(Math.abs(score.mean - mean)).toBeLessThan(0.5 * sd);
    expect(score.binEdges.length).toBeGreaterThan(5); // the quantile bins the canary's regression gate reads
  });

  it('a row missing a value the model reads gets no score (counted missing); the rest are scored', async () => {
    const columns = exporterReferenceColumns('binary-label-probabilities') as Record<string, Array<number | string | null>>;
    (columns.age as Array<number | null>)[3] = null;
    const { profile } = await profileOf('binary-label-probabilities', columns as Record<string, Array<number | string>>);
    expect(profile.prediction).toMatchObject({ count: 199, missing: 1 });
  });

  it('without every feature: no score by default, a named refusal with predict: true; a wrong cell type is named', async () => {
    const columns = exporterReferenceColumns('two-inputs');
    delete columns.employment;
    expect((await profileOf('two-inputs', columns)).predicted).toBe(false);
    await expect(profileOf('two-inputs', columns, true)).rejects.toMatchObject({ code: 'invalid', field: 'columns/employment' });
    const bad = exporterReferenceColumns('two-inputs');
    (bad.employment as Array<number | string>)[5] = 'x';
    await expect(profileOf('two-inputs', bad)).rejects.toMatchObject({ code: 'invalid', field: 'columns/employment/5' });
    expect((await profileOf('two-inputs', exporterReferenceColumns('two-inputs'), false)).predicted).toBe(false);
  });
});
