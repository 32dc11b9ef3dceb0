// Per-key rate limits on mutating routes, and TLS from a configured certificate (the server
// process started the way the dev stack starts it, with SLUICE_TLS_CERT / SLUICE_TLS_KEY).
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowCounts, startHarness, type Harness } from './harness.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

describe('rate limits', () => {
  let h: Harness;
  beforeAll(async () => { h = await startHarness({ temporal: false, deps: { rateLimit: { max: 3, timeWindowMs: 60_000 } } }); });
  afterAll(async () => { await h?.close(); });

  it('limits mutating requests per key (429 problem, nothing written), not reads and not other keys', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await h.call('POST', '/v1/models', { key: h.keys.deployer, body: { name: `limited-${i}` } });
      expect(res.status).toBe(201);
      expect(res.headers.get('x-ratelimit-remaining')).toBe(String(2 - i));
    }
    const before = await rowCounts(h.t);
    const limited = await h.call('POST', '/v1/models', { key: h.keys.deployer, body: { name: 'limited-3' } });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(limited.body.code).toBe('rate_limited');
    expect(limited.headers.get('retry-after')).toBeTruthy();
    expect(await rowCounts(h.t)).toEqual(before);
    // Reads are not limited; another key has its own budget.
    for (let i = 0; i < 5; i++) expect((await h.call('GET', '/v1/models', { key: h.keys.deployer })).status).toBe(200);
    expect((await h.call('POST', '/v1/models', { key: h.keys.admin, body: { name: 'limited-admin' } })).status).toBe(201);
  });
});

describe('TLS', () => {
  let dir: string;
  let cert: Buffer;
  let hasOpenssl = true;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sluice-tls-'));
    try {
      await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
        '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
      cert = await fs.readFile(path.join(dir, 'cert.pem'));
    } catch {
      hasOpenssl = false;
    }
  });
  afterAll(async () => { await fs.rm(dir, { recursive: true, force: true }); });

  it('serves HTTPS when SLUICE_TLS_CERT and SLUICE_TLS_KEY are set', async (ctx) => {
    if (!hasOpenssl) ctx.skip();
    const { createTestDatabase } = await import('../../support/db.js');
    const t = await createTestDatabase();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/api/server.ts'], {
      cwd: root,
      // Port 0: the server binds a free port and names it in its ready line.
      env: { ...process.env, DATABASE_URL: t.url, SLUICE_API_PORT: '0', SLUICE_TLS_CERT: path.join(dir, 'cert.pem'), SLUICE_TLS_KEY: path.join(dir, 'key.pem') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const ready = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => { out += c.toString(); const m = /SLUICE_READY (.*)/.exec(out); if (m) resolve(m[1] as string); });
        child.stderr.on('data', (c: Buffer) => { out += c.toString(); });
        child.once('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
        setTimeout(() => reject(new Error(`server not ready: ${out}`)), 60_000);
      });
      const announced = String((JSON.parse(ready) as { url: unknown }).url);
      expect(announced).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const port = Number(new URL(announced).port);
      expect(port).toBeGreaterThan(0); // the port bound, not the 0 asked for
      const body = await new Promise<string>((resolve, reject) => {
        https.get({ host: '127.0.0.1', port, path: '/health', ca: cert }, (res) => {
          let s = '';
          res.on('data', (c: Buffer) => { s += c.toString(); });
          res.on('end', () => resolve(s));
        }).on('error', reject);
      });
      expect(JSON.parse(body)).toEqual({ status: 'ok', database: 'ok' });
      // Plain HTTP on the TLS port gets no API.
      const plain = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.status, () => 'refused');
      expect(plain).not.toBe(200);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await t.drop();
    }
  });
});

describe('Temporal unreachable', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ temporal: false, deps: { temporal: { address: '127.0.0.1:9', timeoutMs: 3000 } } });
  });
  afterAll(async () => { await h?.close(); });

  it('answers 503/504 for a start and takes the rollout row and its audit entry back', async () => {
    const { readManifest, fixture } = await import('./harness.js');
    const { createHash } = await import('node:crypto');
    const bytes = await fixture((await readManifest()).models[0]!.file);
    expect((await h.call('POST', '/v1/models', { body: { name: 'offline' } })).status).toBe(201);
    const sha = createHash('sha256').update(bytes).digest('hex');
    expect((await h.call('POST', `/v1/models/offline/versions/upload?version=1&sha256=${sha}`, { raw: bytes, headers: { 'content-type': 'application/octet-stream' } })).status).toBe(201);
    const before = await rowCounts(h.t);
    const res = await h.call('POST', '/v1/rollouts', { body: { model: 'offline', version: '1', policy: { experiment: { kind: 'none' } } } });
    expect([503, 504]).toContain(res.status);
    expect(res.body.code).toMatch(/^temporal_/);
    expect(await rowCounts(h.t)).toEqual(before);
  });
});
