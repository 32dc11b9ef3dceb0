/**
 * The score of each answered row, as a version's model contract reads it (contracts/score.ts):
 * P(positive) for a binary classifier, the top class's index for a multiclass one, the prediction
 * for a regressor. The inference log keeps it (the `scores` column) for the canary's shift gate
 * and shadow agreement, so they need not know each model's output layout.
 *
 * Compiled once per version: the score output's place in the signature is found at load, and
 * each request hands only that output's typed array (already at hand, no copy) to extractScores.
 */
import { extractScores, rowScores, type ModelContract } from '../../contracts/index.js';
import type { VersionSignature } from '../protocol/signature.js';
import { halfToNumber } from '../protocol/tensors.js';
import type { BatchOutput } from './session.js';

/** One score per row of a request's outputs (in signature order), or null when the contract cannot read them. */
export type RowScorer = (outputs: readonly BatchOutput[]) => Float64Array | null;

/**
 * The version's scorer; null without a contract, or when the contract's score output is not one
 * of the version's tensor outputs (registration refuses such a version, so this is a worker
 * loaded by hand with a mismatched contract): its rows are logged with NULL scores.
 */
export function compileRowScorer(contract: ModelContract | null | undefined, sig: VersionSignature): RowScorer | null {
  if (!contract) return null;
  const name = contract.score.output;
  const index = sig.outputs.findIndex((o) => o.name === name);
  const output = sig.outputs[index];
  if (output === undefined || output.datatype.array === null) return null;
  // FP16 arrives as half-float bit patterns: the score is read from the numbers they stand for.
  const half = output.datatype.oip === 'FP16';
  return (outputs) => {
    const o = outputs[index];
    if (o === undefined || Array.isArray(o.data)) return null;
    const data = half ? Float32Array.from(o.data as Uint16Array, halfToNumber) : o.data;
    const extracted = extractScores(contract, { [name]: { data, dims: o.shape } });
    return extracted.ok ? rowScores(extracted) : null;
  };
}
