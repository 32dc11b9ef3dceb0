// What registration learns from an artifact by loading it with ONNX Runtime (through the same
// loader serving workers and validation use): its signature, and the metadata Sluice embeds in
// the models it builds. An artifact the runtime cannot load is refused with the loader's message.
import type { ModelSignature } from '../db/schema.js';
import type { ModelMetadata } from '../models/model-metadata.js';
import { loadModelSession, ModelLoadError, type TensorSignature } from '../models/onnx-runtime.js';
import { RegistryError } from './errors.js';

export interface InspectedModel {
  signature: ModelSignature;
  /** Sluice's metadata from the file (feature names, training data sha256, trainer), if it has any. */
  embedded: ModelMetadata | null;
}

export type ModelInspector = (file: string) => Promise<InspectedModel>;

/** The signature as the registry stores it: ORT element types, open dimensions as -1. */
export function toStoredSignature(sig: { inputs: readonly TensorSignature[]; outputs: readonly TensorSignature[] }): ModelSignature {
  const spec = (t: TensorSignature) => ({
    name: t.name,
    datatype: t.type,
    shape: t.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)),
  });
  return { inputs: sig.inputs.map(spec), outputs: sig.outputs.map(spec) };
}

export const defaultInspector: ModelInspector = async (file) => {
  let loaded;
  try {
    loaded = await loadModelSession(file, { sourceName: 'artifact' });
  } catch (err) {
    if (err instanceof ModelLoadError) throw new RegistryError('invalid_model', `the artifact is not a loadable ONNX model: ${err.reason}`, 'body');
    throw err;
  }
  try {
    return { signature: toStoredSignature(loaded.signature), embedded: loaded.metadata };
  } finally {
    await loaded.session.release().catch(() => undefined);
  }
};
