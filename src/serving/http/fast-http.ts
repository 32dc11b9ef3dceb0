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
 *
 * Here: the connection (reading, pipelining, flow control, timeouts, closing) and the server that
 * takes over a node:http server's sockets. Request framing is in http1-request.ts, response
 * writing in http1-response.ts, the infer route in infer-fast-path.ts.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { HEADER_LENGTH } from '../protocol/protocol.js';
import { CHUNK_FRAMING_ALLOWANCE, ChunkedBody, CRLFCRLF, FramingError, parseHead, type Head } from './http1-request.js';
import { CONTINUE_100, fillBinary, fillText, headerLines, JSON_TYPE, MASKED_500, responseBytes, type ResponseSink, type Slot } from './http1-response.js';
import { answerInfer, matchInferUrl, type InferHandler } from './infer-fast-path.js';

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
  infer: InferHandler;
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

class Connection implements ResponseSink {
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
    this.socket.write(CONTINUE_100);
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
      answerInfer(this, slot, this.server.o, target, body, head.headers[HEADER_LENGTH]);
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
      const lines = headerLines(r.headers);
      const noBody = r.statusCode === 204 || r.statusCode === 304 || (r.statusCode >= 100 && r.statusCode < 200);
      if (noBody) this.fillRaw(slot, r.statusCode, lines, null);
      else if (head.method === 'HEAD') this.fillRaw(slot, r.statusCode, lines + `content-length: ${r.headers['content-length'] ?? r.body.length}\r\n`, null);
      else this.fillRaw(slot, r.statusCode, lines + `content-length: ${r.body.length}\r\n`, r.body);
    }, (err: unknown) => {
      this.server.o.onError(err);
      this.fill(slot, 500, JSON_TYPE, MASKED_500);
    });
  }

  fill(slot: Slot, status: number, headers: string, body: string): void {
    fillText(slot, status, headers, body);
    this.flush();
  }

  fillRaw(slot: Slot, status: number, headers: string, body: Buffer | null): void {
    fillBinary(slot, status, headers, body);
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
      this.socket.write(responseBytes(slot, connection));
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
      this.socket.write(CONTINUE_100);
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
