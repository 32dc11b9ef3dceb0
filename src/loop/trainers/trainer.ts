// The one narrow interface every trainer implements: given the training and holdout CSV files (the
// contract's feature columns, then `label`), write an ONNX model to `outFile`, or throw a
// TrainerError saying why not. What the model is worth, and whether it keeps the contract, is
// judged afterwards by the retrain, the same way for every trainer.
import type { EvaluationSet, ModelContract } from '../../contracts/index.js';
import type { TrainerRef } from '../lineage.js';

export interface TrainingJob {
  retrainId: string;
  model: string;
  contract: ModelContract;
  trainFile: string;
  holdoutFile: string;
  /** Where the trainer writes the ONNX model. */
  outFile: string;
  /** Where the files are in the artifact store, for trainers that fetch them (the webhook). */
  data: { train: { uri: string; sha256: string }; holdout: { uri: string; sha256: string } };
  params: Record<string, unknown>;
  /** The training file read against the contract (for in-process trainers; the caller owns the dataset reader). */
  readTrainingSet: () => Promise<EvaluationSet>;
  /** Called while the trainer works, so a dead attempt is noticed by its heartbeat timeout. */
  heartbeat: (details: Record<string, unknown>) => void;
  /** Aborted when the retrain is cancelled: the trainer stops. */
  signal: AbortSignal;
}

export interface Trainer {
  readonly ref: TrainerRef;
  train(job: TrainingJob): Promise<void>;
}

/** A trainer that could not produce a model: the message is the retrain's reason. */
export class TrainerError extends Error {
  override readonly name = 'TrainerError';
}

/** How often trainers that wait on something else heartbeat. */
export const HEARTBEAT_MS = 2_000;
