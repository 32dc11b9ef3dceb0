// Synthetic application traffic: users with stable ids call the serving workers through the Open
// Inference Protocol and report outcomes whose rate depends on the version that answered, so a
// whole rollout (canary, A/B, promote or roll back) can run without a real application.

export interface OutcomeModel {
  /** Probability a user converts after an answer from this version (binary metric). */
  conversionRate: Record<string, number>;
  /** Used for versions not listed. */
  defaultRate: number;
}

export interface SimulatorConfig {
  servingUrls: string[];
  model: string;
  /** Distinct users; each request picks one, so users return and stay sticky to their arm. */
  users: number;
  /** Total request rate across all workers. */
  requestsPerSecond: number;
  features: number;
  /** Feature rows to sample requests from (e.g. a golden set); uniform noise in [-1, 1] without. */
  rows?: number[][];
  /** Each row's true label (parallel to rows): sent as `labelMetric` feedback by request id, as an application reports outcomes it learns later. */
  labels?: number[];
  /** The feedback metric that carries the label (default: labels are not sent). */
  labelMetric?: string;
  /** Request ids are `<prefix>-<n>` (default `sim`): label feedback joins on them, so runs sharing a database need their own prefix. */
  requestIdPrefix?: string;
  metric: string;
  outcome: OutcomeModel;
  /** Share of answered requests that produce an outcome event. */
  feedbackShare?: number;
  seed?: number;
  userPrefix?: string;
  /** Extra `parameters.attributes` per user, for targeting and segments. */
  attributes?: (user: number) => Record<string, string | number>;
  fetchImpl?: typeof fetch;
}

export interface VersionTally { requests: number; errors: number; feedback: number; conversions: number; latencyMsTotal: number }

export interface SimulatorReport {
  requests: number;
  errors: number;
  failedFeedback: number;
  byVersion: Record<string, VersionTally>;
  elapsedMs: number;
}

/** xorshift32: small, fast, seedable; the simulator needs repeatability, not cryptography. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 0x100000000;
  };
}

export class TrafficSimulator {
  private readonly random: () => number;
  private readonly report: SimulatorReport = { requests: 0, errors: 0, failedFeedback: 0, byVersion: {}, elapsedMs: 0 };
  private running = false;
  private loop: Promise<void> | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly fetchImpl: typeof fetch;
  private outcome: OutcomeModel;
  private population: { rows: number[][] | undefined; labels: number[] | undefined };

  constructor(private readonly config: SimulatorConfig) {
    this.random = prng(config.seed ?? 1);
    this.fetchImpl = config.fetchImpl ?? fetch;
    this.outcome = config.outcome;
    this.population = { rows: config.rows, labels: config.labels };
  }

  /** Changes who the users are mid-run (a shifted population): later requests draw from these rows and labels. */
  setPopulation(rows: number[][], labels?: number[]): void {
    this.population = { rows, labels };
  }

  /** Changes who converts mid-run (e.g. the candidate turns worse). */
  setOutcome(outcome: OutcomeModel): void {
    this.outcome = outcome;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const started = Date.now();
    this.loop = (async () => {
      const intervalMs = 1000 / this.config.requestsPerSecond;
      let next = Date.now();
      let i = 0;
      while (this.running) {
        const pending = this.one(i++);
        this.inFlight.add(pending);
        void pending.finally(() => this.inFlight.delete(pending));
        next += intervalMs;
        const wait = next - Date.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        else if (i % 50 === 0) await new Promise((r) => setImmediate(r));
      }
      this.report.elapsedMs = Date.now() - started;
    })();
  }

  async stop(): Promise<SimulatorReport> {
    this.running = false;
    await this.loop;
    await Promise.all([...this.inFlight]);
    return this.snapshot();
  }

  snapshot(): SimulatorReport {
    return structuredClone(this.report);
  }

  /** Runs for a fixed time and returns the tally. */
  async runFor(ms: number): Promise<SimulatorReport> {
    this.start();
    await new Promise((r) => setTimeout(r, ms));
    return await this.stop();
  }

  private tally(version: string): VersionTally {
    return (this.report.byVersion[version] ??= { requests: 0, errors: 0, feedback: 0, conversions: 0, latencyMsTotal: 0 });
  }

  private async one(i: number): Promise<void> {
    const { config } = this;
    const user = Math.floor(this.random() * config.users);
    const routingKey = `${config.userPrefix ?? 'user'}-${user}`;
    const url = config.servingUrls[i % config.servingUrls.length];
    const { rows, labels } = this.population;
    const rowIndex = rows && rows.length > 0 ? Math.floor(this.random() * rows.length) : -1;
    const data = rows && rowIndex >= 0 ? (rows[rowIndex] ?? []) : Array.from({ length: config.features }, () => this.random() * 2 - 1);
    const label = labels?.[rowIndex];
    const requestId = `${config.requestIdPrefix ?? 'sim'}-${i}`;
    const convertDraw = this.random();
    const feedbackDraw = this.random();
    const body = {
      id: requestId,
      inputs: [{ name: 'input', shape: [1, config.features], datatype: 'FP32', data }],
      parameters: { routing_key: routingKey, ...(config.attributes ? { attributes: config.attributes(user) } : {}) },
    };
    this.report.requests++;
    const t0 = performance.now();
    let version = 'unknown';
    try {
      const res = await this.fetchImpl(`${url}/v2/models/${encodeURIComponent(config.model)}/infer`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
      });
      const answer = await res.json() as { model_version?: string; parameters?: Record<string, unknown>; id?: string };
      version = answer.model_version ?? String(answer.parameters?.model_version ?? 'unknown');
      const tally = this.tally(version);
      tally.requests++;
      tally.latencyMsTotal += performance.now() - t0;
      if (!res.ok) {
        tally.errors++;
        this.report.errors++;
        return;
      }
      if (feedbackDraw >= (config.feedbackShare ?? 1)) return;
      const rate = this.outcome.conversionRate[version] ?? this.outcome.defaultRate;
      const converted = convertDraw < rate ? 1 : 0;
      const events: Array<Record<string, unknown>> = [{ model: config.model, routing_key: routingKey, metric: config.metric, value: converted }];
      if (config.labelMetric && label !== undefined) events.push({ model: config.model, request_id: requestId, metric: config.labelMetric, value: label });
      const fb = await this.fetchImpl(`${url}/v2/feedback`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events.length === 1 ? events[0] : events),
      });
      if (fb.ok) {
        tally.feedback++;
        tally.conversions += converted;
      } else {
        this.report.failedFeedback++;
      }
    } catch {
      this.report.errors++;
      this.tally(version).errors++;
    }
  }
}
