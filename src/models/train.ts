/**
 * Built-in trainers: logistic regression and a one-hidden-layer MLP, fitted by mini-batch Adam
 * on a float32 feature matrix. Seeded and single-threaded, so a seed and a dataset name a model
 * bit for bit. Parameters are plain JSON, rounded to float32 — exactly the numbers the ONNX
 * export writes — and `predict` is the TypeScript forward pass of the same graph.
 */
import type { LabelledColumns, TabularSchema } from './features.js';
import { encodeColumns, encodedFeatureNames } from './features.js';
import type { RandomSource } from '../stats/random.js';
import { createRandomSource, seedRandom } from '../stats/random.js';
import { Sha256 } from './sha256.js';

/** A labelled design matrix: `features` is row-major `[rows, featureNames.length]`. */
export interface TrainingSet {
  readonly features: Float32Array;
  readonly labels: Uint8Array;
  readonly rows: number;
  readonly featureNames: readonly string[];
}

/** Per-column centring and scaling applied first in the model (baked into the ONNX graph). */
export interface Standardizer {
  readonly mean: readonly number[];
  readonly scale: readonly number[];
}

export interface LogisticRegressionParams {
  readonly kind: 'logistic_regression';
  readonly featureNames: readonly string[];
  readonly standardizer: Standardizer;
  readonly weights: readonly number[];
  readonly bias: number;
}

export type HiddenActivation = 'tanh' | 'relu';

export interface MlpParams {
  readonly kind: 'mlp';
  readonly featureNames: readonly string[];
  readonly standardizer: Standardizer;
  readonly activation: HiddenActivation;
  readonly hiddenUnits: number;
  /** Row-major `[features, hiddenUnits]`, the layout ONNX MatMul takes. */
  readonly hiddenWeights: readonly number[];
  readonly hiddenBias: readonly number[];
  readonly outputWeights: readonly number[];
  readonly outputBias: number;
}

export type ModelParams = LogisticRegressionParams | MlpParams;
export type TrainerKind = ModelParams['kind'];

export interface TrainingOptions {
  readonly seed?: number;
  readonly epochs?: number;
  readonly batchSize?: number;
  readonly learningRate?: number;
  /** L2 penalty on weights (not biases), per row. */
  readonly l2?: number;
}

export interface MlpTrainingOptions extends TrainingOptions {
  readonly hiddenUnits?: number;
  readonly activation?: HiddenActivation;
}

export interface TrainedModel<P extends ModelParams = ModelParams> {
  readonly params: P;
  /** sha256 of the training matrix bytes (float32, little-endian) followed by the label bytes. */
  readonly trainingDataSha256: string;
  readonly trainingRows: number;
  readonly epochs: number;
  /** Mean log-loss of the final parameters on the training set, without the L2 term. */
  readonly finalTrainingLoss: number;
}

/** Encodes labelled columns into a training set with the schema's encoded feature names. */
export function trainingSetFromColumns<S extends TabularSchema>(schema: S, columns: LabelledColumns<S>): TrainingSet {
  return { features: encodeColumns(schema, columns), labels: columns.labels, rows: columns.rows, featureNames: encodedFeatureNames(schema) };
}

/**
 * The fingerprint stored with a model: which exact rows it learned from. Float32Array bytes are
 * the platform's byte order, which is little-endian on every platform Node supports.
 */
export function trainingDataSha256(set: TrainingSet): string {
  checkTrainingSet(set);
  return new Sha256()
    .update(new Uint8Array(set.features.buffer, set.features.byteOffset, set.features.byteLength))
    .update(new Uint8Array(set.labels.buffer, set.labels.byteOffset, set.labels.byteLength))
    .digestHex();
}

/** The same rows with labels permuted: breaks every feature–label link (a sanity baseline). */
export function withShuffledLabels(set: TrainingSet, seed: number): TrainingSet {
  const labels = set.labels.slice();
  shuffleInPlace(trainingRandom(seed, 'shuffled-labels'), labels);
  return { ...set, labels };
}

export function trainLogisticRegression(set: TrainingSet, options: TrainingOptions = {}): TrainedModel<LogisticRegressionParams> {
  checkTrainingSet(set);
  const width = set.featureNames.length;
  const config = { seed: 1, epochs: 30, batchSize: 128, learningRate: 0.02, l2: 1e-4, ...options };
  const standardizer = fitStandardizer(set);
  const z = standardize(set, standardizer);
  const labels = set.labels;
  // Layout: [weights (width), bias].
  const theta = new Float64Array(width + 1);

  const batchGradient = (order: Uint32Array, start: number, end: number, grad: Float64Array) => {
    const biasIndex = width;
    for (let k = start; k < end; k++) {
      const row = order[k] as number;
      const offset = row * width;
      let logit = theta[biasIndex] as number;
      for (let j = 0; j < width; j++) logit += (theta[j] as number) * (z[offset + j] as number);
      const error = sigmoid(logit) - (labels[row] as number);
      for (let j = 0; j < width; j++) grad[j] = (grad[j] as number) + error * (z[offset + j] as number);
      grad[biasIndex] = (grad[biasIndex] as number) + error;
    }
  };
  fitByAdam(theta, width, set.rows, batchGradient, config);

  const params: LogisticRegressionParams = {
    kind: 'logistic_regression',
    featureNames: [...set.featureNames],
    standardizer,
    weights: toFloat32Numbers(theta.subarray(0, width)),
    bias: Math.fround(theta[width] as number),
  };
  return finish(params, set, config.epochs);
}

export function trainMlp(set: TrainingSet, options: MlpTrainingOptions = {}): TrainedModel<MlpParams> {
  checkTrainingSet(set);
  const width = set.featureNames.length;
  const config = { seed: 1, epochs: 20, batchSize: 128, learningRate: 0.01, l2: 1e-3, hiddenUnits: 16, activation: 'tanh' as HiddenActivation, ...options };
  const hidden = config.hiddenUnits;
  if (!Number.isInteger(hidden) || hidden < 1) throw new RangeError(`hiddenUnits must be a positive integer, got ${hidden}`);
  const standardizer = fitStandardizer(set);
  const z = standardize(set, standardizer);
  const labels = set.labels;

  // Layout: [hidden weights (width × hidden, row-major), hidden bias, output weights, output bias].
  const w1 = 0;
  const b1 = width * hidden;
  const w2 = b1 + hidden;
  const b2 = w2 + hidden;
  const theta = new Float64Array(b2 + 1);
  const init = trainingRandom(config.seed, 'mlp-init');
  // Glorot for tanh, He for relu: keeps the first layer's outputs in the activation's useful range.
  const firstScale = config.activation === 'relu' ? Math.sqrt(2 / width) : Math.sqrt(2 / (width + hidden));
  for (let i = w1; i < b1; i++) theta[i] = firstScale * init.normal();
  for (let i = w2; i < b2; i++) theta[i] = Math.sqrt(1 / hidden) * init.normal();
  const isRelu = config.activation === 'relu';

  const activation = new Float64Array(hidden);
  const batchGradient = (order: Uint32Array, start: number, end: number, grad: Float64Array) => {
    const t = theta;
    const act = activation;
    for (let k = start; k < end; k++) {
      const row = order[k] as number;
      const offset = row * width;
      for (let h = 0; h < hidden; h++) act[h] = t[b1 + h] as number;
      for (let j = 0; j < width; j++) {
        const x = z[offset + j] as number;
        const base = w1 + j * hidden;
        for (let h = 0; h < hidden; h++) act[h] = (act[h] as number) + x * (t[base + h] as number);
      }
      let logit = t[b2] as number;
      for (let h = 0; h < hidden; h++) {
        const pre = act[h] as number;
        const a = isRelu ? (pre > 0 ? pre : 0) : Math.tanh(pre);
        act[h] = a;
        logit += a * (t[w2 + h] as number);
      }
      const error = sigmoid(logit) - (labels[row] as number);
      grad[b2] = (grad[b2] as number) + error;
      for (let h = 0; h < hidden; h++) {
        const a = act[h] as number;
        grad[w2 + h] = (grad[w2 + h] as number) + error * a;
        const slope = isRelu ? (a > 0 ? 1 : 0) : 1 - a * a;
        // The activation buffer now carries the hidden layer's error signal.
        const signal = error * (t[w2 + h] as number) * slope;
        act[h] = signal;
        grad[b1 + h] = (grad[b1 + h] as number) + signal;
      }
      for (let j = 0; j < width; j++) {
        const x = z[offset + j] as number;
        const base = w1 + j * hidden;
        for (let h = 0; h < hidden; h++) grad[base + h] = (grad[base + h] as number) + x * (act[h] as number);
      }
    }
  };
  const isWeight = (i: number) => i < b1 || (i >= w2 && i < b2);
  fitByAdam(theta, isWeight, set.rows, batchGradient, config);

  const params: MlpParams = {
    kind: 'mlp',
    featureNames: [...set.featureNames],
    standardizer,
    activation: config.activation,
    hiddenUnits: hidden,
    hiddenWeights: toFloat32Numbers(theta.subarray(w1, b1)),
    hiddenBias: toFloat32Numbers(theta.subarray(b1, w2)),
    outputWeights: toFloat32Numbers(theta.subarray(w2, b2)),
    outputBias: Math.fround(theta[b2] as number),
  };
  return finish(params, set, config.epochs);
}

/** Probability of the positive class for each of `rows` rows of `features` (row-major, raw). */
export function predict(params: ModelParams, features: Float32Array, rows: number): Float32Array {
  const width = params.featureNames.length;
  if (features.length !== rows * width) {
    throw new RangeError(`expected ${rows} × ${width} = ${rows * width} feature values, got ${features.length}`);
  }
  const mean = Float64Array.from(params.standardizer.mean);
  const scale = Float64Array.from(params.standardizer.scale);
  const out = new Float32Array(rows);
  const x = new Float64Array(width);
  if (params.kind === 'logistic_regression') {
    const weights = Float64Array.from(params.weights);
    for (let r = 0; r < rows; r++) {
      let logit = 0;
      for (let j = 0, o = r * width; j < width; j++, o++) {
        logit += (((features[o] as number) - (mean[j] as number)) / (scale[j] as number)) * (weights[j] as number);
      }
      out[r] = sigmoid(logit + params.bias);
    }
    return out;
  }
  const hidden = params.hiddenUnits;
  const w1 = Float64Array.from(params.hiddenWeights);
  const b1 = Float64Array.from(params.hiddenBias);
  const w2 = Float64Array.from(params.outputWeights);
  const activation = new Float64Array(hidden);
  const isRelu = params.activation === 'relu';
  for (let r = 0; r < rows; r++) {
    for (let j = 0, o = r * width; j < width; j++, o++) x[j] = ((features[o] as number) - (mean[j] as number)) / (scale[j] as number);
    activation.set(b1);
    for (let j = 0; j < width; j++) {
      const xj = x[j] as number;
      const base = j * hidden;
      for (let h = 0; h < hidden; h++) activation[h] = (activation[h] as number) + xj * (w1[base + h] as number);
    }
    let logit = params.outputBias;
    for (let h = 0; h < hidden; h++) {
      const pre = activation[h] as number;
      logit += (isRelu ? (pre > 0 ? pre : 0) : Math.tanh(pre)) * (w2[h] as number);
    }
    out[r] = sigmoid(logit);
  }
  return out;
}

type BatchGradient = (order: Uint32Array, start: number, end: number, grad: Float64Array) => void;

interface AdamConfig {
  readonly seed: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly l2: number;
}

/**
 * Mini-batch Adam over a flat parameter vector. `weights` says which parameters the L2 penalty
 * applies to: either a count (the first n) or a predicate.
 */
function fitByAdam(theta: Float64Array, weights: number | ((i: number) => boolean), rows: number, batchGradient: BatchGradient, config: AdamConfig): void {
  const { epochs, batchSize, learningRate, l2 } = config;
  if (!Number.isInteger(epochs) || epochs < 0) throw new RangeError(`epochs must be a non-negative integer, got ${epochs}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const size = theta.length;
  const penalised = new Uint8Array(size);
  for (let i = 0; i < size; i++) penalised[i] = (typeof weights === 'number' ? i < weights : weights(i)) ? 1 : 0;
  const grad = new Float64Array(size);
  const m = new Float64Array(size);
  const v = new Float64Array(size);
  const beta1 = 0.9;
  const beta2 = 0.999;
  const epsilon = 1e-8;
  const order = new Uint32Array(rows);
  for (let i = 0; i < rows; i++) order[i] = i;
  const shuffler = trainingRandom(config.seed, 'batches');
  let step = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    // Linear decay to a tenth: a constant step leaves the parameters jittering around the optimum.
    const rate = learningRate * (1 - (0.9 * epoch) / Math.max(1, epochs - 1));
    shuffleInPlace(shuffler, order);
    for (let start = 0; start < rows; start += batchSize) {
      const end = Math.min(rows, start + batchSize);
      grad.fill(0);
      batchGradient(order, start, end, grad);
      const inverseCount = 1 / (end - start);
      step++;
      const correction1 = 1 - Math.pow(beta1, step);
      const correction2 = 1 - Math.pow(beta2, step);
      for (let i = 0; i < size; i++) {
        const g = (grad[i] as number) * inverseCount + (penalised[i] === 1 ? l2 * (theta[i] as number) : 0);
        const mi = beta1 * (m[i] as number) + (1 - beta1) * g;
        const vi = beta2 * (v[i] as number) + (1 - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        theta[i] = (theta[i] as number) - (rate * (mi / correction1)) / (Math.sqrt(vi / correction2) + epsilon);
      }
    }
  }
}

function fitStandardizer(set: TrainingSet): Standardizer {
  const width = set.featureNames.length;
  const sum = new Float64Array(width);
  const sumSquares = new Float64Array(width);
  const { features, rows } = set;
  for (let r = 0; r < rows; r++) {
    for (let j = 0, o = r * width; j < width; j++, o++) {
      const x = features[o] as number;
      sum[j] = (sum[j] as number) + x;
      sumSquares[j] = (sumSquares[j] as number) + x * x;
    }
  }
  const mean: number[] = [];
  const scale: number[] = [];
  for (let j = 0; j < width; j++) {
    const m = rows > 0 ? (sum[j] as number) / rows : 0;
    const variance = rows > 0 ? Math.max(0, (sumSquares[j] as number) / rows - m * m) : 0;
    const sd = Math.sqrt(variance);
    mean.push(Math.fround(m));
    // A constant column carries no information; scale 1 keeps the division harmless.
    scale.push(Math.fround(sd > 1e-6 * Math.max(1, Math.abs(m)) ? sd : 1));
  }
  return { mean, scale };
}

function standardize(set: TrainingSet, { mean, scale }: Standardizer): Float64Array {
  const width = set.featureNames.length;
  const z = new Float64Array(set.rows * width);
  const m = Float64Array.from(mean);
  const s = Float64Array.from(scale);
  for (let r = 0; r < set.rows; r++) {
    for (let j = 0, o = r * width; j < width; j++, o++) z[o] = ((set.features[o] as number) - (m[j] as number)) / (s[j] as number);
  }
  return z;
}

function finish<P extends ModelParams>(params: P, set: TrainingSet, epochs: number): TrainedModel<P> {
  const probabilities = predict(params, set.features, set.rows);
  let loss = 0;
  for (let r = 0; r < set.rows; r++) {
    const p = Math.min(1 - 1e-7, Math.max(1e-7, probabilities[r] as number));
    loss -= set.labels[r] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return {
    params,
    trainingDataSha256: trainingDataSha256(set),
    trainingRows: set.rows,
    epochs,
    finalTrainingLoss: set.rows > 0 ? loss / set.rows : NaN,
  };
}

function checkTrainingSet(set: TrainingSet): void {
  const width = set.featureNames.length;
  if (width === 0) throw new RangeError('a training set needs at least one feature');
  if (set.features.length !== set.rows * width) {
    throw new RangeError(`training matrix has ${set.features.length} values; ${set.rows} rows × ${width} features need ${set.rows * width}`);
  }
  if (set.labels.length !== set.rows) throw new RangeError(`${set.labels.length} labels for ${set.rows} rows`);
}

function trainingRandom(seed: number, purpose: string): RandomSource {
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  return createRandomSource(seedRandom(`train/${purpose}/${seed}`));
}

/** Fisher–Yates. */
function shuffleInPlace(random: RandomSource, values: Uint32Array | Uint8Array): void {
  for (let i = values.length - 1; i > 0; i--) {
    const j = random.integer(i + 1);
    const tmp = values[i] as number;
    values[i] = values[j] as number;
    values[j] = tmp;
  }
}

function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

function toFloat32Numbers(values: Float64Array): number[] {
  return Array.from(values, Math.fround);
}
