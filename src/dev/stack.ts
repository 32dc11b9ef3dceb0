import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { envInt, stateDir, TEMPORAL_NAMESPACE } from '../config.js';
import { createDb } from '../db/connect.js';
import { migrateToLatest } from '../db/migrate.js';
import { bootstrapAdminKey } from '../registry/keys.js';
import { assertPortFree } from '../shared/ports.js';
import { assertDatabaseReachable, redactUrl, startEmbeddedPostgres } from './postgres.js';
import { startService, supervise, type ChildRun, type RestartPolicy, type RunningService, type ServiceSpec, type SupervisedChild } from './supervisor.js';
import { ensureSearchAttributes, ensureTemporalCli, startTemporalDevServer, waitForNamespace } from './temporal.js';

export interface DevStackOptions {
  stateDir?: string;
  servingWorkers?: number;
  /** 0 for a port means any free port (tests); the printed URLs say which. */
  ports?: Partial<DevPorts>;
  /** Progress lines ("postgres ready in 1.2 s") and one line per restart; the CLI prints them. */
  onProgress?: (line: string) => void;
  /** When and how often a child that died is started again. */
  restartPolicy?: Partial<RestartPolicy>;
}

export interface DevPorts {
  postgres: number;
  temporal: number;
  temporalUi: number;
  api: number;
  /** Serving worker i listens on servingBase + i - 1 (each on a free port of its own when 0). */
  servingBase: number;
}

export interface DevStack {
  databaseUrl: string;
  temporalAddress: string;
  urls: { temporalUi: string | null; api: string; apiDocs: string; serving: string[] };
  adminToken: string;
  /** The first API admin key, made on the first run only (only its hash is stored); null afterwards. */
  firstAdminKey: string | null;
  /**
   * Resolves with a sentence when a part the others cannot run without (PostgreSQL, the Temporal
   * dev server) died too often to be restarted; the stack should then be stopped.
   */
  failed: Promise<string>;
  stop(): Promise<void>;
}

function defaultPorts(): DevPorts {
  return {
    postgres: envInt('SLUICE_PG_PORT', 5433),
    temporal: envInt('TEMPORAL_PORT', 7233),
    temporalUi: envInt('TEMPORAL_UI_PORT', 8233),
    api: envInt('SLUICE_API_PORT', 4000),
    servingBase: envInt('SLUICE_SERVING_PORT', 8001),
  };
}

/** The admin token for serving workers, made once and kept with the dev state. */
function adminToken(dir: string): string {
  if (process.env.SLUICE_ADMIN_TOKEN) return process.env.SLUICE_ADMIN_TOKEN;
  const file = path.join(dir, 'admin-token');
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  const token = randomBytes(24).toString('base64url');
  fs.writeFileSync(file, token + '\n', { mode: 0o600 });
  return token;
}

/**
 * Starts the whole local stack as real processes: PostgreSQL (unless DATABASE_URL), the Temporal
 * dev server (unless TEMPORAL_ADDRESS), the orchestrator worker, the API and N serving workers.
 * State lives in the state dir, so a second run continues where the first stopped. Every process
 * is supervised: one that dies is started again (on the same port and state) with a backoff, and
 * left down after repeated fast failures; giving up on PostgreSQL or Temporal resolves `failed`.
 */
export async function startDevStack(opts: DevStackOptions = {}): Promise<DevStack> {
  const dir = path.resolve(opts.stateDir ?? stateDir());
  const ports = { ...defaultPorts(), ...opts.ports };
  const progress = opts.onProgress ?? (() => undefined);
  const nServing = opts.servingWorkers ?? 2;
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  const logDir = path.join(dir, 'logs');

  // Fail before starting anything when a port we need is taken.
  if (ports.api !== 0) await assertPortFree(ports.api, 'the Sluice API (SLUICE_API_PORT)');
  if (ports.servingBase !== 0) {
    for (let i = 0; i < nServing; i++) await assertPortFree(ports.servingBase + i, `serving worker ${i + 1} (SLUICE_SERVING_PORT)`);
  }

  const cleanups: Array<() => Promise<void>> = [];
  let stopping = false;
  const stop = async () => {
    // Before the first await: children that end from here on (Ctrl-C reaches them too) stay down.
    stopping = true;
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((err: unknown) => progress(`stop failed: ${(err as Error).message}`));
  };
  const timed = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    progress(`${what}...`);
    const value = await fn();
    progress(`${what}: ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return value;
  };
  let fail: (message: string) => void = () => undefined;
  const failed = new Promise<string>((resolve) => { fail = resolve; });
  const supervised = <R extends ChildRun>(name: string, start: () => Promise<R>, core: boolean, logFile?: string) =>
    supervise({ name, start, log: progress, policy: opts.restartPolicy, logFile, onGiveUp: core ? fail : undefined, restartAllowed: () => !stopping });

  try {
    let databaseUrl = process.env.DATABASE_URL;
    if (databaseUrl) {
      await timed(`PostgreSQL at ${redactUrl(databaseUrl)}`, () => assertDatabaseReachable(databaseUrl as string));
    } else {
      const dataDir = path.join(dir, 'postgres');
      let port = ports.postgres;
      // Restarted on the port it first had: every other process holds that URL.
      const pg = await timed(`PostgreSQL (embedded, ${port ? `port ${port}` : 'a free port'})`, () =>
        supervised('PostgreSQL', async () => { const run = await startEmbeddedPostgres({ dataDir, port }); port = run.port; return run; }, true));
      cleanups.push(() => pg.stop());
      databaseUrl = pg.current().url;
    }
    const db = createDb(databaseUrl, { max: 2 });
    let firstAdminKey: string | null;
    try {
      const applied = await migrateToLatest(db as Kysely<unknown>);
      progress(applied.length ? `migrations applied: ${applied.join(', ')}` : 'migrations: up to date');
      firstAdminKey = await bootstrapAdminKey(db);
    } finally {
      await db.destroy();
    }

    let temporalAddress = process.env.TEMPORAL_ADDRESS;
    let temporalUi: string | null = null;
    if (temporalAddress) {
      const address = temporalAddress;
      await timed(`Temporal at ${address}`, async () => {
        await waitForNamespace(address, TEMPORAL_NAMESPACE, 15_000);
        await ensureSearchAttributes(address, TEMPORAL_NAMESPACE);
      });
    } else {
      const cli = await ensureTemporalCli();
      let port = ports.temporal;
      let uiPort = ports.temporalUi;
      const logFile = path.join(dir, 'temporal.log');
      const server = await timed(`Temporal dev server (${port ? `port ${port}` : 'a free port'}, UI ${uiPort || 'on a free port'})`, () =>
        supervised('Temporal dev server', async () => {
          const run = await startTemporalDevServer({ cli, dbFile: path.join(dir, 'temporal.db'), port, uiPort, logFile });
          port = run.port;
          uiPort = run.uiPort;
          return run;
        }, true, logFile));
      cleanups.push(() => server.stop());
      temporalAddress = server.current().address;
      temporalUi = server.current().uiUrl;
    }

    const token = adminToken(dir);
    // The orchestrator pushes generations to the workers' admin routes with the same token.
    const common = { DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporalAddress, SLUICE_STATE_DIR: dir, SLUICE_ADMIN_TOKEN: token };
    const specs: Array<ServiceSpec & { portVariable?: string }> = [
      { name: 'orchestrator', entry: 'src/orchestrator/main.ts', env: common, logDir, readyTimeoutMs: 180_000 },
      { name: 'api', entry: 'src/api/server.ts', env: { ...common, SLUICE_API_PORT: String(ports.api), ...(temporalUi && !process.env.SLUICE_TEMPORAL_UI_URL ? { SLUICE_TEMPORAL_UI_URL: temporalUi } : {}) }, logDir, portVariable: 'SLUICE_API_PORT' },
      ...Array.from({ length: nServing }, (_, i) => ({
        name: `serving-${i + 1}`,
        entry: 'src/serving/server.ts',
        env: { ...common, SLUICE_SERVING_PORT: String(ports.servingBase === 0 ? 0 : ports.servingBase + i), SLUICE_WORKER_ID: `serving-${i + 1}` },
        logDir,
        portVariable: 'SLUICE_SERVING_PORT',
      })),
    ];
    const services = await timed('orchestrator worker, API and serving workers', async () => {
      const results = await Promise.allSettled(specs.map((spec) => supervised(spec.name, async () => {
        const run = await startService(spec);
        // A server asked for port 0 comes back, after a restart, on the port it had.
        const url = typeof run.ready.url === 'string' ? new URL(run.ready.url) : null;
        if (spec.portVariable && url?.port) spec.env = { ...spec.env, [spec.portVariable]: url.port };
        return run;
      }, false, path.join(logDir, `${spec.name}.log`))));
      // Keep every process that did start, so a failure of one still stops the others.
      for (const r of results) if (r.status === 'fulfilled') cleanups.push(() => r.value.stop());
      const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failure) throw failure.reason;
      return results.map((r) => (r as PromiseFulfilledResult<SupervisedChild<RunningService>>).value);
    });
    const urlOf = (name: string) => String(services.find((s) => s.name === name)?.current().ready.url ?? '');
    const apiUrl = urlOf('api');

    return {
      databaseUrl,
      temporalAddress,
      adminToken: token,
      firstAdminKey,
      urls: {
        temporalUi,
        api: apiUrl,
        apiDocs: `${apiUrl}/docs`,
        serving: Array.from({ length: nServing }, (_, i) => urlOf(`serving-${i + 1}`)),
      },
      failed,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
