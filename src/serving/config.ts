/**
 * The serving worker's settings: defaults, and how server.ts reads them from the environment.
 * Tests and benchmarks pass a partial config to buildServingApp instead.
 */
import fs from 'node:fs';
import os from 'node:os';
import { SetupError } from '../shared/errors.js';
import type { ExecutorMode } from './execution/executor.js';

export interface InferenceLogConfig {
  enabled: boolean;
  capacity: number;
  capacityBytes: number;
  batchRows: number;
  flushMs: number;
  sampleRate: number;
  inputSampleRate: number;
}

export interface ServingConfig {
  workerId: string;
  /** Bearer token for /admin; null only with insecureAdmin. */
  adminToken: string | null;
  insecureAdmin: boolean;
  /** What SLUICE_EXECUTION_PROVIDER asked for; the worker reports what it got. */
  executionProvider: string;
  /**
   * Rows per ONNX Runtime run. 256: a run of the credit MLP costs 13 µs at 64 rows and 21 µs at
   * 256 (bench:serving's in-process sweep, BENCHMARKS.md), so 64-row requests share runs four at a time.
   */
  maxBatchRows: number;
  maxBatchWaitUs: number;
  executor: ExecutorMode;
  /** With executor=auto, versions whose full batch takes longer than this run on the worker thread. */
  threadAboveUs: number;
  intraOpThreads: number;
  warmupRuns: number;
  maxRequestRows: number;
  bodyLimitBytes: number;
  heartbeatMs: number;
  /** How long after a sluice_traffic NOTIFY the worker reads PostgreSQL, unless a push applied the generation first. */
  notifyDelayMs: number;
  /** Host only these models (SLUICE_MODELS, comma-separated); null for all. */
  models: string[] | null;
  /** URL other processes reach this worker at; defaults to http://HOST:PORT. */
  advertiseUrl: string | null;
  /**
   * The port is shared with sibling processes of one worker (SLUICE_PROCESSES > 1), so a request
   * to it reaches one of them: this process then also listens on a port of its own and registers
   * that as its admin address, where a push reaches exactly it. Set by server.ts, not read from
   * the environment.
   */
  sharedPort: boolean;
  /**
   * With sharedPort: the port of this process's own listener (0: any free port). server.ts sets it
   * to SLUICE_ADMIN_PORT_BASE + n - 1 for process n, so the admin ports can be published.
   */
  ownPort: number;
  /** SLUICE_ADMIN_PORT_BASE: process n of a group listens for admin on base + n - 1; null for any free port. */
  adminPortBase: number | null;
  shadowQueueLimitRows: number;
  /** Answer infer requests ahead of Fastify's lifecycle (fast-http.ts: HTTP read and written on the socket); off only to compare. */
  fastPath: boolean;
  inferenceLog: InferenceLogConfig;
}

/** Settings to change from the defaults; the inference log's may be given one by one. */
export type ServingConfigOverrides = Omit<Partial<ServingConfig>, 'inferenceLog'> & { inferenceLog?: Partial<InferenceLogConfig> };

/** Shadow copies wait behind at most four full batches of their version's queue. */
function shadowQueueLimitFor(maxBatchRows: number): number {
  return 4 * maxBatchRows;
}

export function defaultServingConfig(overrides: ServingConfigOverrides = {}): ServingConfig {
  const base: ServingConfig = {
    workerId: `${os.hostname()}-${process.pid}`,
    adminToken: null,
    insecureAdmin: false,
    executionProvider: 'cpu',
    maxBatchRows: 256,
    maxBatchWaitUs: 0,
    executor: 'auto',
    threadAboveUs: 500,
    intraOpThreads: 1,
    warmupRuns: 3,
    maxRequestRows: 4096,
    bodyLimitBytes: 16 * 1024 * 1024,
    heartbeatMs: 2000,
    notifyDelayMs: 100,
    models: null,
    advertiseUrl: null,
    sharedPort: false,
    ownPort: 0,
    adminPortBase: null,
    shadowQueueLimitRows: shadowQueueLimitFor(256),
    fastPath: true,
    inferenceLog: { enabled: true, capacity: 100_000, capacityBytes: 64 * 1024 * 1024, batchRows: 4000, flushMs: 100, sampleRate: 1, inputSampleRate: 1 },
  };
  // Unless given, the shadow's queue limit follows the batch size, as it does from the environment.
  const shadowQueueLimitRows = overrides.shadowQueueLimitRows ?? shadowQueueLimitFor(overrides.maxBatchRows ?? base.maxBatchRows);
  return { ...base, ...overrides, shadowQueueLimitRows, inferenceLog: { ...base.inferenceLog, ...overrides.inferenceLog } };
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new SetupError(`${name}=${raw} must be an integer in [${min}, ${max}].`);
  return n;
}

function rate(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!(n >= 0 && n <= 1)) throw new SetupError(`${name}=${raw} must be a number in [0, 1].`);
  return n;
}

function flag(env: Env, name: string): boolean {
  const raw = (env[name] ?? '').toLowerCase();
  return raw === '1' || raw === 'true' || raw === 'yes';
}

/** Reads the worker's settings from the environment; a SetupError names any bad value. */
export function servingConfigFromEnv(env: Env = process.env): ServingConfig {
  const d = defaultServingConfig();
  const executor = (env.SLUICE_INFERENCE_EXECUTOR ?? d.executor) as ExecutorMode;
  if (!['auto', 'event-loop', 'worker-thread'].includes(executor)) {
    throw new SetupError(`SLUICE_INFERENCE_EXECUTOR=${executor} must be auto, event-loop or worker-thread.`);
  }
  const maxBatchRows = int(env, 'SLUICE_MAX_BATCH_ROWS', d.maxBatchRows, 1, 65536);
  return {
    workerId: env.SLUICE_WORKER_ID || d.workerId,
    adminToken: env.SLUICE_ADMIN_TOKEN || null,
    insecureAdmin: flag(env, 'SLUICE_INSECURE_ADMIN'),
    executionProvider: env.SLUICE_EXECUTION_PROVIDER || 'cpu',
    maxBatchRows,
    maxBatchWaitUs: int(env, 'SLUICE_MAX_BATCH_WAIT_US', d.maxBatchWaitUs, 0, 1_000_000),
    executor,
    threadAboveUs: int(env, 'SLUICE_THREAD_ABOVE_US', d.threadAboveUs, 0, 60_000_000),
    intraOpThreads: int(env, 'SLUICE_ORT_THREADS', d.intraOpThreads, 1, 256),
    warmupRuns: int(env, 'SLUICE_WARMUP_RUNS', d.warmupRuns, 1, 1000),
    maxRequestRows: int(env, 'SLUICE_MAX_REQUEST_ROWS', d.maxRequestRows, 1, 1 << 24),
    bodyLimitBytes: int(env, 'SLUICE_BODY_LIMIT_BYTES', d.bodyLimitBytes, 1024, 1 << 30),
    heartbeatMs: int(env, 'SLUICE_HEARTBEAT_MS', d.heartbeatMs, 100, 600_000),
    notifyDelayMs: int(env, 'SLUICE_NOTIFY_DELAY_MS', d.notifyDelayMs, 0, 60_000),
    models: env.SLUICE_MODELS ? env.SLUICE_MODELS.split(',').map((s) => s.trim()).filter(Boolean) : null,
    advertiseUrl: env.SLUICE_ADVERTISE_URL || null,
    sharedPort: false,
    ownPort: 0,
    adminPortBase: env.SLUICE_ADMIN_PORT_BASE ? int(env, 'SLUICE_ADMIN_PORT_BASE', 0, 1, 65535) : null,
    shadowQueueLimitRows: int(env, 'SLUICE_SHADOW_QUEUE_LIMIT_ROWS', shadowQueueLimitFor(maxBatchRows), 0, 1 << 24),
    fastPath: env.SLUICE_INFER_FAST_PATH === undefined ? true : flag(env, 'SLUICE_INFER_FAST_PATH'),
    inferenceLog: {
      enabled: env.SLUICE_INFERENCE_LOG === undefined ? true : flag(env, 'SLUICE_INFERENCE_LOG'),
      capacity: int(env, 'SLUICE_LOG_BUFFER_ROWS', d.inferenceLog.capacity, 1, 10_000_000),
      capacityBytes: int(env, 'SLUICE_LOG_BUFFER_BYTES', d.inferenceLog.capacityBytes, 1024, 2 ** 31 - 1),
      batchRows: int(env, 'SLUICE_LOG_BATCH_ROWS', d.inferenceLog.batchRows, 1, 100_000),
      flushMs: int(env, 'SLUICE_LOG_FLUSH_MS', d.inferenceLog.flushMs, 1, 60_000),
      sampleRate: rate(env, 'SLUICE_LOG_SAMPLE_RATE', d.inferenceLog.sampleRate),
      inputSampleRate: rate(env, 'SLUICE_LOG_INPUT_SAMPLE_RATE', d.inferenceLog.inputSampleRate),
    },
  };
}

/**
 * The cores this process may use: os.availableParallelism(), lowered to the cgroup's CPU quota
 * where one is set. Node 20's libuv does not read quotas, so in a container limited to 2 CPUs on
 * a 64-core host `auto` would otherwise start 64 processes, each with its own database
 * connections and its own copy of every model. `read` returns a file's text or null.
 */
export function usableCores(read: (file: string) => string | null = readText): number {
  const cpus = os.availableParallelism();
  let quota: number | null = null;
  // cgroup v2: "max 100000" or "<quota> <period>" in microseconds.
  const v2 = read('/sys/fs/cgroup/cpu.max')?.trim().split(/\s+/);
  if (v2 && v2[0] !== 'max' && v2.length === 2) quota = Number(v2[0]) / Number(v2[1]);
  else if (!v2) {
    // cgroup v1: a quota of -1 is none.
    const q = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us')?.trim());
    const period = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_period_us')?.trim());
    if (q > 0 && period > 0) quota = q / period;
  }
  return quota !== null && Number.isFinite(quota) && quota > 0 ? Math.max(1, Math.min(cpus, Math.ceil(quota))) : cpus;
}

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/**
 * How many processes serve one worker's port (SLUICE_PROCESSES): 1 by default, a number up to
 * 256, or `auto` for one per usable core (usableCores). One process answers HTTP on one event loop, which costs more
 * per request than its inference does, so on a machine with cores to spare a worker serves more
 * with a process per core; each process is a fleet member of its own (see process-group.ts).
 */
export function processCountFromEnv(env: Env = process.env, cores: () => number = usableCores): number {
  const raw = (env.SLUICE_PROCESSES ?? '').trim().toLowerCase();
  if (raw === '') return 1;
  if (raw === 'auto') return cores();
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new SetupError(`SLUICE_PROCESSES=${env.SLUICE_PROCESSES} must be auto or an integer in [1, 256].`);
  return n;
}
