/**
 * A packed batch as the parameters of one multi-row INSERT over `unnest` of array parameters:
 * the log's writer on the event loop (kyselyLogWriter), used where the worker has only a Kysely
 * pool and no database URL of its own (tests, embedding). Every value becomes text here, which is
 * why a worker with a URL writes binary COPY from its own thread instead (copy-encoder.ts).
 */
import { CODE_COLUMNS, type PackedRows } from './log-columns.js';
import { LOG_COLUMNS } from './log-table.js';

/** A Postgres array literal element: NULL, or a double-quoted string with \ and " escaped. */
function quoted(s: string | null): string {
  if (s === null) return 'NULL';
  return /["\\]/.test(s) ? `"${s.replace(/["\\]/g, '\\$&')}"` : `"${s}"`;
}

function realArray(values: Float32Array, range: Int32Array, i: number): string {
  const start = range[i * 2] as number;
  if (start < 0) return 'NULL';
  return `"{${values.subarray(start, range[i * 2 + 1]).join(',')}}"`;
}

/** A bytea[] literal element: NULL, or the values' float32 little-endian bytes in hex ("\\x..."). */
function byteaHex(values: Float32Array, range: Int32Array, i: number): string {
  const start = range[i * 2] as number;
  if (start < 0) return 'NULL';
  const end = range[i * 2 + 1] as number;
  return `"\\\\x${Buffer.from(values.buffer, values.byteOffset + start * 4, (end - start) * 4).toString('hex')}"`;
}

/**
 * Parameter $i holds column i's values (LOG_COLUMNS order) as one array literal, unnest makes
 * them rows; the worker id, one per batch, is the plain parameter $15 (and the scores, after it in
 * LOG_COLUMNS, are $16).
 */
export const INSERT_SQL = `
  INSERT INTO inference_log (${LOG_COLUMNS.join(', ')})
  SELECT r, to_timestamp(t), m, v, a, e, k, s, sh, f, i, o::real[], l, err, $15, sc::real[]
  FROM unnest($1::text[], $2::float8[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bool[], $10::bool[], $11::bytea[], $12::text[], $13::int[], $14::text[], $16::text[])
    AS u(r, t, m, v, a, e, k, s, sh, f, i, o, l, err, sc)`;

/**
 * The 16 parameters of INSERT_SQL for a packed batch: array literals built as single strings
 * (inputs as a bytea[] of hex elements, outputs and scores as text[]s of real[] literals).
 */
export function insertParameters(p: PackedRows, workerId: string): string[] {
  const n = p.n;
  const requestIds = new Array<string>(n);
  const at = new Array<string>(n);
  const cols = Array.from({ length: CODE_COLUMNS }, () => new Array<string>(n));
  const keys = new Array<string>(n);
  const errors = new Array<string>(n);
  const shadow = new Array<string>(n);
  const fallback = new Array<string>(n);
  const inputs = new Array<string>(n);
  const outputs = new Array<string>(n);
  const scores = new Array<string>(n);
  const quotedDictionary = p.dictionary.map(quoted);
  const text = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const idText = text(p.requestIds);
  const keyText = text(p.keyHashes);
  const errorText = text(p.errors);
  let idAt = 0;
  let keyAt = 0;
  let errorAt = 0;
  for (let i = 0; i < n; i++) {
    const errorLength = p.errorLengths[i] as number;
    if (errorLength < 0) errors[i] = 'NULL';
    else { errors[i] = quoted(errorText.toString('utf8', errorAt, errorAt + errorLength)); errorAt += errorLength; }
    const idLength = p.requestIdLengths[i] as number;
    requestIds[i] = quoted(idText.toString('utf8', idAt, idAt + idLength));
    idAt += idLength;
    const keyLength = p.keyHashLengths[i] as number;
    if (keyLength < 0) keys[i] = 'NULL';
    else { keys[i] = quoted(keyText.toString('utf8', keyAt, keyAt + keyLength)); keyAt += keyLength; }
    at[i] = String((p.atMs[i] as number) / 1000);
    for (let c = 0; c < CODE_COLUMNS; c++) {
      const code = p.codes[i * CODE_COLUMNS + c] as number;
      (cols[c] as string[])[i] = code < 0 ? 'NULL' : (quotedDictionary[code] as string);
    }
    const f = p.flags[i] as number;
    shadow[i] = f & 1 ? 't' : 'f';
    fallback[i] = f & 2 ? 't' : 'f';
    inputs[i] = byteaHex(p.inputValues, p.inputRange, i);
    outputs[i] = realArray(p.outputValues, p.outputRange, i);
    scores[i] = realArray(p.scoreValues, p.scoreRange, i);
  }
  const lit = (xs: ArrayLike<unknown> & { join?: (s: string) => string }) => `{${Array.prototype.join.call(xs, ',')}}`;
  const [models, versions, arms, experiments, segments] = cols as [string[], string[], string[], string[], string[]];
  return [lit(requestIds), lit(at), lit(models), lit(versions), lit(arms), lit(experiments), lit(keys), lit(segments), lit(shadow), lit(fallback), lit(inputs), lit(outputs), lit(p.latencyUs), lit(errors), workerId, lit(scores)];
}
