// The serving worker process: reads the environment, builds the app, listens, and announces one
// line when it has registered and reconciled. See config.ts for every setting. With
// SLUICE_PROCESSES > 1 this process only supervises that many copies of itself on one port
// (process-group.ts), and announces the line once every copy has joined.
import cluster from 'node:cluster';
import { createDb } from '../db/connect.js';
import { SetupError } from '../shared/errors.js';
import { announceReady, onShutdown } from '../shared/lifecycle.js';
import { buildServingApp } from './app.js';
import { processCountFromEnv, servingConfigFromEnv, type ServingConfig } from './config.js';
import { startProcessGroup, type ProcessReady } from './membership/process-group.js';

function fail(message: string, code = 2): never {
  console.error(`sluice serving: ${message}`);
  process.exit(code);
}

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) fail('DATABASE_URL is not set.');
const port = Number(process.env.PORT ?? process.env.SLUICE_SERVING_PORT ?? 8001);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`port ${process.env.PORT ?? process.env.SLUICE_SERVING_PORT} is not a valid port number.`);
const host = process.env.HOST ?? '127.0.0.1';

let config: ServingConfig;
let processes: number;
try {
  config = servingConfigFromEnv();
  processes = processCountFromEnv();
} catch (err) {
  fail(err instanceof SetupError ? err.message : String(err));
}

if (processes > 1 && cluster.isPrimary) {
  if (config.adminPortBase !== null && config.adminPortBase + processes - 1 > 65535) {
    fail(`SLUICE_ADMIN_PORT_BASE=${config.adminPortBase} leaves no room for ${processes} admin ports (base + ${processes - 1} must be at most 65535).`);
  }
  if (config.advertiseUrl !== null && config.adminPortBase === null) {
    // Each process registers the advertised host with a port picked at start: reachable where
    // every port of the host is (a pod's IP), not through a port mapping, a Service or a proxy.
    console.error(`sluice serving: SLUICE_ADVERTISE_URL is set and each of the ${processes} processes registers its admin address on a port picked at start; behind port mappings set SLUICE_ADMIN_PORT_BASE and publish base to base + ${processes - 1}.`);
  }
  const group = startProcessGroup({
    processes,
    workerId: config.workerId,
    log: (message) => console.error(`sluice serving: ${message}`),
    onStartFailed: (message, exitCode) => fail(message, exitCode),
    onReady: (ready: ProcessReady[]) => {
      announceReady('serving', { ...ready[0]?.details, workerId: config.workerId, processes: ready.map((r) => ({ workerId: r.workerId, adminUrl: r.ownUrl })) });
    },
  });
  onShutdown(() => group.stop());
} else {
  await serve();
}

async function serve(): Promise<void> {
  const inGroup = cluster.isWorker;
  if (inGroup) {
    // A process of a group ends with its primary, whose IPC channel closes when it dies, and
    // drains as on SIGTERM. node:cluster's own 'disconnect' handler would exit(0) at once (no
    // drain, the log buffer lost, the row left ready) unless the exit is marked as expected; ours
    // runs first and marks it.
    process.prependOnceListener('disconnect', () => {
      if (cluster.worker) cluster.worker.exitedAfterDisconnect = true;
      process.kill(process.pid, 'SIGTERM');
    });
  }
  // Room for the LISTEN connection's neighbours: heartbeat, log writes and admin loads share this pool.
  const db = createDb(databaseUrl as string, { max: 4 });
  let app;
  try {
    const index = Number(process.env.SLUICE_PROCESS_INDEX ?? 1);
    const ownPort = inGroup && config.adminPortBase !== null ? config.adminPortBase + index - 1 : 0;
    app = await buildServingApp({ db, databaseUrl, closeDb: () => db.destroy(), config: { ...config, sharedPort: inGroup, ownPort }, logger: process.env.SLUICE_LOG === '1' ? { level: 'info' } : { level: 'warn' } });
  } catch (err) {
    await db.destroy();
    fail(err instanceof SetupError ? err.message : String(err));
  }
  try {
    await app.listen({ port, host });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    await db.destroy();
    fail(code === 'EADDRINUSE' ? `port ${port} is already taken; set PORT or SLUICE_SERVING_PORT.` : (err as Error).message, 1);
  }
  onShutdown(() => app.close());
  try {
    await app.serving.joined;
  } catch (err) {
    await app.close();
    fail(`could not join the fleet: ${(err as Error).message}`, 1);
  }
  const s = app.serving;
  // A stop that began while joining leaves the worker draining, not ready: nothing to announce.
  if (!s.ready) return;
  const details = {
    url: s.address, workerId: s.config.workerId, provider: s.provider.provider, executor: s.config.executor,
    batch: { maxRows: s.config.maxBatchRows, maxWaitUs: s.config.maxBatchWaitUs }, models: Object.fromEntries([...s.host.models.values()].map((m) => [m.name, m.generation?.generation ?? null])),
  };
  if (inGroup) {
    if (!process.connected) return; // the primary is gone; this process is draining
    const ready: ProcessReady = { type: 'sluice-process-ready', workerId: s.config.workerId, url: s.address ?? '', ownUrl: s.ownAddress, details };
    process.send?.(ready, undefined, {}, () => undefined);
  } else {
    announceReady('serving', details);
  }
}
