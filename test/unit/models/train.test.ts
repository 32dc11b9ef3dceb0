import { describe, expect, it } from 'vitest';
import { CREDIT_SCHEMA, generateCreditData } from '../../../src/models/dataset.js';
import { accuracy, classificationReport, logLoss, rocAuc } from '../../../src/models/metrics/index.js';
import { sha256Hex } from '../../../src/models/sha256.js';
import {
  predict,
  trainLogisticRegression,
  trainMlp,
  trainingDataSha256,
  trainingSetFromColumns,
  withShuffledLabels,
} from '../../../src/models/train.js';

const training = trainingSetFromColumns(CREDIT_SCHEMA, generateCreditData(6000, 101));
const heldOut = trainingSetFromColumns(CREDIT_SCHEMA, generateCreditData(4000, 202));
const majorityRate = (() => {
  const positives = heldOut.labels.reduce((a, b) => a + b, 0) / heldOut.rows;
  return Math.max(positives, 1 - positives);
})();

describe('trainers', () => {
  const logistic = trainLogisticRegression(training, { seed: 1 });
  const mlp = trainMlp(training, { seed: 1, hiddenUnits: 12, epochs: 15 });

  it('logistic regression learns: well above chance on held-out data', () => {
    const report = classificationReport(predict(logistic.params, heldOut.features, heldOut.rows), heldOut.labels);
    expect(report.auc).toBeGreaterThan(0.78);
    expect(report.accuracy).toBeGreaterThan(majorityRate + 0.15);
    expect(report.logLoss).toBeLessThan(0.58);
  });

  it('the MLP learns the non-linear terms a linear model misses', () => {
    const linear = classificationReport(predict(logistic.params, heldOut.features, heldOut.rows), heldOut.labels);
    const report = classificationReport(predict(mlp.params, heldOut.features, heldOut.rows), heldOut.labels);
    expect(report.auc).toBeGreaterThan(0.82);
    expect(report.auc).toBeGreaterThan(linear.auc + 0.02);
    expect(report.logLoss).toBeLessThan(linear.logLoss);
  });

  it('a model trained on shuffled labels carries no information', () => {
    const shuffled = trainLogisticRegression(withShuffledLabels(training, 9), { seed: 1 });
    const probabilities = predict(shuffled.params, heldOut.features, heldOut.rows);
    const report = classificationReport(probabilities, heldOut.labels);
    // Nearly constant predictions near the base rate: no better than always guessing it. The
    // tiny differences still rank rows along a random direction, which can line up with the
    // true risk by chance, so AUC gets a wide band.
    const mean = probabilities.reduce((a, b) => a + b, 0) / probabilities.length;
    const spread = Math.sqrt(probabilities.reduce((a, p) => a + (p - mean) ** 2, 0) / probabilities.length);
    expect(spread).toBeLessThan(0.05);
    expect(report.logLoss).toBeGreaterThan(0.68);
    expect(report.accuracy).toBeLessThan(majorityRate + 0.06);
    expect(Math.abs(report.auc - 0.5)).toBeLessThan(0.15);
  });

  it('is deterministic: same data and seed give identical parameters', () => {
    expect(trainLogisticRegression(training, { seed: 1 }).params).toEqual(logistic.params);
    expect(trainMlp(training, { seed: 1, hiddenUnits: 12, epochs: 15 }).params).toEqual(mlp.params);
    expect(trainMlp(training, { seed: 2, hiddenUnits: 12, epochs: 15 }).params).not.toEqual(mlp.params);
  });

  it('returns plain-JSON parameters exactly representable in float32', () => {
    const roundTripped = JSON.parse(JSON.stringify(mlp.params)) as typeof mlp.params;
    expect(roundTripped).toEqual(mlp.params);
    for (const value of [...mlp.params.hiddenWeights, ...mlp.params.standardizer.mean, mlp.params.outputBias]) {
      expect(Math.fround(value)).toBe(value);
    }
    expect(mlp.params.featureNames).toEqual(training.featureNames);
    expect(mlp.finalTrainingLoss).toBeLessThan(0.55);
  });

  it('fingerprints the training data: matrix bytes then label bytes', () => {
    const expected = sha256Hex(new Uint8Array(training.features.buffer), training.labels);
    expect(logistic.trainingDataSha256).toBe(expected);
    expect(trainingDataSha256(training)).toBe(expected);
    expect(trainingDataSha256(withShuffledLabels(training, 9))).not.toBe(expected);
  });

  it('refuses a matrix whose size does not match its rows and features', () => {
    expect(() => trainLogisticRegression({ ...training, rows: training.rows + 1 })).toThrow(/training matrix has/);
    expect(() => predict(logistic.params, new Float32Array(5), 1)).toThrow(/expected 1 × 19/);
  });
});

describe('metrics', () => {
  it('computes accuracy and log-loss', () => {
    expect(accuracy([0.9, 0.2, 0.6, 0.4], [1, 0, 0, 0])).toBe(0.75);
    expect(logLoss([0.5, 0.5], [1, 0])).toBeCloseTo(Math.log(2), 12);
    expect(Number.isFinite(logLoss([0, 1], [1, 0]))).toBe(true);
  });

  it('computes AUC as the share of correctly ordered positive–negative pairs, ties half', () => {
    const scores = [0.1, 0.4, 0.35, 0.8, 0.4, 0.7, 0.2];
    const labels = [0, 0, 1, 1, 1, 0, 0];
    let pairs = 0, wins = 0;
    for (let i = 0; i < scores.length; i++) {
      for (let j = 0; j < scores.length; j++) {
        if (labels[i] === 1 && labels[j] === 0) {
          pairs++;
          wins += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
        }
      }
    }
    expect(rocAuc(scores, labels)).toBeCloseTo(wins / pairs, 12);
    expect(rocAuc([1, 2, 3], [0, 0, 1])).toBe(1);
    expect(rocAuc([1, 2], [1, 1])).toBeNaN();
    expect(() => accuracy([0.5], [1, 0])).toThrow(/1 predictions for 2 labels/);
  });
});
