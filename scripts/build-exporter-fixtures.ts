/**
 * Builds test/fixtures/models/exporters/: ONNX models shaped like what the common exporters write
 * (skl2onnx, onnxmltools, torch.onnx.export), trained from seeds by the project's own code, each
 * with a small evaluation set (CSV) and a manifest of hashes, inputs and outputs. No Python: the
 * graphs are written with src/models/onnx-graph.ts in the operators those exporters emit or plain
 * ONNX equivalents. Running it twice gives identical bytes.
 *
 *   npx tsx scripts/build-exporter-fixtures.ts           write the fixtures
 *   npx tsx scripts/build-exporter-fixtures.ts --check   exit 1 if the files on disk differ from a fresh build
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type onnxProto from 'onnx-proto';
import type { Tensor } from 'onnxruntime-node';
import {
  CREDIT_FEATURE_NAMES,
  CREDIT_SCHEMA,
  encodeColumns,
  generateCreditData,
  loadModelSession,
  tensorFromValues,
  sha256Hex,
  trainLogisticRegression,
  trainingSetFromColumns,
  writeModelFile,
} from '../src/models/index.js';
import type { CreditDataset, LogisticRegressionParams, TabularSchema } from '../src/models/index.js';
import { evaluationInputs, type ExporterFixtureKind, type ExporterFixtureManifest, type ExporterTensorSpec } from '../src/models/fixtures.js';
import {
  encodeGraphModel,
  graphNode as node,
  sequenceOfMapsValueInfo,
  tensorInitializer,
  tensorValueInfo,
  type GraphDimension,
  type GraphElementType,
} from '../src/models/onnx-graph.js';
import { createRandomSource, seedRandom, type RandomSource } from '../src/stats/random.js';

const OUTPUT_DIRECTORY = fileURLToPath(new URL('../test/fixtures/models/exporters/', import.meta.url));
const CREATED_AT = '2026-01-01T00:00:00.000Z';
const TRAINING_ROWS = 4000;
const EVALUATION_ROWS = 200;
const CREDIT_TRAINING_SEED = 20260301;
const CREDIT_EVALUATION_SEED = 20260302;
/** skl2onnx and onnxmltools declare the batch axis as N; torch.onnx.export names it after dynamic_axes. */
const SKL_BATCH = 'N';
const TORCH_BATCH = 'batch_size';
const ML_DOMAIN = 'ai.onnx.ml';

interface BuiltFixture {
  readonly kind: ExporterFixtureKind;
  readonly file: string;
  readonly mimics: string;
  readonly task: 'binary_classification' | 'multiclass_classification' | 'regression';
  readonly classes?: readonly number[];
  readonly producer: { name: string; version: string };
  readonly opsets: readonly { domain: string; version: number }[];
  readonly nodes: onnxProto.onnx.INodeProto[];
  readonly initializers: onnxProto.onnx.ITensorProto[];
  readonly inputs: readonly ExporterTensorSpec[];
  readonly outputs: readonly ExporterTensorSpec[];
  readonly dataset: EvaluationSet;
}

/** An evaluation set: named columns (features by input, then `label`, then an optional `segment`). */
interface EvaluationSet {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly (number | string)[])[];
  readonly segment: boolean;
}

const tensor = (name: string, type: GraphElementType, shape: GraphDimension[], features?: readonly string[]): ExporterTensorSpec =>
  ({ name, type, shape, ...(features ? { features: [...features] } : {}) });

function main(): Promise<void> {
  const check = process.argv.includes('--check');
  const creditTraining = generateCreditData(TRAINING_ROWS, CREDIT_TRAINING_SEED);
  const creditEvaluation = generateCreditData(EVALUATION_ROWS, CREDIT_EVALUATION_SEED);
  const creditLogistic = trainLogisticRegression(trainingSetFromColumns(CREDIT_SCHEMA, creditTraining), { seed: 11 }).params;
  const creditMatrix = encodeColumns(CREDIT_SCHEMA, creditEvaluation);
  const width = CREDIT_FEATURE_NAMES.length;
  const regions = CREDIT_SCHEMA.categorical[0].levels;
  const creditRows = (labelOf: (r: number) => number) => Array.from({ length: EVALUATION_ROWS }, (_, r) => [
    ...Array.from(creditMatrix.subarray(r * width, (r + 1) * width)), labelOf(r), regions[creditEvaluation.categorical.region[r] as number] ?? '?',
  ]);
  const creditSet: EvaluationSet = { columns: [...CREDIT_FEATURE_NAMES, 'label', 'segment'], rows: creditRows((r) => creditEvaluation.labels[r] as number), segment: true };
  const sklOpsets = [{ domain: '', version: 13 }, { domain: ML_DOMAIN, version: 1 }];
  const skl = { name: 'skl2onnx', version: '1.17.0' };

  const fixtures: BuiltFixture[] = [
    {
      kind: 'binary-label-probabilities',
      file: 'skl2onnx-binary-classifier.onnx',
      mimics: "skl2onnx LogisticRegression with options={'zipmap': False}: label int64 [N] and probabilities float32 [N,2]",
      task: 'binary_classification', classes: [0, 1], producer: skl, opsets: sklOpsets,
      ...labelAndProbabilities('float_input', creditLogistic),
      inputs: [tensor('float_input', 'float32', [SKL_BATCH, width], CREDIT_FEATURE_NAMES)],
      outputs: [tensor('label', 'int64', [SKL_BATCH]), tensor('probabilities', 'float32', [SKL_BATCH, 2])],
      dataset: creditSet,
    },
    multiclassMlp(),
    ...regressors(),
    twoInputClassifier(creditTraining, creditEvaluation, 'int64'),
    twoInputClassifier(creditTraining, creditEvaluation, 'string'),
    {
      kind: 'float64',
      file: 'float64-classifier.onnx',
      mimics: 'a classifier exported in double precision (skl2onnx DoubleTensorType): float64 [N,F] in, probability float64 [N,1] out',
      task: 'binary_classification', classes: [0, 1], producer: skl, opsets: [{ domain: '', version: 13 }],
      ...logisticNodes('input', 'probability', creditLogistic, 'float64'),
      inputs: [tensor('input', 'float64', [SKL_BATCH, width], CREDIT_FEATURE_NAMES)],
      outputs: [tensor('probability', 'float64', [SKL_BATCH, 1])],
      dataset: creditSet,
    },
    zipMapClassifier(creditLogistic, creditSet),
  ];

  const outputs = new Map<string, Uint8Array>();
  const manifest: ExporterFixtureManifest = { generator: 'scripts/build-exporter-fixtures.ts', createdAt: CREATED_AT, models: [] };
  for (const f of fixtures) {
    const bytes = encodeGraphModel({
      irVersion: 8, opsets: f.opsets, producerName: f.producer.name, producerVersion: f.producer.version, docString: f.mimics,
      graph: {
        name: f.kind, node: f.nodes, initializer: f.initializers,
        input: f.inputs.map((i) => tensorValueInfo(i.name, i.type as GraphElementType, i.shape)),
        output: f.outputs.map((o) => (o.type === 'non-tensor' ? sequenceOfMapsValueInfo(o.name) : tensorValueInfo(o.name, o.type as GraphElementType, o.shape))),
      },
    });
    const datasetFile = f.file.replace(/\.onnx$/, '.eval.csv');
    const csv = encodeText(formatCsv(f.dataset));
    outputs.set(f.file, bytes);
    outputs.set(datasetFile, csv);
    manifest.models.push({
      kind: f.kind, file: f.file, mimics: f.mimics, task: f.task, ...(f.classes ? { classes: [...f.classes] } : {}),
      sha256: sha256Hex(bytes), sizeBytes: bytes.length, inputs: [...f.inputs], outputs: [...f.outputs],
      dataset: { file: datasetFile, sha256: sha256Hex(csv), rows: f.dataset.rows.length, columns: [...f.dataset.columns], label: 'label', ...(f.dataset.segment ? { segment: 'segment' } : {}) },
    });
  }
  outputs.set('manifest.json', encodeText(JSON.stringify(manifest, null, 2)));
  return check ? checkOnDisk(outputs) : writeAll(outputs, fixtures);
}

/** Standardise, one linear layer, logit [batch, 1]; then Sigmoid into `output` of `type`. */
function logisticNodes(input: string, output: string, params: LogisticRegressionParams, type: 'float32' | 'float64') {
  const width = params.featureNames.length;
  return {
    initializers: [
      tensorInitializer('mean', type, [width], params.standardizer.mean),
      tensorInitializer('scale', type, [width], params.standardizer.scale),
      tensorInitializer('coefficients', type, [width, 1], params.weights),
      tensorInitializer('intercept', type, [1], [params.bias]),
    ],
    nodes: [
      node('Sub', [input, 'mean'], ['centered'], 'center'),
      node('Div', ['centered', 'scale'], ['scaled'], 'scale'),
      node('MatMul', ['scaled', 'coefficients'], ['linear'], 'linear'),
      node('Add', ['linear', 'intercept'], ['logit'], 'intercept'),
      node('Sigmoid', ['logit'], [output], 'sigmoid'),
    ],
  };
}

/** skl2onnx's binary classifier without ZipMap: probabilities [N,2] = [1 - p, p], label = argmax (int64 [N]). */
function labelAndProbabilities(input: string, params: LogisticRegressionParams, label = 'label', probabilities = 'probabilities') {
  const logistic = logisticNodes(input, 'positive', params, 'float32');
  return {
    initializers: [...logistic.initializers, tensorInitializer('one', 'float32', [1], [1])],
    nodes: [
      ...logistic.nodes,
      node('Sub', ['one', 'positive'], ['negative'], 'complement'),
      node('Concat', ['negative', 'positive'], [probabilities], 'probabilities', { axis: { int: 1 } }),
      node('ArgMax', [probabilities], [label], 'label', { axis: { int: 1 }, keepdims: { int: 0 } }),
    ],
  };
}

/** skl2onnx's default: the same classifier with ZipMap turning probabilities into a sequence of {class: probability} maps. */
function zipMapClassifier(params: LogisticRegressionParams, dataset: EvaluationSet): BuiltFixture {
  const graph = labelAndProbabilities('float_input', params, 'output_label', 'probability_tensor');
  const width = params.featureNames.length;
  return {
    kind: 'zipmap',
    file: 'skl2onnx-zipmap-classifier.onnx',
    mimics: "skl2onnx LogisticRegression with the default zipmap: output_label int64 [N] and output_probability seq(map(int64, float)); Sluice must refuse it",
    task: 'binary_classification', classes: [0, 1], producer: { name: 'skl2onnx', version: '1.17.0' },
    opsets: [{ domain: '', version: 13 }, { domain: ML_DOMAIN, version: 1 }],
    initializers: graph.initializers,
    nodes: [...graph.nodes, node('ZipMap', ['probability_tensor'], ['output_probability'], 'zipmap', { classlabels_int64s: { ints: [0, 1] } }, ML_DOMAIN)],
    inputs: [tensor('float_input', 'float32', [SKL_BATCH, width], params.featureNames)],
    outputs: [tensor('output_label', 'int64', [SKL_BATCH]), { name: 'output_probability', type: 'non-tensor', shape: [] }],
    dataset,
  };
}

/**
 * torch.onnx.export of a two-layer MLP (Linear → ReLU → Linear) over three classes: `input`
 * float32 [batch_size, 4] → `logits` float32 [batch_size, 3], no softmax. The hidden layer is fixed
 * seeded random features; the output layer is fitted by full-batch gradient descent on softmax
 * cross-entropy, which is plenty to separate the three seeded clusters.
 */
function multiclassMlp(): BuiltFixture {
  const features = ['sensor_1', 'sensor_2', 'sensor_3', 'sensor_4'];
  const centers = [[0, 0, 0, 0], [2, 1, -1, 0.5], [-1, 2, 1, -1.5]];
  const priors = [0.5, 0.3, 0.2];
  const width = features.length;
  const classes = centers.length;
  const hidden = 16;
  const draw = (rows: number, seed: string) => {
    const random = stream(seed);
    const x = new Float32Array(rows * width);
    const y = new Uint8Array(rows);
    for (let r = 0; r < rows; r++) {
      const u = random.uniform();
      const k = u < (priors[0] as number) ? 0 : u < (priors[0] as number) + (priors[1] as number) ? 1 : 2;
      y[r] = k;
      for (let j = 0; j < width; j++) x[r * width + j] = (centers[k]?.[j] as number) + random.normal();
    }
    return { x, y, rows };
  };
  const init = stream('multiclass/init');
  const w1 = Array.from({ length: width * hidden }, () => Math.fround(init.normal() * 0.8));
  const b1 = Array.from({ length: hidden }, () => Math.fround(init.normal() * 0.5));
  const hiddenOf = (x: Float32Array, rows: number) => {
    const h = new Float64Array(rows * hidden);
    for (let r = 0; r < rows; r++) {
      for (let u = 0; u < hidden; u++) {
        let a = b1[u] as number;
        for (let j = 0; j < width; j++) a += (x[r * width + j] as number) * (w1[j * hidden + u] as number);
        h[r * hidden + u] = a > 0 ? a : 0;
      }
    }
    return h;
  };
  const train = draw(TRAINING_ROWS, 'multiclass/train');
  const h = hiddenOf(train.x, train.rows);
  const w2 = new Float64Array(hidden * classes);
  const b2 = new Float64Array(classes);
  const logits = new Float64Array(classes);
  for (let step = 0; step < 300; step++) {
    const gw = new Float64Array(hidden * classes);
    const gb = new Float64Array(classes);
    for (let r = 0; r < train.rows; r++) {
      let max = -Infinity;
      for (let c = 0; c < classes; c++) {
        let z = b2[c] as number;
        for (let u = 0; u < hidden; u++) z += (h[r * hidden + u] as number) * (w2[u * classes + c] as number);
        logits[c] = z;
        max = Math.max(max, z);
      }
      let total = 0;
      for (let c = 0; c < classes; c++) total += (logits[c] = Math.exp((logits[c] as number) - max));
      for (let c = 0; c < classes; c++) {
        const error = (logits[c] as number) / total - (train.y[r] === c ? 1 : 0);
        gb[c] = (gb[c] as number) + error;
        for (let u = 0; u < hidden; u++) gw[u * classes + c] = (gw[u * classes + c] as number) + error * (h[r * hidden + u] as number);
      }
    }
    for (let i = 0; i < w2.length; i++) w2[i] = (w2[i] as number) - (0.1 * (gw[i] as number)) / train.rows;
    for (let c = 0; c < classes; c++) b2[c] = (b2[c] as number) - (0.1 * (gb[c] as number)) / train.rows;
  }
  const evaluation = draw(EVALUATION_ROWS, 'multiclass/evaluation');
  return {
    kind: 'multiclass-logits',
    file: 'pytorch-multiclass-mlp.onnx',
    mimics: "torch.onnx.export of nn.Sequential(Linear, ReLU, Linear) with dynamic_axes={'input': {0: 'batch_size'}, 'logits': {0: 'batch_size'}}: raw logits, no softmax",
    task: 'multiclass_classification', classes: [0, 1, 2], producer: { name: 'pytorch', version: '2.3.0' }, opsets: [{ domain: '', version: 17 }],
    initializers: [
      tensorInitializer('fc1.weight', 'float32', [width, hidden], w1),
      tensorInitializer('fc1.bias', 'float32', [hidden], b1),
      tensorInitializer('fc2.weight', 'float32', [hidden, classes], Array.from(w2, Math.fround)),
      tensorInitializer('fc2.bias', 'float32', [classes], Array.from(b2, Math.fround)),
    ],
    nodes: [
      node('MatMul', ['input', 'fc1.weight'], ['/fc1/MatMul_output_0'], '/fc1/MatMul'),
      node('Add', ['/fc1/MatMul_output_0', 'fc1.bias'], ['/fc1/Add_output_0'], '/fc1/Add'),
      node('Relu', ['/fc1/Add_output_0'], ['/relu/Relu_output_0'], '/relu/Relu'),
      node('MatMul', ['/relu/Relu_output_0', 'fc2.weight'], ['/fc2/MatMul_output_0'], '/fc2/MatMul'),
      node('Add', ['/fc2/MatMul_output_0', 'fc2.bias'], ['logits'], '/fc2/Add'),
    ],
    inputs: [tensor('input', 'float32', [TORCH_BATCH, width], features)],
    outputs: [tensor('logits', 'float32', [TORCH_BATCH, classes])],
    dataset: { columns: [...features, 'label'], rows: Array.from({ length: evaluation.rows }, (_, r) => [...evaluation.x.subarray(r * width, (r + 1) * width), evaluation.y[r] as number]), segment: false },
  };
}

/**
 * Two regressors from one least-squares fit on seeded data: a PyTorch-style one whose prediction
 * is squeezed to [batch_size], and an skl2onnx LinearRegressor-style one answering `variable` [N,1].
 */
function regressors(): BuiltFixture[] {
  const features = ['rooms', 'area', 'age', 'distance', 'floor'];
  const truth = [1.5, -0.8, 0.3, 0, 0.5];
  const width = features.length;
  const draw = (rows: number, seed: string) => {
    const random = stream(seed);
    const x = new Float32Array(rows * width);
    const y = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      let target = 2;
      for (let j = 0; j < width; j++) {
        const v = Math.fround(random.normal());
        x[r * width + j] = v;
        target += v * (truth[j] as number);
      }
      y[r] = target + 0.5 * random.normal();
    }
    return { x, y, rows };
  };
  const train = draw(TRAINING_ROWS, 'regression/train');
  const coefficients = leastSquares(train.x, train.y, train.rows, width).map(Math.fround);
  const intercept = coefficients.pop() as number;
  const evaluation = draw(EVALUATION_ROWS, 'regression/evaluation');
  const dataset: EvaluationSet = {
    columns: [...features, 'label'],
    rows: Array.from({ length: evaluation.rows }, (_, r) => [...evaluation.x.subarray(r * width, (r + 1) * width), evaluation.y[r] as number]),
    segment: false,
  };
  const linear = (input: string, weightShape: number[], output: string) => ({
    initializers: [tensorInitializer('coefficients', 'float32', weightShape, coefficients), tensorInitializer('intercept', 'float32', [1], [intercept])],
    nodes: [node('MatMul', [input, 'coefficients'], ['linear'], 'linear'), node('Add', ['linear', 'intercept'], [output], 'intercept')],
  });
  return [
    {
      kind: 'regressor-flat',
      file: 'pytorch-regressor-flat.onnx',
      mimics: 'torch.onnx.export of a linear model whose forward returns y.squeeze(-1): prediction float32 [batch_size]',
      task: 'regression', producer: { name: 'pytorch', version: '2.3.0' }, opsets: [{ domain: '', version: 17 }],
      ...linear('input', [width], 'prediction'),
      inputs: [tensor('input', 'float32', [TORCH_BATCH, width], features)],
      outputs: [tensor('prediction', 'float32', [TORCH_BATCH])],
      dataset,
    },
    {
      kind: 'regressor-column',
      file: 'skl2onnx-linear-regressor.onnx',
      mimics: 'skl2onnx LinearRegression: float_input float32 [N,F] → variable float32 [N,1]',
      task: 'regression', producer: { name: 'skl2onnx', version: '1.17.0' }, opsets: [{ domain: '', version: 13 }],
      ...linear('float_input', [width, 1], 'variable'),
      inputs: [tensor('float_input', 'float32', [SKL_BATCH, width], features)],
      outputs: [tensor('variable', 'float32', [SKL_BATCH, 1])],
      dataset,
    },
  ];
}

/**
 * A pipeline with two named inputs, as skl2onnx writes a ColumnTransformer: `numeric` float32
 * [N,8] (the credit numeric features) and `employment` [N,1], a category index (int64) or the
 * level's name (string, mapped to its index by ai.onnx.ml LabelEncoder as skl2onnx's
 * OneHotEncoder on strings does). The one-hot encoding and standardisation are folded into a
 * per-category logit offset looked up with Gather; both encodings give the same probabilities.
 */
function twoInputClassifier(training: CreditDataset, evaluation: CreditDataset, encoding: 'int64' | 'string'): BuiltFixture {
  const employment = CREDIT_SCHEMA.categorical[1];
  const schema = { numeric: CREDIT_SCHEMA.numeric, categorical: [employment] } as const satisfies TabularSchema;
  const params = trainLogisticRegression(trainingSetFromColumns(schema, training as never), { seed: 12 }).params;
  const numericWidth = schema.numeric.length;
  const { mean, scale } = params.standardizer;
  const offsets = employment.levels.map((_, level) => {
    let offset = 0;
    for (let j = 0; j < employment.levels.length; j++) {
      const k = numericWidth + j;
      offset += ((params.weights[k] as number) * ((level === j ? 1 : 0) - (mean[k] as number))) / (scale[k] as number);
    }
    return Math.fround(offset);
  });
  const regions = CREDIT_SCHEMA.categorical[0].levels;
  const strings = encoding === 'string';
  return {
    kind: strings ? 'string-category' : 'two-inputs',
    file: strings ? 'string-category-classifier.onnx' : 'two-input-classifier.onnx',
    mimics: `skl2onnx ColumnTransformer pipeline with one input per column group: numeric float32 [N,8] and employment ${encoding} [N,1] → probability float32 [N,1]`,
    task: 'binary_classification', classes: [0, 1], producer: { name: 'skl2onnx', version: '1.17.0' },
    opsets: strings ? [{ domain: '', version: 13 }, { domain: ML_DOMAIN, version: 2 }] : [{ domain: '', version: 13 }],
    initializers: [
      tensorInitializer('mean', 'float32', [numericWidth], mean.slice(0, numericWidth)),
      tensorInitializer('scale', 'float32', [numericWidth], scale.slice(0, numericWidth)),
      tensorInitializer('coefficients', 'float32', [numericWidth, 1], params.weights.slice(0, numericWidth)),
      tensorInitializer('employment_offsets', 'float32', [employment.levels.length], offsets),
      tensorInitializer('intercept', 'float32', [1], [params.bias]),
    ],
    nodes: [
      node('Sub', ['numeric', 'mean'], ['centered'], 'center'),
      node('Div', ['centered', 'scale'], ['scaled'], 'scale'),
      node('MatMul', ['scaled', 'coefficients'], ['numeric_logit'], 'numeric_linear'),
      ...(strings ? [node('LabelEncoder', ['employment'], ['employment_index'], 'employment_index',
        { keys_strings: { strings: employment.levels }, values_int64s: { ints: employment.levels.map((_, i) => i) }, default_int64: { int: -1 } }, ML_DOMAIN)] : []),
      node('Gather', ['employment_offsets', strings ? 'employment_index' : 'employment'], ['employment_logit'], 'employment_lookup', { axis: { int: 0 } }),
      node('Add', ['numeric_logit', 'employment_logit'], ['linear'], 'combine'),
      node('Add', ['linear', 'intercept'], ['logit'], 'intercept'),
      node('Sigmoid', ['logit'], ['probability'], 'sigmoid'),
    ],
    inputs: [tensor('numeric', 'float32', [SKL_BATCH, numericWidth], schema.numeric), tensor('employment', encoding, [SKL_BATCH, 1], ['employment'])],
    outputs: [tensor('probability', 'float32', [SKL_BATCH, 1])],
    dataset: {
      columns: [...schema.numeric, 'employment', 'label', 'segment'],
      rows: Array.from({ length: evaluation.rows }, (_, r) => [
        ...schema.numeric.map((name) => Math.fround(evaluation.numeric[name][r] as number)),
        strings ? (employment.levels[evaluation.categorical.employment[r] as number] ?? '?') : evaluation.categorical.employment[r] as number,
        evaluation.labels[r] as number, regions[evaluation.categorical.region[r] as number] ?? '?',
      ]),
      segment: true,
    },
  };
}

/** Ordinary least squares with an intercept (last), by the normal equations and Gauss–Jordan elimination. */
function leastSquares(x: Float32Array, y: Float64Array, rows: number, width: number): number[] {
  const n = width + 1;
  const a = Array.from({ length: n }, () => new Float64Array(n + 1));
  for (let r = 0; r < rows; r++) {
    const row = [...x.subarray(r * width, (r + 1) * width), 1];
    for (let i = 0; i < n; i++) {
      const ai = a[i] as Float64Array;
      for (let j = 0; j < n; j++) ai[j] = (ai[j] as number) + (row[i] as number) * (row[j] as number);
      ai[n] = (ai[n] as number) + (row[i] as number) * (y[r] as number);
    }
  }
  for (let i = 0; i < n; i++) {
    const pivot = a[i] as Float64Array;
    const p = pivot[i] as number;
    for (let j = i; j <= n; j++) pivot[j] = (pivot[j] as number) / p;
    for (let k = 0; k < n; k++) {
      const ak = a[k] as Float64Array;
      const factor = ak[i] as number;
      if (k !== i && factor !== 0) for (let j = i; j <= n; j++) ak[j] = (ak[j] as number) - factor * (pivot[j] as number);
    }
  }
  return a.map((ai) => ai[n] as number);
}

function stream(name: string): RandomSource {
  return createRandomSource(seedRandom(`exporter-fixtures/${name}`));
}

/** Numbers in their shortest round-tripping form (float32 cells were rounded before, so they parse back exactly). */
function formatCsv(set: EvaluationSet): string {
  const lines = [set.columns.join(',')];
  for (const row of set.rows) {
    if (row.length !== set.columns.length) throw new Error(`an evaluation row has ${row.length} cells for ${set.columns.length} columns`);
    lines.push(row.map(String).join(','));
  }
  return lines.join('\n');
}

function encodeText(text: string): Uint8Array {
  return new TextEncoder().encode(`${text}\n`);
}

async function checkOnDisk(outputs: ReadonlyMap<string, Uint8Array>): Promise<void> {
  const stale: string[] = [];
  for (const [file, bytes] of outputs) {
    const onDisk = await readFile(join(OUTPUT_DIRECTORY, file)).catch(() => null);
    if (!onDisk || !onDisk.equals(bytes)) stale.push(file);
  }
  const extra = (await readdir(OUTPUT_DIRECTORY).catch(() => [])).filter((f) => !outputs.has(f));
  if (stale.length + extra.length > 0) {
    console.error(`Exporter fixtures are out of date: ${[...stale, ...extra.map((f) => `${f} (not built)`)].join(', ')}. Run: npx tsx scripts/build-exporter-fixtures.ts`);
    process.exit(1);
  }
  console.log(`Exporter fixtures are up to date (${outputs.size} files).`);
}

async function writeAll(outputs: ReadonlyMap<string, Uint8Array>, fixtures: readonly BuiltFixture[]): Promise<void> {
  for (const [file, bytes] of outputs) {
    const written = await writeModelFile(join(OUTPUT_DIRECTORY, file), bytes);
    console.log(`${file.padEnd(40)} ${String(written.sizeBytes).padStart(7)} B  sha256 ${written.sha256.slice(0, 16)}…`);
  }
  // A sanity report from ONNX Runtime on each evaluation set; not written anywhere, since
  // kernels may round differently per CPU and the files must not.
  for (const f of fixtures) console.log(`${f.file.padEnd(40)} ${await evaluationSummary(f, outputs.get(f.file) as Uint8Array)}`);
}

async function evaluationSummary(f: BuiltFixture, bytes: Uint8Array): Promise<string> {
  const loaded = await loadModelSession(bytes, { sourceName: f.file, sessionOptions: { intraOpNumThreads: 1 } });
  try {
    if (f.kind === 'zipmap') return `loads in ONNX Runtime; outputs ${loaded.signature.outputs.map((o) => `${o.name}: ${o.type}`).join(', ')}`;
    const rows = f.dataset.rows.length;
    const feeds: Record<string, Tensor> = {};
    for (const input of evaluationInputs(f, f.dataset.columns, f.dataset.rows)) feeds[input.name] = tensorFromValues(input.type, input.values, input.shape);
    const result = await loaded.session.run(feeds);
    const labels = f.dataset.rows.map((row) => row[f.dataset.columns.indexOf('label')] as number);
    const scoreOutput = f.outputs.find((o) => o.name !== 'label') ?? f.outputs[0];
    const score = Array.from(result[scoreOutput?.name ?? '']?.data as Float32Array, Number);
    if (f.task === 'regression') {
      const rmse = Math.sqrt(labels.reduce((s, y, i) => s + (y - (score[i] as number)) ** 2, 0) / rows);
      return `RMSE ${rmse.toFixed(4)}`;
    }
    const stride = score.length / rows;
    let correct = 0;
    for (let r = 0; r < rows; r++) {
      const cells = score.slice(r * stride, (r + 1) * stride);
      const predicted = stride === 1 ? Number((cells[0] as number) >= 0.5) : cells.indexOf(Math.max(...cells));
      if (predicted === labels[r]) correct++;
    }
    return `accuracy ${(correct / rows).toFixed(4)}`;
  } finally {
    await loaded.session.release();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
