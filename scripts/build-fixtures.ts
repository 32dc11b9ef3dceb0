/**
 * Builds the model fixtures in test/fixtures/models/ from seeds alone: three versions of the
 * credit-risk model (a logistic regression, a better MLP, and a deliberately useless model
 * trained on shuffled labels), a 500-row golden set, and a manifest of hashes and golden-set
 * metrics. Running it twice gives identical bytes.
 *
 *   npx tsx scripts/build-fixtures.ts           write the fixtures
 *   npx tsx scripts/build-fixtures.ts --check   exit 1 if the files on disk differ from a fresh build
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CREDIT_FEATURE_NAMES,
  CREDIT_SCHEMA,
  MODEL_INPUT_NAME,
  MODEL_OUTPUT_NAME,
  BATCH_DIMENSION,
  classificationReport,
  encodeColumns,
  exportModelToOnnx,
  generateCreditData,
  loadModelSession,
  predict,
  runFloatMatrix,
  sha256Hex,
  trainLogisticRegression,
  trainMlp,
  trainingSetFromColumns,
  withShuffledLabels,
  writeModelFile,
} from '../src/models/index.js';
import type { CreditDataset, TrainedModel } from '../src/models/index.js';

const FIXTURE_DIRECTORY = fileURLToPath(new URL('../test/fixtures/models/', import.meta.url));
const MODEL_NAME = 'credit-risk';
/** Fixed so the bytes never depend on when the script ran. */
const CREATED_AT = '2026-01-01T00:00:00.000Z';
const TRAINING_SEED = 20260101;
const TRAINING_ROWS = 8000;
const GOLDEN_SEED = 20260102;
const GOLDEN_ROWS = 500;
/** The exported graph must agree with the TypeScript forward pass at least this closely. */
const MAX_RUNTIME_DIFFERENCE = 1e-5;

interface FixtureModel {
  readonly file: string;
  readonly version: string;
  readonly description: string;
  readonly trained: TrainedModel;
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  const trainingData = generateCreditData(TRAINING_ROWS, TRAINING_SEED);
  const trainingSet = trainingSetFromColumns(CREDIT_SCHEMA, trainingData);
  const goldenData = generateCreditData(GOLDEN_ROWS, GOLDEN_SEED);
  const goldenMatrix = encodeColumns(CREDIT_SCHEMA, goldenData);

  const models: FixtureModel[] = [
    {
      file: 'credit-logreg-v1.onnx',
      version: '1',
      description: 'Baseline: logistic regression on the standardised features.',
      trained: trainLogisticRegression(trainingSet, { seed: 1 }),
    },
    {
      file: 'credit-mlp-v2.onnx',
      version: '2',
      description: 'Improvement: one-hidden-layer MLP (16 tanh units); captures the non-linear terms.',
      trained: trainMlp(trainingSet, { seed: 2, hiddenUnits: 16, activation: 'tanh' }),
    },
    {
      file: 'credit-bad-v3.onnx',
      version: '3',
      description: 'Deliberately useless: logistic regression trained on shuffled labels; validation must reject it.',
      trained: trainLogisticRegression(withShuffledLabels(trainingSet, 3), { seed: 3 }),
    },
  ];

  const outputs = new Map<string, Uint8Array>();
  const manifestModels = [];
  for (const model of models) {
    const bytes = exportModelToOnnx(model.trained.params, {
      modelName: MODEL_NAME,
      modelVersion: model.version,
      trainingDataSha256: model.trained.trainingDataSha256,
      createdAt: CREATED_AT,
      description: model.description,
    });
    // Golden metrics come from the pure TypeScript forward pass, which is bit-for-bit the same on
    // every machine; ONNX Runtime's kernels may round differently per CPU, so it is only checked.
    const probabilities = predict(model.trained.params, goldenMatrix, GOLDEN_ROWS);
    await assertRuntimeAgrees(model.file, bytes, goldenMatrix, probabilities);
    const report = classificationReport(probabilities, goldenData.labels);
    outputs.set(model.file, bytes);
    manifestModels.push({
      file: model.file,
      modelName: MODEL_NAME,
      version: model.version,
      trainer: model.trained.params.kind,
      description: model.description,
      sha256: sha256Hex(bytes),
      sizeBytes: bytes.length,
      trainingDataSha256: model.trained.trainingDataSha256,
      trainingRows: model.trained.trainingRows,
      golden: { accuracy: round6(report.accuracy), auc: round6(report.auc), logLoss: round6(report.logLoss) },
    });
  }

  const golden = encodeText(formatJson(goldenSetDocument(goldenData, goldenMatrix)));
  outputs.set('credit-golden.json', golden);
  const manifest = {
    generator: 'scripts/build-fixtures.ts',
    createdAt: CREATED_AT,
    featureNames: CREDIT_FEATURE_NAMES,
    input: { name: MODEL_INPUT_NAME, type: 'float32', shape: [BATCH_DIMENSION, CREDIT_FEATURE_NAMES.length] },
    output: { name: MODEL_OUTPUT_NAME, type: 'float32', shape: [BATCH_DIMENSION, 1] },
    training: { rows: TRAINING_ROWS, seed: TRAINING_SEED },
    golden: { file: 'credit-golden.json', rows: GOLDEN_ROWS, seed: GOLDEN_SEED, sha256: sha256Hex(golden), positiveRate: round6(mean(goldenData.labels)) },
    models: manifestModels,
  };
  outputs.set('manifest.json', encodeText(formatJson(manifest)));

  if (check) {
    const stale: string[] = [];
    for (const [file, bytes] of outputs) {
      const onDisk = await readFile(join(FIXTURE_DIRECTORY, file)).catch(() => null);
      if (!onDisk || !onDisk.equals(bytes)) stale.push(file);
    }
    if (stale.length > 0) {
      console.error(`Model fixtures are out of date: ${stale.join(', ')}. Run: npx tsx scripts/build-fixtures.ts`);
      process.exit(1);
    }
    console.log(`Model fixtures are up to date (${outputs.size} files).`);
    return;
  }
  for (const [file, bytes] of outputs) {
    const written = await writeModelFile(join(FIXTURE_DIRECTORY, file), bytes);
    console.log(`${file.padEnd(22)} ${String(written.sizeBytes).padStart(7)} B  sha256 ${written.sha256.slice(0, 16)}…`);
  }
  for (const model of manifestModels) {
    console.log(`${model.file.padEnd(22)} golden accuracy ${model.golden.accuracy.toFixed(4)}  AUC ${model.golden.auc.toFixed(4)}  log-loss ${model.golden.logLoss.toFixed(4)}`);
  }
}

async function assertRuntimeAgrees(file: string, bytes: Uint8Array, matrix: Float32Array, expected: Float32Array): Promise<void> {
  const loaded = await loadModelSession(bytes, { sourceName: file, sessionOptions: { intraOpNumThreads: 1 } });
  try {
    const actual = await runFloatMatrix(loaded, matrix, expected.length);
    let worst = 0;
    for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs((actual[i] as number) - (expected[i] as number)));
    if (!(worst <= MAX_RUNTIME_DIFFERENCE)) throw new Error(`${file}: ONNX Runtime differs from the TypeScript forward pass by ${worst}`);
  } finally {
    await loaded.session.release();
  }
}

/**
 * The golden set: raw features by column (categorical values as level names), the encoded matrix
 * the model takes, and the labels. Matrix cells are written as the raw numbers, which convert to
 * exactly the float32 values the encoder produces.
 */
function goldenSetDocument(data: CreditDataset, matrix: Float32Array) {
  const columns: Record<string, (number | string)[]> = {};
  for (const name of CREDIT_SCHEMA.numeric) columns[name] = Array.from(data.numeric[name]);
  for (const { name, levels } of CREDIT_SCHEMA.categorical) {
    columns[name] = Array.from(data.categorical[name], (index) => levels[index] ?? '?');
  }
  const width = CREDIT_FEATURE_NAMES.length;
  const rows: number[][] = [];
  for (let r = 0; r < data.rows; r++) {
    const row: number[] = CREDIT_SCHEMA.numeric.map((name) => data.numeric[name][r] as number);
    for (const { name, levels } of CREDIT_SCHEMA.categorical) {
      for (let level = 0; level < levels.length; level++) row.push(data.categorical[name][r] === level ? 1 : 0);
    }
    rows.push(row);
  }
  const reencoded = Float32Array.from(rows.flat());
  if (reencoded.length !== data.rows * width || reencoded.some((v, i) => v !== matrix[i])) {
    throw new Error('golden matrix does not match the encoder');
  }
  return {
    description: 'Credit-risk golden set: held-out applicants drawn from the base population, for validating model versions.',
    rows: data.rows,
    featureNames: CREDIT_FEATURE_NAMES,
    schema: CREDIT_SCHEMA,
    columns,
    matrix: rows,
    labels: Array.from(data.labels),
  };
}

/** Two-space JSON with arrays of plain values on one line: compact and still diff-friendly. */
function formatJson(value: unknown, indent = ''): string {
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) return JSON.stringify(value);
    const inner = indent + '  ';
    return `[\n${value.map((v) => inner + formatJson(v, inner)).join(',\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object') {
    const inner = indent + '  ';
    const fields = Object.entries(value).map(([k, v]) => `${inner}${JSON.stringify(k)}: ${formatJson(v, inner)}`);
    return `{\n${fields.join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value);
}

function encodeText(text: string): Uint8Array {
  return new TextEncoder().encode(`${text}\n`);
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

function mean(values: Uint8Array): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
