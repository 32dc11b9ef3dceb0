// A paced load generator: requests leave at a steady rate (a few per millisecond, each on an idle
// keep-alive connection), and every response time is recorded. Prints one JSON line shaped like
// autocannon-child's.
//
// Why not autocannon's overallRate: it gives each connection a per-second quota and lets it send
// back to back until the quota is spent, then pauses until the next second. At half of the peak
// rate that is full load for half of every second, so its "p99 at half load" is a p99 at full
// load (measured: a bare endpoint's p99 at 12k req/s came out above its p99 at 70k).
import net from 'node:net';

interface PacedOptions {
  url: string;
  method: string;
  headers: Record<string, string>;
  /** A text body; with distinctKeys, sent in turn with __KEY__ replaced by user-0..user-(n-1). */
  body?: string;
  distinctKeys?: number;
  /** Or one binary body, as base64. */
  bodyBase64?: string;
  rate: number;
  durationS: number;
  /** Most connections to open; requests wait for a free one beyond that. */
  connections: number;
}

const o = JSON.parse(process.argv[2] ?? '{}') as PacedOptions;
const url = new URL(o.url);
const port = Number(url.port || 80);

function request(body: Buffer): Buffer {
  let head = `${o.method} ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n`;
  for (const [k, v] of Object.entries(o.headers)) head += `${k}: ${v}\r\n`;
  head += `content-length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}
const text = o.body ?? '';
const bodies = o.distinctKeys !== undefined && text.includes('__KEY__') ? Array.from({ length: o.distinctKeys }, (_, i) => text.replaceAll('__KEY__', `user-${i}`)) : [text];
const requests = o.bodyBase64 !== undefined ? [request(Buffer.from(o.bodyBase64, 'base64'))] : bodies.map((b) => request(Buffer.from(b)));

interface Conn { socket: net.Socket; busy: boolean; sentAt: number; buf: Buffer | null }
const idle: Conn[] = [];
let open = 0;
let times = new Float64Array(1 << 16);
let n = 0;
let errors = 0;
let non2xx = 0;
let next = 0;
let measuring = true;

function record(ms: number): void {
  if (n === times.length) { const grown = new Float64Array(times.length * 2); grown.set(times); times = grown; }
  times[n++] = ms;
}

/** Reads whole responses (status line, Content-Length body) off a connection. */
function onData(c: Conn, chunk: Buffer): void {
  c.buf = c.buf === null ? chunk : Buffer.concat([c.buf, chunk]);
  const end = c.buf.indexOf('\r\n\r\n');
  if (end < 0) return;
  const head = c.buf.toString('latin1', 0, end);
  const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  const total = end + 4 + (m ? Number(m[1]) : 0);
  if (c.buf.length < total) return;
  const status = Number(head.slice(9, 12));
  c.buf = c.buf.length > total ? c.buf.subarray(total) : null;
  if (measuring) {
    if (status >= 200 && status < 300) record(performance.now() - c.sentAt);
    else non2xx++;
  }
  c.busy = false;
  idle.push(c);
}

function connect(): Conn {
  const c: Conn = { socket: net.connect(port, url.hostname), busy: false, sentAt: 0, buf: null };
  open++;
  c.socket.setNoDelay(true);
  c.socket.on('data', (chunk: Buffer) => onData(c, chunk));
  c.socket.on('error', () => { if (measuring) errors++; });
  c.socket.on('close', () => { open--; const i = idle.indexOf(c); if (i >= 0) idle.splice(i, 1); });
  return c;
}

function send(): boolean {
  let c = idle.pop();
  if (c === undefined) {
    if (open >= o.connections) return false;
    c = connect();
  }
  c.busy = true;
  c.sentAt = performance.now();
  c.socket.write(requests[next++ % requests.length] as Buffer);
  return true;
}

const interval = 1000 / o.rate;
const started = performance.now();
let sent = 0;
let behind = 0;
await new Promise<void>((resolve) => {
  const tick = (): void => {
    const elapsed = performance.now() - started;
    if (elapsed >= o.durationS * 1000) { resolve(); return; }
    const due = Math.floor(elapsed / interval);
    while (sent < due) {
      if (!send()) { behind = Math.max(behind, due - sent); break; }
      sent++;
    }
    setTimeout(tick, 1);
  };
  tick();
});
measuring = false;
const durationS = (performance.now() - started) / 1000;
const sorted = times.subarray(0, n).sort();
const pct = (p: number) => (n === 0 ? 0 : (sorted[Math.min(n - 1, Math.floor((p / 100) * n))] as number));
process.stdout.write(JSON.stringify({
  requestsPerSecond: n / durationS,
  total: n,
  durationS,
  latencyMs: { p50: pct(50), p90: pct(90), p99: pct(99), max: n ? (sorted[n - 1] as number) : 0, mean: n ? sorted.reduce((a, b) => a + b, 0) / n : 0 },
  errors,
  timeouts: 0,
  non2xx,
  // Requests that could not leave on time because every connection was busy (the target fell behind).
  maxBacklog: behind,
}) + '\n');
process.exit(0);
