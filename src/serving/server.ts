// The serving worker process: reads the environment, builds the app, listens, and announces one
// line when it has registered and reconciled. See config.ts for every setting.
import { createDb } from '../db/connect.js';
import { SetupError } from '../shared/errors.js';
import { announceReady, onShutdown } from '../shared/lifecycle.js';
import { buildServingApp } from './app.js';
import { servingConfigFromEnv } from './config.js';

function fail(message: string, code = 2): never {
  console.error(`sluice serving: ${message}`);
  process.exit(code);
}

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) fail('DATABASE_URL is not set.');
const port = Number(process.env.PORT ?? process.env.SLUICE_SERVING_PORT ?? 8001);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`port ${process.env.PORT ?? process.env.SLUICE_SERVING_PORT} is not a valid port number.`);
const host = process.env.HOST ?? '127.0.0.1';

let config;
try {
  config = servingConfigFromEnv();
} catch (err) {
  fail(err instanceof SetupError ? err.message : String(err));
}
// Room for the LISTEN connection's neighbours: heartbeat, log writes and admin loads share this pool.
const db = createDb(databaseUrl, { max: 4 });
let app;
try {
  app = await buildServingApp({ db, databaseUrl, closeDb: () => db.destroy(), config, logger: process.env.SLUICE_LOG === '1' ? { level: 'info' } : { level: 'warn' } });
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
announceReady('serving', {
  url: s.address, workerId: s.config.workerId, provider: s.provider.provider, executor: s.config.executor,
  batch: { maxRows: s.config.maxBatchRows, maxWaitUs: s.config.maxBatchWaitUs }, models: Object.fromEntries([...s.host.models.values()].map((m) => [m.name, m.generation?.generation ?? null])),
});
