/**
 * The worker's Prometheus metrics. One registry per app (tests run several workers in a process).
 * Label children are cached per (model, version, arm): prom-client hashes label values on every
 * `labels()` call, which the request path should not pay.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

type Inc = { inc(v?: number): void };
type Observe = { observe(v: number): void };

interface RequestChildren { requests: Inc; latency: Observe }
interface VersionChildren { batchRows: Observe; batchRequests: Observe; batchRun: Observe }

export class ServingMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'model' | 'version' | 'arm'>;
  readonly errors: Counter<'model' | 'version' | 'code'>;
  readonly latency: Histogram<'model' | 'version' | 'arm'>;
  readonly batchRows: Histogram<'model' | 'version'>;
  readonly batchRequests: Histogram<'model' | 'version'>;
  readonly batchRun: Histogram<'model' | 'version'>;
  readonly queueDepth: Gauge<'model' | 'version'>;
  readonly provider: Gauge<'provider' | 'requested'>;
  readonly generation: Gauge<'model'>;
  readonly routingFallbacks: Counter<'model' | 'from' | 'to' | 'reason'>;
  readonly segmentFallbacks: Counter<'model' | 'segment' | 'reason'>;
  readonly inputViolations: Counter<'model' | 'version' | 'feature' | 'kind'>;
  readonly shadow: Counter<'model' | 'version' | 'outcome'>;
  readonly logWritten: Counter;
  readonly logDropped: Counter<'reason'>;
  readonly logBuffered: Gauge;
  readonly feedback: Counter<'model' | 'metric'>;

  private readonly requestChildren = new Map<string, RequestChildren>();
  private readonly versionChildren = new Map<string, VersionChildren>();

  constructor(queueDepths: () => Iterable<{ model: string; version: string; rows: number }>, logBuffered: () => number) {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'sluice_inference_requests_total', help: 'Inference requests answered, by model, version and experiment arm', labelNames: ['model', 'version', 'arm'], registers });
    this.errors = new Counter({ name: 'sluice_inference_errors_total', help: 'Inference requests that failed, by model, version and error code', labelNames: ['model', 'version', 'code'], registers });
    this.latency = new Histogram({
      name: 'sluice_inference_latency_seconds', help: 'Time from request to response, by model, version and arm', labelNames: ['model', 'version', 'arm'], registers,
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    });
    this.batchRows = new Histogram({ name: 'sluice_batch_rows', help: 'Rows per ONNX Runtime run', labelNames: ['model', 'version'], registers, buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024] });
    this.batchRequests = new Histogram({ name: 'sluice_batch_requests', help: 'Requests per ONNX Runtime run', labelNames: ['model', 'version'], registers, buckets: [1, 2, 4, 8, 16, 32, 64, 128] });
    this.batchRun = new Histogram({ name: 'sluice_batch_run_seconds', help: 'ONNX Runtime run time per batch', labelNames: ['model', 'version'], registers, buckets: [0.00002, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005, 0.025, 0.1] });
    this.queueDepth = new Gauge({
      name: 'sluice_queue_depth_rows', help: 'Rows waiting for a batch, by model and version', labelNames: ['model', 'version'], registers,
      collect() {
        this.reset();
        for (const q of queueDepths()) this.set({ model: q.model, version: q.version }, q.rows);
      },
    });
    this.provider = new Gauge({ name: 'sluice_execution_provider', help: 'The ONNX Runtime execution provider this worker runs on (1 for the one it got)', labelNames: ['provider', 'requested'], registers });
    this.generation = new Gauge({ name: 'sluice_traffic_generation', help: 'Traffic generation applied, by model', labelNames: ['model'], registers });
    this.routingFallbacks = new Counter({ name: 'sluice_routing_fallbacks_total', help: 'Requests routed away from a version that was not ready', labelNames: ['model', 'from', 'to', 'reason'], registers });
    this.segmentFallbacks = new Counter({ name: 'sluice_segment_fallbacks_total', help: 'Segment requests sent to the global split instead (version not ready, or over its latency budget)', labelNames: ['model', 'segment', 'reason'], registers });
    this.inputViolations = new Counter({ name: 'sluice_input_check_violations_total', help: 'Input values outside the version reference profile', labelNames: ['model', 'version', 'feature', 'kind'], registers });
    this.shadow = new Counter({ name: 'sluice_shadow_requests_total', help: 'Shadow copies, by outcome (answered, failed, skipped)', labelNames: ['model', 'version', 'outcome'], registers });
    this.logWritten = new Counter({ name: 'sluice_inference_log_written_total', help: 'Inference log rows written to PostgreSQL', registers });
    this.logDropped = new Counter({ name: 'sluice_inference_log_dropped_total', help: 'Inference log rows dropped (buffer full, or the database failed)', labelNames: ['reason'], registers });
    this.logBuffered = new Gauge({ name: 'sluice_inference_log_buffered_rows', help: 'Inference log rows waiting to be written', registers, collect() { this.set(logBuffered()); } });
    this.feedback = new Counter({ name: 'sluice_feedback_events_total', help: 'Feedback events stored', labelNames: ['model', 'metric'], registers });
  }

  forRequest(model: string, version: string, arm: string | null): RequestChildren {
    const key = `${model}\u0000${version}\u0000${arm ?? ''}`;
    let c = this.requestChildren.get(key);
    if (c === undefined) {
      const labels = { model, version, arm: arm ?? '' };
      c = { requests: this.requests.labels(labels), latency: this.latency.labels(labels) };
      this.requestChildren.set(key, c);
    }
    return c;
  }

  forVersion(model: string, version: string): VersionChildren {
    const key = `${model}\u0000${version}`;
    let c = this.versionChildren.get(key);
    if (c === undefined) {
      const labels = { model, version };
      c = { batchRows: this.batchRows.labels(labels), batchRequests: this.batchRequests.labels(labels), batchRun: this.batchRun.labels(labels) };
      this.versionChildren.set(key, c);
    }
    return c;
  }

  setProvider(provider: string, requested: string): void {
    this.provider.reset();
    this.provider.set({ provider, requested }, 1);
  }
}
