/**
 * The inference log's writer thread (started by threadLogWriter, log-writers.ts): writes each
 * packed batch with one binary COPY (copy-encoder.ts) on its own PostgreSQL connection. Nothing is turned into text, so neither this
 * thread nor the database spends its time printing and parsing floats, and the HTTP event loop
 * never waits. Replies ok or the error per batch; the event loop counts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';
import { encodeCopy } from './copy-encoder.js';
import type { PackedRows } from './log-columns.js';
import { COPY_SQL } from './log-table.js';

const port = parentPort;
if (!port) throw new Error('log-thread.ts must run as a worker thread');
const { databaseUrl, workerId, statementTimeoutMs } = workerData as { databaseUrl: string; workerId: string; statementTimeoutMs: number };

const COPY_CHUNK = 262_144;
/** One encoding buffer for every batch (grown when a batch needs more). */
let scratch = Buffer.allocUnsafe(0);

/** The minimal node-postgres "submittable" for COPY ... FROM STDIN with a ready payload. */
class CopyIn {
  private finished = false;
  constructor(private readonly payload: Buffer, private readonly done: (err: Error | null) => void) {}
  private finish(err: Error | null): void {
    if (this.finished) return;
    this.finished = true;
    this.done(err);
  }
  submit(connection: { query(text: string): void }): void { connection.query(COPY_SQL); }
  handleCopyInResponse(connection: { stream: { write(b: Uint8Array): boolean }; endCopyFrom(): void }): void {
    // CopyData messages ('d', int32 length, bytes) written straight to the socket, 256 KiB each:
    // node-postgres's sendCopyFromChunk would copy every piece into a fresh buffer, and on a
    // 50 MB/s log that churn of external memory kept this thread in full collections. The
    // payload is not reused before ReadyForQuery, by which time the server has read it all.
    for (let i = 0; i < this.payload.length; i += COPY_CHUNK) {
      const chunk = this.payload.subarray(i, i + COPY_CHUNK);
      const header = Buffer.allocUnsafe(5);
      header[0] = 0x64; // 'd'
      header.writeInt32BE(chunk.length + 4, 1);
      connection.stream.write(header);
      connection.stream.write(chunk);
    }
    connection.endCopyFrom();
  }
  // node-postgres forgets the active query on an error, so ReadyForQuery never reaches us then.
  handleError(err: Error): void { this.finish(err); }
  handleReadyForQuery(): void { this.finish(null); }
  handleCommandComplete(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}
}

let client: pg.Client | null = null;
let connecting: Promise<pg.Client> | null = null;

/** One connection, made on first use and after any failure. */
function connection(): Promise<pg.Client> {
  if (client) return Promise.resolve(client);
  if (connecting) return connecting;
  const c = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 2000 });
  c.on('error', () => { if (client === c) client = null; });
  connecting = c.connect().then(() => { client = c; connecting = null; return c; }, (err: unknown) => { connecting = null; c.end().catch(() => undefined); throw err; });
  return connecting;
}

function drop(c: pg.Client): void {
  if (client === c) client = null;
  // Destroy the socket rather than end politely: an orderly end would still send the queued
  // CopyData and CopyDone, and the server could commit a batch already counted as dropped,
  // reading a payload the next batch has meanwhile overwritten.
  (c as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
  c.end().catch(() => undefined);
}

async function write(rows: PackedRows): Promise<void> {
  const payload = encodeCopy(rows, workerId, scratch);
  // Outgrown: the next batches get a buffer a quarter larger than this one's payload.
  if (payload.buffer !== scratch.buffer) scratch = Buffer.allocUnsafeSlow(Math.ceil(payload.length * 1.25));
  const c = await connection();
  await new Promise<void>((resolve, reject) => {
    // A database that hangs: give up on the batch (dropped, counted) and on this connection.
    const timer = setTimeout(() => { drop(c); reject(new Error(`inference log COPY took longer than ${statementTimeoutMs} ms`)); }, statementTimeoutMs);
    const submittable = new CopyIn(payload, (err) => {
      clearTimeout(timer);
      if (err) reject(err); else resolve();
    });
    c.query(submittable as unknown as pg.QueryConfig);
  }).catch((err: Error) => {
    // Writes of this payload may still sit in a socket queue: the next batch encodes elsewhere.
    scratch = Buffer.allocUnsafe(0);
    // Connection-level failures leave the client unusable; a rejected row (a constraint) does not.
    if (!('code' in err) || (err as { code?: string }).code === undefined) drop(c);
    throw err;
  });
}

port.on('message', (m: { id: number; op: 'write'; rows: PackedRows } | { id: number; op: 'close' }) => {
  if (m.op === 'close') {
    const c = client;
    client = null;
    void (c ? c.end() : Promise.resolve()).catch(() => undefined).finally(() => port.postMessage({ id: m.id, ok: true }));
    return;
  }
  write(m.rows).then(
    // The batch's buffers go back to the event loop, which fills them again (no allocation).
    () => port.postMessage({ id: m.id, ok: true }),
    (err: Error) => port.postMessage({ id: m.id, ok: false, error: err.message }),
  );
});
