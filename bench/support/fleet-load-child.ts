// A small load client for the fleet benchmark: keeps `concurrency` requests in flight spread
// round-robin over several workers (autocannon targets one URL per run) for `durationS`, and
// reports every status code and transport error. With `rate`, requests are paced to that many per
// second in total (at most `concurrency` in flight); without it, every loop sends back to back.
// Prints one JSON line.
import http from 'node:http';

interface Options { urls: string[]; path: string; body: string; concurrency: number; durationS: number; rate?: number }
const o = JSON.parse(process.argv[2] ?? '{}') as Options;
const agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency });
const statuses: Record<string, number> = {};
const versions: Record<string, number> = {};
let errors = 0;
let total = 0;
let next = 0;
const deadline = Date.now() + o.durationS * 1000;

function one(i: number): Promise<void> {
  const base = new URL(o.urls[(next++) % o.urls.length] as string);
  const payload = Buffer.from(o.body.replace('__KEY__', `user-${i % 5000}`));
  return new Promise((resolve) => {
    const req = http.request({ agent, host: base.hostname, port: base.port, path: o.path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': payload.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        total++;
        statuses[res.statusCode ?? 0] = (statuses[res.statusCode ?? 0] ?? 0) + 1;
        if (res.statusCode === 200) {
          const v = /"model_version":"([^"]+)"/.exec(Buffer.concat(chunks).toString())?.[1] ?? '?';
          versions[v] = (versions[v] ?? 0) + 1;
        }
        resolve();
      });
    });
    req.on('error', () => { total++; errors++; resolve(); });
    req.end(payload);
  });
}

const interval = o.rate ? 1000 / o.rate : 0;
let nextSlot = performance.now();
/** Waits for this request's turn in the paced schedule. */
async function paced(): Promise<void> {
  if (interval === 0) return;
  const now = performance.now();
  const at = Math.max(now, nextSlot);
  nextSlot = at + interval;
  if (at - now >= 1) await new Promise((r) => setTimeout(r, at - now));
}

async function loop(id: number): Promise<void> {
  let i = id;
  while (Date.now() < deadline) {
    await paced();
    await one((i += o.concurrency));
  }
}
const started = Date.now();
await Promise.all(Array.from({ length: o.concurrency }, (_, i) => loop(i)));
process.stdout.write(JSON.stringify({ total, errors, statuses, versions, requestsPerSecond: total / ((Date.now() - started) / 1000) }) + '\n');
agent.destroy();
