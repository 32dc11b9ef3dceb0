// FastHttpServer over real TCP: a plain node:http server with the fast layer installed, raw bytes
// written from node:net clients (and a node:http agent), responses parsed here. `infer` and `other`
// are small test functions, wrapped to record what they were given.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FastHttpServer, type FastHttpOptions, type PlainRequest, type PlainResponse } from '../../../src/serving/http/fast-http.js';
import type { InferResult } from '../../../src/serving/inference.js';
import { InferError } from '../../../src/serving/protocol/infer-error.js';
import { bytesJoined, RawClient, type RawResponse } from '../../support/raw-http.js';

interface InferCall { model: string; version: string | null; body: string; headerLength: string | undefined }

const json = (r: RawResponse): unknown => JSON.parse(r.body.toString('utf8'));

/** A request as raw bytes; Content-Length is added for a body unless the headers frame it. */
function request(method: string, url: string, opts: { body?: string; headers?: Record<string, string>; version?: string } = {}): string {
  const headers: Record<string, string> = { host: 'test', ...opts.headers };
  const framed = Object.keys(headers).some((h) => /^(content-length|transfer-encoding)$/i.test(h));
  if (opts.body !== undefined && !framed) headers['content-length'] = String(Buffer.byteLength(opts.body));
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return `${method} ${url} ${opts.version ?? 'HTTP/1.1'}\r\n${lines}\r\n${opts.body ?? ''}`;
}

/** The default infer: echoes what it was given as JSON. */
async function echoInfer(model: string, version: string | null, body: Buffer): Promise<InferResult> {
  return { body: JSON.stringify({ model, version, bytes: body.length }), headerLength: null };
}

/** The default other: 200 with a small JSON body naming the method and URL. */
async function echoOther(req: PlainRequest): Promise<PlainResponse> {
  return { statusCode: 200, headers: { 'content-type': 'application/json', 'x-route': 'other' }, body: Buffer.from(JSON.stringify({ method: req.method, url: req.url })) };
}

interface Harness {
  port: number;
  inferCalls: InferCall[];
  otherCalls: PlainRequest[];
  /** What onError was given. */
  errors: unknown[];
  /** TCP connections the server accepted. */
  connections: () => number;
  /** server.close(), resolved by its callback. */
  close: () => Promise<void>;
}

const servers: http.Server[] = [];
const clients: RawClient[] = [];
/** Server-side sockets, destroyed after each test so cleanup never depends on the code under test. */
const accepted: net.Socket[] = [];

async function start(opts: Partial<FastHttpOptions> = {}): Promise<Harness> {
  const inferCalls: InferCall[] = [];
  const otherCalls: PlainRequest[] = [];
  const errors: unknown[] = [];
  const infer = opts.infer ?? echoInfer;
  const other = opts.other ?? echoOther;
  const fast = new FastHttpServer({
    bodyLimitBytes: 1024,
    maxHeaderBytes: 512,
    ...opts,
    infer: (model, version, body, headerLength) => { inferCalls.push({ model, version, body: body.toString(), headerLength }); return infer(model, version, body, headerLength); },
    other: (req) => { otherCalls.push({ ...req, headers: { ...req.headers } }); return other(req); },
    onError: (err) => errors.push(err),
  });
  const server = http.createServer();
  fast.install(server);
  let connections = 0;
  server.on('connection', (socket: net.Socket) => { connections++; accepted.push(socket); });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return { port, inferCalls, otherCalls, errors, connections: () => connections, close };
}

async function connect(h: Harness): Promise<RawClient> {
  const c = await RawClient.connect(h.port);
  clients.push(c);
  return c;
}

/** One request through node:http with `agent`; says whether the agent reused a socket. */
function agentRequest(agent: http.Agent, port: number, method: string, path: string, body?: string): Promise<{ status: number; body: string; reusedSocket: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ agent, host: '127.0.0.1', port, method, path }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString(), reusedSocket: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Resolves when `p` settles, or fails the test after `ms`. */
/**
 * How long `within` waits for something that must happen: generous, because on a shared, busy
 * machine a 1 s wait once ran out; still far below the 72 s keep-alive and 300 s request timeouts
 * that would end a connection anyway, so a pass still means the server ended it itself.
 */
const PATIENCE_MS = 30_000;

async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms); });
  try { return await Promise.race([p, timeout]); } finally { clearTimeout(timer); }
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.socket.destroy();
  for (const socket of accepted.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).filter((s) => s.listening).map((s) => new Promise((resolve) => s.close(resolve))));
});

const INFER_URL = '/v2/models/m/infer';

describe('FastHttpServer over TCP', () => {
  it('keeps a connection alive for a second request (raw socket and node:http agent)', async () => {
    const h = await start();
    const c = await connect(h);
    c.write(request('POST', INFER_URL, { body: '{"a":1}' }));
    expect(json(await c.read())).toEqual({ model: 'm', version: null, bytes: 7 });
    c.write(request('GET', '/v2/health/live'));
    const second = await c.read();
    expect(second.status).toBe(200);
    expect(second.headers['x-route']).toBe('other');
    expect(c.ended).toBe(false);
    expect(h.connections()).toBe(1);

    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await agentRequest(agent, h.port, 'POST', INFER_URL, '{}');
      const again = await agentRequest(agent, h.port, 'GET', '/v2/health/live');
      expect([first.status, again.status]).toEqual([200, 200]);
      expect(JSON.parse(again.body)).toEqual({ method: 'GET', url: '/v2/health/live' });
      expect([first.reusedSocket, again.reusedSocket]).toEqual([false, true]);
      expect(h.connections()).toBe(2);
    } finally {
      agent.destroy();
    }
  });

  it('answers pipelined requests in request order when the first finishes last', async () => {
    const finished: number[] = [];
    const h = await start({
      infer: async (_m, _v, body) => {
        const { id, delayMs } = JSON.parse(body.toString()) as { id: number; delayMs: number };
        await sleep(delayMs);
        finished.push(id);
        return { body: JSON.stringify({ id }), headerLength: null };
      },
    });
    const c = await connect(h);
    c.write([{ id: 1, delayMs: 80 }, { id: 2, delayMs: 5 }, { id: 3, delayMs: 30 }].map((b) => request('POST', INFER_URL, { body: JSON.stringify(b) })).join(''));
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((json(await c.read()) as { id: number }).id);
    expect(ids).toEqual([1, 2, 3]);
    expect(finished).toEqual([2, 3, 1]);
  });

  it('routes a mix of requests on one connection: only POST to an infer URL goes to infer', async () => {
    const h = await start();
    const c = await connect(h);
    const sequence: Array<[string, string, string | undefined]> = [
      ['GET', '/v2/health/ready', undefined],
      ['POST', '/v2/models/m/versions/2/infer?x=1', '{}'],
      ['GET', '/v2/models/m/infer', undefined],
      ['POST', '/v2/models/a%20b/infer', '{"x":1}'],
      ['POST', '/v2/models/m/ready', '{}'],
      ['POST', '/v2/models/m/versions/infer', '{}'],
    ];
    for (const [method, url, body] of sequence) c.write(request(method, url, { body }));
    const routes = [];
    for (let i = 0; i < sequence.length; i++) routes.push((await c.read()).headers['x-route'] ?? 'infer');
    expect(routes).toEqual(['other', 'infer', 'other', 'infer', 'other', 'other']);
    expect(h.inferCalls.map((x) => [x.model, x.version, x.body])).toEqual([['m', '2', '{}'], ['a b', null, '{"x":1}']]);
    expect(h.otherCalls.map((x) => `${x.method} ${x.url}`)).toEqual(['GET /v2/health/ready', 'GET /v2/models/m/infer', 'POST /v2/models/m/ready', 'POST /v2/models/m/versions/infer']);
    expect(h.connections()).toBe(1);
  });

  it('decodes a chunked body whole; other sees a content-length and no transfer-encoding', async () => {
    const h = await start();
    const c = await connect(h);
    const chunked = '5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-trailer: t\r\n\r\n';
    c.write(request('POST', INFER_URL, { headers: { 'transfer-encoding': 'chunked' }, body: chunked }));
    expect(json(await c.read())).toEqual({ model: 'm', version: null, bytes: 11 });
    c.write(request('POST', '/feedback', { headers: { 'Transfer-Encoding': 'chunked' }, body: chunked }));
    expect((await c.read()).status).toBe(200);
    expect(h.inferCalls[0]?.body).toBe('hello world');
    const seen = h.otherCalls[0];
    expect(seen?.body?.toString()).toBe('hello world');
    expect(seen?.headers['content-length']).toBe('11');
    expect(seen?.headers['transfer-encoding']).toBeUndefined();
  });

  it('sends 100 Continue for Expect: 100-continue, then answers once the body arrives', async () => {
    const h = await start();
    const c = await connect(h);
    c.write(request('POST', INFER_URL, { headers: { expect: '100-continue', 'content-length': '9' } }));
    const interim = await c.read();
    expect(interim.status).toBe(100);
    expect(h.inferCalls).toEqual([]);
    c.write('{"b":[1]}');
    const res = await c.read();
    expect(res.status).toBe(200);
    expect(json(res)).toEqual({ model: 'm', version: null, bytes: 9 });
  });

  it('answers a declared body over the limit with 413 and closes the connection', async () => {
    const h = await start({ bodyLimitBytes: 100 });
    const c = await connect(h);
    c.write(request('POST', INFER_URL, { headers: { 'content-length': '5000' } }));
    const res = await c.read();
    expect(res.status).toBe(413);
    expect((json(res) as { error: string }).error).toMatch(/limit of 100 bytes/);
    expect(res.headers.connection).toBe('close');
    await within(PATIENCE_MS, 'connection close', c.closed);
    expect(h.inferCalls).toEqual([]);
  });

  const longHeader = { 'x-long': 'y'.repeat(600) };
  const framingErrors: Array<[string, string, number]> = [
    ['a head over maxHeaderBytes', request('GET', '/', { headers: longHeader }), 431],
    ['a head over maxHeaderBytes, still unterminated', request('GET', '/', { headers: longHeader }).slice(0, -4), 431],
    ['a malformed request line', 'GARBAGE\r\nhost: test\r\n\r\n', 400],
    ['a request target with a space', 'GET /a b HTTP/1.1\r\n\r\n', 400],
    ['both Content-Length and Transfer-Encoding', request('POST', INFER_URL, { headers: { 'content-length': '2', 'transfer-encoding': 'chunked' }, body: '{}' }), 400],
    ['conflicting Content-Length headers', 'POST /v2/models/m/infer HTTP/1.1\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}', 400],
    ['HTTP/2.0 in the request line', request('GET', '/', { version: 'HTTP/2.0' }), 505],
    // Read as some other header, the chunked body would be parsed as a second request.
    ['a tab between a header name and its colon', 'POST /feedback HTTP/1.1\r\nhost: t\r\nTransfer-Encoding\t: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', 400],
    ['a space inside a header name', 'POST /feedback HTTP/1.1\r\nhost: t\r\nTransfer Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', 400],
    ['a bare LF inside a header value', 'POST /feedback HTTP/1.1\r\nhost: t\r\nx-a: b\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', 400],
  ];
  it.each(framingErrors)('answers %s with its status and closes', async (_what, bytes, status) => {
    const h = await start();
    const c = await connect(h);
    c.write(bytes);
    const res = await c.read();
    expect(res.status).toBe(status);
    expect(typeof (json(res) as { error: unknown }).error).toBe('string');
    expect(res.headers.connection).toBe('close');
    await within(PATIENCE_MS, 'connection close', c.closed);
    expect(h.inferCalls.length + h.otherCalls.length).toBe(0);
  });

  const chunkedHead = 'POST /v2/models/m/infer HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n';
  const chunkedErrors: Array<[string, string, number]> = [
    ['trailers over maxHeaderBytes', `1\r\na\r\n0\r\n${'x-trailer: yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\n'.repeat(12)}\r\n`, 431],
    ['a chunk size line over 1 KiB (extensions), CRLF and all', `1;ext=${'x'.repeat(2000)}\r\na\r\n0\r\n\r\n`, 400],
    ['a bare LF in a chunk extension', '1;a\nb\r\na\r\n0\r\n\r\n', 400],
    ['a malformed trailer line', '1\r\na\r\n0\r\nno colon here\r\n\r\n', 400],
  ];
  it.each(chunkedErrors)('answers a chunked body with %s with its status and closes', async (_what, body, status) => {
    const h = await start();
    const c = await connect(h);
    c.write(chunkedHead + body);
    const res = await within(PATIENCE_MS, 'the answer', c.read());
    expect(res.status).toBe(status);
    expect(res.headers.connection).toBe('close');
    await within(PATIENCE_MS, 'connection close', c.closed);
    expect(h.inferCalls).toEqual([]);
  });

  it('counts chunk framing against a limit: extensions cannot pile up far past the body limit', async () => {
    // A 1 KiB extension per data byte: 2 MiB of framing carries under 2 KiB of data, well within
    // the body limit, and was buffered without an answer.
    const h = await start({ bodyLimitBytes: 16 * 1024 });
    const c = await connect(h);
    c.write(chunkedHead);
    const packet = `1;ext=${'x'.repeat(1000)}\r\na\r\n`.repeat(64);
    let sent = 0;
    while (sent < 2 * 1024 * 1024 && c.buffered === 0 && !c.hasClosed) {
      c.write(packet);
      sent += packet.length;
      await sleep(5);
    }
    const res = await within(PATIENCE_MS, 'the 413', c.read());
    expect(res.status).toBe(413);
    expect((json(res) as { error: string }).error).toMatch(/chunk framing/);
    expect(res.headers.connection).toBe('close');
    // Answered once the framing passed its limit (64 KiB plus a quarter of the body limit).
    expect(sent).toBeLessThan(256 * 1024);
    await within(PATIENCE_MS, 'connection close', c.closed);
    expect(h.inferCalls).toEqual([]);
  });

  it('decodes a large chunked body sent in many small packets whole, joining its bytes once', async () => {
    const h = await start({
      bodyLimitBytes: 32 * 1024 * 1024,
      infer: async (_m, _v, body) => ({ body: JSON.stringify({ bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') }), headerLength: null }),
    });
    const c = await connect(h);
    const body = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31 + (i >> 11)) & 0xff;
    // Chunks of 1 byte to 6 KiB, some with extensions, each its own write; then a trailer.
    const pieces: Buffer[] = [];
    let at = 0;
    for (let k = 0; at < body.length; k++) {
      const n = Math.min(body.length - at, k % 7 === 0 ? 1 + (k % 5) : 500 + ((k * 977) % 5700));
      pieces.push(Buffer.concat([Buffer.from(`${n.toString(16)}${k % 3 === 0 ? ';k=v' : ''}\r\n`), body.subarray(at, at + n), Buffer.from('\r\n')]));
      at += n;
    }
    const { joined } = await bytesJoined(async () => {
      c.write(chunkedHead);
      for (const piece of pieces) c.write(piece);
      c.write('0\r\nx-checksum: none\r\n\r\n');
      const res = await within(PATIENCE_MS, 'the answer', c.read());
      expect(res.status).toBe(200);
      expect(json(res)).toEqual({ bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') });
    });
    // Joining everything received so far on every packet copied hundreds of MiB here.
    expect(joined).toBeLessThan(2 * body.length);
    // The connection goes on.
    c.write(request('POST', INFER_URL, { body: '{}' }));
    expect(json(await c.read())).toEqual({ bytes: 2, sha256: createHash('sha256').update('{}').digest('hex') });
  });

  it('answers every request sent before a half-close, past the in-flight limit, drops an incomplete tail, then closes', async () => {
    const h = await start({
      maxInflightPerConnection: 4,
      infer: async (_m, _v, body) => { await sleep(2); return { body: body.toString(), headerLength: null }; },
    });
    const c = await connect(h);
    const n = 12;
    const whole = Array.from({ length: n }, (_, i) => request('POST', INFER_URL, { body: JSON.stringify({ id: i }) })).join('');
    c.write(whole + 'POST /v2/models/m/infer HTTP/1.1\r\nhost: t\r\ncontent-length: 10\r\n\r\n{"id"');
    c.socket.end();
    const answers: RawResponse[] = [];
    for (let i = 0; i < n; i++) answers.push(await within(PATIENCE_MS, `answer ${i}`, c.read()));
    expect(answers.map((r) => r.status)).toEqual(Array<number>(n).fill(200));
    expect(answers.map((r) => (json(r) as { id: number }).id)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(answers.slice(0, -1).every((r) => r.headers.connection === undefined)).toBe(true);
    expect(answers.at(-1)?.headers.connection).toBe('close');
    await within(PATIENCE_MS, 'the server closing', c.closed);
    expect(c.buffered).toBe(0);
    expect(h.inferCalls).toHaveLength(n);
  });

  it('closes after Connection: close, and after HTTP/1.0 unless it asks for keep-alive', async () => {
    const h = await start();
    const closing = await connect(h);
    closing.write(request('GET', '/a', { headers: { connection: 'close' } }) + request('GET', '/ignored'));
    expect((await closing.read()).headers.connection).toBe('close');
    await within(PATIENCE_MS, 'close after Connection: close', closing.closed);

    const plain10 = await connect(h);
    plain10.write(request('POST', INFER_URL, { body: '{}', version: 'HTTP/1.0' }));
    expect((await plain10.read()).headers.connection).toBe('close');
    await within(PATIENCE_MS, 'close after HTTP/1.0', plain10.closed);

    const keepAlive10 = await connect(h);
    const asKeepAlive10 = { version: 'HTTP/1.0', headers: { connection: 'keep-alive' } };
    for (const bytes of [request('GET', '/b', asKeepAlive10), request('POST', INFER_URL, { ...asKeepAlive10, body: '{}' })]) {
      keepAlive10.write(bytes);
      const res = await keepAlive10.read();
      expect(res.status).toBe(200);
      expect(res.headers.connection).toBe('keep-alive');
    }
    expect(keepAlive10.ended).toBe(false);
    expect(h.otherCalls.map((r) => r.url)).toEqual(['/a', '/b']);
  });

  it('answers an InferError with its status and message, and masks any other error as 500', async () => {
    const secret = new Error('secret detail');
    const h = await start({
      infer: async (model) => {
        if (model === 'missing') throw new InferError(404, "model 'missing' is not served");
        throw secret;
      },
    });
    const c = await connect(h);
    c.write(request('POST', '/v2/models/missing/infer', { body: '{}' }) + request('POST', '/v2/models/crash/infer', { body: '{}' }));
    const notFound = await c.read();
    expect(notFound.status).toBe(404);
    expect(json(notFound)).toEqual({ error: "model 'missing' is not served" });
    const crashed = await c.read();
    expect(crashed.status).toBe(500);
    expect(crashed.body.toString()).not.toContain('secret');
    expect(json(crashed)).toEqual({ error: expect.any(String) });
    expect(h.errors).toEqual([secret]);
    // The connection survives both.
    c.write(request('GET', '/after'));
    expect((await c.read()).status).toBe(200);
  });

  it('answers 500 and reports the error when other rejects', async () => {
    const failure = new Error('app exploded');
    const h = await start({ other: async () => { throw failure; } });
    const c = await connect(h);
    c.write(request('GET', '/anything'));
    const res = await c.read();
    expect(res.status).toBe(500);
    expect(res.body.toString()).not.toContain('exploded');
    expect(h.errors).toEqual([failure]);
  });

  it('answers an infer request with an empty body with 400 without calling infer', async () => {
    const h = await start();
    const c = await connect(h);
    c.write(request('POST', INFER_URL, { body: '' }));
    const res = await c.read();
    expect(res.status).toBe(400);
    expect((json(res) as { error: string }).error).toMatch(/empty/);
    expect(h.inferCalls).toEqual([]);
  });

  it('close() ends an idle keep-alive connection promptly', async () => {
    const h = await start();
    const c = await connect(h);
    c.write(request('GET', '/'));
    await c.read();
    // Far below the 72 s keep-alive timeout, which is what an idle connection would otherwise
    // wait out; generous for a busy machine (a bound of 1 s once failed under load).
    await within(PATIENCE_MS, 'server.close()', h.close());
    await within(PATIENCE_MS, 'client close', c.closed);
  });

  it('close() lets a request in flight finish, with connection: close, before the connection closes', async () => {
    let release: () => void = () => undefined;
    const h = await start({
      infer: async (model, version, body) => {
        await new Promise<void>((resolve) => { release = resolve; });
        return echoInfer(model, version, body);
      },
    });
    const c = await connect(h);
    c.write(request('POST', INFER_URL, { body: '{}' }));
    while (h.inferCalls.length === 0) await sleep(2);
    let serverClosed = false;
    const closing = h.close().then(() => { serverClosed = true; });
    await sleep(30);
    expect(serverClosed).toBe(false);
    expect(c.hasClosed).toBe(false);
    release();
    const res = await c.read();
    expect(res.status).toBe(200);
    expect(res.headers.connection).toBe('close');
    await within(PATIENCE_MS, 'client close', c.closed);
    await within(PATIENCE_MS, 'server.close()', closing);
  });

  it('sends no body bytes after the head of a HEAD response or a 204', async () => {
    const h = await start({
      other: async (req) => req.url === '/empty'
        ? { statusCode: 204, headers: { 'x-route': 'other' }, body: Buffer.alloc(0) }
        : echoOther(req),
    });
    const c = await connect(h);
    c.write(request('HEAD', '/thing'));
    const head = await c.read({ head: true });
    expect(head.status).toBe(200);
    expect(Number(head.headers['content-length'])).toBe(JSON.stringify({ method: 'HEAD', url: '/thing' }).length);
    c.write(request('GET', '/empty'));
    const empty = await c.read();
    expect(empty.status).toBe(204);
    expect(empty.headers['content-length']).toBeUndefined();
    await sleep(20);
    expect(c.buffered).toBe(0);
    // Anything left over would corrupt the next response on the connection.
    c.write(request('GET', '/next'));
    expect(json(await c.read())).toEqual({ method: 'GET', url: '/next' });
  });

  it('parses a request that arrives one byte per write', async () => {
    const h = await start();
    const c = await connect(h);
    const bytes = Buffer.from(request('POST', '/v2/models/slow/versions/7/infer', { body: '{"inputs":[1,2,3]}', headers: { 'inference-header-content-length': '18' } }));
    for (let i = 0; i < bytes.length; i++) {
      c.write(bytes.subarray(i, i + 1));
      await sleep(1);
    }
    const res = await c.read();
    expect(json(res)).toEqual({ model: 'slow', version: '7', bytes: 18 });
    expect(h.inferCalls).toEqual([{ model: 'slow', version: '7', body: '{"inputs":[1,2,3]}', headerLength: '18' }]);
  });

  it('answers a client that half-closes, then closes its side too', async () => {
    const h = await start();
    const c = await connect(h);
    c.write(request('GET', '/v2/health/live'));
    c.socket.end();
    expect((await c.read()).status).toBe(200);
    await within(PATIENCE_MS, 'the server closing a half-closed connection', c.closed);
  });

  it('answers 408 when a started request stalls past the request timeout, and close() does not wait for it', async () => {
    const h = await start({ requestTimeoutMs: 100 });
    const c = await connect(h);
    c.write('POST /x HTTP/1.1\r\nhost: t\r\ncontent-length: 10\r\n\r\nab');
    const res = await within(PATIENCE_MS, 'the 408', c.read());
    expect(res.status).toBe(408);
    expect(res.headers.connection).toBe('close');
    await within(PATIENCE_MS, 'the connection closing', c.closed);
    await within(PATIENCE_MS, 'server.close()', h.close());
  });

  it('on close, answers every request it already took, the last with connection: close', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const h = await start({ infer: async (model) => { if (model === 'slow') await gate; return { body: JSON.stringify({ model }), headerLength: null }; } });
    const c = await connect(h);
    c.write(request('POST', '/v2/models/slow/infer', { body: '{}' }) + request('POST', '/v2/models/quick/infer', { body: '{}' }));
    await sleep(30);
    expect(h.inferCalls.map((x) => x.model)).toEqual(['slow', 'quick']);
    const closed = h.close();
    release();
    const first = await c.read();
    const second = await c.read();
    expect([json(first), json(second)]).toEqual([{ model: 'slow' }, { model: 'quick' }]);
    expect(first.headers.connection).toBeUndefined();
    expect(second.headers.connection).toBe('close');
    await within(PATIENCE_MS, 'server.close()', closed);
  });

  it('owes 100 Continue while an earlier answer is pending, and sends it once that answer is out', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const h = await start({ infer: async (model) => { if (model === 'slow') await gate; return { body: JSON.stringify({ model }), headerLength: null }; } });
    const c = await connect(h);
    c.write(request('POST', '/v2/models/slow/infer', { body: '{}' }) + 'POST /v2/models/next/infer HTTP/1.1\r\nhost: t\r\nexpect: 100-continue\r\ncontent-length: 2\r\n\r\n');
    await sleep(20);
    expect(c.buffered).toBe(0);
    release();
    expect(json(await c.read())).toEqual({ model: 'slow' });
    expect((await c.read()).status).toBe(100);
    c.write('{}');
    expect(json(await c.read())).toEqual({ model: 'next' });
  });

  it('reads a body that arrives in many chunks in time linear in its size', async () => {
    const h = await start({ bodyLimitBytes: 32 * 1024 * 1024 });
    const c = await connect(h);
    const body = Buffer.alloc(16 * 1024 * 1024, 0x61);
    // Counted in bytes copied, not in time (a clock bound flakes on a busy machine): joining every
    // chunk with all before it copies about size × chunks / 2 bytes (gigabytes here, 1.4 s);
    // linear buffering copies each byte a bounded number of times.
    let copied = 0;
    const concat = Buffer.concat.bind(Buffer);
    const spy = vi.spyOn(Buffer, 'concat').mockImplementation((list, totalLength) => {
      const joined = concat(list, totalLength);
      copied += joined.length;
      return joined;
    });
    try {
      c.write(`POST ${INFER_URL} HTTP/1.1\r\nhost: t\r\ncontent-length: ${body.length}\r\n\r\n`);
      for (let at = 0; at < body.length; at += 64 * 1024) c.write(body.subarray(at, at + 64 * 1024));
      expect(json(await c.read())).toEqual({ model: 'm', version: null, bytes: body.length });
    } finally {
      spy.mockRestore();
    }
    expect(copied).toBeLessThan(4 * body.length);
  });

  it('skips empty lines before a request, sends no 100 to HTTP/1.0, and passes one Content-Length on', async () => {
    const h = await start();
    const c = await connect(h);
    c.write('\r\n' + request('POST', '/thing', { body: 'ab', headers: { 'content-length': '2', 'Content-Length': '2' } }));
    expect((await c.read()).status).toBe(200);
    expect(h.otherCalls[0]?.headers['content-length']).toBe('2');
    c.write('POST /v2/models/m/infer HTTP/1.0\r\nconnection: keep-alive\r\nexpect: 100-continue\r\ncontent-length: 2\r\n\r\n');
    await sleep(20);
    expect(c.buffered).toBe(0);
    c.write('{}');
    const res = await c.read();
    expect(res.status).toBe(200);
  });
});
