// Only listens: everything else is the app (app.ts). HTTPS when SLUICE_TLS_CERT and SLUICE_TLS_KEY
// name a PEM certificate and key.
import fs from 'node:fs';
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

function readTls(): { cert: Buffer; key: Buffer } | undefined {
  const certFile = process.env.SLUICE_TLS_CERT;
  const keyFile = process.env.SLUICE_TLS_KEY;
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile) {
    console.error('sluice api: set both SLUICE_TLS_CERT and SLUICE_TLS_KEY (PEM files), or neither.');
    process.exit(2);
  }
  try {
    return { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) };
  } catch (err) {
    console.error(`sluice api: cannot read the TLS certificate or key: ${(err as Error).message}`);
    process.exit(2);
  }
}

const https = readTls();
const db = createDb(databaseUrl);
const app = await buildApiApp({ db, closeDb: () => db.destroy(), logger: process.env.SLUICE_LOG === '1', ...(https ? { https } : {}) });
try {
  await app.listen({ port, host });
} catch (err) {
  const code = (err as NodeJS.ErrnoException).code;
  console.error(code === 'EADDRINUSE' ? `sluice api: port ${port} is already taken; set SLUICE_API_PORT.` : `sluice api: ${(err as Error).message}`);
  process.exit(1);
}
onShutdown(() => app.close());
// The port it got, not the one asked for: port 0 (tests, `sluice dev` on free ports) picks one.
const bound = app.server.address();
announceReady('api', { url: `${https ? 'https' : 'http'}://${host}:${typeof bound === 'object' && bound ? bound.port : port}` });
