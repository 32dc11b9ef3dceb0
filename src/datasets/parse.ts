// An uploaded evaluation dataset (CSV with a header row, or JSON lines) read against the model's
// contract, incrementally: its columns must be exactly the features the contract's inputs read,
// the label column and, optionally, a segment column; every feature cell must be of its input's
// element type (the rule feedsFor feeds by) and every label a class of the model or a finite
// target (targetsFor). The result is the evaluation set validation scores on. Problems name the
// field: columns, columns/<name>/<row>, rows/<row> or lines/<line> (rows count from 0, the first
// data row; lines from 1, as an editor does).
import {
  cellFor, featureColumns, targetsFor, type Cell, type EvaluationSet, type InputElementType, type ModelContract,
} from '../contracts/index.js';
import type { DatasetColumn, DatasetFormat } from '../db/schema.js';
import { CsvReader } from './csv.js';
import { JsonlReader } from './jsonl.js';

export const DEFAULT_LABEL_COLUMN = 'label';
/** Used as the segment column when present and no other is named. */
export const DEFAULT_SEGMENT_COLUMN = 'segment';
export const DEFAULT_MAX_DATASET_ROWS = 1_000_000;

export interface ParsedDataset {
  readonly set: EvaluationSet;
  readonly rows: number;
  /** In the file's column order. */
  readonly columns: DatasetColumn[];
  readonly label: string;
  readonly segment: string | null;
}

export interface DatasetProblem {
  readonly field: string;
  readonly message: string;
  /** Over the row limit (a size problem, not a content one). */
  readonly tooLarge?: boolean;
}

export type DatasetResult = { ok: true; dataset: ParsedDataset } | ({ ok: false } & DatasetProblem);

export type DatasetSource = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;

export interface DatasetOptions {
  format: DatasetFormat;
  contract: ModelContract;
  /** The label column; `label` by default. */
  label?: string;
  /** The segment column: required when named; else `segment` is used when the file has it. */
  segment?: string;
  maxRows?: number;
}

/** What each column of a dataset is: the plan a file is read by. */
interface Plan {
  readonly features: ReadonlyMap<string, InputElementType>;
  readonly label: string;
  readonly labelKind: 'numeric' | 'categorical';
  readonly segment: string | null;
  readonly segmentRequired: boolean;
}

type Raw = Cell | null | undefined | object;

/** Reads and checks an uploaded dataset against the model's contract. */
export async function parseDataset(source: DatasetSource, opts: DatasetOptions): Promise<DatasetResult> {
  const features = new Map<string, InputElementType>();
  for (const input of featureColumns(opts.contract)) for (const f of input.features ?? [input.input]) features.set(f, input.elementType);
  const label = opts.label ?? DEFAULT_LABEL_COLUMN;
  if (features.has(label)) return { ok: false, field: 'label', message: `the label column ${label} is a feature the model reads; name the label column with label=` };
  const segment = opts.segment ?? DEFAULT_SEGMENT_COLUMN;
  if (segment === label || features.has(segment)) {
    if (opts.segment !== undefined) return { ok: false, field: 'segment', message: `the segment column ${segment} is ${segment === label ? 'the label column' : 'a feature the model reads'}` };
  }
  const plan: Plan = {
    features, label, labelKind: opts.contract.task === 'regression' ? 'numeric' : 'categorical',
    segment: segment === label || features.has(segment) ? null : segment, segmentRequired: opts.segment !== undefined,
  };
  const read = await readWithPlan(source, opts.format, plan, opts.maxRows ?? DEFAULT_MAX_DATASET_ROWS);
  if (!read.ok) return read;
  const targets = targetsFor(opts.contract, read.rawLabels);
  if (!targets.ok) {
    const row = Number(targets.field.split('/')[1]);
    return { ok: false, field: `columns/${label}/${row}`, message: `column ${label}: ${targets.message}` };
  }
  return { ok: true, dataset: finish(read, plan) };
}

/** Reads back a dataset stored earlier (checked when it was uploaded), by the columns recorded then. */
export async function readStoredDataset(source: DatasetSource, stored: { format: DatasetFormat; columns: readonly DatasetColumn[] }): Promise<DatasetResult> {
  const features = new Map<string, InputElementType>();
  for (const c of stored.columns) if (c.role === 'feature') features.set(c.name, c.type ?? (c.kind === 'categorical' ? 'string' : c.kind === 'boolean' ? 'bool' : 'float64'));
  const labelColumn = stored.columns.find((c) => c.role === 'label');
  if (!labelColumn) return { ok: false, field: 'columns', message: 'the stored dataset records no label column' };
  const segment = stored.columns.find((c) => c.role === 'segment')?.name ?? null;
  const plan: Plan = { features, label: labelColumn.name, labelKind: labelColumn.kind === 'numeric' ? 'numeric' : 'categorical', segment, segmentRequired: segment !== null };
  const read = await readWithPlan(source, stored.format, plan, Number.MAX_SAFE_INTEGER);
  return read.ok ? { ok: true, dataset: finish(read, plan) } : read;
}

interface Read {
  ok: true;
  rows: number;
  columns: DatasetColumn[];
  features: Map<string, Cell[]>;
  rawLabels: Array<number | string>;
  segments: string[] | null;
}

/** A label as the evaluation set keeps it: a number where the text is one, else the text. */
function labelValue(raw: number | string, kind: Plan['labelKind']): number | string {
  if (typeof raw === 'number') return raw;
  if (kind === 'numeric') return Number(raw);
  return raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
}

function finish(read: Read, plan: Plan): ParsedDataset {
  const set: EvaluationSet = {
    rows: read.rows,
    columns: Object.fromEntries([...plan.features.keys()].map((f) => [f, read.features.get(f) ?? []])),
    labels: read.rawLabels.map((l) => labelValue(l, plan.labelKind)),
    ...(read.segments ? { segments: read.segments } : {}),
  };
  return { set, rows: read.rows, columns: read.columns, label: plan.label, segment: read.segments ? plan.segment : null };
}

function list(names: readonly string[]): string {
  return names.map((n) => JSON.stringify(n)).join(', ');
}

/** The columns each header cell is, or the problem with the header (missing and extra columns named). */
function checkHeader(plan: Plan, header: readonly string[]): { columns: DatasetColumn[]; segment: string | null } | DatasetProblem {
  const duplicate = header.find((c, i) => header.indexOf(c) !== i);
  if (duplicate !== undefined) return { field: 'columns', message: `column ${JSON.stringify(duplicate)} appears more than once` };
  const segment = plan.segment !== null && (plan.segmentRequired || header.includes(plan.segment)) ? plan.segment : null;
  const expected = [...plan.features.keys(), plan.label, ...(segment !== null ? [segment] : [])];
  const missing = expected.filter((c) => !header.includes(c));
  const extra = header.filter((c) => !expected.includes(c));
  if (missing.length > 0 || extra.length > 0) {
    const parts = [
      ...(missing.length > 0 ? [`missing column${missing.length > 1 ? 's' : ''} ${list(missing)}`] : []),
      ...(extra.length > 0 ? [`extra column${extra.length > 1 ? 's' : ''} ${list(extra)}`] : []),
    ];
    return {
      field: 'columns',
      message: `${parts.join('; ')}: the columns must be the features the model's contract reads (${list([...plan.features.keys()])}), `
        + `the label column ${JSON.stringify(plan.label)}${segment !== null ? ` and the segment column ${JSON.stringify(segment)}` : ' and optionally a segment column'}`,
    };
  }
  const columns = header.map((name): DatasetColumn => {
    const type = plan.features.get(name);
    if (type !== undefined) return { name, role: 'feature', kind: type === 'string' ? 'categorical' : type === 'bool' ? 'boolean' : 'numeric', type };
    if (name === plan.label) return { name, role: 'label', kind: plan.labelKind };
    return { name, role: 'segment', kind: 'categorical' };
  });
  return { columns, segment };
}

function describeRaw(raw: Raw): string {
  if (raw === undefined) return 'missing';
  if (raw === null) return 'null';
  return typeof raw === 'object' ? (Array.isArray(raw) ? 'an array' : 'an object') : JSON.stringify(raw);
}

/** Rows in, typed columns out; the first problem stops it. */
class Columns {
  header: string[] | null = null;
  columns: DatasetColumn[] = [];
  rows = 0;
  readonly features = new Map<string, Cell[]>();
  readonly rawLabels: Array<number | string> = [];
  segments: string[] | null = null;

  constructor(private readonly plan: Plan, private readonly maxRows: number) {}

  setHeader(header: string[]): DatasetProblem | null {
    const checked = checkHeader(this.plan, header);
    if ('field' in checked) return checked;
    this.header = header;
    this.columns = checked.columns;
    for (const f of this.plan.features.keys()) this.features.set(f, []);
    if (checked.segment !== null) this.segments = [];
    return null;
  }

  add(cells: readonly Raw[], line: number): DatasetProblem | null {
    const row = this.rows;
    if (row >= this.maxRows) return { field: 'body', message: `has more than ${this.maxRows} rows`, tooLarge: true };
    const at = `row ${row} (line ${line})`;
    for (const [j, column] of this.columns.entries()) {
      const raw = cells[j];
      if (typeof raw !== 'number' && typeof raw !== 'string' && typeof raw !== 'boolean') {
        return { field: `columns/${column.name}/${row}`, message: `${at} of column ${column.name} is ${describeRaw(raw)}; cells are numbers, strings or booleans` };
      }
      if (column.role === 'feature') {
        const type = column.type as InputElementType;
        const typed = cellFor(type, raw);
        if (typed === null) return { field: `columns/${column.name}/${row}`, message: `${at} of column ${column.name} is ${JSON.stringify(raw)}, not a ${type} value` };
        (this.features.get(column.name) as Cell[]).push(typed);
      } else if (column.role === 'label') {
        this.rawLabels.push(typeof raw === 'boolean' ? (raw ? 1 : 0) : raw);
      } else {
        this.segments?.push(String(raw));
      }
    }
    this.rows++;
    return null;
  }
}

async function readWithPlan(source: DatasetSource, format: DatasetFormat, plan: Plan, maxRows: number): Promise<Read | ({ ok: false } & DatasetProblem)> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const out = new Columns(plan, maxRows);
  const csv = format === 'csv' ? new CsvReader() : null;
  const jsonl = format === 'jsonl' ? new JsonlReader() : null;
  let started = false;

  const take = (pushed: ReturnType<CsvReader['push']> | ReturnType<JsonlReader['push']>): DatasetProblem | null => {
    if ('problem' in pushed) return { field: `lines/${pushed.problem.line}`, message: `line ${pushed.problem.line}: ${pushed.problem.message}` };
    for (const record of pushed.records) {
      let problem: DatasetProblem | null;
      if ('cells' in record) {
        if (out.header === null) problem = out.setHeader(record.cells);
        else if (record.cells.length !== out.header.length) {
          problem = { field: `rows/${out.rows}`, message: `row ${out.rows} (line ${record.line}) has ${record.cells.length} values; the header has ${out.header.length}` };
        } else problem = out.add(record.cells, record.line);
      } else {
        const keys = Object.keys(record.value);
        problem = out.header === null ? out.setHeader(keys) : null;
        const header = out.header ?? [];
        if (!problem) {
          const missing = header.filter((k) => !Object.hasOwn(record.value, k));
          const extra = keys.filter((k) => !header.includes(k));
          if (missing.length > 0 || extra.length > 0) {
            problem = {
              field: `rows/${out.rows}`,
              message: `row ${out.rows} (line ${record.line}) ${[...(missing.length ? [`lacks ${list(missing)}`] : []), ...(extra.length ? [`has ${list(extra)}, which the first row does not`] : [])].join(' and ')}`,
            };
          } else problem = out.add(header.map((k) => record.value[k] as Raw), record.line);
        }
      }
      if (problem) return problem;
    }
    return null;
  };
  const push = (text: string) => (csv ? csv.push(text) : (jsonl as JsonlReader).push(text));

  for await (const chunk of source) {
    let text: string;
    try {
      text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    } catch {
      return { ok: false, field: 'body', message: 'is not UTF-8 text' };
    }
    if (!started && text.length > 0) {
      started = true;
      if (text.startsWith('\uFEFF')) text = text.slice(1);
    }
    const problem = take(push(text));
    if (problem) return { ok: false, ...problem };
  }
  let rest: string;
  try {
    rest = decoder.decode();
  } catch {
    return { ok: false, field: 'body', message: 'is not UTF-8 text' };
  }
  const problem = take(push(rest)) ?? take(csv ? csv.end() : (jsonl as JsonlReader).end());
  if (problem) return { ok: false, ...problem };
  if (out.header === null) return { ok: false, field: 'body', message: format === 'csv' ? 'is empty: a header row and at least one row are needed' : 'is empty: at least one line is needed' };
  if (out.rows === 0) return { ok: false, field: 'body', message: 'has a header but no rows' };
  return { ok: true, rows: out.rows, columns: out.columns, features: out.features, rawLabels: out.rawLabels, segments: out.segments };
}
