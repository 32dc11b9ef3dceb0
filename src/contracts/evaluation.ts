// An evaluation set (a golden set or a holdout) in the contract's terms: feature columns named as
// the contract names them, one label per row, optional segments. feedsFor turns rows of it into the
// model's inputs, every input fed with its element type and shape; targetsFor turns the labels into
// what the task metrics take (class indices, or the regression targets).
import type { InputElementType, ModelContract, StoredSignature } from './contract.js';
import { classIndexOf } from './score.js';

export type Cell = number | string | boolean;

export interface EvaluationSet {
  readonly rows: number;
  /** Feature columns by name: a contract input's feature names, or a one-value input's own name. */
  readonly columns: Readonly<Record<string, readonly Cell[]>>;
  /** One per row: a class (binary, multiclass) or the target value (regression). */
  readonly labels: readonly (number | string)[];
  readonly segments?: readonly string[];
}

/** One model input filled from rows: values row-major, in the input's element type. */
export interface InputFeed {
  readonly name: string;
  readonly elementType: InputElementType;
  readonly shape: readonly number[];
  readonly values: readonly Cell[];
}

export type FeedsResult = { ok: true; feeds: InputFeed[] } | { ok: false; field: string; message: string };
export type TargetsResult = { ok: true; values: Float64Array } | { ok: false; field: string; message: string };

/** The column names each input of the contract reads, in order. */
export function featureColumns(contract: ModelContract): Array<{ input: string; elementType: InputElementType; features: readonly string[] | null }> {
  return contract.inputs.map((i) => ({ input: i.name, elementType: i.elementType, features: i.features ?? null }));
}

/** Every column the contract's inputs read, in input then feature order. */
export function requiredColumns(contract: ModelContract): string[] {
  return contract.inputs.flatMap((i) => (i.features ? [...i.features] : [i.name]));
}

/** A cell as an input of this element type takes it, or null when it is not of that type (feedsFor's rule; datasets check uploads by it). */
export function cellFor(type: InputElementType, cell: Cell): Cell | null {
  if (type === 'string') return typeof cell === 'string' ? cell : String(cell);
  if (type === 'bool') {
    if (typeof cell === 'boolean') return cell;
    if (cell === 1 || cell === '1' || cell === 'true') return true;
    if (cell === 0 || cell === '0' || cell === 'false') return false;
    return null;
  }
  const n = typeof cell === 'number' ? cell : typeof cell === 'boolean' ? (cell ? 1 : 0) : cell.trim() === '' ? NaN : Number(cell);
  if (Number.isNaN(n)) return null;
  if ((type === 'int64' || type === 'int32') && !Number.isInteger(n)) return null;
  return n;
}

/**
 * The model's inputs for the given rows of the set (all rows when `rows` is absent). Shapes follow
 * the signature: a rank-1 input takes [rows], any other [rows, ...its fixed dimensions]. Fails,
 * naming the column and row, when a column is missing or a cell is not of the input's type.
 */
export function feedsFor(contract: ModelContract, sig: StoredSignature, set: EvaluationSet, rows?: readonly number[]): FeedsResult {
  const picked = rows ?? Array.from({ length: set.rows }, (_, i) => i);
  const feeds: InputFeed[] = [];
  for (const [k, input] of contract.inputs.entries()) {
    const features = input.features ?? [input.name];
    const spec = sig.inputs.find((t) => t.name === input.name);
    if (!spec) return { ok: false, field: `/inputs/${k}/name`, message: `the model has no input ${input.name}` };
    const values: Cell[] = new Array<Cell>(picked.length * features.length);
    for (const [j, feature] of features.entries()) {
      const column = set.columns[feature];
      if (!column) return { ok: false, field: `columns/${feature}`, message: `the evaluation set has no column ${feature} (input ${input.name} reads it)` };
      for (const [r, row] of picked.entries()) {
        const cell = column[row];
        const typed = cell === undefined ? null : cellFor(input.elementType, cell);
        if (typed === null) return { ok: false, field: `columns/${feature}/${row}`, message: `row ${row} of column ${feature} is ${JSON.stringify(cell)}, not a ${input.elementType} value` };
        values[r * features.length + j] = typed;
      }
    }
    const fixed = spec.shape.slice(1).map((d) => (d >= 0 ? d : features.length));
    const shape = spec.shape.length <= 1 ? [picked.length] : [picked.length, ...fixed];
    feeds.push({ name: input.name, elementType: input.elementType, shape, values });
  }
  return { ok: true, feeds };
}

/**
 * The labels as the task metrics take them: class indices (binary 0/1 by the positive class,
 * multiclass by the class labels) or finite regression targets. Fails naming the first bad row.
 */
export function targetsFor(contract: ModelContract, labels: readonly (number | string)[]): TargetsResult {
  const values = new Float64Array(labels.length);
  for (const [i, label] of labels.entries()) {
    if (contract.task === 'regression') {
      const n = typeof label === 'number' ? label : label.trim() === '' ? NaN : Number(label);
      if (!Number.isFinite(n)) return { ok: false, field: `labels/${i}`, message: `row ${i}'s label ${JSON.stringify(label)} is not a finite number` };
      values[i] = n;
      continue;
    }
    const index = classIndexOf(contract, label);
    if (index === null) {
      const classes = contract.classLabels ? contract.classLabels.map((c) => JSON.stringify(c)).join(', ') : contract.task === 'binary_classification' ? '0, 1' : 'class indices';
      return { ok: false, field: `labels/${i}`, message: `row ${i}'s label ${JSON.stringify(label)} is not a class of the model (${classes})` };
    }
    values[i] = index;
  }
  return { ok: true, values };
}
