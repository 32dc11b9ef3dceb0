/**
 * A version's I/O contract as the worker enforces it: read from the ONNX model itself (never
 * trusted from the registry), with open dimensions as -1.
 */
import { datatypeByOrt, type DatatypeInfo } from './tensors.js';

export interface TensorContract {
  name: string;
  datatype: DatatypeInfo;
  /** Model shape; -1 where the model leaves a dimension open (a symbolic or unknown dim). */
  shape: number[];
  /** Elements per row: the product of every dimension after the first (batch) one. */
  rowElements: number;
}

export interface VersionSignature {
  inputs: TensorContract[];
  outputs: TensorContract[];
  /**
   * Whether requests can be concatenated along dimension 0: every input and output has an open
   * first dimension and fixed others. Otherwise each request runs alone.
   */
  batchable: boolean;
}

/** What ONNX Runtime reports per input or output (InferenceSession.inputMetadata). */
export interface OrtValueMetadata {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: ReadonlyArray<number | string>;
}

export class SignatureError extends Error {
  override readonly name = 'SignatureError';
}

function contract(m: OrtValueMetadata, side: 'input' | 'output'): TensorContract {
  if (!m.isTensor || m.type === undefined) throw new SignatureError(`${side} ${m.name} is not a tensor; Sluice serves tensor models only`);
  const datatype = datatypeByOrt(m.type);
  if (!datatype) throw new SignatureError(`${side} ${m.name} has element type ${m.type}, which Sluice cannot serve`);
  const shape = (m.shape ?? []).map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
  let rowElements = 1;
  for (let i = 1; i < shape.length; i++) rowElements *= Math.max(0, shape[i] as number);
  return { name: m.name, datatype, shape, rowElements };
}

export function signatureFromMetadata(inputs: readonly OrtValueMetadata[], outputs: readonly OrtValueMetadata[]): VersionSignature {
  const ins = inputs.map((m) => contract(m, 'input'));
  const outs = outputs.map((m) => contract(m, 'output'));
  const batchAxis = (c: TensorContract) => c.shape.length >= 1 && c.shape[0] === -1 && c.shape.slice(1).every((d) => d >= 0);
  // Strings (BYTES) batch too: the batcher concatenates and splits their arrays by rows as it does typed arrays.
  const batchable = ins.length > 0 && ins.every(batchAxis) && outs.every(batchAxis);
  return { inputs: ins, outputs: outs, batchable };
}

/** The signature as the protocol's model metadata shows it. */
export function describeContract(c: TensorContract): { name: string; datatype: string; shape: number[] } {
  return { name: c.name, datatype: c.datatype.oip, shape: c.shape };
}

/** Whether two versions take the same inputs (names, types, shapes), so one checked request fits both. */
export function sameInputs(a: VersionSignature, b: VersionSignature): boolean {
  if (a === b) return true;
  if (a.inputs.length !== b.inputs.length || a.batchable !== b.batchable) return false;
  return a.inputs.every((x, i) => {
    const y = b.inputs[i];
    return y !== undefined && x.name === y.name && x.datatype === y.datatype && x.shape.length === y.shape.length && x.shape.every((d, j) => d === y.shape[j]);
  });
}
