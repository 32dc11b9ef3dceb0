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

/**
 * ONNX models shaped like the common exporters' (skl2onnx, onnxmltools, torch.onnx.export), in
 * test/fixtures/models/exporters/ (scripts/build-exporter-fixtures.ts writes them), each with an
 * evaluation set as CSV.
 */
export const EXPORTER_FIXTURE_DIR = path.join(FIXTURE_DIR, 'exporters');

export const EXPORTER_FIXTURE_KINDS = [
  'binary-label-probabilities', 'multiclass-logits', 'regressor-flat', 'regressor-column', 'two-inputs', 'string-category', 'float64', 'zipmap',
] as const;
export type ExporterFixtureKind = (typeof EXPORTER_FIXTURE_KINDS)[number];

/** An input or output as ONNX Runtime reads it ('non-tensor' for ZipMap's sequence of maps), with feature names per input column. */
export interface ExporterTensorSpec { name: string; type: string; shape: Array<number | string>; features?: string[] }

export interface ExporterFixtureEntry {
  kind: ExporterFixtureKind;
  file: string;
  mimics: string;
  task: 'binary_classification' | 'multiclass_classification' | 'regression';
  classes?: number[];
  sha256: string;
  sizeBytes: number;
  inputs: ExporterTensorSpec[];
  outputs: ExporterTensorSpec[];
  /** The evaluation set: feature columns named by input features, then `label`, then `segment` where there is one. */
  dataset: { file: string; sha256: string; rows: number; columns: string[]; label: string; segment?: string };
}

export interface ExporterFixtureManifest { generator: string; createdAt: string; models: ExporterFixtureEntry[] }

export type ExporterFixtureModel = FixtureModel & { entry: ExporterFixtureEntry; datasetPath: string };

export function exporterFixtureManifest(): ExporterFixtureManifest {
  return JSON.parse(fs.readFileSync(path.join(EXPORTER_FIXTURE_DIR, 'manifest.json'), 'utf8')) as ExporterFixtureManifest;
}

export function isExporterFixtureKind(kind: string): kind is ExporterFixtureKind {
  return (EXPORTER_FIXTURE_KINDS as readonly string[]).includes(kind);
}

export function exporterFixtureModel(kind: ExporterFixtureKind): ExporterFixtureModel {
  const entry = exporterFixtureManifest().models.find((m) => m.kind === kind);
  if (!entry) throw new Error(`no ${kind} fixture in ${EXPORTER_FIXTURE_DIR}/manifest.json; run npx tsx scripts/build-exporter-fixtures.ts`);
  const file = path.join(EXPORTER_FIXTURE_DIR, entry.file);
  return { file: entry.file, path: file, uri: pathToFileURL(file).href, sha256: entry.sha256, sizeBytes: entry.sizeBytes, entry, datasetPath: path.join(EXPORTER_FIXTURE_DIR, entry.dataset.file) };
}

/** An exporter fixture's evaluation set as read from its CSV: the header and the cells, as text. */
export function exporterEvaluationSet(kind: ExporterFixtureKind): { columns: string[]; rows: string[][] } {
  const [header = '', ...lines] = fs.readFileSync(exporterFixtureModel(kind).datasetPath, 'utf8').trimEnd().split('\n');
  return { columns: header.split(','), rows: lines.map((line) => line.split(',')) };
}

/** One model input filled from evaluation rows: its values row-major (strings for a string input), [rows, features] in shape. */
export interface EvaluationInput { name: string; type: string; shape: [number, number]; values: Array<number | string> }

/** The model's inputs from evaluation rows, each input's columns picked by its feature names. */
export function evaluationInputs(entry: { readonly inputs: readonly ExporterTensorSpec[] }, columns: readonly string[], rows: readonly (readonly (number | string)[])[]): EvaluationInput[] {
  return entry.inputs.map((input) => {
    const features = input.features ?? [input.name];
    const at = features.map((feature) => {
      const index = columns.indexOf(feature);
      if (index < 0) throw new Error(`the evaluation set has no column ${feature} for input ${input.name}`);
      return index;
    });
    return { name: input.name, type: input.type, shape: [rows.length, features.length], values: rows.flatMap((row) => at.map((i) => (input.type === 'string' ? String(row[i]) : Number(row[i])))) };
  });
}
