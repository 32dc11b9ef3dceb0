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
 * coding other than chunked, a malformed request line or header line, malformed chunk framing)
 * get 400 and the connection is closed. A chunked body's framing (size lines, extensions, CRLFs,
 * trailers) counts against a limit beside the body limit, and its trailers against the header
 * limit, so framing cannot make a connection buffer more than the body limit allows.
 */
import { STATUS_CODES, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { InferResult } from '../inference.js';
import { HEADER_LENGTH, InferError } from '../protocol/protocol.js';

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
/** A header or trailer field name: an RFC 9110 token, so no whitespace before the colon. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A chunk size line without its CRLF: hex size, optional whitespace, optional extensions. */
const CHUNK_SIZE_LINE = /^([0-9a-fA-F]{1,8})[ \t]*(?:;.*)?$/s;
/** The longest chunk size line (with extensions) this module reads. */
const MAX_CHUNK_LINE = 1024;
/** Framing a chunked body may add beyond its data: this plus a quarter of the body limit. */
const CHUNK_FRAMING_ALLOWANCE = 64 * 1024;
const JSON_TYPE = 'content-type: application/json; charset=utf-8\r\n';
/** Any failure that is not the caller's: details go to the log, never to the client. */
const MASKED_500 = '{"error":"internal error; see the worker log"}';

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
    const name = checkFieldName(line, c).toLowerCase();
    const value = line.slice(c + 1).trim();
    if (hasControl(value)) throw new FramingError(400, 'a control character in a header value');
    if (name === 'content-length') {
      if (!/^\d{1,15}$/.test(value)) throw new FramingError(400, 'Content-Length is not a number');
      const n = Number(value);
      if (contentLength >= 0 && n !== contentLength) throw new FramingError(400, 'conflicting Content-Length headers');
      contentLength = n;
    }
    const prev = headers[name];
    if (prev === undefined) headers[name] = value;
    else if (name !== 'content-length') headers[name] = `${prev}, ${value}`;
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

/** Whether `text` has a control character other than HTAB (none belongs in a field value or chunk extension). */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 32 && c !== 9) || c === 127) return true;
  }
  return false;
}

/**
 * The name before the colon at `c` (RFC 9112 5.1: no whitespace between a field name and its
 * colon; a request that has any is rejected, since some other parser may read it differently).
 */
function checkFieldName(line: string, c: number): string {
  const name = line.slice(0, c);
  if (TOKEN.test(name)) return name;
  const last = name.charCodeAt(name.length - 1);
  if (last === 32 || last === 9) throw new FramingError(400, 'whitespace before a header colon');
  throw new FramingError(400, 'malformed header name');
}

const SIZE_LINE = 0;
const DATA = 1;
const DATA_CR = 2;
const DATA_LF = 3;
const TRAILERS = 4;

/** Data pieces shorter than this are copied together rather than kept as views, one each. */
const SMALL_PIECE = 1024;
const SMALL_POOL = 16 * 1024;

/**
 * A chunked body, decoded as its bytes arrive: each byte is looked at once, and the data is joined
 * once at the end. Data counts against the body limit; size lines, extensions, CRLFs and trailers
 * against the framing limit, trailers also against the header limit. Large pieces of data are
 * kept as views of the socket's chunks; small ones (tiny chunks, a chunk's tail in a packet) are
 * copied into a shared pool, so a body of many tiny chunks is not a Buffer object per byte.
 */
class ChunkedBody {
  private readonly parts: Buffer[] = [];
  private pool: Buffer | null = null;
  private poolStart = 0;
  private poolUsed = 0;
  private size = 0;
  private framing = 0;
  private trailerBytes = 0;
  private state = SIZE_LINE;
  /** Data bytes still to come in the current chunk. */
  private remaining = 0;
  /** The size or trailer line read so far, when it spans socket chunks. */
  private line = '';

  constructor(readonly head: Head, private readonly bodyLimit: number, private readonly framingLimit: number, private readonly trailerLimit: number) {}

  /** Reads `buf` from `from`: the offset just past the body's end, or -1 while it is incomplete. */
  feed(buf: Buffer, from: number): number {
    let at = from;
    while (at < buf.length) {
      if (this.state === DATA) {
        const n = Math.min(this.remaining, buf.length - at);
        this.append(buf, at, at + n);
        this.remaining -= n;
        at += n;
        if (this.remaining === 0) this.state = DATA_CR;
      } else if (this.state === DATA_CR || this.state === DATA_LF) {
        if (buf[at] !== (this.state === DATA_CR ? 13 : 10)) throw new FramingError(400, 'a chunk is not followed by CRLF');
        this.addFraming(1);
        at++;
        this.state = this.state === DATA_CR ? DATA_LF : SIZE_LINE;
      } else {
        const lf = buf.indexOf(10, at);
        const stop = lf < 0 ? buf.length : lf + 1;
        const n = stop - at;
        this.addFraming(n);
        if (this.state === TRAILERS) {
          this.trailerBytes += n;
          if (this.trailerBytes > this.trailerLimit) throw new FramingError(431, `the request's trailers are larger than ${this.trailerLimit} bytes`);
        } else if (this.line.length + n > MAX_CHUNK_LINE + 2) {
          throw new FramingError(400, `a chunk size line is longer than ${MAX_CHUNK_LINE} bytes`);
        }
        this.line += buf.toString('latin1', at, stop);
        at = stop;
        if (lf < 0) break;
        const text = this.line;
        this.line = '';
        if (text.length < 2 || text.charCodeAt(text.length - 2) !== 13) throw new FramingError(400, 'a bare LF in chunk framing');
        if (this.sizeOrTrailerLine(text.slice(0, -2))) return at;
      }
    }
    return -1;
  }

  /** The body, once `feed` has found its end. */
  body(): Buffer {
    this.cut();
    return this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.size);
  }

  private append(buf: Buffer, from: number, to: number): void {
    const n = to - from;
    if (n >= SMALL_PIECE) {
      this.cut();
      this.parts.push(buf.subarray(from, to));
      return;
    }
    if (this.pool === null || this.poolUsed + n > this.pool.length) {
      this.cut();
      this.pool = Buffer.allocUnsafe(SMALL_POOL);
      this.poolStart = 0;
      this.poolUsed = 0;
    }
    buf.copy(this.pool, this.poolUsed, from, to);
    this.poolUsed += n;
  }

  /** Ends the pool's current run of small pieces as one part. */
  private cut(): void {
    if (this.pool === null || this.poolUsed === this.poolStart) return;
    this.parts.push(this.pool.subarray(this.poolStart, this.poolUsed));
    this.poolStart = this.poolUsed;
  }

  private addFraming(n: number): void {
    this.framing += n;
    if (this.framing > this.framingLimit) throw new FramingError(413, `the request's chunk framing (sizes, extensions, trailers) is larger than ${this.framingLimit} bytes`);
  }

  /** Takes one line without its CRLF; true when it ends the body. */
  private sizeOrTrailerLine(line: string): boolean {
    if (hasControl(line)) throw new FramingError(400, 'a control character in chunk framing');
    if (this.state === TRAILERS) {
      if (line === '') return true;
      const c = line.indexOf(':');
      if (c <= 0) throw new FramingError(400, 'malformed trailer line');
      checkFieldName(line, c);
      return false;
    }
    const m = CHUNK_SIZE_LINE.exec(line);
    if (m === null) throw new FramingError(400, 'malformed chunk size');
    const n = parseInt(m[1] as string, 16);
    if (n === 0) {
      this.state = TRAILERS;
      return false;
    }
    this.size += n;
    if (this.size > this.bodyLimit) throw new FramingError(413, `request body is larger than this worker's limit of ${this.bodyLimit} bytes`);
    this.remaining = n;
    this.state = DATA;
    return false;
  }
}

/** One response's place in the connection's order. */
interface Slot {
  ready: boolean;
  /** Status line and headers, without the connection header and the blank line. */
  head: string;
  /** A text body (written with the head in one string), or a binary one, or none. */
  text: string;
  binary: Buffer | null;
  http10: boolean;
  /** The client asked to close after this response, or the request could not be framed. */
  close: boolean;
}

class Connection {
  /** Unparsed bytes, as chunks: joined only once a whole request can be in them. */
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes the request being read needs in all (head and body), once its head is parsed. */
  private need = 0;
  /** The chunked body being read: every byte that arrives goes to it until it is whole. */
  private chunked: ChunkedBody | null = null;
  private readonly slots: Slot[] = [];
  private requestTimer: NodeJS.Timeout | null = null;
  /** An HTTP/1.1 request asked for 100 Continue while earlier answers were still pending. */
  private continueOwed = false;
  private continueSent = false;
  private paused = false;
  private dead = false;
  /** Answer what has been taken, read nothing more, then close. */
  private closing = false;
  /** The client has finished sending: answer every whole request it sent, then close. */
  private peerEnded = false;

  constructor(private readonly socket: Socket, private readonly server: FastHttpServer) {
    socket.setNoDelay(true);
    socket.setTimeout(server.keepAliveTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // The client has finished sending (http.Server allows half-open sockets): answer every whole
    // request it sent, including those still buffered behind the in-flight limit, then close.
    socket.on('end', () => this.onEnd());
    socket.on('timeout', () => this.onIdle());
    socket.on('drain', () => this.maybeResume());
    socket.on('error', () => this.destroy());
    socket.on('close', () => { this.dead = true; this.clearRequestTimer(); server.connections.delete(this); });
    server.connections.add(this);
  }

  /** Finish the answers to requests already taken, take no more, then close. */
  drain(): void {
    this.closing = true;
    this.discardInput();
    if (this.slots.length === 0) this.end();
  }

  private onEnd(): void {
    this.peerEnded = true;
    this.parseSafely();
  }

  /**
   * After the client's end, once every whole request is taken (and reading is not paused behind
   * answers in flight): what is left can never be completed, so it is dropped and the connection
   * closes after the last answer.
   */
  private settleEnded(): void {
    if (!this.peerEnded || this.dead || this.closing || this.paused) return;
    this.closing = true;
    this.discardInput();
    if (this.slots.length === 0) this.end();
  }

  private discardInput(): void {
    this.chunks = [];
    this.buffered = 0;
    this.need = 0;
    this.chunked = null;
    this.clearRequestTimer();
  }

  private destroy(): void {
    this.dead = true;
    this.clearRequestTimer();
    this.socket.destroy();
  }

  private end(): void {
    if (this.dead) return;
    this.dead = true;
    this.clearRequestTimer();
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
    if (this.dead || this.closing) return;
    if (this.chunked !== null) {
      this.guard(() => { if (this.feedChunked(chunk, 0) === 'next') this.parse(); });
      return;
    }
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    // A large body arrives in many chunks: keep them apart until the request is complete, so
    // buffering stays linear in its size.
    if (this.need > 0 && this.buffered < this.need) return;
    this.parseSafely();
  }

  // The path every request takes: no closure per read.
  private parseSafely(): void {
    try {
      this.parse();
      this.settleEnded();
    } catch (err) {
      this.framingFailed(err);
    }
  }

  /** Runs a step of reading; a framing error is answered and closes the connection. */
  private guard(step: () => void): void {
    try {
      step();
      this.settleEnded();
    } catch (err) {
      this.framingFailed(err);
    }
  }

  private framingFailed(err: unknown): void {
    if (!(err instanceof FramingError)) throw err;
    this.discardInput();
    this.fail(err.status, err.message);
  }

  /**
   * Gives `buf` from `from` to the chunked body being read. Once it is whole, the request is
   * dispatched and what follows it kept for the next one. 'more': the body is incomplete; 'next':
   * the caller parses on; 'stop': the connection reads no further requests.
   */
  private feedChunked(buf: Buffer, from: number): 'more' | 'next' | 'stop' {
    const reading = this.chunked as ChunkedBody;
    const end = reading.feed(buf, from);
    if (end < 0) return 'more';
    this.chunked = null;
    if (end < buf.length) {
      this.chunks.push(buf.subarray(end));
      this.buffered += buf.length - end;
    }
    return this.complete(reading.head, reading.body()) ? 'next' : 'stop';
  }

  /** Answers a framing error after whatever is in flight, and closes. */
  private fail(status: number, message: string): void {
    const slot = this.open(false, true);
    this.closing = true;
    this.socket.pause();
    this.fill(slot, status, JSON_TYPE, JSON.stringify({ error: message }));
  }

  private take(): Buffer | null {
    if (this.buffered === 0) return null;
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    return this.chunks[0] as Buffer;
  }

  private keep(buf: Buffer, from: number): void {
    if (from >= buf.length) { this.chunks = []; this.buffered = 0; return; }
    const rest = buf.subarray(from);
    this.chunks = [rest];
    this.buffered = rest.length;
  }

  private parse(): void {
    const s = this.server;
    for (;;) {
      if (this.dead || this.closing || this.paused) return;
      let buf = this.take();
      if (buf === null) return;
      // A client may send empty lines between requests (RFC 9112 2.2).
      let at = 0;
      while (at + 1 < buf.length && buf[at] === 13 && buf[at + 1] === 10) at += 2;
      if (at > 0) { this.keep(buf, at); buf = this.take(); if (buf === null) return; }
      const headEnd = buf.indexOf(CRLFCRLF);
      if (headEnd < 0) {
        if (buf.length > s.maxHeaderBytes) throw new FramingError(431, `the request head is larger than ${s.maxHeaderBytes} bytes`);
        this.startRequestTimer();
        return;
      }
      if (headEnd > s.maxHeaderBytes) throw new FramingError(431, `the request head is larger than ${s.maxHeaderBytes} bytes`);
      const head = parseHead(buf.toString('latin1', 0, headEnd));
      const bodyStart = headEnd + 4;
      if (head.chunked) {
        // The buffer is handed over whole: the body reads it, then every later chunk as it
        // arrives (onData), each byte once, and gives back what follows its end.
        this.chunks = [];
        this.buffered = 0;
        this.chunked = new ChunkedBody(head, s.bodyLimitBytes, CHUNK_FRAMING_ALLOWANCE + Math.floor(s.bodyLimitBytes / 4), s.maxHeaderBytes);
        const fed = this.feedChunked(buf, bodyStart);
        if (fed === 'more') { this.continueIfAsked(head); this.startRequestTimer(); }
        if (fed !== 'next') return;
        continue;
      }
      if (head.contentLength > s.bodyLimitBytes) throw new FramingError(413, `request body is larger than this worker's limit of ${s.bodyLimitBytes} bytes`);
      const next = bodyStart + head.contentLength;
      if (buf.length < next) { this.need = next; this.continueIfAsked(head); this.startRequestTimer(); return; }
      this.keep(buf, next);
      if (!this.complete(head, buf.subarray(bodyStart, next))) return;
    }
  }

  /** A whole request: dispatched in order. False when the connection reads no further requests. */
  private complete(head: Head, body: Buffer): boolean {
    this.need = 0;
    this.continueSent = false;
    this.continueOwed = false;
    this.clearRequestTimer();
    this.dispatch(head, body);
    if (!head.keepAlive) {
      // No further requests on this connection: whatever follows is ignored.
      this.closing = true;
      this.discardInput();
      this.socket.pause();
      return false;
    }
    if (this.slots.length >= this.server.maxInflightPerConnection) this.pauseReading();
    return true;
  }

  /** A partial request is buffered: the rest must arrive within the request timeout. */
  private startRequestTimer(): void {
    if (this.requestTimer !== null) return;
    this.requestTimer = setTimeout(() => {
      this.requestTimer = null;
      if (this.dead || (this.buffered === 0 && this.chunked === null)) return;
      this.discardInput();
      this.fail(408, 'the request did not arrive in time');
    }, this.server.requestTimeoutMs);
    this.requestTimer.unref();
  }

  private clearRequestTimer(): void {
    if (this.requestTimer === null) return;
    clearTimeout(this.requestTimer);
    this.requestTimer = null;
  }

  private continueIfAsked(head: Head): void {
    // HTTP/1.0 clients do not know 100 Continue (RFC 9110 10.1.1).
    if (!head.expectContinue || head.http10 || this.continueSent || this.peerEnded) return;
    // An interim response must not overtake earlier answers: owe it until they are written.
    if (this.slots.length > 0) { this.continueOwed = true; return; }
    this.continueSent = true;
    this.socket.write('HTTP/1.1 100 Continue\r\n\r\n');
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
    // Also when nothing is buffered: a client that ended while reading was paused is closed here.
    this.parseSafely();
  }

  private open(http10: boolean, close: boolean): Slot {
    const slot: Slot = { ready: false, head: '', text: '', binary: null, http10, close };
    this.slots.push(slot);
    return slot;
  }

  private dispatch(head: Head, body: Buffer): void {
    const slot = this.open(head.http10, !head.keepAlive);
    const target = head.method === 'POST' ? matchInferUrl(head.url) : null;
    if (target !== null) {
      if (body.length === 0) {
        this.fill(slot, 400, JSON_TYPE, '{"error":"the request body is empty; expected a JSON object with an \\"inputs\\" array"}');
        return;
      }
      this.server.o.infer(target.model, target.version, body, head.headers[HEADER_LENGTH]).then((r) => {
        if (r.headerLength !== null) {
          this.fillRaw(slot, 200, `content-type: application/octet-stream\r\n${HEADER_LENGTH}: ${r.headerLength}\r\ncontent-length: ${r.body.length}\r\n`, r.body as Buffer);
        } else if (typeof r.body === 'string') {
          this.fill(slot, 200, JSON_TYPE, r.body);
        } else {
          this.fillRaw(slot, 200, `${JSON_TYPE}content-length: ${r.body.length}\r\n`, r.body);
        }
      }, (err: unknown) => {
        if (err instanceof InferError) {
          this.fill(slot, err.statusCode, JSON_TYPE, JSON.stringify({ error: err.message }));
          return;
        }
        this.server.o.onError(err);
        this.fill(slot, 500, JSON_TYPE, MASKED_500);
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
      let lines = '';
      for (const name in r.headers) {
        const v = r.headers[name];
        if (v === undefined || HOP_BY_HOP.has(name.toLowerCase())) continue;
        if (Array.isArray(v)) for (const x of v) lines += `${name}: ${x}\r\n`;
        else lines += `${name}: ${v}\r\n`;
      }
      const noBody = r.statusCode === 204 || r.statusCode === 304 || (r.statusCode >= 100 && r.statusCode < 200);
      if (noBody) this.fillRaw(slot, r.statusCode, lines, null);
      else if (head.method === 'HEAD') this.fillRaw(slot, r.statusCode, lines + `content-length: ${r.headers['content-length'] ?? r.body.length}\r\n`, null);
      else this.fillRaw(slot, r.statusCode, lines + `content-length: ${r.body.length}\r\n`, r.body);
    }, (err: unknown) => {
      this.server.o.onError(err);
      this.fill(slot, 500, JSON_TYPE, MASKED_500);
    });
  }

  private fill(slot: Slot, status: number, headers: string, body: string): void {
    slot.head = `${statusLine(status)}${headers}content-length: ${Buffer.byteLength(body)}\r\n${dateHeader()}`;
    slot.text = body;
    slot.ready = true;
    this.flush();
  }

  private fillRaw(slot: Slot, status: number, headers: string, body: Buffer | null): void {
    slot.head = `${statusLine(status)}${headers}${dateHeader()}`;
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
      // Decided when written, not when answered: on a closing connection only the last
      // response says so, and every request taken before the close still gets its answer.
      const last = slot.close || (this.closing && this.slots.length === 0);
      const connection = last ? 'connection: close\r\n' : slot.http10 ? 'connection: keep-alive\r\n' : '';
      if (slot.binary !== null) {
        // One buffer, one write: a corked head and body go out as writev, which measured
        // several times the cost of a single write here.
        const head = `${slot.head}${connection}\r\n`;
        const size = Buffer.byteLength(head, 'latin1');
        const out = Buffer.allocUnsafe(size + slot.binary.length);
        out.write(head, 0, 'latin1');
        slot.binary.copy(out, size);
        this.socket.write(out);
      } else {
        this.socket.write(`${slot.head}${connection}\r\n${slot.text}`);
      }
      if (last) {
        this.slots.length = 0;
        this.end();
        return;
      }
    }
    if (written === 0) return;
    if (this.slots.length === 0 && this.continueOwed && !this.continueSent) {
      this.continueOwed = false;
      this.continueSent = true;
      this.socket.write('HTTP/1.1 100 Continue\r\n\r\n');
    }
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
    server.closeAllConnections = () => { this.closeConnections(); closeAll(); };
  }
}
