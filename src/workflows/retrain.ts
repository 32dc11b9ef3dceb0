// A retrain, from its trigger to a new version in the lifecycle: gather the training data → train
// → evaluate on the holdout against production → register (lineage, reference profile) → start
// `modelLifecycle` for the new version. Every outcome ends the retrains row: registered (with the
// rollout it entered), not_better (the holdout's numbers, no version, no rollout) or failed (the
// reason; production untouched). Deterministic: every side effect is an activity.
//
// The lifecycle starts as a child workflow with parentClosePolicy ABANDON, not from an activity
// with a Temporal client: the start is then an event in this history, so a replay or a retried
// task never starts it twice and no activity needs a client of its own; ABANDON lets the rollout
// (hours, days) outlive the retrain, which ends once the rollout has started. Its id is the
// model's rollout id, as when the API starts one, so "one rollout per model" still holds.
import { ParentClosePolicy, setHandler, startChild, workflowInfo } from '@temporalio/workflow';
import type { GatheredData, HoldoutEvaluation, TrainedCandidate } from '../activities/retrain.js';
import { retrainPolicyWithDefaults } from '../loop/policy.js';
import { modelSearchAttribute, phaseSearchAttribute, versionSearchAttribute } from '../shared/search-attributes.js';
import { retrainData, trainer } from './activity-profiles.js';
import { failureReason } from './failures.js';
import { modelLifecycle } from './lifecycle.js';
import { notify } from './notify.js';
import {
  retrainStateQuery, rolloutWorkflowId, type RetrainInput, type RetrainPhase, type RetrainResult, type RetrainState,
} from './messages.js';

interface Run {
  input: RetrainInput;
  state: RetrainState;
}

function enter(run: Run, phase: RetrainPhase): void {
  run.state.phase = phase;
}

async function finish(run: Run, result: RetrainResult): Promise<RetrainResult> {
  const { retrainId } = run.input;
  await retrainData.finishRetrainRun({ retrainId, status: result.status, reason: result.reason, version: result.version });
  run.state.phase = 'finished';
  run.state.outcome = result;
  await notify({ model: run.input.model, event: 'retrain_ended', retrainId, status: result.status, reason: result.reason, version: result.version, rolloutId: result.rolloutId });
  return result;
}

/** 1–3: data, trainer, holdout. */
async function trainAndEvaluate(run: Run): Promise<{ data: GatheredData; candidate: TrainedCandidate; evaluation: HoldoutEvaluation }> {
  const { retrainId, model, parentVersion, policy } = run.input;
  const request = { retrainId, model, parentVersion, policy };
  enter(run, 'gathering');
  const data = await retrainData.gatherTrainingData(request);
  enter(run, 'training');
  const candidate = await trainer.trainModel({ ...request, data });
  enter(run, 'evaluating');
  const evaluation = await retrainData.evaluateOnHoldout({ ...request, data, candidate });
  return { data, candidate, evaluation };
}

/** 5: the new version's rollout: its row, then its lifecycle workflow. Returns the rollout id, or why there is none. */
async function startRollout(run: Run, version: string): Promise<{ rolloutId: string } | { rolloutId: null; reason: string }> {
  const { retrainId, model, policy, requestedBy } = run.input;
  enter(run, 'starting_rollout');
  const workflowId = rolloutWorkflowId(model);
  const opened = await retrainData.openRetrainRollout({ retrainId, model, version, workflowId, rolloutPolicy: policy.rolloutPolicy, requestedBy });
  if (opened.rolloutId === null) return opened;
  try {
    await startChild(modelLifecycle, {
      workflowId,
      args: [{ rolloutId: opened.rolloutId, model, candidateVersion: version, baselineVersion: opened.baselineVersion, policy: opened.policy, startedBy: requestedBy }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      taskQueue: workflowInfo().taskQueue,
      typedSearchAttributes: [
        { key: modelSearchAttribute, value: model }, { key: versionSearchAttribute, value: version }, { key: phaseSearchAttribute, value: 'pending' },
      ],
    });
  } catch (err) {
    const reason = `the rollout of ${version} could not start: ${failureReason(err)}`;
    await retrainData.abandonRetrainRollout({ rolloutId: opened.rolloutId, reason });
    return { rolloutId: null, reason };
  }
  run.state.rolloutId = opened.rolloutId;
  return { rolloutId: opened.rolloutId };
}

export async function modelRetrain(given: RetrainInput): Promise<RetrainResult> {
  const input = { ...given, policy: retrainPolicyWithDefaults(given.policy) };
  const run: Run = { input, state: { retrainId: input.retrainId, model: input.model, phase: 'gathering', version: null, rolloutId: null, outcome: null } };
  setHandler(retrainStateQuery, () => run.state);
  await notify({ model: input.model, event: 'retrain_started', retrainId: input.retrainId, cause: input.cause, parentVersion: input.parentVersion });
  let version: string | null = null;
  try {
    const { data, candidate, evaluation } = await trainAndEvaluate(run);
    if (!evaluation.better) return await finish(run, { status: 'not_better', reason: evaluation.reason, version: null, rolloutId: null });
    enter(run, 'registering');
    const { retrainId, model, parentVersion, policy, cause } = input;
    ({ version } = await retrainData.registerRetrainedVersion({ retrainId, model, parentVersion, policy, cause, data, candidate, evaluation }));
    run.state.version = version;
    const rollout = await startRollout(run, version);
    const registered = `registered ${version} (${evaluation.reason})`;
    return await finish(run, 'reason' in rollout
      ? { status: 'registered', reason: `${registered}; ${rollout.reason}`, version, rolloutId: null }
      : { status: 'registered', reason: `${registered}; rollout ${rollout.rolloutId} started`, version, rolloutId: rollout.rolloutId });
  } catch (err) {
    return await finish(run, { status: 'failed', reason: failureReason(err), version, rolloutId: null });
  }
}
