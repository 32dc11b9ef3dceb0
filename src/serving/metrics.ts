/**
 * The worker's Prometheus metrics. One registry per app (tests run several workers in a process).
 *
 * The per-request and per-batch series (requests, latency, batch sizes and run time) are
 * `LocalCounter` / `LocalHistogram` below: a child per label set, cached per (model, version,
 * arm), whose `inc` / `observe` are a few array writes. prom-client's own children validate and
 * hash their labels on every call (about a microsecond each, measured in the request profile),
 * which the request path should not pay. prom-client still formats them at scrape time.
 */
import { Counter, Gauge, Registry, type Metric } from 'prom-client';

type Inc = { inc(v?: number): void };
type Observe = { observe(v: number): void };

/** What prom-client's registry reads from a metric at scrape time. */
interface Scraped {
  name: string;
  help: string;
  type: string;
  aggregator: string;
  values: Array<{ labels: Record<string, string | number>; value: number; metricName?: string }>;
}

/** A counter series per label set, registered with prom-client for formatting. */
class LocalCounter<L extends string> {
  readonly type = 'counter';
  readonly aggregator = 'sum';
  private readonly series: Array<{ labels: Record<L, string>; value: number }> = [];

  constructor(readonly name: string, readonly help: string, registry: Registry) {
    registry.registerMetric(this as unknown as Metric);
  }

  child(labels: Record<L, string>): Inc {
    const s = { labels, value: 0 };
    this.series.push(s);
    return { inc: (v = 1) => { s.value += v; } };
  }

  get(): Promise<Scraped> {
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.series.map((s) => ({ labels: s.labels, value: s.value })) });
  }

  reset(): void {
    for (const s of this.series) s.value = 0;
  }
}

/** A histogram series per label set, in Prometheus's cumulative bucket form when scraped. */
class LocalHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series: Array<{ labels: Record<L, string>; counts: Float64Array; sum: number; count: number }> = [];

  constructor(readonly name: string, readonly help: string, private readonly buckets: number[], registry: Registry) {
    registry.registerMetric(this as unknown as Metric);
  }

  child(labels: Record<L, string>): Observe {
    const s = { labels, counts: new Float64Array(this.buckets.length), sum: 0, count: 0 };
    this.series.push(s);
    const bounds = this.buckets;
    return {
      observe: (v: number) => {
        let i = 0;
        while (i < bounds.length && v > (bounds[i] as number)) i++;
        if (i < bounds.length) s.counts[i] = (s.counts[i] as number) + 1;
        s.sum += v;
        s.count++;
      },
    };
  }

  get(): Promise<Scraped> {
    const values: Scraped['values'] = [];
    for (const s of this.series) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += s.counts[i] as number;
        values.push({ labels: { ...s.labels, le }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  reset(): void {
    for (const s of this.series) { s.counts.fill(0); s.sum = 0; s.count = 0; }
  }
}

interface RequestChildren { requests: Inc; latency: Observe }
interface VersionChildren { batchRows: Observe; batchRequests: Observe; batchRun: Observe }

export class ServingMetrics {
  readonly registry = new Registry();
  readonly requests: LocalCounter<'model' | 'version' | 'arm'>;
  readonly errors: Counter<'model' | 'version' | 'arm' | 'code'>;
  readonly latency: LocalHistogram<'model' | 'version' | 'arm'>;
  readonly batchRows: LocalHistogram<'model' | 'version'>;
  readonly batchRequests: LocalHistogram<'model' | 'version'>;
  readonly batchRun: LocalHistogram<'model' | 'version'>;
  readonly queueDepth: Gauge<'model' | 'version'>;
  readonly provider: Gauge<'provider' | 'requested'>;
  readonly generation: Gauge<'model'>;
  readonly routingFallbacks: Counter<'model' | 'from' | 'to' | 'reason'>;
  readonly segmentFallbacks: Counter<'model' | 'segment' | 'reason'>;
  readonly inputViolations: Counter<'model' | 'version' | 'feature' | 'kind'>;
  readonly shadow: Counter<'model' | 'version' | 'outcome'>;
  readonly logWritten: Counter;
  readonly logDropped: Counter<'reason'>;
  readonly logInputsDropped: Counter;
  readonly logBuffered: Gauge;
  readonly logBufferedBytes: Gauge;
  readonly feedback: Counter<'model' | 'metric'>;

  private readonly requestChildren = new Map<string, RequestChildren>();
  private readonly versionChildren = new Map<string, VersionChildren>();

  constructor(queueDepths: () => Iterable<{ model: string; version: string; rows: number }>, logBuffered: () => { rows: number; bytes: number }) {
    const registers = [this.registry];
    this.requests = new LocalCounter('sluice_inference_requests_total', 'Inference requests answered, by model, version and experiment arm', this.registry);
    this.errors = new Counter({ name: 'sluice_inference_errors_total', help: 'Inference requests that failed, by model, version, experiment arm and error code', labelNames: ['model', 'version', 'arm', 'code'], registers });
    this.latency = new LocalHistogram('sluice_inference_latency_seconds', 'Time from request to response, by model, version and arm',
      [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], this.registry);
    this.batchRows = new LocalHistogram('sluice_batch_rows', 'Rows per ONNX Runtime run', [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024], this.registry);
    this.batchRequests = new LocalHistogram('sluice_batch_requests', 'Requests per ONNX Runtime run', [1, 2, 4, 8, 16, 32, 64, 128], this.registry);
    this.batchRun = new LocalHistogram('sluice_batch_run_seconds', 'ONNX Runtime run time per batch', [0.00002, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.025, 0.1], this.registry);
    this.queueDepth = new Gauge({
      name: 'sluice_queue_depth_rows', help: 'Rows waiting for a batch, by model and version', labelNames: ['model', 'version'], registers,
      collect() {
        this.reset();
        for (const q of queueDepths()) this.set({ model: q.model, version: q.version }, q.rows);
      },
    });
    this.provider = new Gauge({ name: 'sluice_execution_provider', help: 'The ONNX Runtime execution provider this worker runs on (1 for the one it got)', labelNames: ['provider', 'requested'], registers, aggregator: 'max' });
    this.generation = new Gauge({ name: 'sluice_traffic_generation', help: 'Traffic generation applied, by model (over a worker\'s processes: the lowest any of them serves)', labelNames: ['model'], registers, aggregator: 'min' });
    this.routingFallbacks = new Counter({ name: 'sluice_routing_fallbacks_total', help: 'Requests routed away from a version that was not ready', labelNames: ['model', 'from', 'to', 'reason'], registers });
    this.segmentFallbacks = new Counter({ name: 'sluice_segment_fallbacks_total', help: 'Segment requests sent to the global split instead (version not ready, or over its latency budget)', labelNames: ['model', 'segment', 'reason'], registers });
    this.inputViolations = new Counter({ name: 'sluice_input_check_violations_total', help: 'Input values outside the version reference profile', labelNames: ['model', 'version', 'feature', 'kind'], registers });
    this.shadow = new Counter({ name: 'sluice_shadow_requests_total', help: 'Shadow copies, by outcome (answered, failed, skipped: its queue was full or it was not ready, colocated: it runs where the primary runs and is over twice as slow, incompatible)', labelNames: ['model', 'version', 'outcome'], registers });
    this.logWritten = new Counter({ name: 'sluice_inference_log_written_total', help: 'Inference log rows written to PostgreSQL', registers });
    this.logDropped = new Counter({ name: 'sluice_inference_log_dropped_total', help: 'Inference log rows dropped (buffer full, or the database failed)', labelNames: ['reason'], registers });
    this.logInputsDropped = new Counter({ name: 'sluice_inference_log_inputs_dropped_total', help: 'Inference log rows kept without their inputs because the buffer was over its byte budget', registers });
    this.logBuffered = new Gauge({ name: 'sluice_inference_log_buffered_rows', help: 'Inference log rows waiting to be written', registers, collect() { this.set(logBuffered().rows); } });
    this.logBufferedBytes = new Gauge({ name: 'sluice_inference_log_buffered_bytes', help: 'Bytes of tensor values in the inference log rows waiting to be written (bounded by SLUICE_LOG_BUFFER_BYTES)', registers, collect() { this.set(logBuffered().bytes); } });
    this.feedback = new Counter({ name: 'sluice_feedback_events_total', help: 'Feedback events stored', labelNames: ['model', 'metric'], registers });
  }

  forRequest(model: string, version: string, arm: string | null): RequestChildren {
    const key = `${model}\u0000${version}\u0000${arm ?? ''}`;
    let c = this.requestChildren.get(key);
    if (c === undefined) {
      const labels = { model, version, arm: arm ?? '' };
      c = { requests: this.requests.child(labels), latency: this.latency.child(labels) };
      this.requestChildren.set(key, c);
    }
    return c;
  }

  forVersion(model: string, version: string): VersionChildren {
    const key = `${model}\u0000${version}`;
    let c = this.versionChildren.get(key);
    if (c === undefined) {
      const labels = { model, version };
      c = { batchRows: this.batchRows.child(labels), batchRequests: this.batchRequests.child(labels), batchRun: this.batchRun.child(labels) };
      this.versionChildren.set(key, c);
    }
    return c;
  }

  setProvider(provider: string, requested: string): void {
    this.provider.reset();
    this.provider.set({ provider, requested }, 1);
  }
}
