// The rows a retrain learns from, as plain tables: logged inputs (float32, every input's row in
// signature order, as serving logs them) split back into the contract's feature columns, the
// deterministic train/holdout split, and the CSV both files are written as (header: the
// contract's feature columns, then `label`), the format every trainer reads.
import type { StoredSignature } from '../contracts/contract.js';
import { loggedFeatureNames } from '../contracts/logged-row.js';
import type { Cell, EvaluationSet, ModelContract } from '../contracts/index.js';
import { float32sFromBytes } from '../shared/float32-bytes.js';
import { createRandomSource, seedRandom } from '../stats/random.js';

export const LABEL_COLUMN = 'label';

export interface LabelledLogRow {
  inputs: Uint8Array;
  label: number;
}

export type TableResult = { ok: true; set: EvaluationSet; skipped: number } | { ok: false; message: string };

/**
 * Logged requests with their labels as a table of the contract's feature columns. Only one-row
 * requests are used (a label is given per request); a request whose inputs do not fill one row
 * of the signature is skipped and counted.
 */
export function loggedRowsTable(contract: ModelContract, sig: StoredSignature, logged: readonly LabelledLogRow[]): TableResult {
  for (const input of contract.inputs) {
    if (!sig.inputs.some((t) => t.name === input.name)) return { ok: false, message: `the production version has no input ${input.name}` };
    if (input.elementType === 'string') return { ok: false, message: `input ${input.name} is string: the inference log leaves strings out, so the model cannot be retrained from the log (name a dataset in the retrain policy)` };
  }
  // The log keeps inputs in the signature's order, whatever order the contract lists them in.
  const featuresOf = (name: string) => {
    const input = contract.inputs.find((i) => i.name === name);
    return input ? (input.features ?? [input.name]) : null;
  };
  const named = loggedFeatureNames(sig.inputs, featuresOf);
  const unnamed = named?.names.indexOf(null) ?? -1;
  if (!named || unnamed >= 0) {
    return { ok: false, message: `${named?.notes[0] ?? 'an input has an open row width'}: logged rows cannot be written as columns (declare the features in the contract)` };
  }
  const names = named.names as string[];
  const columns: Record<string, Cell[]> = Object.fromEntries(names.map((c) => [c, [] as Cell[]]));
  const labels: number[] = [];
  let skipped = 0;
  for (const row of logged) {
    const values = float32sFromBytes(row.inputs);
    if (!values || values.length !== named.width) {
      skipped++;
      continue;
    }
    names.forEach((c, k) => (columns[c] as Cell[]).push(values[k] as number));
    labels.push(row.label);
  }
  return { ok: true, set: { rows: labels.length, columns, labels }, skipped };
}

/** Rows for training and for the holdout: the same seed (the retrain's id) splits the same rows the same way. */
export function splitRows(rows: number, holdoutShare: number, seed: string): { train: number[]; holdout: number[] } {
  const random = createRandomSource(seedRandom(`holdout:${seed}`));
  const train: number[] = [];
  const holdout: number[] = [];
  for (let i = 0; i < rows; i++) (random.uniform() < holdoutShare ? holdout : train).push(i);
  return { train, holdout };
}

function csvCell(cell: Cell | undefined): string {
  const text = cell === undefined ? '' : String(cell);
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The given rows of the set as CSV: the contract's feature columns, then the label. */
export function tableCsv(contract: ModelContract, set: EvaluationSet, rows: readonly number[]): string {
  const names = contract.inputs.flatMap((i) => i.features ?? [i.name]);
  const lines = [[...names, LABEL_COLUMN].map(csvCell).join(',')];
  for (const r of rows) lines.push([...names.map((n) => csvCell(set.columns[n]?.[r])), csvCell(set.labels[r])].join(','));
  return `${lines.join('\n')}\n`;
}
