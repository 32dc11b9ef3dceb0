import { createDb } from '../db/connect.js';
import { announceReady, onShutdown } from '../shared/lifecycle.js';
import { buildApiApp } from './app.js';

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error('sluice api: DATABASE_URL is not set.');
  process.exit(2);
}
const port = Number(process.env.SLUICE_API_PORT ?? process.env.PORT ?? 4000);
const host = process.env.HOST ?? '127.0.0.1';
const db = createDb(databaseUrl);
const app = await buildApiApp({ db, closeDb: () => db.destroy(), logger: process.env.SLUICE_LOG === '1' });
try {
  await app.listen({ port, host });
} catch (err) {
  const code = (err as NodeJS.ErrnoException).code;
  console.error(code === 'EADDRINUSE' ? `sluice api: port ${port} is already taken; set SLUICE_API_PORT.` : `sluice api: ${(err as Error).message}`);
  process.exit(1);
}
onShutdown(() => app.close());
announceReady('api', { url: `http://${host}:${port}` });
