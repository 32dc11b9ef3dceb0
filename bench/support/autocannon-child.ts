// Runs one autocannon load in its own process and prints the summary as one JSON line. Kept apart
// from the server under test so the load generator's CPU shows up as a separate process (it still
// shares the machine's cores; see load.ts).
import autocannon from 'autocannon';

interface ChildOptions {
  url: string;
  method: 'GET' | 'POST' | 'PUT';
  headers: Record<string, string>;
  /** A text body (id replacement works on text only), or a binary one as base64. */
  body?: string;
  bodyBase64?: string;
  connections: number;
  pipelining: number;
  durationS: number;
  overallRate?: number;
  /** With a text body containing __KEY__: cycle through this many bodies with keys 0..n-1. */
  distinctKeys?: number;
}

const opts = JSON.parse(process.argv[2] ?? '{}') as ChildOptions;
let finish!: (r: autocannon.Result) => void;
let fail!: (e: unknown) => void;
const done = new Promise<autocannon.Result>((resolve, reject) => { finish = resolve; fail = reject; });
const instance = autocannon({
  url: opts.url,
  method: opts.method,
  headers: opts.headers,
  body: opts.bodyBase64 !== undefined ? Buffer.from(opts.bodyBase64, 'base64') : opts.body,
  connections: opts.connections,
  pipelining: opts.pipelining,
  duration: opts.durationS,
  overallRate: opts.overallRate,
  // Distinct routing keys as a pre-built cycle of requests: autocannon's own [<id>] replacement
  // miscounts Content-Length with the hyperid version installed here, and stalls.
  requests: opts.body !== undefined && opts.distinctKeys !== undefined && opts.body.includes('__KEY__')
    ? Array.from({ length: opts.distinctKeys }, (_, i) => ({ method: opts.method, headers: opts.headers, body: (opts.body as string).replaceAll('__KEY__', `user-${i}`) }))
    : undefined,
}, (err: unknown, r: autocannon.Result) => (err ? fail(err) : finish(r)));
// autocannon's own histogram keeps whole milliseconds; record every 2xx response time exactly.
let times = new Float64Array(1 << 16);
let n = 0;
instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
  if (statusCode < 200 || statusCode >= 300) return;
  if (n === times.length) { const grown = new Float64Array(times.length * 2); grown.set(times); times = grown; }
  times[n++] = responseTime;
});
const result = await done;
const sorted = times.subarray(0, n).sort();
const pct = (p: number) => (n === 0 ? 0 : (sorted[Math.min(n - 1, Math.floor((p / 100) * n))] as number));
process.stdout.write(JSON.stringify({
  requestsPerSecond: result.requests.average,
  total: result.requests.total,
  durationS: result.duration,
  latencyMs: { p50: pct(50), p90: pct(90), p99: pct(99), max: n ? (sorted[n - 1] as number) : 0, mean: n ? sorted.reduce((a, b) => a + b, 0) / n : 0 },
  errors: result.errors,
  timeouts: result.timeouts,
  non2xx: result.non2xx,
}) + '\n');
