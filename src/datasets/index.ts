// Evaluation datasets (golden sets, holdouts) as users upload them: CSV or JSON lines, read and
// checked against a model's contract. Pure: callers bring the bytes (the artifact store keeps them).
export { CsvReader } from './csv.js';
export type { CsvProblem, CsvRecord } from './csv.js';
export { JsonlReader } from './jsonl.js';
export type { JsonlProblem, JsonlRecord } from './jsonl.js';
export {
  DEFAULT_LABEL_COLUMN, DEFAULT_MAX_DATASET_ROWS, DEFAULT_SEGMENT_COLUMN, parseDataset, readStoredDataset,
} from './parse.js';
export type { DatasetOptions, DatasetProblem, DatasetResult, DatasetSource, ParsedDataset } from './parse.js';
