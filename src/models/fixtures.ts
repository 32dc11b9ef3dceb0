// The small models and golden set this project trains and ships in test/fixtures/models
// (scripts/build-fixtures.ts writes them). Tests, benchmarks and `sluice demo` all read them here.
// Not re-exported from index.ts: it reads files, and pure consumers of src/models must not.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from '../config.js';

export const FIXTURE_DIR = path.join(projectRoot, 'test/fixtures/models');

export type FixtureKind = 'logreg' | 'mlp' | 'bad';

export interface FixtureManifest {
  featureNames: string[];
  /** The models' input and output as ONNX Runtime reads them (element type, shape with 'batch'). */
  input: { name: string; type: string; shape: Array<number | string> };
  output: { name: string; type: string; shape: Array<number | string> };
  models: Array<{ file: string; version: string; sha256: string; sizeBytes: number }>;
}

export interface FixtureModel { file: string; path: string; uri: string; sha256: string; sizeBytes: number }

/** The golden set: encoded feature rows (`matrix`), their labels, and the encoded column names. */
export interface FixtureGoldenSet { featureNames: string[]; matrix: number[][]; labels: number[] }

export function fixtureManifest(): FixtureManifest {
  return JSON.parse(fs.readFileSync(path.join(FIXTURE_DIR, 'manifest.json'), 'utf8')) as FixtureManifest;
}

/** A fixture model by role: the logistic regression, the MLP, or the deliberately bad model. */
export function fixtureModel(kind: FixtureKind): FixtureModel {
  const m = fixtureManifest().models.find((x) => x.file.includes(kind));
  if (!m) throw new Error(`no ${kind} fixture in ${FIXTURE_DIR}/manifest.json; run npm run build:fixtures`);
  const file = path.join(FIXTURE_DIR, m.file);
  return { file: m.file, path: file, uri: pathToFileURL(file).href, sha256: m.sha256, sizeBytes: m.sizeBytes };
}

export function fixtureGoldenSet(): FixtureGoldenSet {
  return JSON.parse(fs.readFileSync(path.join(FIXTURE_DIR, 'credit-golden.json'), 'utf8')) as FixtureGoldenSet;
}
