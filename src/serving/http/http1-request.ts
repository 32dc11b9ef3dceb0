/**
 * HTTP/1.1 requests as the serving worker's socket layer (fast-http.ts) reads them: the request
 * head (request line and header fields) and a chunked body, each checked strictly enough that no
 * other parser could frame the same bytes differently. Anything that cannot be framed safely is a
 * FramingError: answered with its status, and the connection closed.
 */

/** The end of a request head. */
export const CRLFCRLF = Buffer.from('\r\n\r\n');
/** A header or trailer field name: an RFC 9110 token, so no whitespace before the colon. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A chunk size line without its CRLF: hex size, optional whitespace, optional extensions. */
const CHUNK_SIZE_LINE = /^([0-9a-fA-F]{1,8})[ \t]*(?:;.*)?$/s;
/** The longest chunk size line (with extensions) this module reads. */
const MAX_CHUNK_LINE = 1024;
/** Framing a chunked body may add beyond its data: this plus a quarter of the body limit. */
export const CHUNK_FRAMING_ALLOWANCE = 64 * 1024;

/** A request's head, parsed. */
export interface Head {
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
export class FramingError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

export function parseHead(text: string): Head {
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
export class ChunkedBody {
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
