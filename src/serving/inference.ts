/**
 * One inference request from envelope to response: route (generation, segment, fallbacks), check
 * the inputs against the chosen version's contract and reference profile, join a micro-batch,
 * answer, log, and afterwards mirror to the shadow version.
 */
import { randomUUID } from 'node:crypto';
import { routingKeyHash } from '../shared/routing-hash.js';
import type { HostedModel, HostedVersion, ModelHost } from './execution/host.js';
import { loggable, type InferenceLog } from './log/inference-log.js';
import { describeViolation, findViolations } from './protocol/input-checks.js';
import type { ServingMetrics } from './metrics.js';
import { InferError } from './protocol/infer-error.js';
import { checkInputs, encodeResponse, readEnvelope, selectOutputs, type CheckedInputs, type InferEnvelope } from './protocol/protocol.js';
import { matchSegment, routeGlobal, shadowFor, type CompiledGeneration, type Random, type RouteDecision } from '../traffic/routing.js';
import { sameInputs } from './protocol/signature.js';
import type { TensorData } from './protocol/tensors.js';
import { FaultInjector, InjectedFault } from './execution/faults.js';
import type { BatchOutput } from './execution/session.js';

/** How much slower than the primary a shadow running in the same place may be before it is skipped. */
const COLOCATED_SHADOW_SLOWDOWN = 2;
/** A shadow whose full batch takes less than this holds nothing up by more than that: never skipped as colocated. */
const COLOCATED_SHADOW_FLOOR_US = 250;

export interface InferenceOptions {
  workerId: string;
  /** Most rows one request may carry. */
  maxRequestRows: number;
  /** Shadow copies are skipped while the shadow version has more than this many rows queued. */
  shadowQueueLimitRows: number;
  random: Random;
}

export interface InferResult {
  body: string | Buffer;
  /** Inference-Header-Content-Length, when the body carries binary outputs. */
  headerLength: number | null;
}

interface Decision extends RouteDecision {
  fallback: boolean;
}

export class InferenceService {
  /** Operator-injected failures and delays per version (admin route /faults). */
  readonly faults = new FaultInjector();

  constructor(
    private readonly host: ModelHost,
    private readonly metrics: ServingMetrics,
    private readonly log: InferenceLog,
    private readonly o: InferenceOptions,
  ) {}

  /**
   * Serves one request. `pinned` is the version from /versions/{v}/ (no routing). Throws
   * InferError for anything the caller did wrong or the worker cannot serve right now.
   */
  async infer(modelName: string, pinned: string | null, body: Buffer, headerLength: string | undefined): Promise<InferResult> {
    const started = performance.now();
    const arrivedMs = Date.now();
    const m = this.host.models.get(modelName);
    if (m === undefined || (m.versions.size === 0 && m.generation === null)) {
      throw new InferError(404, `model '${modelName}' is not served by this worker`);
    }
    if (pinned !== null && !m.versions.has(pinned)) throw new InferError(404, `version '${pinned}' of model '${modelName}' is not loaded on this worker`);
    const env = readEnvelope(body, headerLength);
    const { version: v, decision } = pinned !== null ? this.pin(m, pinned) : this.route(m, env);
    const requestId = env.id ?? randomUUID();
    const keyHash = env.routingKey !== undefined ? routingKeyHash(env.routingKey) : null;
    let checked: CheckedInputs | null = null;
    let selected: ReturnType<typeof selectOutputs>;
    try {
      checked = checkInputs(env, v.signature, { allowNonFinite: v.allowNonFinite, maxRows: this.o.maxRequestRows });
      selected = selectOutputs(env, v.signature);
      this.checkProfile(m.generation, v, checked);
    } catch (err) {
      // The version's contract turned the request away: an error of this version's traffic.
      this.metrics.errors.inc({ model: m.name, version: v.version, arm: decision.arm ?? '', code: 'bad_request' });
      this.record(m.name, v, false, decision, requestId, arrivedMs, keyHash, started, checked, null, `bad_request: ${(err as Error).message}`);
      throw err;
    }

    let outputs;
    try {
      if (this.faults.active) {
        // The injected delay is an await between routing and the batcher: without the hold, an
        // unload meanwhile would find the batcher idle and release the session this request was
        // routed to. The hold ends only once the request is queued, where idle() sees it.
        v.hold();
        let submitted: ReturnType<HostedVersion['infer']>;
        try {
          await this.faults.apply(m.name, v.version, this.o.random);
          submitted = v.infer(checked.data, checked.shapes, checked.rows);
        } finally {
          v.unhold();
        }
        outputs = await submitted;
      } else {
        outputs = await v.infer(checked.data, checked.shapes, checked.rows);
      }
    } catch (err) {
      const injected = err instanceof InjectedFault;
      this.metrics.errors.inc({ model: m.name, version: v.version, arm: decision.arm ?? '', code: injected ? 'fault_injected' : 'inference_failed' });
      this.record(m.name, v, false, decision, requestId, arrivedMs, keyHash, started, checked, null, `${injected ? 'fault_injected' : 'inference_failed'}: ${(err as Error).message}`);
      throw injected ? new InferError(503, (err as Error).message, 'unavailable') : err;
    }
    const latencyUs = (performance.now() - started) * 1000;
    const children = this.metrics.forRequest(m.name, v.version, decision.arm);
    children.requests.inc();
    children.latency.observe(latencyUs / 1e6);
    this.record(m.name, v, false, decision, requestId, arrivedMs, keyHash, started, checked, outputs, null);

    const generation = m.generation;
    if (pinned === null && generation !== null && generation.shadow !== null) {
      const shadowVersion = shadowFor(generation, v.version, this.o.random);
      // After the answer is on its way; shadow() also keeps the copy from delaying later answers.
      const primaryInputs = checked;
      if (shadowVersion !== null) setImmediate(() => this.shadow(m, shadowVersion, env, primaryInputs, v, requestId, arrivedMs, keyHash, decision));
    }

    let head = `{"model_name":${JSON.stringify(m.name)},"model_version":${JSON.stringify(v.version)},"id":${JSON.stringify(requestId)},"parameters":{`;
    head += `"routing":"${pinned !== null ? 'pinned' : 'routed'}"`;
    if (generation !== null && pinned === null) head += `,"generation":${generation.generation}`;
    if (decision.arm !== null) head += `,"arm":${JSON.stringify(decision.arm)}`;
    if (decision.experimentId !== null) head += `,"experiment_id":${JSON.stringify(decision.experimentId)}`;
    if (decision.segment !== null) head += `,"segment":${JSON.stringify(decision.segment)}`;
    if (decision.fallback) head += ',"fallback":true';
    head += '}';
    return encodeResponse(head, selected.map(({ index, binary }) => {
      const c = v.signature.outputs[index] as HostedVersion['signature']['outputs'][number];
      const o = outputs[index] as BatchOutput;
      return { name: c.name, datatype: c.datatype.oip, shape: o.shape, data: o.data, binary };
    }));
  }

  /**
   * Appends a log row (answers subject to sampling; errors always), with each row's score read
   * by the version's contract from the outputs as the model returned them, before `loggable`
   * leaves string outputs out of the outputs column. Only a sampled answer pays for its scores.
   */
  private record(model: string, v: HostedVersion, shadow: boolean, d: Decision, requestId: string, arrivedMs: number, keyHash: string | null,
    started: number, inputs: CheckedInputs | null, outputs: BatchOutput[] | null, error: string | null): void {
    if (error === null && !this.log.sampled(requestId, d.experimentId)) return;
    this.log.append({
      requestId, atMs: arrivedMs, model, version: v.version, arm: d.arm, experimentId: d.experimentId, routingKeyHash: keyHash, segment: d.segment,
      shadow, fallback: d.fallback, rows: inputs?.rows ?? 0,
      inputs: inputs === null ? null : loggable(v.signature.inputs, inputs.data),
      outputs: outputs === null ? null : loggable(v.signature.outputs, outputs.map((o) => o.data)),
      scores: outputs === null || v.scorer === null ? null : v.scorer(outputs),
      latencyUs: (performance.now() - started) * 1000, error,
    });
  }

  private pin(m: HostedModel, version: string): { version: HostedVersion; decision: Decision } {
    const v = m.versions.get(version);
    if (v === undefined) throw new InferError(404, `version '${version}' of model '${m.name}' is not loaded on this worker`);
    if (!v.ready) throw new InferError(503, `version '${version}' of model '${m.name}' is ${v.state}`, 'unavailable');
    return { version: v, decision: { version, arm: null, experimentId: null, segment: null, bucket: -1, fallback: false } };
  }

  private route(m: HostedModel, env: InferEnvelope): { version: HostedVersion; decision: Decision } {
    const g = m.generation;
    if (g === null) {
      // Before the first generation a model with exactly one ready version serves it; with more
      // there is no way to choose, and the caller must pin a version.
      const ready = [...m.versions.values()].filter((v) => v.ready);
      if (ready.length === 1) {
        const v = ready[0] as HostedVersion;
        return { version: v, decision: { version: v.version, arm: null, experimentId: null, segment: null, bucket: -1, fallback: false } };
      }
      throw new InferError(503, `model '${m.name}' has no traffic generation on this worker yet; call /v2/models/${m.name}/versions/{version}/infer`, 'unavailable');
    }
    const req = { routingKey: env.routingKey, attributes: env.attributes };
    let decision: Decision | null = null;
    if (g.segments.length > 0) {
      const s = matchSegment(g, env.attributes);
      if (s !== null) {
        const sv = m.versions.get(s.version);
        const reason = sv === undefined || !sv.ready ? 'not_ready' : s.latencyBudgetUs !== Infinity && sv.batcher.estimatedWaitUs() > s.latencyBudgetUs ? 'latency_budget' : null;
        if (reason === null) {
          return { version: sv as HostedVersion, decision: { version: s.version, arm: null, experimentId: null, segment: s.name, bucket: -1, fallback: false } };
        }
        this.metrics.segmentFallbacks.inc({ model: m.name, segment: s.name, reason });
        decision = { ...routeGlobal(g, req, this.o.random), segment: s.name, fallback: true };
      }
    }
    decision ??= { ...routeGlobal(g, req, this.o.random), fallback: false };
    const v = m.versions.get(decision.version);
    if (v !== undefined && v.ready) return { version: v, decision };
    return this.fallBack(m, g, decision);
  }

  /** The routed version is not ready here: the baseline, else any ready version with traffic. */
  private fallBack(m: HostedModel, g: CompiledGeneration, d: Decision): { version: HostedVersion; decision: Decision } {
    for (const name of [g.baseline, ...g.order]) {
      const v = m.versions.get(name);
      if (v !== undefined && v.ready) {
        this.metrics.routingFallbacks.inc({ model: m.name, from: d.version, to: name, reason: 'not_ready' });
        const arm = d.experimentId !== null ? g.experiment?.armByVersion.get(name) ?? null : null;
        return { version: v, decision: { ...d, version: name, arm, fallback: true } };
      }
    }
    throw new InferError(503, `no version of model '${m.name}' in generation ${g.generation} is ready on this worker`, 'unavailable');
  }

  /** Every checked input against the version's reference profile; under `reject`, the first violation turns the request away naming its input. */
  private checkProfile(g: CompiledGeneration | null, v: HostedVersion, checked: CheckedInputs): void {
    const policy = g?.inputChecks ?? 'count';
    if (v.inputChecks.length === 0 || policy === 'off') return;
    for (const { input, name, checks } of v.inputChecks) {
      const violations = findViolations(checks, checked.data[input] as TensorData, checked.rows, policy === 'reject' ? 1 : 16);
      for (const x of violations) this.metrics.inputViolations.inc({ model: v.model, version: v.version, feature: x.feature, kind: x.kind });
      if (policy === 'reject' && violations.length > 0) {
        throw new InferError(400, `input '${name}': ${describeViolation(violations[0] as (typeof violations)[number], checks)}`);
      }
    }
  }

  private shadow(m: HostedModel, name: string, env: InferEnvelope, primaryInputs: CheckedInputs, primary: HostedVersion,
    requestId: string, arrivedMs: number, keyHash: string | null, decision: Decision): void {
    const sv = m.versions.get(name);
    if (sv === undefined || !sv.ready || sv.batcher.depthRows > this.o.shadowQueueLimitRows) {
      this.metrics.shadow.inc({ model: m.name, version: name, outcome: 'skipped' });
      return;
    }
    // Versions in one place (the event loop, or the one inference thread) take turns, so there a
    // shadow's runs hold up the primary batches queued behind them. One no slower than the primary
    // costs that place its own run again; a slower one would set the primary's pace: skipped. The
    // costs compared are fixed at load (the same batch for both), so a skip is not self-sealing.
    if (sv.where === primary.where && sv.fullBatchUs > Math.max(COLOCATED_SHADOW_FLOOR_US, COLOCATED_SHADOW_SLOWDOWN * primary.fullBatchUs)) {
      this.metrics.shadow.inc({ model: m.name, version: name, outcome: 'colocated' });
      return;
    }
    const started = performance.now();
    const shadowDecision: Decision = { ...decision, arm: null, fallback: false };
    const record = (inputs: CheckedInputs | null, outputs: BatchOutput[] | null, error: string | null) =>
      this.record(m.name, sv, true, shadowDecision, requestId, arrivedMs, keyHash, started, inputs, outputs, error);
    let checked = primaryInputs;
    if (!sameInputs(sv.signature, primary.signature)) {
      try {
        checked = checkInputs(env, sv.signature, { allowNonFinite: sv.allowNonFinite, maxRows: this.o.maxRequestRows });
      } catch (err) {
        this.metrics.shadow.inc({ model: m.name, version: name, outcome: 'incompatible' });
        record(null, null, `bad_request: ${(err as Error).message}`);
        return;
      }
    }
    sv.infer(checked.data, checked.shapes, checked.rows).then((outputs) => {
      this.metrics.shadow.inc({ model: m.name, version: name, outcome: 'answered' });
      record(checked, outputs, null);
    }, (err: unknown) => {
      this.metrics.shadow.inc({ model: m.name, version: name, outcome: 'failed' });
      record(checked, null, `inference_failed: ${(err as Error).message}`);
    });
  }
}

