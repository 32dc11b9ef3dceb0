// The fleet's keep-alive admin client against tiny local servers: IPv6 literal addresses, https
// spoken as TLS (never plain http with the bearer token), and other schemes refused.
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { adminRequest, adminTarget } from '../../../src/fleet/admin-client.js';

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => {
    (s as http.Server).closeAllConnections?.();
    s.close(() => resolve());
  })));
});

function listen(server: net.Server, host: string): Promise<number | null> {
  servers.push(server);
  return new Promise((resolve) => {
    server.once('error', () => resolve(null));
    server.listen(0, host, () => resolve((server.address() as AddressInfo).port));
  });
}

describe('adminRequest', () => {
  it('reaches a worker whose admin address is an IPv6 literal (http://[::1]:port)', async (ctx) => {
    const seen: Array<{ method?: string; url?: string; auth?: string; body: string }> = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body });
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ generation: 7 }));
      });
    });
    const port = await listen(server, '::1');
    if (port === null) {
      ctx.skip('::1 is not available on this machine');
      return;
    }
    const reply = await adminRequest(`http://[::1]:${port}/models/credit/generation?x=1`, 'PUT', { generation: 7 }, { token: 'secret', timeoutMs: 5000 });
    expect(reply).toMatchObject({ status: 200, body: { generation: 7 } });
    expect(seen).toEqual([{ method: 'PUT', url: '/models/credit/generation?x=1', auth: 'Bearer secret', body: '{"generation":7}' }]);
  });

  it('speaks TLS to an https:// address: the first bytes on the wire are a TLS handshake, not the token', async () => {
    const received: Buffer[] = [];
    const gotBytes = new Promise<void>((resolve) => {
      const server = net.createServer((socket) => {
        socket.once('data', (chunk: Buffer) => {
          received.push(chunk);
          socket.destroy();
          resolve();
        });
      });
      void listen(server, '127.0.0.1').then((port) => {
        void adminRequest(`https://127.0.0.1:${port as number}/admin/status`, 'GET', undefined, { token: 'secret-token', timeoutMs: 5000 }).catch(() => undefined);
      });
    });
    await gotBytes;
    const first = Buffer.concat(received);
    expect(first[0]).toBe(0x16); // TLS record type: handshake
    expect(first.toString('latin1')).not.toContain('secret-token');
    expect(first.toString('latin1')).not.toMatch(/^GET /);
  });

  it('targets: brackets stripped, ports defaulted by scheme, other schemes refused', async () => {
    expect(adminTarget('http://[::1]:9000/a?b=1')).toEqual({ secure: false, host: '::1', port: 9000, path: '/a?b=1' });
    expect(adminTarget('https://[fe80::1]/x')).toEqual({ secure: true, host: 'fe80::1', port: 443, path: '/x' });
    expect(adminTarget('http://worker-1/x')).toMatchObject({ secure: false, host: 'worker-1', port: 80 });
    expect(() => adminTarget('ftp://worker-1/x')).toThrow(/uses ftp; only http and https are supported/);
    expect(() => adminTarget('not a url')).toThrow(/not a valid URL/);
    await expect(adminRequest('file:///etc/passwd', 'GET', undefined, { token: 't', timeoutMs: 100 })).rejects.toThrow(/only http and https/);
  });
});
