// HTTP/1.1 framing on the socket (fast-http.ts) against a real worker: raw bytes from a node:net
// client, responses parsed here. Pipelined requests followed by a half-close, chunked bodies large
// and abusive, and a header the worker must refuse rather than read some other way.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bytesJoined, RawClient, type RawResponse } from '../../support/raw-http.js';
import { fixture, inferBody, row, startWorker, type InferReply, type TestWorker } from './support.js';

const BODY_LIMIT = 8 * 1024 * 1024;
const URL_PATH = '/v2/models/credit/infer';
const CHUNKED_HEAD = `POST ${URL_PATH} HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n`;

function withLength(body: string | Buffer): Buffer {
  const b = Buffer.from(body);
  return Buffer.concat([Buffer.from(`POST ${URL_PATH} HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\ncontent-length: ${b.length}\r\n\r\n`), b]);
}

const reply = (r: RawResponse) => JSON.parse(r.body.toString()) as InferReply['body'];

let w: TestWorker;
const clients: RawClient[] = [];

beforeAll(async () => {
  w = await startWorker(null, { config: { bodyLimitBytes: BODY_LIMIT, maxRequestRows: 20_000, inferenceLog: { enabled: false } } });
  const logreg = fixture('logreg');
  expect((await w.admin('POST', '/models/credit/versions/v1/load', { artifactUri: logreg.uri, sha256: logreg.sha256 })).status).toBe(200);
});
afterEach(() => {
  for (const c of clients.splice(0)) c.socket.destroy();
});
afterAll(async () => {
  await w?.close();
});

async function connect(): Promise<RawClient> {
  const c = await RawClient.connect(w.url);
  clients.push(c);
  return c;
}

describe('HTTP framing on the worker socket', () => {
  it('answers every pipelined request sent before a half-close, in order, past the in-flight limit, then closes', async () => {
    // 80 requests: more than the 64 a connection takes in flight before it stops reading.
    const n = 80;
    const c = await connect();
    c.write(Buffer.concat(Array.from({ length: n }, (_, i) => withLength(JSON.stringify(inferBody([row(i)], {}, { id: `pipe-${i}` }))))));
    c.socket.end();
    const answers: RawResponse[] = [];
    for (let i = 0; i < n; i++) answers.push(await c.read());
    expect(answers.map((r) => r.status)).toEqual(Array<number>(n).fill(200));
    expect(answers.map((r) => reply(r).id)).toEqual(Array.from({ length: n }, (_, i) => `pipe-${i}`));
    expect(answers.at(-1)?.headers.connection).toBe('close');
    await c.closed;
    expect(c.buffered).toBe(0);
  });

  it('answers a chunked body of several MiB in small chunks exactly as the same body with Content-Length, joining it once', async () => {
    const body = Buffer.from(JSON.stringify(inferBody(Array.from({ length: 12_000 }, (_, i) => row(i)))));
    expect(body.length).toBeGreaterThan(3 * 1024 * 1024);
    expect(body.length).toBeLessThan(BODY_LIMIT);
    const c = await connect();
    c.write(withLength(body));
    const plain = await c.read();
    expect(plain.status).toBe(200);

    const { result: chunked, joined } = await bytesJoined(async () => {
      c.write(CHUNKED_HEAD);
      for (let at = 0, k = 0; at < body.length; k++) {
        const n = Math.min(body.length - at, 1000 + ((k * 1237) % 3000));
        c.write(`${n.toString(16)}${k % 4 === 0 ? ';part=x' : ''}\r\n`);
        c.write(body.subarray(at, at + n));
        c.write('\r\n');
        at += n;
      }
      c.write('0\r\n\r\n');
      return await c.read({ timeoutMs: 20_000 });
    });
    expect(chunked.status).toBe(200);
    expect(reply(chunked).outputs).toEqual(reply(plain).outputs);
    // Joining all that had arrived on every packet copied the body hundreds of times over.
    expect(joined).toBeLessThan(2 * body.length);
  });

  it('answers chunk extensions that pile up past the framing allowance with 413, without reading the rest', async () => {
    // 1 KiB of extension per data byte: megabytes of framing, a few KiB of data.
    const c = await connect();
    c.write(CHUNKED_HEAD);
    const packet = `1;ext=${'x'.repeat(1000)}\r\n{\r\n`.repeat(64);
    let sent = 0;
    while (sent < BODY_LIMIT && c.buffered === 0 && !c.hasClosed) {
      c.write(packet);
      sent += packet.length;
      await sleep(1);
    }
    const res = await c.read({ timeoutMs: 2000 });
    expect(res.status).toBe(413);
    expect(res.headers.connection).toBe('close');
    // The allowance is 64 KiB plus a quarter of the body limit.
    expect(sent).toBeLessThan(BODY_LIMIT / 2);
    await c.closed;
  });

  const refused: Array<[string, string, number, RegExp]> = [
    // Read as some other header, the chunked body would be parsed as a second request.
    ['a tab between Transfer-Encoding and its colon', `POST ${URL_PATH} HTTP/1.1\r\nhost: t\r\nTransfer-Encoding\t: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`, 400, /whitespace before a header colon/],
    ['trailers over the header limit', `${CHUNKED_HEAD}2\r\n{}\r\n0\r\n${`x-trailer: ${'t'.repeat(100)}\r\n`.repeat(200)}\r\n`, 431, /trailers are larger than 16384 bytes/],
  ];
  it.each(refused)('refuses %s and closes', async (_what, bytes, status, message) => {
    const c = await connect();
    c.write(bytes);
    const res = await c.read({ timeoutMs: 2000 });
    expect(res.status).toBe(status);
    expect(reply(res).error).toMatch(message);
    expect(res.headers.connection).toBe('close');
    await c.closed;
    expect(c.buffered).toBe(0);
  });
});
