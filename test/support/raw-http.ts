// HTTP/1.1 as raw bytes, for tests of the worker's socket-level framing (src/serving/http/fast-http.ts):
// a node:net client that writes whatever it is given and reads responses off the socket in order,
// and a meter of how many bytes Buffer.concat joins while a step runs.
import net from 'node:net';
import { vi } from 'vitest';

export interface RawResponse { status: number; headers: Record<string, string>; body: Buffer }

export class RawClient {
  private buf = Buffer.alloc(0);
  private wake: () => void = () => undefined;
  ended = false;
  hasClosed = false;
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => { this.buf = Buffer.concat([this.buf, chunk]); this.wake(); });
    socket.on('end', () => { this.ended = true; this.wake(); });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.on('close', () => { this.hasClosed = true; this.wake(); resolve(); }));
  }

  /** Connects to a port on 127.0.0.1, or to the host and port of a URL. */
  static connect(target: number | string): Promise<RawClient> {
    const url = typeof target === 'string' ? new URL(target) : null;
    const host = url?.hostname ?? '127.0.0.1';
    const port = url !== null ? Number(url.port) : (target as number);
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, host, () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Bytes received and not yet read as a response. */
  get buffered(): number { return this.buf.length; }

  write(data: string | Buffer): void { this.socket.write(data); }

  /**
   * The next response, or a failure once the connection ends or `timeoutMs` passes. `head` for
   * a response to HEAD (no body whatever the headers say).
   */
  async read(opts: { head?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
    const deadline = Date.now() + (opts.timeoutMs ?? 5000);
    for (;;) {
      const parsed = this.tryParse(opts.head ?? false);
      if (parsed !== null) return parsed;
      if (this.ended || this.hasClosed) throw new Error(`connection ended with ${this.buf.length} unparsed bytes: ${JSON.stringify(this.buf.toString('latin1').slice(0, 200))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no response within ${opts.timeoutMs ?? 5000} ms`);
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => { this.wake = resolve; timer = setTimeout(resolve, left); });
      clearTimeout(timer);
    }
  }

  private tryParse(head: boolean): RawResponse | null {
    const headEnd = this.buf.indexOf('\r\n\r\n');
    if (headEnd < 0) return null;
    const [statusLine = '', ...lines] = this.buf.toString('latin1', 0, headEnd).split('\r\n');
    const match = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine);
    if (match === null) throw new Error(`bad status line ${JSON.stringify(statusLine)}`);
    const status = Number(match[1]);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const c = line.indexOf(':');
      const name = line.slice(0, c).toLowerCase();
      const value = line.slice(c + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    const bodyless = head || status === 204 || status === 304 || (status >= 100 && status < 200);
    if (!bodyless && headers['content-length'] === undefined) throw new Error(`response ${status} has no content-length`);
    const length = bodyless ? 0 : Number(headers['content-length']);
    const start = headEnd + 4;
    if (this.buf.length < start + length) return null;
    const body = this.buf.subarray(start, start + length);
    this.buf = this.buf.subarray(start + length);
    return { status, headers, body };
  }
}

/**
 * Runs `step` while counting the bytes Buffer.concat joins (the client's own joins included):
 * a parser that joins everything received so far on every packet shows up as copying many times
 * the body, without timing anything.
 */
export async function bytesJoined<T>(step: () => Promise<T>): Promise<{ result: T; joined: number }> {
  const realConcat = Buffer.concat.bind(Buffer);
  let joined = 0;
  const spy = vi.spyOn(Buffer, 'concat').mockImplementation((list: readonly Uint8Array[], totalLength?: number) => {
    const out = realConcat(list, totalLength);
    joined += out.length;
    return out;
  });
  try {
    return { result: await step(), joined };
  } finally {
    spy.mockRestore();
  }
}
