/**
 * The inference_log table as the log writes it: its columns, listed once, in the order both
 * encoders (copy-encoder.ts on the log thread, insert-encoder.ts on the event loop) write a row's
 * fields, and the binary COPY statement the log thread sends. One list, so a column added or
 * moved is one change here that both statements follow.
 */

/** The columns in write order. */
export const LOG_COLUMNS = [
  'request_id', 'at', 'model', 'version', 'arm', 'experiment_id', 'routing_key_hash', 'segment',
  'shadow', 'fallback', 'inputs', 'outputs', 'latency_us', 'error', 'worker_id', 'scores',
] as const;

/** Fields in every row the encoders write. */
export const LOG_COLUMN_COUNT = LOG_COLUMNS.length;

/** The log thread's statement: rows in PostgreSQL's binary COPY format (encodeCopy). */
export const COPY_SQL = `COPY inference_log (${LOG_COLUMNS.join(', ')}) FROM STDIN (FORMAT binary)`;
