// bench:loop — how well and how fast the drift → retrain → rollout loop closes.
//   false_alarms: unshifted windows of the synthetic credit population judged drift, through the
//     monitor's own judgement (judgeColumns, the default drift policy) against a real reference
//     profile of the credit model; seeded, so every run judges the same windows.
//   detection: the share of shifted windows judged drift per shift size, and the expected number of
//     windows until the debounce completes (independent windows: a run of `debounce` drifting ones).
//   end_to_end: a real stack started here (embedded PostgreSQL, the Temporal dev server, the
//     orchestrator worker in this process running the real driftMonitor, modelRetrain and
//     modelLifecycle workflows with their real activities and the built-in trainer). No serving
//     workers: the inference log and the feedback labels are written as workers write them, the
//     fleet is a stub that acks every generation and validation is a stub that passes (the method
//     field says so). Clock: from the first shifted rows logged to the drift report completing the
//     debounce, to the retrained version registered, to the generation serving it at 100%.
// Options (env): BENCH_LOOP_WINDOWS (false-alarm windows, default 500), BENCH_LOOP_SHIFT_WINDOWS
// (per shift size, 50), BENCH_LOOP_ROWS (rows a window, 300), BENCH_LOOP_INTERVAL_S (monitor
// interval, 5), BENCH_LOOP_DEBOUNCE (3), BENCH_LOOP_RATE (logged rows a second, 100),
// BENCH_LOOP_E2E=none (skip the end-to-end part, keeping the last run's figures).
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { inferContract } from '../src/contracts/index.js';
import { projectRoot } from '../src/config.js';
import { createDb } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import type { Database } from '../src/db/schema.js';
import { startEmbeddedPostgres } from '../src/dev/postgres.js';
import { ensureTemporalCli, startTemporalDevServer } from '../src/dev/temporal.js';
import { judgeColumns } from '../src/loop/judge.js';
import { INITIAL_MONITOR_STATE } from '../src/loop/monitor.js';
import { defaultLoopPolicy, parseLoopPolicy } from '../src/loop/validate.js';
import { CREDIT_FEATURE_NAMES } from '../src/models/dataset.js';
import { EXAMPLE_CONCEPT_DRIFT, type CreditDrift } from '../src/models/drift.js';
import type { FleetClient } from '../src/activities/fleet.js';
import { ArtifactStore } from '../src/registry/artifacts.js';
import { proportionInterval } from '../src/stats/index.js';
import { setLoopPolicy, setModelContract } from '../src/registry/models.js';
import { monitorStateQuery, monitorWorkflowId } from '../src/workflows/messages.js';
import { driftMonitor } from '../src/workflows/monitor.js';
import { creditColumns, creditReferenceProfile, creditRows } from '../test/support/credit-traffic.js';
import { startTestOrchestrator } from '../test/support/orchestrator.js';
import { fixtureSignature, seedFixtureModel } from '../test/support/seed.js';
import { ackingFleet, passingValidator } from '../test/support/stub-activities.js';

const env = (name: string, dflt: number): number => (process.env[name] === undefined ? dflt : Number(process.env[name]));
const WINDOWS = env('BENCH_LOOP_WINDOWS', 500);
const SHIFT_WINDOWS = env('BENCH_LOOP_SHIFT_WINDOWS', 50);
const ROWS = env('BENCH_LOOP_ROWS', 300);
const INTERVAL_S = env('BENCH_LOOP_INTERVAL_S', 5);
const DEBOUNCE = env('BENCH_LOOP_DEBOUNCE', 3);
const RATE = env('BENCH_LOOP_RATE', 100);

const numericShift = (std: number): CreditDrift => ({
  meanShiftStd: { age: std, income: std, debt_ratio: std, credit_history_months: std, num_open_accounts: std, late_payments: std, loan_amount: std, credit_utilization: std },
});
/** Every categorical feature's mix moved (employment, home ownership, region), the numeric features untouched. */
const CATEGORY_MIX: CreditDrift = {
  categoryMix: {
    employment: { salaried: 0.4, self_employed: 0.2, unemployed: 0.2, student: 0.2 },
    home_ownership: { own: 0.1, mortgage: 0.3, rent: 0.6 },
    region: { north: 0.4, south: 0.2, east: 0.2, west: 0.2 },
  },
};
const SHIFTS: Array<{ shift: string; drift: CreditDrift }> = [
  ...[0.1, 0.25, 0.5, 1].map((std) => ({ shift: `numeric ${std} std`, drift: numericShift(std) })),
  { shift: 'category mix', drift: CATEGORY_MIX },
];

/**
 * Expected windows until `k` drifting windows in a row, each drifting with probability p
 * independently: (1 − p^k) / ((1 − p)·p^k); k when p is 1, never (null) when p is 0.
 */
function expectedWindowsToDrift(p: number, k: number): number | null {
  if (p <= 0) return null;
  if (p >= 1) return k;
  return (1 - p ** k) / ((1 - p) * p ** k);
}

const round = (x: number, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;
/** Wilson 95% interval of a rate, as bench:stats reports its rates. */
const ci95 = (count: number, total: number): [number, number] => proportionInterval(count, total).map((x) => round(x)) as [number, number];

const profile = creditReferenceProfile();

function judgeWindows(windows: number, firstSeed: number, drift?: CreditDrift): { drift: number; warning: number } {
  const policy = { ...defaultLoopPolicy().drift, debounceWindows: DEBOUNCE };
  const counts = { drift: 0, warning: 0 };
  for (let w = 0; w < windows; w++) {
    const judged = judgeColumns(profile, creditColumns(ROWS, firstSeed + w, drift), policy);
    if (!judged.ok) throw new Error(judged.reason);
    if (judged.verdict.decision === 'drift') counts.drift++;
    if (judged.verdict.decision === 'warning') counts.warning++;
  }
  return counts;
}

function statistical(): Record<string, unknown> {
  const t0 = performance.now();
  const none = judgeWindows(WINDOWS, 100_000);
  const falseAlarms = { windows: WINDOWS, rows_per_window: ROWS, alarms: none.drift, rate: round(none.drift / WINDOWS), rate_ci95: ci95(none.drift, WINDOWS), warnings: none.warning, goal_rate: 0.01, met: none.drift / WINDOWS <= 0.01 };
  console.log(`false alarms: ${none.drift}/${WINDOWS} windows drift (rate ${falseAlarms.rate}, 95% CI [${falseAlarms.rate_ci95.join(', ')}], goal ≤ 0.01), ${none.warning} warnings`);
  const detection = SHIFTS.map(({ shift, drift }, i) => {
    const seen = judgeWindows(SHIFT_WINDOWS, 200_000 + i * 10_000, drift);
    const rate = seen.drift / SHIFT_WINDOWS;
    const expected = expectedWindowsToDrift(rate, DEBOUNCE);
    console.log(`detection ${shift}: ${seen.drift}/${SHIFT_WINDOWS} drift, ${seen.warning} warnings; expected windows to drift (debounce ${DEBOUNCE}): ${expected === null ? 'never' : expected.toFixed(2)}`);
    return { shift, windows: SHIFT_WINDOWS, detected: seen.drift, rate: round(rate), rate_ci95: ci95(seen.drift, SHIFT_WINDOWS), warnings: seen.warning, mean_windows_to_drift: expected === null ? null : round(expected, 2) };
  });
  return {
    policy: 'the default drift policy: two-sample KS on each of the 19 encoded features (the one-hot category columns included, as the inference log holds them) and the score, p < 0.01 after Benjamini–Hochberg, drift when ≥ 30% of the 20 drift, a warning from 10%',
    reference: 'reference profile of 2,000 unshifted rows (test/support/credit-traffic.ts); windows of fresh seeded draws',
    false_alarms: falseAlarms,
    detection,
    detection_note: 'mean_windows_to_drift: expected windows until the debounce completes, from the per-window rate assuming independent windows (the debounce itself when every window drifts)',
    statistical_seconds: round((performance.now() - t0) / 1000, 1),
  };
}

async function endToEnd(): Promise<Record<string, unknown>> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-loop-'));
  fs.chmodSync(root, 0o755);
  const pg = await startEmbeddedPostgres({ dataDir: path.join(root, 'pg'), port: 0 });
  const temporal = await startTemporalDevServer({ cli: await ensureTemporalCli(), dbFile: path.join(root, 'temporal.db'), port: 0, uiPort: 0 });
  const db: Kysely<Database> = createDb(pg.url, { max: 10 });
  await migrateToLatest(db as Kysely<unknown>);
  const taskQueue = `bench-loop-${randomUUID()}`;
  // The stub fleet, with the moment each generation reached it: serving 100% is the generation
  // that gives the retrained version all the traffic.
  const applied: Array<{ at: number; weights: Record<string, number> }> = [];
  const fleet: FleetClient = {
    ...ackingFleet,
    async applyGeneration(args) {
      applied.push({ at: performance.now(), weights: args.weights });
      return await ackingFleet.applyGeneration(args);
    },
  };
  const orchestrator = await startTestOrchestrator({
    temporalAddress: temporal.address, db, taskQueue, fleet, validator: passingValidator, artifacts: new ArtifactStore({ root: path.join(root, 'artifacts') }),
  });
  const model = 'credit-loop';
  const inferred = inferContract(fixtureSignature(), { task: 'binary_classification', featureNames: [...CREDIT_FEATURE_NAMES] });
  if (!inferred.ok) throw new Error(inferred.message);
  const { modelId } = await seedFixtureModel(db, { model, production: 'v1', versions: { v1: { artifact: 'logreg', referenceProfile: profile } } });
  await setModelContract(db, modelId, inferred.contract);
  await db.insertInto('traffic_generations').values({ model_id: modelId, generation: 1, weights: { v1: 1 }, created_by: 'bench' }).execute();
  const rolloutPolicy = {
    validation: { minAccuracy: 0.5, maxP99LatencyMs: 1000 }, experiment: { kind: 'none' },
    canary: { steps: [{ weight: 0.1, bakeSeconds: 1 }, { weight: 0.5, bakeSeconds: 1 }], analysisIntervalSeconds: 1, gates: { minRequests: 1 }, inconclusiveLimit: 10 },
  };
  // Training data: the labelled rows of the last two minutes, which after the shift are shifted rows only.
  const retrainData = { kind: 'logged', windowSeconds: 120, minRows: 500, labelMetric: 'label' };
  const parsed = parseLoopPolicy({
    drift: { intervalSeconds: INTERVAL_S, window: { kind: 'rows', rows: ROWS }, minRows: Math.min(200, ROWS), debounceWindows: DEBOUNCE, cooldownSeconds: 3600 },
    retrain: { trainer: { kind: 'builtin', name: 'logistic_regression', params: { seed: 1 } }, data: retrainData, minImprovement: 0, rolloutPolicy },
  }, inferred.contract);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  await setLoopPolicy(db, modelId, parsed.policy);

  let seed = 1;
  /** `rows` one-row requests of v1 with their labels, as serving workers and the feedback API write them. */
  async function logRows(rows: number, drift: CreditDrift | undefined, at: Date): Promise<void> {
    const { matrix, scores, labels } = creditRows(rows, seed++, drift);
    const width = CREDIT_FEATURE_NAMES.length;
    const ids = Array.from({ length: rows }, () => randomUUID());
    await db.insertInto('inference_log').values(ids.map((request_id, r) => ({
      request_id, at, model, version: 'v1', outputs: [1 - (scores[r] as number), scores[r] as number], scores: [scores[r] as number],
      inputs: Buffer.from(matrix.slice(r * width, (r + 1) * width).buffer), latency_us: 1000, worker_id: 'bench',
    }))).execute();
    await db.insertInto('feedback').values(ids.map((request_id, r) => ({ model, request_id, metric: 'label', value: labels[r] as number, at }))).execute();
  }
  async function until<T>(what: string, read: () => Promise<T | undefined>, ms = 300_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await read();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  // Yesterday's traffic, unshifted; the monitor judges it once (no drift) before the shift.
  await logRows(ROWS * 2, undefined, new Date(Date.now() - 10 * 60_000));
  const monitor = await orchestrator.client.workflow.start(driftMonitor, { taskQueue, workflowId: monitorWorkflowId(model), args: [{ model, version: 'v1', state: INITIAL_MONITOR_STATE }] });
  const first = await until('the first window', async () => { const s = await monitor.query(monitorStateQuery); return s.windowsJudged >= 1 ? s : undefined; });
  console.log(`end to end: first window before the shift judged ${first.lastReport?.decision}`);

  // The shift: every numeric feature one standard deviation, and the label relationship changed
  // (concept drift), so a model retrained on the new traffic beats production on its holdout.
  const shift: CreditDrift = { ...numericShift(1), labelRelationship: EXAMPLE_CONCEPT_DRIFT };
  const tickMs = 250;
  const perTick = Math.max(1, Math.round((RATE * tickMs) / 1000));
  let logging = true;
  const shiftedAt = performance.now();
  const shiftedAtDate = new Date();
  const traffic = (async () => {
    for (let tick = 0; logging; tick++) {
      await logRows(perTick, shift, new Date());
      const next = shiftedAt + (tick + 1) * tickMs;
      await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
    }
  })();
  const since = (t: number) => round((t - shiftedAt) / 1000, 2);

  const drift = await until('drift', () => db.selectFrom('drift_reports').select(['id', 'created_at']).where('model_id', '=', modelId)
    .where('decision', '=', 'drift').where('consecutive', '>=', DEBOUNCE).executeTakeFirst());
  const driftSeen = performance.now();
  console.log(`end to end: drift at +${since(driftSeen)} s (report ${drift.id})`);
  const registered = await until('the retrained version', () => db.selectFrom('model_versions').select(['version', 'created_at']).where('model_id', '=', modelId)
    .where('version', '!=', 'v1').executeTakeFirst());
  const registeredSeen = performance.now();
  console.log(`end to end: ${registered.version} registered at +${since(registeredSeen)} s`);
  const serving = await until(`${registered.version} at 100%`, async () => applied.find((g) => g.weights[registered.version] === 1));
  const servingSeen = serving.at;
  logging = false;
  await traffic;
  console.log(`end to end: ${registered.version} serving 100% at +${since(servingSeen)} s`);

  const retrain = await db.selectFrom('retrains').selectAll().where('model_id', '=', modelId).where('status', '!=', 'skipped').executeTakeFirstOrThrow();
  const rollout = await until('the rollout to end', () => db.selectFrom('rollouts').selectAll().where('model_id', '=', modelId).where('ended_at', 'is not', null).executeTakeFirst());
  const retrainS = ((retrain.ended_at?.getTime() ?? NaN) - retrain.started_at.getTime()) / 1000;
  const lifecycleS = ((rollout.ended_at?.getTime() ?? NaN) - rollout.started_at.getTime()) / 1000;
  const goal = INTERVAL_S * DEBOUNCE + retrainS + lifecycleS;
  const evaluation = retrain.evaluation as { metric: string; candidate: number; production: number; rows: number } | null;
  const result = {
    interval_s: INTERVAL_S, debounce: DEBOUNCE, window_rows: ROWS, logged_rows_per_s: RATE,
    shift: 'every numeric feature +1 std and the label relationship changed (EXAMPLE_CONCEPT_DRIFT)',
    shift_to_drift_s: since(driftSeen),
    shift_to_registered_s: since(registeredSeen),
    shift_to_serving_s: since(servingSeen),
    drift_report_created_after_shift_s: round((drift.created_at.getTime() - shiftedAtDate.getTime()) / 1000, 2),
    retrain_s: round(retrainS, 2), lifecycle_s: round(lifecycleS, 2),
    goal_s: round(goal, 2), met: since(servingSeen) <= goal,
    retrain: { version: registered.version, status: retrain.status, reason: retrain.reason, evaluation: evaluation && { metric: evaluation.metric, candidate: round(evaluation.candidate), production: round(evaluation.production), holdout_rows: evaluation.rows } },
    rollout: { status: rollout.status, policy: rolloutPolicy },
    phase: 'the shift starts just after a window is judged, so the first window after it (one interval later) is wholly shifted: shift → drift is then interval × debounce; a shift just before a window leaves that window partly shifted, which may add up to one interval',
    method: 'real stack in one process: embedded PostgreSQL, the Temporal dev server, the orchestrator worker with the real driftMonitor, modelRetrain (built-in logistic_regression trainer, real ONNX Runtime on the holdout) and modelLifecycle workflows and activities. No serving workers: one-row requests of the credit model and their feedback labels are inserted into inference_log and feedback at the rate above, as workers and the feedback API write them; the fleet is a stub that acks every traffic generation (serving 100% = the moment the lifecycle applies the generation giving the retrained version weight 1) and validation is a stub that passes. Times are seen by polling the database every 100 ms from the first shifted rows written.',
  };
  console.log(`end to end: shift → drift ${result.shift_to_drift_s} s, → registered ${result.shift_to_registered_s} s, → serving ${result.shift_to_serving_s} s; goal interval×debounce + retrain + lifecycle = ${INTERVAL_S}×${DEBOUNCE} + ${result.retrain_s} + ${result.lifecycle_s} = ${result.goal_s} s (${result.met ? 'met' : 'not met'})`);

  await orchestrator.client.workflow.getHandle(monitorWorkflowId(model)).terminate('bench over').catch(() => undefined);
  await orchestrator.close();
  await db.destroy();
  await temporal.stop();
  await pg.stop();
  fs.rmSync(root, { recursive: true, force: true });
  return result;
}

async function main(): Promise<void> {
  const started = performance.now();
  const resultsFile = path.join(projectRoot, 'bench/results/loop.json');
  const stats = statistical();
  let e2e: Record<string, unknown>;
  if (process.env.BENCH_LOOP_E2E === 'none' && fs.existsSync(resultsFile)) {
    const previous = JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as Record<string, unknown>;
    e2e = { ...(previous.end_to_end as Record<string, unknown>), from: (previous.end_to_end as { from?: string }).from ?? previous.generated_at };
  } else {
    e2e = await endToEnd();
  }
  const results = {
    command: 'npm run bench:loop',
    generated_at: new Date().toISOString(),
    machine: { node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memory_gib: Math.round(os.totalmem() / 2 ** 30) },
    ...stats,
    end_to_end: e2e,
    seconds: round((performance.now() - started) / 1000, 1),
  };
  fs.mkdirSync(path.dirname(resultsFile), { recursive: true });
  fs.writeFileSync(resultsFile, JSON.stringify(results, null, 2) + '\n');
  console.log(`wrote bench/results/loop.json (${results.seconds} s)`);
}

await main();
