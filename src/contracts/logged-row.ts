// How a row of the inference log's `inputs` column splits back into a version's inputs: the
// workers log every numeric input's elements, row-major, in signature order, and leave string
// inputs out. Replay, the drift monitor's window and a retrain's training table all read logged
// rows through here, so they agree on where each input (and each named feature) lies.
import { NON_TENSOR, rowWidth, type TensorSpec } from './contract.js';

/** One numeric input's place in a logged row: its elements start at `offset`, `width` of them. */
export interface LoggedInputSlice { spec: TensorSpec; width: number; offset: number }
export interface LoggedRowLayout { slices: LoggedInputSlice[]; width: number }

/**
 * The layout of one logged row: every numeric input in signature order, string inputs left out.
 * An input with an open row width takes `openWidth`; without it, null (the log cannot tell where
 * such a row ends).
 */
export function loggedRowLayout(inputs: readonly TensorSpec[], openWidth?: number): LoggedRowLayout | null {
  const slices: LoggedInputSlice[] = [];
  let offset = 0;
  for (const spec of inputs) {
    if (spec.datatype === 'string' || spec.datatype === NON_TENSOR) continue;
    const width = rowWidth(spec) ?? openWidth;
    if (width === undefined) return null;
    slices.push({ spec, width, offset });
    offset += width;
  }
  return { slices, width: offset };
}

export interface LoggedFeatureNames {
  /** Per element of a logged row, the feature it holds, or null where no name fits. */
  names: Array<string | null>;
  width: number;
  /** What could not be named, once per input. */
  notes: string[];
}

/**
 * Each element of a logged row named by `featuresOf(input)` (the contract's feature names, or a
 * model's embedded ones); null when the layout cannot be known (an open row width).
 */
export function loggedFeatureNames(inputs: readonly TensorSpec[], featuresOf: (input: string) => readonly string[] | null): LoggedFeatureNames | null {
  const layout = loggedRowLayout(inputs);
  if (!layout) return null;
  const notes = inputs.filter((t) => t.datatype === 'string').map((t) => `input ${t.name} is string: the inference log does not keep it`);
  const names = new Array<string | null>(layout.width).fill(null);
  for (const slice of layout.slices) {
    const features = featuresOf(slice.spec.name);
    if (!features || features.length !== slice.width) {
      notes.push(`input ${slice.spec.name}: ${slice.width} values per row and no feature names that match them, so it is not read`);
      continue;
    }
    features.forEach((f, j) => { names[slice.offset + j] = f; });
  }
  return { names, width: layout.width, notes };
}
