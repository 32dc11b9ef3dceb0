// The built-in TypeScript trainer (src/models/train.ts): logistic regression or a one-hidden-layer
// MLP, exported to ONNX with the graph Sluice's own models have (one float32 input `input`
// [batch, features], one output `probability` [batch, 1]). So it retrains binary classifiers of
// exactly that shape (the credit model's); any other contract is refused naming what differs.
import fsp from 'node:fs/promises';
import { targetsFor, type ModelContract } from '../../contracts/index.js';
import { exportModelToOnnx, MODEL_INPUT_NAME, MODEL_OUTPUT_NAME } from '../../models/onnx-export.js';
import { trainLogisticRegression, trainMlp, type MlpTrainingOptions, type TrainingSet } from '../../models/train.js';
import type { Trainer, TrainingJob } from './trainer.js';
import { TrainerError } from './trainer.js';

export const BUILTIN_TRAINERS = ['logistic_regression', 'mlp'] as const;

/** Why the built-in trainer cannot retrain a model of this contract, or null when it can. */
export function builtinLimitation(contract: ModelContract): string | null {
  const expected = `a binary classifier with one float32 input "${MODEL_INPUT_NAME}" of named features and the score in output "${MODEL_OUTPUT_NAME}"`;
  const [input, ...more] = contract.inputs;
  const differs = contract.task !== 'binary_classification' ? `its task is ${contract.task}`
    : more.length > 0 ? `it has ${contract.inputs.length} inputs`
      : input?.name !== MODEL_INPUT_NAME ? `its input is "${input?.name}"`
        : input.elementType !== 'float32' ? `its input is ${input.elementType}`
          : !input.features ? 'its contract names no features'
            : contract.score.output !== MODEL_OUTPUT_NAME || contract.score.transform !== 'none' || (contract.score.column ?? 0) !== 0 ? `its score is read from output "${contract.score.output}"${contract.score.transform !== 'none' ? ` through ${contract.score.transform}` : ''}`
              : null;
  return differs ? `the built-in trainer builds only ${expected}; this model is not one (${differs}): use a command or webhook trainer` : null;
}

async function trainingSet(job: TrainingJob, features: readonly string[]): Promise<TrainingSet> {
  const set = await job.readTrainingSet();
  const targets = targetsFor(job.contract, set.labels);
  if (!targets.ok) throw new TrainerError(`the training labels: ${targets.message}`);
  const matrix = new Float32Array(set.rows * features.length);
  features.forEach((name, j) => {
    const column = set.columns[name] ?? [];
    for (let r = 0; r < set.rows; r++) matrix[r * features.length + j] = Number(column[r]);
  });
  return { features: matrix, labels: Uint8Array.from(targets.values), rows: set.rows, featureNames: features };
}

export function builtinTrainer(name: string, params: Record<string, unknown>): Trainer {
  return {
    ref: { kind: 'builtin', name, params },
    async train(job) {
      if (!(BUILTIN_TRAINERS as readonly string[]).includes(name)) throw new TrainerError(`unknown built-in trainer ${name} (the built-in trainers: ${BUILTIN_TRAINERS.join(', ')})`);
      const limitation = builtinLimitation(job.contract);
      if (limitation) throw new TrainerError(limitation);
      const set = await trainingSet(job, job.contract.inputs[0]?.features ?? []);
      job.heartbeat({ trainer: name, rows: set.rows });
      // Options are the trainer's own (seed, epochs, batchSize, learningRate, l2, hiddenUnits, activation).
      const options = params as MlpTrainingOptions;
      const trained = name === 'mlp' ? trainMlp(set, options) : trainLogisticRegression(set, options);
      const bytes = exportModelToOnnx(trained.params, {
        modelName: job.model, modelVersion: job.retrainId, trainingDataSha256: trained.trainingDataSha256, createdAt: new Date().toISOString(),
        description: `retrained by Sluice (${job.retrainId}) on ${set.rows} rows`,
      });
      await fsp.writeFile(job.outFile, bytes);
    },
  };
}
