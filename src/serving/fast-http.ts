/**
 * HTTP/1.1 for the serving worker, read and written on the socket itself.
 *
 * Why: a single-row infer request is a few microseconds of work (route, check, one share of a
 * batched ONNX Runtime run, log), and Node's HTTP machinery around it (IncomingMessage and
 * ServerResponse objects, stream events for the body, header objects, Fastify's lifecycle) cost
 * several times that. Measured on the 2-core development machine: a bare Fastify GET takes about
 * 14 µs of CPU, a Fastify POST with a small JSON body about 37 µs before any inference. This
 * module parses requests straight from the socket's bytes, answers `POST /v2/models/{m}[/versions/
 * {v}]/infer` without building any of those objects, and writes each response with one write.
 *
 * Every other request (health, metadata, feedback, admin, /metrics) is handed whole to the Fastify
 * app through `inject`, so those routes keep their schemas, hooks and error handler, and the
 * socket stays here: a client that checks readiness and then infers on the same keep-alive
 * connection (tritonclient does) keeps the fast path.
 *
 * HTTP/1.1 as clients use it: keep-alive (HTTP/1.0 only with `Connection: keep-alive`),
 * pipelining with responses in request order, `Content-Length` or chunked bodies, `Expect:
 * 100-continue`, a body limit (413), a header limit (431), an idle timeout and a request
 * timeout. Requests it cannot frame safely (both Content-Length and Transfer-Encoding, a transfer
 * coding other than chunked, a malformed request line) get 400 and the connection is closed.
 */
import { STATUS_CODES, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { InferResult } from './inference.js';
import { HEADER_LENGTH, InferError } from './protocol.js';

const PREFIX = '/v2/models/';
const SUFFIX = '/infer';

/** The model and pinned version of an infer URL, or null when the URL is not an infer route. */
export function matchInferUrl(url: string): { model: string; version: string | null } | null {
  const q = url.indexOf('?');
  const p = q < 0 ? url : url.slice(0, q);
  if (!p.startsWith(PREFIX) || !p.endsWith(SUFFIX)) return null;
  const parts = p.slice(PREFIX.length, p.length - SUFFIX.length).split('/');
  try {
    if (parts.length === 1 && parts[0]) return { model: decodeURIComponent(parts[0]), version: null };
    if (parts.length === 3 && parts[0] && parts[1] === 'versions' && parts[2]) return { model: decodeURIComponent(parts[0]), version: decodeURIComponent(parts[2]) };
  } catch {
    return null; // malformed percent-encoding: the Fastify app answers it
  }
  return null;
}

/** A request handed to the Fastify app. */
export interface PlainRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Buffer | null;
  remoteAddress: string | undefined;
}

/** The app's answer to a PlainRequest. */
export interface PlainResponse {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: Buffer;
}

export interface FastHttpOptions {
  infer: (model: string, version: string | null, body: Buffer, headerLength: string | undefined) => Promise<InferResult>;
  other: (req: PlainRequest) => Promise<PlainResponse>;
  bodyLimitBytes: number;
  /** Request line plus headers (Node's default is 16 KiB). */
  maxHeaderBytes?: number;
  /** An idle keep-alive connection is closed after this long (Fastify's default is 72 s). */
  keepAliveTimeoutMs?: number;
  /** A request whose head and body have not arrived in full after this long gets 408. */
  requestTimeoutMs?: number;
  /** Requests in flight on one connection (pipelining) before it stops reading. */
  maxInflightPerConnection?: number;
  onError: (err: unknown) => void;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const JSON_TYPE = 'content-type: application/json; charset=utf-8\r\n';

let dateSecond = -1;
let dateLine = '';
/** The Date header, formatted once a second. */
function dateHeader(): string {
  const now = Date.now();
  const s = Math.floor(now / 1000);
  if (s !== dateSecond) {
    dateSecond = s;
    dateLine = `date: ${new Date(now).toUTCString()}\r\n`;
  }
  return dateLine;
}

function statusLine(status: number): string {
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
}

/** Headers that describe the connection or the framing: this module writes its own. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'date', 'upgrade']);

interface Head {
  method: string;
  url: string;
  http10: boolean;
  headers: Record<string, string>;
  keepAlive: boolean;
  contentLength: number;
  chunked: boolean;
  expectContinue: boolean;
}

/** A framing error: answered with this status and the connection closed. */
class FramingError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

function parseHead(text: string): Head {
  const lines = text.split('\r\n');
  const requestLine = lines[0] as string;
  const sp1 = requestLine.indexOf(' ');
  const sp2 = requestLine.lastIndexOf(' ');
  if (sp1 <= 0 || sp2 === sp1) throw new FramingError(400, 'malformed request line');
  const method = requestLine.slice(0, sp1);
  const url = requestLine.slice(sp1 + 1, sp2);
  const version = requestLine.slice(sp2 + 1);
  if (version !== 'HTTP/1.1' && version !== 'HTTP/1.0') throw new FramingError(version.startsWith('HTTP/') ? 505 : 400, `unsupported protocol version ${version.slice(0, 16)}`);
  if (url === '' || url.includes(' ') || (url[0] !== '/' && url !== '*')) throw new FramingError(400, 'malformed request target');
  if (method === 'CONNECT') throw new FramingError(400, 'CONNECT is not supported');
  const headers: Record<string, string> = {};
  let contentLength = -1;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const c = line.indexOf(':');
    if (c <= 0 || line.charCodeAt(0) === 32 || line.charCodeAt(0) === 9) throw new FramingError(400, 'malformed header line');
    const name = line.slice(0, c).toLowerCase();
    if (name.charCodeAt(name.length - 1) === 32) throw new FramingError(400, 'whitespace before a header colon');
    const value = line.slice(c + 1).trim();
    if (name === 'content-length') {
      if (!/^\d{1,15}$/.test(value)) throw new FramingError(400, 'Content-Length is not a number');
      const n = Number(value);
      if (contentLength >= 0 && n !== contentLength) throw new FramingError(400, 'conflicting Content-Length headers');
      contentLength = n;
    }
    const prev = headers[name];
    headers[name] = prev === undefined ? value : `${prev}, ${value}`;
  }
  const te = headers['transfer-encoding'];
  let chunked = false;
  if (te !== undefined) {
    if (contentLength >= 0) throw new FramingError(400, 'both Content-Length and Transfer-Encoding');
    if (te.toLowerCase() !== 'chunked') throw new FramingError(400, `unsupported Transfer-Encoding ${te.slice(0, 32)}`);
    chunked = true;
  }
  const connection = headers.connection?.toLowerCase() ?? '';
  const http10 = version === 'HTTP/1.0';
  const keepAlive = http10 ? connection.includes('keep-alive') : !connection.includes('close');
  const expect = headers.expect?.toLowerCase();
  if (expect !== undefined && expect !== '100-continue') throw new FramingError(417, `unsupported Expect: ${expect.slice(0, 32)}`);
  return { method, url, http10, headers, keepAlive, contentLength: Math.max(0, contentLength), chunked, expectContinue: expect === '100-continue' };
}

/**
 * Decodes a chunked body starting at `start`. Returns null while incomplete, else the body and
 * the offset after the final CRLF (trailers are read and ignored).
 */
function decodeChunked(buf: Buffer, start: number, limit: number): { body: Buffer; end: number } | null {
  const parts: Buffer[] = [];
  let size = 0;
  let at = start;
  for (;;) {
    const eol = buf.indexOf('\r\n', at, 'latin1');
    if (eol < 0) {
      if (buf.length - at > 1024) throw new FramingError(400, 'malformed chunk size line');
      return null;
    }
    const sizeText = buf.toString('latin1', at, eol).split(';')[0]?.trim() ?? '';
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) throw new FramingError(400, 'malformed chunk size');
    const n = parseInt(sizeText, 16);
    if (n === 0) {
      // Trailers, then an empty line.
      let t = eol + 2;
      for (;;) {
        const e = buf.indexOf('\r\n', t, 'latin1');
        if (e < 0) return null;
        if (e === t) return { body: parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, size), end: e + 2 };
        t = e + 2;
      }
    }
    size += n;
    if (size > limit) throw new FramingError(413, `request body is larger than this worker's limit of ${limit} bytes`);
    if (buf.length < eol + 2 + n + 2) return null;
    parts.push(buf.subarray(eol + 2, eol + 2 + n));
    if (buf[eol + 2 + n] !== 13 || buf[eol + 3 + n] !== 10) throw new FramingError(400, 'a chunk is not followed by CRLF');
    at = eol + 4 + n;
  }
}

/** One response's place in the connection's order. */
interface Slot {
  ready: boolean;
  /** The whole response as one string, or a head and a binary body. */
  text: string;
  binary: Buffer | null;
  close: boolean;
}

class Connection {
  private buf: Buffer | null = null;
  private readonly slots: Slot[] = [];
  private partialSince = 0;
  private continueSent = false;
  private paused = false;
  private dead = false;
  private closeAfterWrite = false;

  constructor(private readonly socket: Socket, private readonly server: FastHttpServer) {
    socket.setNoDelay(true);
    socket.setTimeout(server.keepAliveTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('timeout', () => this.onIdle());
    socket.on('drain', () => this.maybeResume());
    socket.on('error', () => this.destroy());
    socket.on('close', () => { this.dead = true; server.connections.delete(this); });
    server.connections.add(this);
  }

  get idle(): boolean { return this.slots.length === 0 && this.buf === null; }

  /** The server is closing: finish what is in flight, then close. */
  drain(): void {
    if (this.idle) this.end();
    else this.closeAfterWrite = true;
  }

  private destroy(): void {
    this.dead = true;
    this.socket.destroy();
  }

  private end(): void {
    this.dead = true;
    this.socket.end();
    // Read and discard what the client still sends (the rest of an oversized body), so it can
    // finish writing and see the answer; a client that never closes its side is cut off.
    this.socket.resume();
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  private onIdle(): void {
    if (this.slots.length === 0) this.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.dead) return;
    this.buf = this.buf === null ? chunk : Buffer.concat([this.buf, chunk]);
    try {
      this.parse();
    } catch (err) {
      if (!(err instanceof FramingError)) throw err;
      this.buf = null;
      this.fail(err.status, err.message);
    }
  }

  /** Answers a framing error after whatever is in flight, and closes. */
  private fail(status: number, message: string): void {
    const slot: Slot = { ready: false, text: '', binary: null, close: true };
    this.slots.push(slot);
    this.socket.pause();
    this.fill(slot, status, JSON_TYPE, JSON.stringify({ error: message }), true);
  }

  private parse(): void {
    const s = this.server;
    while (this.buf !== null && !this.dead && !this.paused) {
      const buf = this.buf;
      const headEnd = buf.indexOf(CRLFCRLF);
      if (headEnd < 0) {
        if (buf.length > s.maxHeaderBytes) throw new FramingError(431, `the request head is larger than ${s.maxHeaderBytes} bytes`);
        this.waiting();
        return;
      }
      if (headEnd > s.maxHeaderBytes) throw new FramingError(431, `the request head is larger than ${s.maxHeaderBytes} bytes`);
      const head = parseHead(buf.toString('latin1', 0, headEnd));
      const bodyStart = headEnd + 4;
      let body: Buffer;
      let next: number;
      if (head.chunked) {
        const decoded = decodeChunked(buf, bodyStart, s.bodyLimitBytes);
        if (decoded === null) { this.continueIfAsked(head); this.waiting(); return; }
        body = decoded.body;
        next = decoded.end;
      } else {
        if (head.contentLength > s.bodyLimitBytes) throw new FramingError(413, `request body is larger than this worker's limit of ${s.bodyLimitBytes} bytes`);
        next = bodyStart + head.contentLength;
        if (buf.length < next) { this.continueIfAsked(head); this.waiting(); return; }
        body = buf.subarray(bodyStart, next);
      }
      this.buf = next === buf.length ? null : buf.subarray(next);
      this.partialSince = 0;
      this.continueSent = false;
      this.dispatch(head, body);
      if (!head.keepAlive) {
        // No further requests on this connection: whatever follows is ignored.
        this.buf = null;
        this.socket.pause();
        return;
      }
      if (this.slots.length >= s.maxInflightPerConnection) this.pauseReading();
    }
  }

  /** A partial request is buffered: it must complete within the request timeout. */
  private waiting(): void {
    const now = performance.now();
    if (this.partialSince === 0) this.partialSince = now;
    else if (now - this.partialSince > this.server.requestTimeoutMs) throw new FramingError(408, 'the request did not arrive in time');
  }

  private continueIfAsked(head: Head): void {
    // An interim response may only go out when it cannot interleave with earlier answers.
    if (head.expectContinue && !this.continueSent && this.slots.length === 0) {
      this.continueSent = true;
      this.socket.write('HTTP/1.1 100 Continue\r\n\r\n');
    }
  }

  private pauseReading(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
  }

  private maybeResume(): void {
    if (!this.paused || this.dead) return;
    if (this.slots.length >= this.server.maxInflightPerConnection || this.socket.writableNeedDrain) return;
    this.paused = false;
    this.socket.resume();
    if (this.buf !== null) {
      try {
        this.parse();
      } catch (err) {
        if (!(err instanceof FramingError)) throw err;
        this.buf = null;
        this.fail(err.status, err.message);
      }
    }
  }

  private dispatch(head: Head, body: Buffer): void {
    const slot: Slot = { ready: false, text: '', binary: null, close: !head.keepAlive };
    this.slots.push(slot);
    const target = head.method === 'POST' ? matchInferUrl(head.url) : null;
    if (target !== null && this.server.fastInfer) {
      if (body.length === 0) {
        this.fill(slot, 400, JSON_TYPE, '{"error":"the request body is empty; expected a JSON object with an \\"inputs\\" array"}', head.http10);
        return;
      }
      this.server.o.infer(target.model, target.version, body, head.headers[HEADER_LENGTH]).then((r) => {
        if (r.headerLength !== null) {
          this.fillBinary(slot, `content-type: application/octet-stream\r\n${HEADER_LENGTH}: ${r.headerLength}\r\n`, r.body as Buffer, head.http10);
        } else if (typeof r.body === 'string') {
          this.fill(slot, 200, JSON_TYPE, r.body, head.http10);
        } else {
          this.fillBinary(slot, JSON_TYPE, r.body, head.http10);
        }
      }, (err: unknown) => {
        if (err instanceof InferError) {
          this.fill(slot, err.statusCode, JSON_TYPE, JSON.stringify({ error: err.message }), head.http10);
          return;
        }
        this.server.o.onError(err);
        this.fill(slot, 500, JSON_TYPE, '{"error":"internal error; see the worker log"}', head.http10);
      });
      return;
    }
    // The body is whole by now: the app sees it with a plain length, never the transfer coding.
    const headers = head.headers;
    if (head.chunked) {
      delete headers['transfer-encoding'];
      headers['content-length'] = String(body.length);
    }
    delete headers.expect;
    this.server.o.other({ method: head.method, url: head.url, headers, body: body.length > 0 ? body : null, remoteAddress: this.socket.remoteAddress }).then((r) => {
      let headers = '';
      for (const name in r.headers) {
        const v = r.headers[name];
        if (v === undefined || HOP_BY_HOP.has(name.toLowerCase())) continue;
        if (Array.isArray(v)) for (const x of v) headers += `${name}: ${x}\r\n`;
        else headers += `${name}: ${v}\r\n`;
      }
      const noBody = r.statusCode === 204 || r.statusCode === 304 || (r.statusCode >= 100 && r.statusCode < 200);
      if (noBody) this.fillRaw(slot, r.statusCode, headers, null, head.http10);
      else if (head.method === 'HEAD') this.fillRaw(slot, r.statusCode, headers + `content-length: ${r.headers['content-length'] ?? r.body.length}\r\n`, null, head.http10);
      else this.fillRaw(slot, r.statusCode, headers + `content-length: ${r.body.length}\r\n`, r.body, head.http10);
    }, (err: unknown) => {
      this.server.o.onError(err);
      this.fill(slot, 500, JSON_TYPE, '{"error":"internal error; see the worker log"}', head.http10);
    });
  }

  private connectionHeader(slot: Slot, http10: boolean): string {
    if (slot.close || this.closeAfterWrite || this.server.closing) {
      slot.close = true;
      return 'connection: close\r\n';
    }
    return http10 ? 'connection: keep-alive\r\n' : '';
  }

  private fill(slot: Slot, status: number, headers: string, body: string, http10: boolean): void {
    slot.text = `${statusLine(status)}${headers}content-length: ${Buffer.byteLength(body)}\r\n${dateHeader()}${this.connectionHeader(slot, http10)}\r\n${body}`;
    slot.ready = true;
    this.flush();
  }

  private fillBinary(slot: Slot, headers: string, body: Buffer, http10: boolean): void {
    this.fillRaw(slot, 200, `${headers}content-length: ${body.length}\r\n`, body, http10);
  }

  private fillRaw(slot: Slot, status: number, headers: string, body: Buffer | null, http10: boolean): void {
    slot.text = `${statusLine(status)}${headers}${dateHeader()}${this.connectionHeader(slot, http10)}\r\n`;
    slot.binary = body;
    slot.ready = true;
    this.flush();
  }

  /** Writes every finished response at the front, in request order. */
  private flush(): void {
    if (this.socket.destroyed) { this.dead = true; return; }
    let written = 0;
    while (this.slots.length > 0 && (this.slots[0] as Slot).ready) {
      const slot = this.slots.shift() as Slot;
      written++;
      if (slot.binary !== null) {
        this.socket.cork();
        this.socket.write(slot.text, 'latin1');
        this.socket.write(slot.binary);
        this.socket.uncork();
      } else {
        this.socket.write(slot.text);
      }
      if (slot.close) {
        this.slots.length = 0;
        this.end();
        return;
      }
    }
    if (written === 0) return;
    if (this.slots.length === 0 && this.closeAfterWrite && this.buf === null) { this.end(); return; }
    if (this.socket.writableNeedDrain) this.pauseReading();
    else this.maybeResume();
  }
}

export class FastHttpServer {
  readonly connections = new Set<Connection>();
  readonly bodyLimitBytes: number;
  readonly maxHeaderBytes: number;
  readonly keepAliveTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly maxInflightPerConnection: number;
  closing = false;
  /** Infer requests on the fast path; false hands them to the app like any other route. */
  fastInfer = true;

  constructor(readonly o: FastHttpOptions) {
    this.bodyLimitBytes = o.bodyLimitBytes;
    this.maxHeaderBytes = o.maxHeaderBytes ?? 16 * 1024;
    this.keepAliveTimeoutMs = o.keepAliveTimeoutMs ?? 72_000;
    this.requestTimeoutMs = o.requestTimeoutMs ?? 300_000;
    this.maxInflightPerConnection = o.maxInflightPerConnection ?? 64;
  }

  accept(socket: Socket): void {
    if (this.closing) { socket.destroy(); return; }
    new Connection(socket, this);
  }

  /** Stops keeping connections alive: idle ones close now, busy ones after their answers. */
  closeConnections(): void {
    this.closing = true;
    for (const c of this.connections) c.drain();
  }

  /**
   * Takes over `server`'s connections: sockets it accepts are served here instead of by Node's
   * HTTP parser. The server stays what it was to its owner (listen, address, close), and close
   * also ends this module's keep-alive connections, which Node's own close would not know about.
   */
  install(server: Server): void {
    server.removeAllListeners('connection');
    server.on('connection', (socket: Socket) => this.accept(socket));
    const close = server.close.bind(server);
    const closeIdle = server.closeIdleConnections.bind(server);
    const closeAll = server.closeAllConnections.bind(server);
    server.close = (cb?: (err?: Error) => void) => { this.closeConnections(); return close(cb); };
    server.closeIdleConnections = () => { this.closeConnections(); closeIdle(); };
    server.closeAllConnections = () => {
      this.closing = true;
      for (const c of this.connections) c.drain();
      closeAll();
    };
  }
}
