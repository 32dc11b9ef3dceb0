/**
 * HTTP/1.1 responses as the serving worker's socket layer (fast-http.ts) writes them: a status
 * line and header lines built as one string, and each response put out with one socket write
 * (head and body together). Responses wait in their request's slot, so pipelined requests are
 * answered in order whichever finishes first.
 */
import { STATUS_CODES } from 'node:http';

export const JSON_TYPE = 'content-type: application/json; charset=utf-8\r\n';
/** Any failure that is not the caller's: details go to the log, never to the client. */
export const MASKED_500 = '{"error":"internal error; see the worker log"}';
/** The interim answer to `Expect: 100-continue`. */
export const CONTINUE_100 = 'HTTP/1.1 100 Continue\r\n\r\n';

/** Headers that describe the connection or the framing: the socket layer writes its own. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'date', 'upgrade']);

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

/** One response's place in the connection's order. */
export interface Slot {
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

/** Where an answer goes: its slot is filled, and written once every earlier one is. */
export interface ResponseSink {
  /** A text body; `headers` are header lines, each ending in CRLF (content-length is added). */
  fill(slot: Slot, status: number, headers: string, body: string): void;
  /** A binary body or none; `headers` must include content-length where one is due. */
  fillRaw(slot: Slot, status: number, headers: string, body: Buffer | null): void;
}

/** Fills `slot` with a text response. */
export function fillText(slot: Slot, status: number, headers: string, body: string): void {
  slot.head = `${statusLine(status)}${headers}content-length: ${Buffer.byteLength(body)}\r\n${dateHeader()}`;
  slot.text = body;
  slot.ready = true;
}

/** Fills `slot` with a binary response, or one without a body. */
export function fillBinary(slot: Slot, status: number, headers: string, body: Buffer | null): void {
  slot.head = `${statusLine(status)}${headers}${dateHeader()}`;
  slot.binary = body;
  slot.ready = true;
}

/** Header lines for the app's headers, without those that describe the connection or framing. */
export function headerLines(headers: Record<string, string | string[] | number | undefined>): string {
  let lines = '';
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined || HOP_BY_HOP.has(name.toLowerCase())) continue;
    if (Array.isArray(v)) for (const x of v) lines += `${name}: ${x}\r\n`;
    else lines += `${name}: ${v}\r\n`;
  }
  return lines;
}

/** A filled slot as what one socket write puts out; `connection` is its connection header line, or ''. */
export function responseBytes(slot: Slot, connection: string): string | Buffer {
  if (slot.binary === null) return `${slot.head}${connection}\r\n${slot.text}`;
  // One buffer, one write: a corked head and body go out as writev, which measured
  // several times the cost of a single write here.
  const head = `${slot.head}${connection}\r\n`;
  const size = Buffer.byteLength(head, 'latin1');
  const out = Buffer.allocUnsafe(size + slot.binary.length);
  out.write(head, 0, 'latin1');
  slot.binary.copy(out, size);
  return out;
}
