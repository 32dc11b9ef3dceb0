import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { envInt, stateDir, TEMPORAL_NAMESPACE } from '../config.js';
import { createDb } from '../db/connect.js';
import { migrateToLatest } from '../db/migrate.js';
import { bootstrapAdminKey } from '../registry/keys.js';
import { assertPortFree } from '../shared/ports.js';
import { assertDatabaseReachable, redactUrl, startEmbeddedPostgres, type EmbeddedPostgresHandle } from './postgres.js';
import { startService } from './supervisor.js';
import { ensureSearchAttributes, ensureTemporalCli, startTemporalDevServer, waitForNamespace, type TemporalDevServer } from './temporal.js';

export interface DevStackOptions {
  stateDir?: string;
  servingWorkers?: number;
  ports?: Partial<DevPorts>;
  /** Progress lines ("postgres ready in 1.2 s"); the CLI prints them. */
  onProgress?: (line: string) => void;
}

export interface DevPorts {
  postgres: number;
  temporal: number;
  temporalUi: number;
  api: number;
  servingBase: number;
}

export interface DevStack {
  databaseUrl: string;
  temporalAddress: string;
  urls: { temporalUi: string | null; api: string; apiDocs: string; serving: string[] };
  adminToken: string;
  /** The first API admin key, made on the first run only (only its hash is stored); null afterwards. */
  firstAdminKey: string | null;
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
 * State lives in the state dir, so a second run continues where the first stopped.
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
  await assertPortFree(ports.api, 'the Sluice API (SLUICE_API_PORT)');
  for (let i = 0; i < nServing; i++) await assertPortFree(ports.servingBase + i, `serving worker ${i + 1} (SLUICE_SERVING_PORT)`);

  const cleanups: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((err: unknown) => progress(`stop failed: ${(err as Error).message}`));
  };
  const timed = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    progress(`${what}...`);
    const value = await fn();
    progress(`${what}: ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return value;
  };

  try {
    let databaseUrl = process.env.DATABASE_URL;
    if (databaseUrl) {
      await timed(`PostgreSQL at ${redactUrl(databaseUrl)}`, () => assertDatabaseReachable(databaseUrl as string));
    } else {
      const pg: EmbeddedPostgresHandle = await timed(`PostgreSQL (embedded, port ${ports.postgres})`, () =>
        startEmbeddedPostgres({ dataDir: path.join(dir, 'postgres'), port: ports.postgres }));
      cleanups.push(() => pg.stop());
      databaseUrl = pg.url;
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
      const server: TemporalDevServer = await timed(`Temporal dev server (port ${ports.temporal}, UI ${ports.temporalUi})`, () =>
        startTemporalDevServer({ cli, dbFile: path.join(dir, 'temporal.db'), port: ports.temporal, uiPort: ports.temporalUi, logFile: path.join(dir, 'temporal.log') }));
      cleanups.push(() => server.stop());
      temporalAddress = server.address;
      temporalUi = server.uiUrl;
    }

    const token = adminToken(dir);
    // The orchestrator pushes generations to the workers' admin routes with the same token.
    const common = { DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporalAddress, SLUICE_STATE_DIR: dir, SLUICE_ADMIN_TOKEN: token };
    const specs = [
      { name: 'orchestrator', entry: 'src/orchestrator/main.ts', env: common, logDir, readyTimeoutMs: 180_000 },
      { name: 'api', entry: 'src/api/server.ts', env: { ...common, SLUICE_API_PORT: String(ports.api), ...(temporalUi && !process.env.SLUICE_TEMPORAL_UI_URL ? { SLUICE_TEMPORAL_UI_URL: temporalUi } : {}) }, logDir, readyUrl: `http://127.0.0.1:${ports.api}/health` },
      ...Array.from({ length: nServing }, (_, i) => ({
        name: `serving-${i + 1}`,
        entry: 'src/serving/server.ts',
        env: { ...common, SLUICE_SERVING_PORT: String(ports.servingBase + i), SLUICE_WORKER_ID: `serving-${i + 1}` },
        logDir,
        readyUrl: `http://127.0.0.1:${ports.servingBase + i}/v2/health/live`,
      })),
    ];
    await timed('orchestrator worker, API and serving workers', async () => {
      const results = await Promise.allSettled(specs.map((spec) => startService(spec)));
      // Keep every process that did start, so a failure of one still stops the others.
      for (const r of results) if (r.status === 'fulfilled') cleanups.push(() => r.value.stop());
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    });

    return {
      databaseUrl,
      temporalAddress,
      adminToken: token,
      firstAdminKey,
      urls: {
        temporalUi,
        api: `http://127.0.0.1:${ports.api}`,
        apiDocs: `http://127.0.0.1:${ports.api}/docs`,
        serving: Array.from({ length: nServing }, (_, i) => `http://127.0.0.1:${ports.servingBase + i}`),
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
