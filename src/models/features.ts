/**
 * Tabular feature schemas and the encoder that turns raw records into a model's input matrix.
 *
 * The encoded matrix is `float32 [rows, F]`, row-major: the numeric features first, as raw
 * numbers (models built here standardise inside their ONNX graph, so callers never need the
 * training statistics), then one 0/1 column per level of each categorical feature.
 */

export interface CategoricalFeatureSpec {
  readonly name: string;
  readonly levels: readonly string[];
}

export interface TabularSchema {
  readonly numeric: readonly string[];
  readonly categorical: readonly CategoricalFeatureSpec[];
}

export type NumericFeatureOf<S extends TabularSchema> = S['numeric'][number];
export type CategoricalFeatureOf<S extends TabularSchema> = S['categorical'][number]['name'];
export type LevelOf<S extends TabularSchema, K extends CategoricalFeatureOf<S>> =
  Extract<S['categorical'][number], { readonly name: K }>['levels'][number];

/**
 * A batch of raw rows stored by column. Categorical values are level indices into the schema's
 * `levels`, so large batches never box a value per cell.
 */
export interface TabularColumns<S extends TabularSchema = TabularSchema> {
  readonly rows: number;
  readonly numeric: Readonly<Record<NumericFeatureOf<S>, Float64Array>>;
  readonly categorical: Readonly<Record<CategoricalFeatureOf<S>, Uint8Array>>;
}

export interface LabelledColumns<S extends TabularSchema = TabularSchema> extends TabularColumns<S> {
  /** 1 for the positive class. */
  readonly labels: Uint8Array;
}

/** One raw row as a client would send it: numbers for numeric features, level names otherwise. */
export type RawRecord = Readonly<Record<string, number | string>>;

/** A raw value the schema cannot encode; the message names the feature, the row and the value. */
export class FeatureEncodingError extends Error {
  override readonly name = 'FeatureEncodingError';
}

/** Between a categorical feature's name and its level in an encoded column name (`region=north`). */
export const LEVEL_SEPARATOR = '=';

/** The model's input column names, in matrix order: numeric names, then `feature=level`. */
export function encodedFeatureNames(schema: TabularSchema): string[] {
  const names = [...schema.numeric];
  for (const { name, levels } of schema.categorical) {
    for (const level of levels) names.push(`${name}${LEVEL_SEPARATOR}${level}`);
  }
  return names;
}

export function encodedWidth(schema: TabularSchema): number {
  let width = schema.numeric.length;
  for (const { levels } of schema.categorical) width += levels.length;
  return width;
}

/** Encodes a columnar batch into a row-major float32 matrix. */
export function encodeColumns<S extends TabularSchema>(schema: S, columns: TabularColumns<S>): Float32Array {
  const width = encodedWidth(schema);
  const { rows } = columns;
  const matrix = new Float32Array(rows * width);
  let column = 0;
  for (const name of schema.numeric as readonly NumericFeatureOf<S>[]) {
    const values = columns.numeric[name];
    if (values.length !== rows) throw new FeatureEncodingError(`column ${name} has ${values.length} values, expected ${rows}`);
    for (let r = 0, o = column; r < rows; r++, o += width) matrix[o] = values[r] as number;
    column++;
  }
  for (const { name, levels } of schema.categorical) {
    const indices = columns.categorical[name as CategoricalFeatureOf<S>];
    if (indices.length !== rows) throw new FeatureEncodingError(`column ${name} has ${indices.length} values, expected ${rows}`);
    for (let r = 0; r < rows; r++) {
      const level = indices[r] as number;
      if (level >= levels.length) throw new FeatureEncodingError(`${name} at row ${r} has level index ${level}; ${name} has ${levels.length} levels`);
      matrix[r * width + column + level] = 1;
    }
    column += levels.length;
  }
  return matrix;
}

/**
 * Encodes raw records (as JSON clients send them) into a row-major float32 matrix. Unknown
 * levels, missing features and non-finite numbers are refused rather than silently encoded.
 */
export function encodeRecords(schema: TabularSchema, records: readonly RawRecord[]): Float32Array {
  const width = encodedWidth(schema);
  const matrix = new Float32Array(records.length * width);
  const levelIndex = schema.categorical.map(({ levels }) => new Map(levels.map((level, i) => [level, i])));
  records.forEach((record, r) => {
    const base = r * width;
    let column = 0;
    for (const name of schema.numeric) {
      const value = record[name];
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new FeatureEncodingError(`row ${r}: ${name} must be a finite number, got ${JSON.stringify(value) ?? 'nothing'}`);
      }
      matrix[base + column++] = value;
    }
    schema.categorical.forEach(({ name, levels }, c) => {
      const value = record[name];
      const level = typeof value === 'string' ? levelIndex[c]?.get(value) : undefined;
      if (level === undefined) {
        throw new FeatureEncodingError(`row ${r}: ${name} must be one of ${levels.join(', ')}; got ${JSON.stringify(value) ?? 'nothing'}`);
      }
      matrix[base + column + level] = 1;
      column += levels.length;
    });
  });
  return matrix;
}

/** Rows [start, end) of a columnar batch as raw records (for golden sets and API payloads). */
export function recordsFromColumns<S extends TabularSchema>(
  schema: S, columns: TabularColumns<S>, start = 0, end = columns.rows,
): RawRecord[] {
  const records: Record<string, number | string>[] = [];
  for (let r = start; r < end; r++) {
    const record: Record<string, number | string> = {};
    for (const name of schema.numeric as readonly NumericFeatureOf<S>[]) record[name] = columns.numeric[name][r] as number;
    for (const { name, levels } of schema.categorical) {
      const level = levels[columns.categorical[name as CategoricalFeatureOf<S>][r] as number];
      if (level === undefined) throw new FeatureEncodingError(`${name} at row ${r} has no such level`);
      record[name] = level;
    }
    records.push(record);
  }
  return records;
}

/** Rows [start, end) of a labelled batch, sharing no memory with the original. */
export function sliceLabelledColumns<S extends TabularSchema>(
  schema: S, columns: LabelledColumns<S>, start: number, end: number,
): LabelledColumns<S> {
  const numeric = {} as Record<NumericFeatureOf<S>, Float64Array>;
  for (const name of schema.numeric as readonly NumericFeatureOf<S>[]) numeric[name] = columns.numeric[name].slice(start, end);
  const categorical = {} as Record<CategoricalFeatureOf<S>, Uint8Array>;
  for (const { name } of schema.categorical) {
    const key = name as CategoricalFeatureOf<S>;
    categorical[key] = columns.categorical[key].slice(start, end);
  }
  return { rows: end - start, numeric, categorical, labels: columns.labels.slice(start, end) };
}
