// The drift monitor's side effects: judging one window of the production version's traffic (drift
// of every feature and the score against the version's reference profile, and the realised task
// metric once labels are due), writing the drift report, asking for a retrain (gated by a running
// retrain, a running rollout, the cooldown and the day's budget, each refusal recorded as a
// skipped retrain), and starting the monitor itself when a version is promoted.
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { ModelContract } from '../contracts/contract.js';
import { classCount } from '../contracts/score.js';
import type { Database, Model, ModelVersion } from '../db/schema.js';
import type { LineageCause } from '../loop/lineage.js';
import { judgeColumns } from '../loop/judge.js';
import { INITIAL_MONITOR_STATE, nextConsecutive, type JudgedWindow, type PerformanceFigure, type RetrainRequestOutcome } from '../loop/monitor.js';
import type { DriftPolicy, LoopPolicy } from '../loop/policy.js';
import { metricDrop, realisedMetric } from '../loop/realised.js';
import { defaultLoopPolicy, parseLoopPolicy } from '../loop/validate.js';
import { monitorWorkflowId, retrainWorkflowId, type DriftMonitorInput, type RetrainInput } from '../loop/workflows.js';
import { insertDriftReport } from '../registry/drift-reports.js';
import { getModel } from '../registry/models.js';
import { firstLoggedAt, labelledScores, readMonitorWindow, validationFigure } from '../registry/monitor-window.js';
import { countRetrainsSince, createRetrain, findRetrain, finishRetrain, listRetrains, runningRetrain } from '../registry/retrains.js';
import { runningRolloutForModel } from '../registry/rollouts.js';
import { getVersion } from '../registry/versions.js';
import { modelSearchAttribute } from '../shared/search-attributes.js';
import type { ReferenceProfile } from '../stats/index.js';

/** A Temporal client the activities start workflows with (the retrain, the monitor), on the orchestrator's task queue. */
export interface ActivityTemporal { client: Client; taskQueue: string }

/** The model's loop policy: the stored one, or the defaults (no retrain) when none is stored or it no longer parses. */
export function loopPolicyOf(model: Model): LoopPolicy {
  if (model.loop_policy === null) return defaultLoopPolicy();
  const parsed = parseLoopPolicy(model.loop_policy, null);
  return parsed.ok ? parsed.policy : defaultLoopPolicy();
}

function figure(metric: string, status: PerformanceFigure['status'], reason: string, rest: Partial<PerformanceFigure> = {}): PerformanceFigure {
  return { status, metric, realised: null, expected: null, drop: null, labelled: 0, dropped: false, reason, ...rest };
}

/** The realised task metric on the window whose labels are due (the window ending labelDelaySeconds ago). */
async function realisedPerformance(db: Kysely<Database>, model: Model, version: ModelVersion, policy: DriftPolicy, now: Date): Promise<PerformanceFigure | null> {
  const perf = policy.performance;
  if (!perf) return null;
  const contract: ModelContract | null = model.contract;
  if (!contract) return figure(perf.metric, 'unavailable', 'the model has no contract, so its task metric cannot be read from the log');
  const due = new Date(now.getTime() - perf.labelDelaySeconds * 1000);
  const first = await firstLoggedAt(db, model.name, version.version);
  if (first === null) return figure(perf.metric, 'labels_not_due', `no request to ${version.version} is logged yet, so no label is due`);
  if (first > due) return figure(perf.metric, 'labels_not_due', `labels not due until ${new Date(first.getTime() + perf.labelDelaySeconds * 1000).toISOString()} (label delay ${perf.labelDelaySeconds} s)`);
  const labelled = await labelledScores(db, { model: model.name, version: version.version, window: policy.window, until: due, labelMetric: perf.feedbackMetric });
  if (labelled.requests < perf.minLabels) {
    return figure(perf.metric, 'insufficient_labels', `${labelled.requests} requests up to ${due.toISOString()} have a ${perf.feedbackMetric} label, fewer than minLabels (${perf.minLabels})`, { labelled: labelled.requests });
  }
  const expected = await validationFigure(db, version, perf.metric);
  if (expected === null) return figure(perf.metric, 'no_validation_figure', `validation recorded no ${perf.metric} for ${version.version}, so a drop cannot be measured`, { labelled: labelled.requests });
  const result = realisedMetric(contract, perf.metric, labelled.scores, labelled.labels, classCount(contract, version.signature));
  if (!result.ok) return figure(perf.metric, 'unavailable', `${perf.metric} could not be computed on ${labelled.requests} labelled requests (${result.code}: ${result.message})`, { labelled: labelled.requests, expected });
  const drop = metricDrop(perf.metric, result.value, expected);
  const dropped = drop > perf.maxDrop;
  return figure(perf.metric, 'judged', `realised ${perf.metric} ${result.value.toFixed(4)} on ${labelled.requests} labelled requests against ${expected.toFixed(4)} at validation: ${dropped ? 'dropped' : 'within'} the bound (${perf.maxDrop})`,
    { realised: result.value, expected, drop, labelled: labelled.requests, dropped });
}

export interface JudgeArgs {
  model: string;
  version: string;
  /** Drifting windows in a row before this one (the report records the count after it). */
  consecutive: number;
  /** Judge with this policy instead of the model's stored one. */
  policy?: DriftPolicy;
}

export interface RetrainRequest {
  /** Chosen by the caller, so a retried activity finds the retrain it already created. */
  retrainId: string;
  model: string;
  cause: LineageCause;
  parentVersion: string | null;
  requestedBy: string;
}

function startOfUtcDay(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}

export function createMonitorActivities(db: Kysely<Database>, temporal?: ActivityTemporal) {
  /** Why a retrain must not start now, or null. */
  async function retrainRefusal(model: Model, policy: LoopPolicy, now: Date): Promise<string | null> {
    if (!policy.retrain) return "no retrain policy: the model's loop policy has no retrain section";
    const running = await runningRetrain(db, model.id);
    if (running) return `retrain ${running.id} is running for ${model.name} (started ${running.started_at.toISOString()})`;
    if (temporal) {
      const described = await temporal.client.workflow.getHandle(retrainWorkflowId(model.name)).describe().catch(() => null);
      if (described?.status.name === 'RUNNING') return `the retrain workflow ${retrainWorkflowId(model.name)} is running`;
    }
    const rollout = await runningRolloutForModel(db, model.id);
    if (rollout) return `rollout ${rollout.id} is running for ${model.name}: no retrain while a version is rolling out`;
    const last = (await listRetrains(db, model.id, 100)).find((r) => r.status !== 'skipped');
    const cooldownEnd = last ? new Date(last.started_at.getTime() + policy.drift.cooldownSeconds * 1000) : null;
    if (last && cooldownEnd && cooldownEnd > now) return `cooldown: retrain ${last.id} started ${last.started_at.toISOString()}, the next may start at ${cooldownEnd.toISOString()}`;
    const today = await countRetrainsSince(db, model.id, startOfUtcDay(now));
    if (today >= policy.drift.dailyRetrainBudget) return `the day's retrain budget is spent: ${today} of ${policy.drift.dailyRetrainBudget} started since ${startOfUtcDay(now).toISOString()}`;
    if (!temporal) return 'the orchestrator has no Temporal client to start the retrain workflow with';
    return null;
  }

  return {
    /** Judges the production version's latest window and writes its drift report; returns the summary the monitor acts on. */
    async judgeDriftWindow(args: JudgeArgs): Promise<JudgedWindow> {
      const model = await getModel(db, args.model);
      const version = await getVersion(db, model.id, args.version);
      const policy = args.policy ?? loopPolicyOf(model).drift;
      const now = new Date();
      const window = await readMonitorWindow(db, { model: model.name, version, contract: model.contract, window: policy.window, until: now });
      const performance = await realisedPerformance(db, model, version, policy, now);
      const profile = version.reference_profile as ReferenceProfile | null;
      let reason: string | null = window.notes.length > 0 ? window.notes.join('; ') : null;
      let verdict = { decision: 'insufficient_data' as JudgedWindow['decision'], shareDrifted: 0, driftedFeatures: [] as string[] };
      let features: unknown = [];
      let scoreDrift: unknown = null;
      if (!profile) {
        reason = `version ${version.version} has no reference profile: register reference data with it to monitor drift`;
      } else if (window.rows < policy.minRows) {
        reason = `${window.rows} rows in the window, fewer than minRows (${policy.minRows}): too few to judge`;
      } else {
        const judged = judgeColumns(profile, window.columns, policy);
        if (!judged.ok) {
          reason = judged.reason;
        } else {
          verdict = judged.verdict;
          features = judged.features;
          scoreDrift = judged.score;
        }
      }
      const row = await insertDriftReport(db, {
        modelId: model.id, versionId: version.id, windowStart: window.from, windowEnd: window.to,
        windowKind: policy.window.kind, windowSize: policy.window.kind === 'time' ? policy.window.seconds : policy.window.rows,
        rows: window.rows, decision: verdict.decision, reason, features, scoreDrift, shareDrifted: verdict.shareDrifted,
        driftedFeatures: verdict.driftedFeatures, consecutive: nextConsecutive(args.consecutive, verdict.decision), performance, policy,
      });
      return {
        reportId: row.id, decision: verdict.decision, rows: window.rows, shareDrifted: verdict.shareDrifted, driftedFeatures: verdict.driftedFeatures,
        reason, performance, intervalSeconds: policy.intervalSeconds, debounceWindows: policy.debounceWindows,
      };
    },

    /**
     * Starts a retrain for a trigger, unless one is running, a rollout is running, the cooldown has
     * not passed, or the day's budget is spent: then the trigger is recorded as a skipped retrain
     * with that reason. Retried with the same retrainId, it returns what it did the first time.
     */
    async requestRetrain(args: RetrainRequest): Promise<RetrainRequestOutcome & { cooldownUntil: string | null }> {
      const model = await getModel(db, args.model);
      const policy = loopPolicyOf(model);
      const workflowId = retrainWorkflowId(model.name);
      const cooldownOf = (at: Date) => new Date(at.getTime() + policy.drift.cooldownSeconds * 1000).toISOString();
      const existing = await findRetrain(db, args.retrainId);
      if (existing) {
        return { at: existing.started_at.toISOString(), started: existing.status !== 'skipped', retrainId: existing.id, reason: existing.status === 'skipped' ? existing.reason : null, cause: args.cause, cooldownUntil: existing.status === 'skipped' ? null : cooldownOf(existing.started_at) };
      }
      const now = new Date();
      const refusal = await retrainRefusal(model, policy, now);
      if (refusal !== null || !policy.retrain || !temporal) {
        const why = refusal ?? 'no retrain policy';
        await createRetrain(db, { id: args.retrainId, modelId: model.id, workflowId, cause: args.cause, parentVersion: args.parentVersion, status: 'skipped', reason: why });
        return { at: now.toISOString(), started: false, retrainId: args.retrainId, reason: why, cause: args.cause, cooldownUntil: null };
      }
      const row = await createRetrain(db, { id: args.retrainId, modelId: model.id, workflowId, cause: args.cause, parentVersion: args.parentVersion });
      const input: RetrainInput = { retrainId: args.retrainId, model: model.name, cause: args.cause, parentVersion: args.parentVersion, policy: policy.retrain, requestedBy: args.requestedBy };
      try {
        await temporal.client.workflow.start('modelRetrain', {
          taskQueue: temporal.taskQueue, workflowId, args: [input],
          typedSearchAttributes: [{ key: modelSearchAttribute, value: model.name }],
        });
      } catch (err) {
        const why = `the retrain workflow could not start: ${err instanceof Error ? err.message : String(err)}`;
        await finishRetrain(db, args.retrainId, { status: 'skipped', reason: why });
        return { at: now.toISOString(), started: false, retrainId: args.retrainId, reason: why, cause: args.cause, cooldownUntil: null };
      }
      return { at: row.started_at.toISOString(), started: true, retrainId: args.retrainId, reason: null, cause: args.cause, cooldownUntil: cooldownOf(row.started_at) };
    },

    /** Starts the model's drift monitor on the promoted version, replacing the one watching the previous version. */
    async startDriftMonitor(args: { model: string; version: string }): Promise<{ workflowId: string; started: boolean; reason: string | null }> {
      const workflowId = monitorWorkflowId(args.model);
      if (!temporal) return { workflowId, started: false, reason: 'the orchestrator has no Temporal client to start the drift monitor with' };
      const input: DriftMonitorInput = { model: args.model, version: args.version, state: INITIAL_MONITOR_STATE };
      await temporal.client.workflow.start('driftMonitor', {
        taskQueue: temporal.taskQueue, workflowId, args: [input],
        workflowIdConflictPolicy: 'TERMINATE_EXISTING',
        typedSearchAttributes: [{ key: modelSearchAttribute, value: args.model }],
      });
      return { workflowId, started: true, reason: null };
    },
  };
}
