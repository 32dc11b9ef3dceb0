// The lifecycle workflow's decisions on the real Temporal dev server and a real registry database,
// with the fleet, the validator and the metric windows stubbed: these tests pin down the workflow
// logic (gates, abort, pause, approval, saga) quickly. End-to-end runs with real serving workers
// live in lifecycle-e2e.test.ts.
import { randomUUID } from 'node:crypto';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { RetryState } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AppliedGeneration, FleetClient } from '../../src/activities/fleet.js';
import { ValidationCheckError, type CandidateValidator } from '../../src/activities/validation.js';
import type { CanaryWindow, VersionWindow } from '../../src/policy/gates.js';
import { parseRolloutPolicy } from '../../src/policy/index.js';
import type { RolloutPolicy } from '../../src/policy/schema.js';
import { modelSearchAttribute, phaseSearchAttribute, versionSearchAttribute } from '../../src/shared/search-attributes.js';
import {
  abortUpdate, approveUpdate, pauseUpdate, resumeUpdate, rolloutWorkflowId, setWeightsUpdate, stateQuery,
  type ModelLifecycleInput,
} from '../../src/workflows/messages.js';
import { modelLifecycle } from '../../src/workflows/lifecycle.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startTestOrchestrator, type TestOrchestrator } from '../support/orchestrator.js';
import { seedFixtureModel, seedRollout } from '../support/seed.js';

interface AppliedRecord { model: string; generation: number; weights: Record<string, number>; at: number }

/** An in-memory fleet: remembers every generation and can be told to fail acks. */
class FakeFleet implements FleetClient {
  applied: AppliedRecord[] = [];
  prewarmed: string[] = [];
  unloaded: string[] = [];
  failAcks = 0;
  /** Models whose prewarm throws: an activity failure that ends the rollout as failed. */
  failPrewarm = new Set<string>();
  async applyGeneration(args: { model: string; generation: number; weights: Record<string, number> }): Promise<AppliedGeneration> {
    if (this.failAcks > 0) {
      this.failAcks--;
      return { generation: args.generation, workers: 2, acked: 1, allAcked: false, acks: [{ worker: 'w1', ok: true, ms: 1 }, { worker: 'w2', ok: false, ms: 1, error: 'connection refused' }] };
    }
    // Idempotent like the real one: the same generation twice is recorded once.
    if (!this.applied.some((a) => a.model === args.model && a.generation === args.generation)) {
      this.applied.push({ model: args.model, generation: args.generation, weights: args.weights, at: Date.now() });
    }
    return { generation: args.generation, workers: 2, acked: 2, allAcked: true, acks: [{ worker: 'w1', ok: true, ms: 1 }, { worker: 'w2', ok: true, ms: 1 }] };
  }
  async prewarm(args: { model: string; version: string }) {
    if (this.failPrewarm.has(args.model)) throw new Error(`worker pool of ${args.model} exploded`);
    this.prewarmed.push(`${args.model}/${args.version}`);
    return { workers: 2, ready: 2, allReady: true, results: [] };
  }
  async unload(args: { model: string; version: string }) {
    this.unloaded.push(`${args.model}/${args.version}`);
  }
  last(model: string): AppliedRecord | undefined {
    return this.applied.filter((a) => a.model === model).at(-1);
  }
}

/** The validator's reason for refusing an update (WorkflowUpdateFailedError wraps it as its cause). */
async function refusal(update: Promise<unknown>): Promise<string> {
  try {
    await update;
  } catch (err) {
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    return (err as WorkflowUpdateFailedError).cause?.message ?? '';
  }
  throw new Error('the update was accepted');
}

function window(requests: number, errors: number, p99: number): VersionWindow {
  return { requests, errors, p99LatencyMs: p99, predictionHistogram: [5, 10, 20, 30, 20, 10, 5, 0, 0, 0].map((x) => x * requests / 100) };
}

describe('modelLifecycle decisions (stubbed side effects, real Temporal)', () => {
  let t: TestDatabase;
  let orchestrator: TestOrchestrator;
  let client: Client;
  const fleet = new FakeFleet();
  const taskQueue = `lifecycle-logic-${randomUUID()}`;
  /** Per model: validation passes unless listed; canary windows healthy unless the model spikes. */
  const rejectValidation = new Set<string>();
  /** Per model: validation throws this instead of returning a report; every call is counted. */
  const validationThrows = new Map<string, () => Error>();
  const validationCalls = new Map<string, number>();
  const errorSpike = new Map<string, number>();
  /** Per model: how many canary windows were measured with the spike in them. */
  const spikedWindows = new Map<string, number>();
  const conversion = new Map<string, Record<string, number>>();
  const looks = new Map<string, number>();
  const skew = new Map<string, number>();

  const validator: CandidateValidator = {
    async validate({ model }) {
      validationCalls.set(model, (validationCalls.get(model) ?? 0) + 1);
      const thrown = validationThrows.get(model);
      if (thrown) throw thrown();
      const passed = !rejectValidation.has(model);
      return {
        passed,
        checks: [
          { name: 'sha256', verdict: 'successful', reason: 'artifact sha256 matches', numbers: {} },
          { name: 'accuracy', verdict: passed ? 'successful' : 'failed', reason: passed ? 'accuracy 0.81 ≥ 0.6' : 'accuracy 0.41 < 0.6', numbers: { accuracy: passed ? 0.81 : 0.41 } },
        ],
      };
    },
  };

  beforeAll(async () => {
    t = await createTestDatabase();
    orchestrator = await startTestOrchestrator({
      temporalAddress: inject('temporalAddress'), db: t.db, taskQueue, fleet, validator,
      activities: {
        // A/B statistics grow by 400 units per arm per look with the scripted conversion rates.
        async collectExperimentStats(args: { experimentId: string; model: string; metrics: string[] }) {
          const look = (looks.get(args.experimentId) ?? 0) + 1;
          looks.set(args.experimentId, look);
          const rates: Record<string, number> = conversion.get(args.model) ?? { control: 0.1, treatment: 0.1 };
          const n = 400 * look;
          const arm = (rate: number) => ({ n, successes: Math.round(n * rate), sum: Math.round(n * rate), sumSquares: Math.round(n * rate) });
          const arms = Object.fromEntries(Object.entries(rates).map(([name, rate]) => [name, arm(rate)]));
          return {
            // A broken assignment: treatment units scaled by the model's skew (1 when none).
            assigned: Object.fromEntries(Object.keys(rates).map((name) => [name, name === 'treatment' ? Math.round(n * (skew.get(args.model) ?? 1)) : n])),
            metrics: Object.fromEntries(args.metrics.map((m) => [m, arms])),
          };
        },
        async measureCanaryWindow(args: { model: string }): Promise<CanaryWindow> {
          const spikeAt = errorSpike.get(args.model);
          const spiking = spikeAt !== undefined && Date.now() >= spikeAt;
          if (spiking) spikedWindows.set(args.model, (spikedWindows.get(args.model) ?? 0) + 1);
          return { baseline: window(400, 2, 10), candidate: spiking ? window(100, 30, 11) : window(100, 0, 11) };
        },
      },
    });
    client = orchestrator.client;
  });

  afterAll(async () => {
    await orchestrator?.close();
    await t?.drop();
  });

  function policy(overrides: Record<string, unknown> = {}): RolloutPolicy {
    const parsed = parseRolloutPolicy({
      canary: { steps: [{ weight: 0.1, bakeSeconds: 1 }, { weight: 0.5, bakeSeconds: 1 }], analysisIntervalSeconds: 0.5, gates: { minRequests: 10 } },
      experiment: { kind: 'none' },
      approval: { timeoutSeconds: 2 },
      ...overrides,
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    return parsed.policy;
  }

  async function start(model: string, p: RolloutPolicy) {
    const { modelId, versionIds } = await seedFixtureModel(t.db, { model, versions: { v1: 'logreg', v2: 'mlp' }, production: 'v1' });
    await t.db.insertInto('traffic_generations').values({ model_id: modelId, generation: 1, weights: { v1: 1 }, created_by: 'seed' }).execute();
    const rolloutId = await seedRollout(t.db, { modelId, candidateId: versionIds.v2 ?? '', baselineId: versionIds.v1 ?? '', model, policy: p });
    const input: ModelLifecycleInput = { rolloutId, model, candidateVersion: 'v2', baselineVersion: 'v1', policy: p, startedBy: 'test' };
    const handle = await client.workflow.start(modelLifecycle, {
      taskQueue, workflowId: rolloutWorkflowId(model), args: [input],
      typedSearchAttributes: [{ key: modelSearchAttribute, value: model }, { key: versionSearchAttribute, value: 'v2' }],
    });
    return { handle, rolloutId, modelId };
  }

  async function steps(rolloutId: string) {
    return await t.db.selectFrom('rollout_steps').selectAll().where('rollout_id', '=', rolloutId).orderBy('seq').execute();
  }

  async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('condition not reached in time');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('walks a healthy canary to promotion, recording every gate', async () => {
    const { handle, rolloutId } = await start('healthy', policy());
    const result = await handle.result();
    expect(result.status).toBe('promoted');
    const gens = fleet.applied.filter((a) => a.model === 'healthy');
    expect(gens.map((g) => g.generation)).toEqual([2, 3, 4]);
    expect(gens.map((g) => g.weights)).toEqual([{ v1: 0.9, v2: 0.1 }, { v1: 0.5, v2: 0.5 }, { v2: 1 }]);
    expect(fleet.prewarmed).toContain('healthy/v2');
    expect(fleet.unloaded).toContain('healthy/v1');
    const recorded = await steps(rolloutId);
    expect(recorded.filter((s) => s.step.startsWith('canary:')).length).toBeGreaterThanOrEqual(4);
    expect(recorded.every((s) => s.verdict !== 'failed')).toBe(true);
    const versions = await t.db.selectFrom('model_versions').select(['version', 'status']).innerJoin('models', 'models.id', 'model_versions.model_id').where('models.name', '=', 'healthy').orderBy('version').execute();
    expect(versions).toEqual([{ version: 'v1', status: 'validated' }, { version: 'v2', status: 'production' }]);
    const rollout = await t.db.selectFrom('rollouts').selectAll().where('id', '=', rolloutId).executeTakeFirstOrThrow();
    expect(rollout.status).toBe('promoted');
    expect(rollout.ended_at).not.toBeNull();
    // The history reads as a story in the Temporal UI: every phase's activities are there.
    const history = await handle.fetchHistory();
    const activities = (history.events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
    for (const name of ['validateCandidate', 'prewarmVersion', 'applyTrafficGeneration', 'measureCanaryWindow', 'promoteVersion', 'completeRollout']) {
      expect(activities).toContain(name);
    }
    // Summaries the UI shows beside each activity: the history reads as a story.
    const summaries = (history.events ?? []).map((e) => e.userMetadata?.summary?.data).filter(Boolean)
      .map((data) => JSON.parse(Buffer.from(data as Uint8Array).toString()) as string);
    expect(summaries).toContain('generation 2: v1 90%, v2 10% (canary step 1/2)');
    expect(summaries).toContain('validate healthy/v2: artifact, signature, golden set, latency');
  });

  it('rolls back at the next gate after an error spike', async () => {
    const p = policy({ canary: { steps: [{ weight: 0.1, bakeSeconds: 2 }, { weight: 0.5, bakeSeconds: 30 }], analysisIntervalSeconds: 0.5, gates: { minRequests: 10 } } });
    const { handle, rolloutId } = await start('spiky', p);
    await waitFor(() => fleet.last('spiky')?.weights.v2 === 0.5);
    const spikeAt = Date.now();
    errorSpike.set('spiky', spikeAt);
    const result = await handle.result();
    expect(result.status).toBe('rolled_back');
    expect(result.reason).toMatch(/canary gate failed at 50%: candidate error rate 30\.00%/);
    const restore = fleet.last('spiky');
    expect(restore?.weights).toEqual({ v1: 1 });
    // At the next gate: the first window measured with the spike in it rolled back (counted in
    // gate evaluations, not in wall-clock time, which a busy machine stretches).
    expect(spikedWindows.get('spiky')).toBe(1);
    expect(fleet.unloaded).toContain('spiky/v2');
    const failed = (await steps(rolloutId)).filter((s) => s.verdict === 'failed');
    expect(failed[0]?.numbers).toMatchObject({ candidateErrors: 30, candidateRequests: 100 });
  });

  it('rejects at validation without touching traffic', async () => {
    rejectValidation.add('bad-artifact');
    const { handle, rolloutId } = await start('bad-artifact', policy());
    const result = await handle.result();
    expect(result.status).toBe('rejected');
    expect(result.reason).toContain('accuracy 0.41 < 0.6');
    expect(fleet.applied.filter((a) => a.model === 'bad-artifact')).toEqual([]);
    expect(fleet.prewarmed).not.toContain('bad-artifact/v2');
    const status = await t.db.selectFrom('model_versions').select('status').where('version', '=', 'v2')
      .where('model_id', '=', (await t.db.selectFrom('models').select('id').where('name', '=', 'bad-artifact').executeTakeFirstOrThrow()).id).executeTakeFirstOrThrow();
    expect(status.status).toBe('rejected');
    expect((await steps(rolloutId)).map((s) => s.step)).toContain('validate:accuracy');
  });

  /** The validateCandidate activity's attempts and failure, as the workflow's history records them. */
  async function validationHistory(handle: Awaited<ReturnType<typeof start>>['handle']) {
    const events = (await handle.fetchHistory()).events ?? [];
    const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'validateCandidate');
    const started = events.filter((e) => e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === scheduled?.eventId?.toString());
    const failed = events.find((e) => e.activityTaskFailedEventAttributes?.scheduledEventId?.toString() === scheduled?.eventId?.toString());
    return { attempts: started.map((e) => e.activityTaskStartedEventAttributes?.attempt), failure: failed?.activityTaskFailedEventAttributes?.failure };
  }

  it('a validator that throws rejects after one attempt, saying why in the outcome, the steps and the history', async () => {
    validationThrows.set('throwing-validator', () => new RangeError('output label is not float32'));
    const { handle, rolloutId, modelId } = await start('throwing-validator', policy());
    const result = await handle.result();
    expect(result.status).toBe('rejected');
    expect(result.reason).toBe('validation failed: the validator threw RangeError: output label is not float32');
    // One attempt: a check that throws throws again, so it is not retried.
    expect(validationCalls.get('throwing-validator')).toBe(1);
    const history = await validationHistory(handle);
    expect(history.attempts).toEqual([1]);
    expect(history.failure?.message).toBe('the validator threw RangeError: output label is not float32');
    expect(history.failure?.applicationFailureInfo).toMatchObject({ type: 'ValidationCheckError', nonRetryable: true });
    // The rollout's record: a failed check with the message, the outcome, the version rejected.
    const failedStep = (await steps(rolloutId)).find((s) => s.verdict === 'failed');
    expect(failedStep).toMatchObject({ step: 'validate:validator', reason: 'the validator threw RangeError: output label is not float32' });
    const rollout = await t.db.selectFrom('rollouts').select(['status', 'outcome_reason']).where('id', '=', rolloutId).executeTakeFirstOrThrow();
    expect(rollout).toEqual({ status: 'rejected', outcome_reason: result.reason });
    const version = await t.db.selectFrom('model_versions').select('status').where('model_id', '=', modelId).where('version', '=', 'v2').executeTakeFirstOrThrow();
    expect(version.status).toBe('rejected');
    // Traffic never touched: no generation pushed, none written beyond the seeded one.
    expect(fleet.applied.filter((a) => a.model === 'throwing-validator')).toEqual([]);
    expect(fleet.prewarmed).not.toContain('throwing-validator/v2');
    const generations = await t.db.selectFrom('traffic_generations').select('generation').where('model_id', '=', modelId).execute();
    expect(generations.map((g) => g.generation)).toEqual([1]);
  });

  it('a check that throws is recorded by name after the checks that passed before it', async () => {
    const passed = { name: 'sha256', verdict: 'successful' as const, reason: 'artifact sha256 matches', numbers: {} };
    validationThrows.set('throwing-check', () => new ValidationCheckError('accuracy', new RangeError('output label is not float32'), [passed]));
    const { handle, rolloutId } = await start('throwing-check', policy());
    const result = await handle.result();
    expect(result.status).toBe('rejected');
    expect(result.reason).toBe('validation failed: check accuracy threw RangeError: output label is not float32');
    expect(validationCalls.get('throwing-check')).toBe(1);
    const recorded = (await steps(rolloutId)).filter((s) => s.step.startsWith('validate:'));
    expect(recorded.map((s) => [s.step, s.verdict, s.reason])).toEqual([
      ['validate:sha256', 'successful', 'artifact sha256 matches'],
      ['validate:accuracy', 'failed', 'check accuracy threw RangeError: output label is not float32'],
    ]);
    expect(recorded[1]?.numbers).toMatchObject({ failureType: 'ValidationCheckError', retryState: 'NON_RETRYABLE_FAILURE' });
    expect((await validationHistory(handle)).failure?.message).toBe('check accuracy threw RangeError: output label is not float32');
    expect(fleet.applied.filter((a) => a.model === 'throwing-check')).toEqual([]);
  });

  it('an activity failure that ends a rollout gives the thrown message as the reason, not "Activity task failed"', async () => {
    fleet.failPrewarm.add('prewarm-fails');
    const { handle, rolloutId } = await start('prewarm-fails', policy());
    const failure = await handle.result().then(() => null, (err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause?.message).toBe('workflow failed: prewarmVersion: worker pool of prewarm-fails exploded');
    const rollout = await t.db.selectFrom('rollouts').select(['status', 'outcome_reason']).where('id', '=', rolloutId).executeTakeFirstOrThrow();
    expect(rollout).toEqual({ status: 'failed', outcome_reason: 'workflow failed: prewarmVersion: worker pool of prewarm-fails exploded' });
    expect(fleet.applied.filter((a) => a.model === 'prewarm-fails')).toEqual([]);
  });

  it('a candidate that vanishes from the registry ends the rollout after one attempt, naming what is missing', async () => {
    const { handle, rolloutId, modelId } = await start('vanishing', policy());
    // Renamed under the running rollout: promotion finds no version v2 to move production to.
    await t.db.updateTable('model_versions').set({ version: 'v2-renamed' }).where('model_id', '=', modelId).where('version', '=', 'v2').execute();
    const failure = await handle.result().then(() => null, (err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const reason = 'workflow failed: promoteVersion: RegistryNotFound: version vanishing/v2 does not exist';
    expect((failure as WorkflowFailedError).cause?.message).toBe(reason);
    const activity = (failure as WorkflowFailedError).cause?.cause as ActivityFailure;
    expect(activity).toBeInstanceOf(ActivityFailure);
    expect(activity.retryState).toBe(RetryState.NON_RETRYABLE_FAILURE);
    const rollout = await t.db.selectFrom('rollouts').select(['status', 'outcome_reason']).where('id', '=', rolloutId).executeTakeFirstOrThrow();
    expect(rollout).toEqual({ status: 'failed', outcome_reason: reason });
    // The compensation restored the last good split.
    expect(fleet.last('vanishing')?.weights).toEqual({ v1: 1 });
  });

  it('abort mid-canary restores the previous split', async () => {
    const p = policy({ canary: { steps: [{ weight: 0.2, bakeSeconds: 60 }], analysisIntervalSeconds: 0.5, gates: { minRequests: 10 } } });
    const { handle } = await start('aborted', p);
    await waitFor(() => fleet.last('aborted')?.weights.v2 === 0.2);
    await handle.executeUpdate(abortUpdate, { args: [{ by: 'alice', reason: 'looks wrong' }] });
    const result = await handle.result();
    expect(result.status).toBe('aborted');
    expect(result.reason).toBe('aborted by alice: looks wrong');
    expect(fleet.last('aborted')?.weights).toEqual({ v1: 1 });
    // A finished rollout takes no more updates.
    await expect(handle.executeUpdate(abortUpdate, { args: [{ by: 'alice' }] })).rejects.toThrow(/already completed/);
  });

  it('pause holds traffic steady until resume; updates that make no sense are refused', async () => {
    const p = policy({ canary: { steps: [{ weight: 0.1, bakeSeconds: 1 }, { weight: 0.3, bakeSeconds: 1 }], analysisIntervalSeconds: 0.5, gates: { minRequests: 10 } } });
    const { handle } = await start('paused', p);
    await waitFor(() => fleet.last('paused')?.weights.v2 === 0.1);
    expect(await refusal(handle.executeUpdate(resumeUpdate, { args: [{ by: 'bob' }] }))).toBe('rollout is not paused');
    const paused = await handle.executeUpdate(pauseUpdate, { args: [{ by: 'bob', reason: 'investigating' }] });
    expect(paused.paused).toBe(true);
    expect(await refusal(handle.executeUpdate(pauseUpdate, { args: [{ by: 'bob' }] }))).toMatch(/already paused/);
    const generationsWhilePaused = fleet.applied.filter((a) => a.model === 'paused').length;
    await new Promise((r) => setTimeout(r, 2500));
    expect(fleet.applied.filter((a) => a.model === 'paused').length).toBe(generationsWhilePaused);
    expect((await handle.query(stateQuery)).phase).toBe('canary');
    await handle.executeUpdate(resumeUpdate, { args: [{ by: 'bob' }] });
    expect((await handle.result()).status).toBe('promoted');
  });

  it('an approval gate waits for approve; approve when nothing waits is refused', async () => {
    const p = policy({ canary: { steps: [{ weight: 0.1, bakeSeconds: 0.5 }, { weight: 0.5, bakeSeconds: 0.5, requireApproval: true }], analysisIntervalSeconds: 0.5, gates: { minRequests: 10 } }, approval: { timeoutSeconds: 60 } });
    const { handle, rolloutId } = await start('approved', p);
    expect(await refusal(handle.executeUpdate(approveUpdate, { args: [{ by: 'carol' }] }))).toMatch(/nothing is waiting/);
    await waitFor(async () => (await handle.query(stateQuery)).waitingFor !== null);
    expect(fleet.last('approved')?.weights.v2).toBe(0.1);
    await handle.executeUpdate(approveUpdate, { args: [{ by: 'carol', reason: 'dashboards fine' }] });
    expect((await handle.result()).status).toBe('promoted');
    expect((await steps(rolloutId)).some((s) => s.step === 'approval' && s.reason === 'approved by carol: dashboards fine')).toBe(true);
  });

  it('an approval timeout follows the policy (roll back)', async () => {
    const p = policy({ canary: { steps: [{ weight: 0.1, bakeSeconds: 0.5 }, { weight: 0.5, bakeSeconds: 0.5, requireApproval: true }], analysisIntervalSeconds: 0.5, gates: { minRequests: 10 } }, approval: { timeoutSeconds: 1, onTimeout: 'rollback' } });
    const { handle } = await start('unapproved', p);
    const result = await handle.result();
    expect(result.status).toBe('rolled_back');
    expect(result.reason).toContain('no approval within 1 s');
    expect(fleet.last('unapproved')?.weights).toEqual({ v1: 1 });
  });

  it('setWeights validates its input and applies a valid override', async () => {
    const p = policy({ canary: { steps: [{ weight: 0.1, bakeSeconds: 3 }], analysisIntervalSeconds: 0.5, gates: { minRequests: 10 } } });
    const { handle } = await start('override', p);
    await waitFor(() => fleet.last('override')?.weights.v2 === 0.1);
    expect(await refusal(handle.executeUpdate(setWeightsUpdate, { args: [{ by: 'dan', weights: { v1: 0.5, v2: 0.6 } }] }))).toMatch(/sum to 1/);
    expect(await refusal(handle.executeUpdate(setWeightsUpdate, { args: [{ by: 'dan', weights: { v9: 1 } }] }))).toMatch(/unknown version v9/);
    await handle.executeUpdate(setWeightsUpdate, { args: [{ by: 'dan', weights: { v1: 0.75, v2: 0.25 } }] });
    await waitFor(() => fleet.last('override')?.weights.v2 === 0.25);
    expect((await handle.result()).status).toBe('promoted');
  });

  it('retries a half-applied split until every worker acks, with the same generation number', async () => {
    fleet.failAcks = 2;
    const { handle } = await start('flaky-fleet', policy({ canary: { steps: [{ weight: 0.1, bakeSeconds: 0.5 }], analysisIntervalSeconds: 0.5, gates: { minRequests: 10 } } }));
    expect((await handle.result()).status).toBe('promoted');
    expect(fleet.applied.filter((a) => a.model === 'flaky-fleet').map((a) => a.generation)).toEqual([2, 3]);
  });

  it('a second rollout for the same model is refused while one runs', async () => {
    const p = policy({ canary: { steps: [{ weight: 0.1, bakeSeconds: 5 }], analysisIntervalSeconds: 0.5, gates: { minRequests: 10 } } });
    const { handle } = await start('single', p);
    await expect(client.workflow.start(modelLifecycle, { taskQueue, workflowId: rolloutWorkflowId('single'), args: [{} as ModelLifecycleInput] }))
      .rejects.toThrow(/already started/i);
    await handle.executeUpdate(abortUpdate, { args: [{ by: 'test' }] });
    expect((await handle.result()).status).toBe('aborted');
  });

  describe('sequential A/B phase', () => {
    const abPolicy = () => policy({
      canary: { steps: [{ weight: 0.1, bakeSeconds: 0.5 }], analysisIntervalSeconds: 0.5, gates: { minRequests: 10 } },
      experiment: { kind: 'ab', primaryMetric: { name: 'converted' }, lookIntervalSeconds: 0.2, minSamplePerArm: 400, maxSamplePerArm: 4000 },
    });

    it('promotes a better candidate and records every look', async () => {
      conversion.set('ab-better', { control: 0.1, treatment: 0.16 });
      const { handle, rolloutId } = await start('ab-better', abPolicy());
      const result = await handle.result();
      expect(result.status).toBe('promoted');
      const experiment = await t.db.selectFrom('experiments').selectAll().where('rollout_id', '=', rolloutId).executeTakeFirstOrThrow();
      expect(experiment.status).toBe('decided');
      const recorded = await t.db.selectFrom('experiment_looks').selectAll().where('experiment_id', '=', experiment.id).orderBy('look').execute();
      expect(recorded.at(-1)?.decision).toBe('promote');
      expect(recorded.slice(0, -1).every((l) => l.decision === 'continue')).toBe(true);
      const abGeneration = fleet.applied.find((a) => a.model === 'ab-better' && a.weights.v2 === 0.5);
      expect(abGeneration).toBeDefined();
      expect(fleet.last('ab-better')?.weights).toEqual({ v2: 1 });
    });

    it('rolls back a worse candidate', async () => {
      conversion.set('ab-worse', { control: 0.16, treatment: 0.1 });
      const { handle } = await start('ab-worse', abPolicy());
      const result = await handle.result();
      expect(result.status).toBe('rolled_back');
      expect(fleet.last('ab-worse')?.weights).toEqual({ v1: 1 });
    });

    it('a sample-ratio mismatch ends the test with the baseline, at the policy\'s SRM threshold', async () => {
      // 400 vs 520 units at look 1 (p 7.6e-5), 800 vs 1040 at look 2 (p 2.2e-8), 1200 vs 1560 at look 3 (p 7e-12).
      const looksOf = async (rolloutId: string) => {
        const experiment = await t.db.selectFrom('experiments').select('id').where('rollout_id', '=', rolloutId).executeTakeFirstOrThrow();
        return await t.db.selectFrom('experiment_looks').select(['look', 'decision', 'result']).where('experiment_id', '=', experiment.id).orderBy('look').execute();
      };
      for (const model of ['ab-srm', 'ab-srm-lenient']) {
        conversion.set(model, { control: 0.12, treatment: 0.12 });
        skew.set(model, 1.3);
      }
      const strict = await start('ab-srm', abPolicy());
      expect((await strict.handle.result()).status).toBe('rolled_back');
      const strictLooks = await looksOf(strict.rolloutId);
      expect(strictLooks.map((l) => [l.look, l.decision, (l.result as { trigger: string }).trigger])).toEqual([[1, 'rollback', 'srm']]);

      const lenientPolicy = abPolicy();
      lenientPolicy.experiment.srmPValueThreshold = 1e-9;
      const lenient = await start('ab-srm-lenient', lenientPolicy);
      expect((await lenient.handle.result()).status).toBe('rolled_back');
      const lenientLooks = await looksOf(lenient.rolloutId);
      expect(lenientLooks.map((l) => [l.look, l.decision, (l.result as { trigger: string }).trigger])).toEqual([[1, 'continue', expect.any(String)], [2, 'continue', expect.any(String)], [3, 'rollback', 'srm']]);
    });

    it('keeps the baseline when there is no effect by the maximum sample', async () => {
      conversion.set('ab-equal', { control: 0.12, treatment: 0.12 });
      const { handle, rolloutId } = await start('ab-equal', abPolicy());
      const result = await handle.result();
      expect(result.status).toBe('kept_baseline');
      expect(fleet.last('ab-equal')?.weights).toEqual({ v1: 1 });
      const experiment = await t.db.selectFrom('experiments').select('id').where('rollout_id', '=', rolloutId).executeTakeFirstOrThrow();
      const lastLook = await t.db.selectFrom('experiment_looks').selectAll().where('experiment_id', '=', experiment.id).orderBy('look', 'desc').executeTakeFirstOrThrow();
      expect(lastLook.decision).toBe('stop_no_effect');
      expect(lastLook.look).toBe(10);
    });
  });

  it('bandit mode: Thompson allocation moves traffic to the best arm and promotes it; a replay allocates the same', async () => {
    conversion.set('bandit', { control: 0.1, arm1: 0.12, arm2: 0.16 });
    const p = policy({
      canary: { steps: [{ weight: 0.1, bakeSeconds: 0.5 }], analysisIntervalSeconds: 0.5, gates: { minRequests: 10 } },
      experiment: { kind: 'bandit', primaryMetric: { name: 'converted' }, lookIntervalSeconds: 0.2, minSamplePerArm: 1200, maxSamplePerArm: 40000, bandit: { candidates: ['v3'], minShare: 0.05, promoteThreshold: 0.95 } },
    });
    const seeded = await seedFixtureModel(t.db, { model: 'bandit', versions: { v1: 'logreg', v2: 'mlp', v3: 'logreg' }, production: 'v1' });
    await t.db.insertInto('traffic_generations').values({ model_id: seeded.modelId, generation: 1, weights: { v1: 1 }, created_by: 'seed' }).execute();
    const rolloutId = await seedRollout(t.db, { modelId: seeded.modelId, candidateId: seeded.versionIds.v2 ?? '', baselineId: seeded.versionIds.v1 ?? '', model: 'bandit', policy: p });
    const handle = await client.workflow.start(modelLifecycle, {
      taskQueue, workflowId: rolloutWorkflowId('bandit'),
      args: [{ rolloutId, model: 'bandit', candidateVersion: 'v2', baselineVersion: 'v1', policy: p, startedBy: 'test' } satisfies ModelLifecycleInput],
    });
    const result = await handle.result();
    expect(result.status, result.reason).toBe('promoted');
    expect(result.reason).toMatch(/^v3 is best with probability/);
    expect(fleet.last('bandit')?.weights).toEqual({ v3: 1 });
    const allocations = fleet.applied.filter((a) => a.model === 'bandit' && Object.keys(a.weights).length === 3);
    expect(allocations[0]?.weights).toEqual({ v1: 1 / 3, v2: 1 / 3, v3: 1 / 3 });
    const lastAllocation = allocations.at(-1)?.weights ?? {};
    expect(lastAllocation.v3).toBeGreaterThan(0.5);
    expect(Math.min(...Object.values(lastAllocation))).toBeGreaterThanOrEqual(0.05 - 1e-9);
    // The allocations are workflow state: replaying the history reproduces them exactly.
    const { Worker } = await import('@temporalio/worker');
    const history = await handle.fetchHistory();
    await Worker.runReplayHistory({ workflowsPath: (await import('node:module')).createRequire(import.meta.url).resolve('../../src/workflows/index.ts') }, history, 'bandit-replay');
  });

  it('keeps model, version and phase search attributes current for the Temporal UI', async () => {
    const { handle } = await start('searchable', policy({ canary: { steps: [{ weight: 0.1, bakeSeconds: 0.5 }], analysisIntervalSeconds: 0.5, gates: { minRequests: 10 } } }));
    await handle.result();
    const described = await handle.describe();
    expect(described.typedSearchAttributes.get(modelSearchAttribute)).toBe('searchable');
    expect(described.typedSearchAttributes.get(versionSearchAttribute)).toBe('v2');
    expect(described.typedSearchAttributes.get(phaseSearchAttribute)).toBe('completed');
    // Visibility is eventually consistent: poll the list query operators type in the UI.
    let found: string[] = [];
    for (let i = 0; i < 50 && found.length === 0; i++) {
      found = [];
      for await (const wf of client.workflow.list({ query: "SluiceModel = 'searchable' AND SluicePhase = 'completed'" })) found.push(wf.workflowId);
      if (found.length === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(found).toEqual([rolloutWorkflowId('searchable')]);
  });
});
