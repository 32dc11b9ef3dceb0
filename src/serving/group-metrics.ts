/**
 * /metrics for a worker of several processes (SLUICE_PROCESSES > 1). The shared port hands each
 * connection to one process, so a scrape of it would read whichever process answered and its
 * counters would jump between processes. Instead the process that gets the scrape asks the
 * primary over IPC; the primary asks every live process for its metrics as JSON, sums them with
 * prom-client's AggregatorRegistry (counters and histograms add up; each metric's `aggregator`
 * says otherwise, e.g. the traffic generation is the lowest any process serves) and sends back
 * the text. `/metrics?process=self` still answers for the one process.
 *
 * Messages: process → primary `scrape`; primary → every process `collect`; each process → primary
 * `collected`; primary → the asking process `scraped`.
 */
import type { Worker } from 'node:cluster';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';

type MetricsJson = Array<MetricObjectWithValues<MetricValue<string>>>;

interface Scrape { type: 'sluice-metrics-scrape'; id: number }
interface Collect { type: 'sluice-metrics-collect'; id: number }
interface Collected { type: 'sluice-metrics-collected'; id: number; metrics: MetricsJson }
interface Scraped { type: 'sluice-metrics-scraped'; id: number; text: string; contentType: string; processes: number; answered: number }

const is = <T extends { type: string }>(m: unknown, type: T['type']): m is T =>
  typeof m === 'object' && m !== null && (m as { type?: unknown }).type === type;

/** How long the primary waits for the processes' answers: a stuck process leaves the sum without it. */
const COLLECT_TIMEOUT_MS = 2000;

/**
 * In the primary: answers a process's scrape request with the sum over `processes()`. Returns
 * true when `m` was such a request.
 */
export function handleScrapeRequest(from: Worker, m: unknown, processes: () => Worker[]): boolean {
  if (!is<Scrape>(m, 'sluice-metrics-scrape')) return false;
  const live = processes().filter((w) => !w.isDead() && w.isConnected());
  const answers: MetricsJson[] = [];
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    for (const w of live) w.off('message', onAnswer);
    const registry = AggregatorRegistry.aggregate(answers);
    void registry.metrics().then((text) => {
      const reply: Scraped = { type: 'sluice-metrics-scraped', id: m.id, text, contentType: registry.contentType, processes: live.length, answered: answers.length };
      if (from.isConnected()) from.send(reply, undefined, () => undefined);
    });
  };
  const onAnswer = (a: unknown): void => {
    if (!is<Collected>(a, 'sluice-metrics-collected') || a.id !== m.id) return;
    answers.push(a.metrics);
    if (answers.length === live.length) finish();
  };
  const timer = setTimeout(finish, COLLECT_TIMEOUT_MS);
  for (const w of live) {
    w.on('message', onAnswer);
    w.send({ type: 'sluice-metrics-collect', id: m.id } satisfies Collect, undefined, () => undefined);
  }
  if (live.length === 0) finish();
  return true;
}

/** In a process of a group: answers the primary's collect requests from `registry`; returns the remover. */
export function answerCollects(registry: Registry): () => void {
  const onMessage = (m: unknown): void => {
    if (!is<Collect>(m, 'sluice-metrics-collect')) return;
    void registry.getMetricsAsJSON().then((metrics) => {
      if (process.connected) process.send?.({ type: 'sluice-metrics-collected', id: m.id, metrics } satisfies Collected, undefined, {}, () => undefined);
    });
  };
  process.on('message', onMessage);
  return () => { process.off('message', onMessage); };
}

let nextId = 0;

/**
 * In a process of a group: the whole group's metrics through the primary, or null when there is
 * no primary to ask or it does not answer within `timeoutMs`.
 */
export function scrapeGroup(timeoutMs = COLLECT_TIMEOUT_MS + 1000): Promise<{ text: string; contentType: string; processes: number; answered: number } | null> {
  if (!process.send || !process.connected) return Promise.resolve(null);
  // Unique per process and per scrape; the primary keys its collection by it.
  const id = process.pid * 1_000_000 + (nextId++ % 1_000_000);
  return new Promise((resolve) => {
    const onMessage = (m: unknown): void => {
      if (!is<Scraped>(m, 'sluice-metrics-scraped') || m.id !== id) return;
      done({ text: m.text, contentType: m.contentType, processes: m.processes, answered: m.answered });
    };
    const done = (r: Awaited<ReturnType<typeof scrapeGroup>>): void => {
      clearTimeout(timer);
      process.off('message', onMessage);
      resolve(r);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    process.on('message', onMessage);
    process.send?.({ type: 'sluice-metrics-scrape', id } satisfies Scrape, undefined, {}, () => undefined);
  });
}
