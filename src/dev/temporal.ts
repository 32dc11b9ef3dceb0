import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { projectRoot, SEARCH_ATTRIBUTES, TEMPORAL_NAMESPACE } from '../config.js';
import { SetupError } from '../shared/errors.js';
import { assertPortFree, freePort, retryWhilePortTaken, waitForPort } from '../shared/ports.js';
import type { ChildExit } from './supervisor.js';

const execFileAsync = promisify(execFile);

/**
 * Finds the `temporal` CLI or builds the pinned version, through the same script that the README
 * and CI use, so every path to a server runs the same binary.
 */
export async function ensureTemporalCli(): Promise<string> {
  try {
    const { stdout } = await execFileAsync('bash', [path.join(projectRoot, 'scripts/ensure-temporal.sh')], {
      maxBuffer: 16 * 1024 * 1024, timeout: 20 * 60_000,
    });
    const cli = stdout.trim().split('\n').pop() ?? '';
    if (!cli) throw new Error('no path printed');
    return cli;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new SetupError(stderr || `Could not find or build the temporal CLI: ${(err as Error).message}`);
  }
}

export interface TemporalDevServer {
  address: string;
  port: number;
  uiPort: number;
  uiUrl: string;
  process: ChildProcess;
  /** Resolves when the server process ends, whether stopped, killed or crashed. */
  exited: Promise<ChildExit>;
  stop(): Promise<void>;
}

export interface TemporalDevServerOptions {
  cli: string;
  dbFile: string;
  /** The frontend's gRPC port; 0 picks a free one (and another when that is taken before use). */
  port: number;
  /** The Web UI's port; 0 picks a free one likewise. */
  uiPort: number;
  logFile?: string;
}

/**
 * Starts `temporal server start-dev` with SQLite state in `dbFile` (survives restarts), the Web UI
 * on, and Sluice's search attributes registered as Keyword.
 */
export async function startTemporalDevServer(opts: TemporalDevServerOptions): Promise<TemporalDevServer> {
  if (opts.port !== 0) await assertPortFree(opts.port, 'the Temporal dev server (gRPC)');
  if (opts.uiPort !== 0) await assertPortFree(opts.uiPort, 'the Temporal Web UI');
  if (opts.port !== 0 && opts.uiPort !== 0) return await startOnPorts(opts, opts.port, opts.uiPort);
  return await retryWhilePortTaken(
    async () => startOnPorts(opts, opts.port || await freePort(), opts.uiPort || await freePort()),
    (err) => err instanceof SetupError && /address already in use/i.test(err.message));
}

async function startOnPorts(opts: TemporalDevServerOptions, port: number, uiPort: number): Promise<TemporalDevServer> {
  await fs.mkdir(path.dirname(opts.dbFile), { recursive: true });
  const args = [
    'server', 'start-dev',
    '--db-filename', opts.dbFile,
    '--ip', '127.0.0.1',
    '--port', String(port),
    '--ui-port', String(uiPort),
    '--namespace', TEMPORAL_NAMESPACE,
    '--log-level', 'warn',
    ...Object.values(SEARCH_ATTRIBUTES).flatMap((name) => ['--search-attribute', `${name}=Keyword`]),
  ];
  const child = spawn(opts.cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const keep = (chunk: Buffer) => { output.push(chunk.toString()); if (output.length > 100) output.shift(); };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  if (opts.logFile) {
    const log = await fs.open(opts.logFile, 'a');
    const stream = log.createWriteStream();
    child.stdout?.pipe(stream);
    child.stderr?.pipe(stream);
  }
  let exitStatus: ChildExit | null = null;
  const exitPromise = new Promise<ChildExit>((resolve) => child.once('exit', (code, signal) => { exitStatus = { code, signal }; resolve(exitStatus); }));

  const address = `127.0.0.1:${port}`;
  // Another process may hold the port (taken between the pick and the start): then this child
  // exits with "address already in use" while the port, and even a namespace, answer for the other.
  const failed = () => new SetupError(`The Temporal dev server did not start: ${output.join('').trim().split('\n').slice(-5).join('\n') || 'no output'}`,
    `Check ${opts.dbFile} is writable, or set TEMPORAL_ADDRESS to use an existing server.`);
  const diedFirst = exitPromise.then(() => { throw failed(); });
  diedFirst.catch(() => undefined);
  try {
    if (!(await Promise.race([waitForPort(port, 60_000), diedFirst]))) throw failed();
    await Promise.race([waitForNamespace(address, TEMPORAL_NAMESPACE, 60_000), diedFirst]);
  } catch (err) {
    child.kill('SIGKILL');
    await exitPromise;
    throw err;
  }
  return {
    address,
    port,
    uiPort,
    uiUrl: `http://127.0.0.1:${uiPort}`,
    process: child,
    exited: exitPromise,
    async stop() {
      if (exitStatus) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exitPromise;
      clearTimeout(timer);
    },
  };
}

/** Waits until the frontend answers for `namespace` (the port opens before the namespace exists). */
export async function waitForNamespace(address: string, namespace: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, connectTimeout: 2000 });
      await connection.workflowService.describeNamespace({ namespace });
      return;
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 250));
    } finally {
      await connection?.close().catch(() => undefined);
    }
  }
  throw new SetupError(`Temporal at ${address} did not serve namespace "${namespace}": ${(lastError as Error)?.message ?? 'timeout'}`,
    'Check TEMPORAL_ADDRESS and that the namespace exists (temporal operator namespace create).');
}

/** Registers Sluice's search attributes on an existing server (TEMPORAL_ADDRESS); idempotent. */
export async function ensureSearchAttributes(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = Object.values(SEARCH_ATTRIBUTES).filter((name) => !(name in (existing.customAttributes ?? {})));
    if (missing.length === 0) return;
    // IndexedValueType.KEYWORD = 2
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((name) => [name, 2])),
    });
  } finally {
    await connection.close();
  }
}
