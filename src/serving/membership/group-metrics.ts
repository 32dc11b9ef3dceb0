/**
 * /metrics for a worker of several processes (SLUICE_PROCESSES > 1). The shared port hands each
 * connection to one process, so a scrape of it would read whichever process answered and its
 * counters would jump between processes. Instead the process that gets the scrape asks the
 * primary over IPC; the primary asks every live process for its metrics as JSON, sums them with
 * prom-client's AggregatorRegistry (counters and histograms add up; each metric's `aggregator`
 * says otherwise, e.g. the traffic generation is the lowest any process serves) and sends back
 * the text. `/metrics?process=self` still answers for the one process.
 *
 * Counters stay monotonic across process restarts: see GroupMetrics.
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
 * Counters and histograms only: what stays true of a process once it has stopped answering. A
 * gauge of a dead or stuck process (its queue depth, say) says nothing about now.
 */
function cumulative(metrics: MetricsJson): MetricsJson {
  return metrics.filter((x) => String(x.type) === 'counter' || String(x.type) === 'histogram');
}

/**
 * The sum of snapshots of cumulative metrics, series by series (name, sample name, labels).
 * prom-client sums the same way inside AggregatorRegistry, but only into a registry read back
 * asynchronously; this fold must be done by the time the exit handler returns, before any later
 * scrape can read `retired`.
 */
function sumCumulative(snapshots: MetricsJson[]): MetricsJson {
  const byName = new Map<string, { metric: MetricObjectWithValues<MetricValue<string>>; values: Map<string, MetricValue<string> & { metricName?: string }> }>();
  for (const snapshot of snapshots) {
    for (const metric of snapshot) {
      let entry = byName.get(metric.name);
      if (entry === undefined) {
        entry = { metric, values: new Map() };
        byName.set(metric.name, entry);
      }
      for (const v of metric.values as Array<MetricValue<string> & { metricName?: string }>) {
        const key = `${v.metricName ?? ''}\u0000${JSON.stringify(Object.entries(v.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))}`;
        const seen = entry.values.get(key);
        entry.values.set(key, seen === undefined ? { ...v } : { ...seen, value: seen.value + v.value });
      }
    }
  }
  return [...byName.values()].map(({ metric, values }) => ({ ...metric, values: [...values.values()] }));
}

/**
 * In the primary: answers a process's scrape with the sum over the group, and keeps that sum's
 * counters from going down. Summing live processes alone would drop a process's counts when it
 * dies and is started again, or when it misses one scrape; Prometheus reads any decrease as a
 * counter reset and `rate()` then counts the whole remaining total as new. So the primary keeps
 * each process's last answer: a process that does not answer in time counts with it, and a
 * process that exits has its counters and histograms folded into `retired`, which every later sum
 * adds. What a process counted after its last scrape and before it died is lost; the sum stalls
 * for that long instead of going back.
 */
export class GroupMetrics {
  /** Each live process's last answer, by cluster worker id. */
  private readonly lastSeen = new Map<number, MetricsJson>();
  /** The counters and histograms of processes that have exited, summed. */
  private retired: MetricsJson = [];

  constructor(private readonly processes: () => Worker[]) {}

  /** A process exited: its counts so far stay in the group's sums. */
  processExited(w: Worker): void {
    const last = this.lastSeen.get(w.id);
    this.lastSeen.delete(w.id);
    if (last !== undefined) this.retired = sumCumulative([this.retired, cumulative(last)]);
  }

  /** Answers `m` when it is a scrape request from `from`; returns whether it was one. */
  handle(from: Worker, m: unknown): boolean {
    if (!is<Scrape>(m, 'sluice-metrics-scrape')) return false;
    const live = this.processes().filter((w) => !w.isDead() && w.isConnected());
    const answers = new Map<number, MetricsJson>();
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      for (const [w, onAnswer] of listeners) w.off('message', onAnswer);
      const parts: MetricsJson[] = [this.retired];
      // Read through lastSeen alone: a process that answered and then exited before this point
      // has its answer in `retired` already, and must not count twice.
      for (const w of live) {
        const last = this.lastSeen.get(w.id);
        if (last === undefined) continue;
        parts.push(last === answers.get(w.id) ? last : cumulative(last));
      }
      const registry = AggregatorRegistry.aggregate(parts);
      void registry.metrics().then((text) => {
        const reply: Scraped = { type: 'sluice-metrics-scraped', id: m.id, text, contentType: registry.contentType, processes: live.length, answered: answers.size };
        if (from.isConnected()) from.send(reply, undefined, () => undefined);
      });
    };
    const listeners = live.map((w) => {
      const onAnswer = (a: unknown): void => {
        if (!is<Collected>(a, 'sluice-metrics-collected') || a.id !== m.id || finished) return;
        answers.set(w.id, a.metrics);
        // Only while the process is still one of the group: a late answer must not undo processExited.
        if (!w.isDead()) this.lastSeen.set(w.id, a.metrics);
        if (answers.size === live.length) finish();
      };
      w.on('message', onAnswer);
      return [w, onAnswer] as const;
    });
    const timer = setTimeout(finish, COLLECT_TIMEOUT_MS);
    for (const w of live) w.send({ type: 'sluice-metrics-collect', id: m.id } satisfies Collect, undefined, () => undefined);
    if (live.length === 0) finish();
    return true;
  }
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
