import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { RolloutStatus } from '../../db/schema.js';
import { describePolicyErrors, parseRolloutPolicy, validationPolicyProblems } from '../../policy/index.js';
import { deleteAuditEntry, recordAudit } from '../../registry/audit.js';
import { findExperiment, listExperimentLooks, listRolloutExperiments } from '../../registry/experiments.js';
import {
  deleteRollout, failRollout, findRollout, insertRollout, listRollouts, listRolloutSteps, newRolloutId, runningRolloutForModel, type RolloutView,
} from '../../registry/rollouts.js';
import { findVersion, productionVersion } from '../../registry/versions.js';
import { rolloutWorkflowId, type RolloutState } from '../../workflows/messages.js';
import { auditOnly, modelOf, versionOf } from '../context.js';
import { principalOf } from '../plugins/auth.js';
import { presentExperiment, presentLook, presentRollout, presentStep, temporalUiUrl } from '../present.js';
import { ApiError } from '../problem.js';
import {
  ExperimentReportOut, HistoryOut, Limit, OperatorBody, Phase, RolloutDetailOut, RolloutOut, RolloutParams, RolloutStartBody,
  RolloutStartOut, RolloutStateOut, RolloutStatus as RolloutStatusSchema, SetWeightsBody, withErrors,
} from '../schemas.js';
import { buildExperimentReport } from '../services/report.js';
import type { RolloutAction } from '../services/temporal.js';

/** A running row younger than this may be a start still in flight; it is never reconciled. */
const STALE_START_MS = 60_000;

const ListQuery = Type.Object({
  model: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  phase: Type.Optional(Phase),
  status: Type.Optional(RolloutStatusSchema),
  limit: Limit(50, 500),
  offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
}, { additionalProperties: false });

const ExperimentParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' }) }, { additionalProperties: false });

/** What the audit log keeps of a workflow state: enough to see what changed. */
function stateSummary(s: RolloutState | null) {
  if (!s) return null;
  return { phase: s.phase, paused: s.paused, step: s.step, generation: s.generation, weights: s.weights, waitingFor: s.waitingFor, outcome: s.outcome };
}

export const rolloutRoutes: FastifyPluginAsync = async (app) => {
  const ui = () => ({ base: app.rollouts.uiUrl, namespace: app.rollouts.namespace });

  async function rolloutOf(request: FastifyRequest, id: string): Promise<RolloutView> {
    const rollout = await findRollout(app.db, id, principalOf(request).projectId);
    if (!rollout) throw new ApiError(404, 'not_found', `rollout ${id} not found`, 'id');
    return rollout;
  }

  app.post<{ Body: Static<typeof RolloutStartBody> }>('/v1/rollouts', {
    config: { role: 'deployer' },
    schema: {
      summary: 'Start a rollout of a version (one lifecycle workflow per model)',
      description: 'The policy is validated first (400 naming the field); the baseline is the model\'s production version. '
        + 'Returns the workflow id and a link to its page in the Temporal UI.',
      tags: ['rollouts'],
      body: RolloutStartBody,
      response: withErrors({ 201: RolloutStartOut }, [404, 409, 503, 504]),
    },
  }, async (request, reply) => {
    const principal = principalOf(request);
    const model = await modelOf(app, request, request.body.model);
    const parsed = parseRolloutPolicy(request.body.policy);
    if (!parsed.ok) {
      const errors = parsed.errors.map((e) => ({ field: `body/policy${e.field === '/' ? '' : e.field}`, message: e.message }));
      throw new ApiError(400, 'invalid_policy', `policy: ${describePolicyErrors(parsed.errors)}`, errors[0]?.field ?? 'body/policy', errors);
    }
    const policy = parsed.policy;
    // Metrics the model's task does not have (rmse for a classifier) are refused now, naming the field.
    const taskProblems = model.contract ? validationPolicyProblems(policy.validation, model.contract.task) : [];
    if (taskProblems.length > 0) {
      const errors = taskProblems.map((e) => ({ field: `body/policy${e.field}`, message: e.message }));
      throw new ApiError(400, 'invalid_policy', `policy: ${describePolicyErrors(taskProblems)}`, errors[0]?.field ?? 'body/policy', errors);
    }
    const candidate = await versionOf(app.db, model, request.body.version);
    if (candidate.status === 'rejected') throw new ApiError(409, 'version_rejected', `version ${candidate.version} failed validation and cannot be rolled out; register a new version`, 'version');
    if (candidate.status === 'retired') throw new ApiError(409, 'version_retired', `version ${candidate.version} is retired`, 'version');
    if (candidate.status === 'production') throw new ApiError(409, 'already_production', `version ${candidate.version} already serves production`, 'version');
    for (const [i, extra] of policy.experiment.bandit.candidates.entries()) {
      const v = await findVersion(app.db, model.id, extra);
      if (!v || v.status === 'rejected' || v.status === 'retired') {
        throw new ApiError(400, 'invalid_policy', `policy/experiment/bandit/candidates/${i}: version ${extra} is ${v ? v.status : 'not registered'}`, `body/policy/experiment/bandit/candidates/${i}`);
      }
    }
    const running = await runningRolloutForModel(app.db, model.id);
    if (running) {
      // A row left 'running' by a start that never reached Temporal (or a workflow that ended
      // without closing its row) must not block the model forever: once it is old enough not to
      // be a start in flight, and Temporal has no running workflow for it, it is closed as failed.
      const stale = Date.now() - running.started_at.getTime() > STALE_START_MS && !(await app.rollouts.isRunning(running.workflow_id));
      if (!stale) throw new ApiError(409, 'rollout_running', `model ${model.name} already has a running rollout: ${running.id}`, 'model');
      await app.db.transaction().execute(async (trx) => {
        const closed = await failRollout(trx, running.id, 'no running workflow found for this rollout; closed when a new rollout started');
        if (closed) {
          await recordAudit(trx, {
            projectId: principal.projectId, actor: principal.actor, action: 'rollout.reconcile', targetType: 'rollout', targetId: running.id,
            before: { status: 'running', phase: running.phase }, after: { status: 'failed', reason: closed.outcome_reason }, requestId: String(request.id),
          });
        }
      });
    }
    const baseline = await productionVersion(app.db, model.id);

    const id = newRolloutId();
    const workflowId = rolloutWorkflowId(model.name);
    // The row and its audit entry commit first, so the workflow finds its row from its first activity on.
    const auditId = await app.db.transaction().execute(async (trx) => {
      const row = await insertRollout(trx, {
        id, workflowId, modelId: model.id, candidateVersionId: candidate.id, baselineVersionId: baseline?.id ?? null,
        policy: policy as unknown as Record<string, unknown>, startedBy: principal.actor,
      });
      return await recordAudit(trx, {
        projectId: principal.projectId, actor: principal.actor, action: 'rollout.start', targetType: 'rollout', targetId: id,
        after: { model: model.name, candidate: candidate.version, baseline: baseline?.version ?? null, workflowId, policy: row.policy },
        requestId: String(request.id),
      });
    });
    let runId: string;
    try {
      ({ runId } = await app.rollouts.start(workflowId, {
        rolloutId: id, model: model.name, candidateVersion: candidate.version, baselineVersion: baseline?.version ?? null,
        policy, startedBy: principal.actor,
      }));
    } catch (err) {
      // No workflow, no rollout: take the row and its audit entry back.
      await app.db.transaction().execute(async (trx) => {
        await deleteAuditEntry(trx, auditId);
        await deleteRollout(trx, id);
      });
      throw err;
    }
    const view = await findRollout(app.db, id);
    if (!view) throw new Error(`rollout ${id} vanished after start`);
    const out = presentRollout(view, ui());
    return reply.status(201).send({ ...out, runId, temporalUiUrl: temporalUiUrl(app.rollouts.uiUrl, app.rollouts.namespace, workflowId, runId) });
  });

  app.get<{ Querystring: Static<typeof ListQuery> }>('/v1/rollouts', {
    config: { role: 'viewer' },
    schema: {
      summary: 'List rollouts, newest first (filter by model, phase, status)',
      tags: ['rollouts'],
      querystring: ListQuery,
      response: withErrors({ 200: Type.Object({ rollouts: Type.Array(RolloutOut) }) }),
    },
  }, async (request) => {
    const q = request.query;
    const rows = await listRollouts(app.db, {
      projectId: principalOf(request).projectId, model: q.model, phase: q.phase, status: q.status as RolloutStatus | undefined, limit: q.limit, offset: q.offset,
    });
    return { rollouts: rows.map((r) => presentRollout(r, ui())) };
  });

  app.get<{ Params: Static<typeof RolloutParams> }>('/v1/rollouts/:id', {
    config: { role: 'viewer' },
    schema: {
      summary: 'Get a rollout and, while it runs, its live workflow state',
      tags: ['rollouts'],
      params: RolloutParams,
      response: withErrors({ 200: RolloutDetailOut }, [404]),
    },
  }, async (request) => {
    const rollout = await rolloutOf(request, request.params.id);
    let state: RolloutState | null = null;
    let stateError: string | null = null;
    if (rollout.status === 'running') {
      try {
        state = await app.rollouts.state(rollout.workflow_id);
      } catch (err) {
        stateError = err instanceof ApiError ? err.message : 'the workflow did not answer the state query';
        if (!(err instanceof ApiError)) request.log.warn({ err }, 'state query failed');
      }
    }
    return { ...presentRollout(rollout, ui()), state, stateError };
  });

  app.get<{ Params: Static<typeof RolloutParams> }>('/v1/rollouts/:id/state', {
    config: { role: 'viewer' },
    schema: {
      summary: 'The workflow\'s live state (the state query): phase, step, weights, latest statistics, recent decisions',
      tags: ['rollouts'],
      params: RolloutParams,
      response: withErrors({ 200: RolloutStateOut }, [404, 409, 503, 504]),
    },
  }, async (request) => {
    const rollout = await rolloutOf(request, request.params.id);
    return await app.rollouts.state(rollout.workflow_id);
  });

  const actions: Array<{ action: RolloutAction; role: 'deployer' | 'approver'; summary: string }> = [
    { action: 'pause', role: 'deployer', summary: 'Pause the rollout where it stands (traffic stays as it is)' },
    { action: 'resume', role: 'deployer', summary: 'Resume a paused rollout' },
    { action: 'abort', role: 'deployer', summary: 'Abort the rollout: traffic goes back to the baseline' },
    { action: 'approve', role: 'approver', summary: 'Approve the step the rollout waits on' },
  ];
  for (const { action, role, summary } of actions) {
    app.post<{ Params: Static<typeof RolloutParams>; Body: Static<typeof OperatorBody> }>(`/v1/rollouts/:id/${action}`, {
      config: { role },
      schema: {
        summary,
        description: 'Sent to the workflow as an update; when its validator refuses, the answer is 409 with the reason.',
        tags: ['rollouts'],
        params: RolloutParams,
        body: OperatorBody,
        response: withErrors({ 200: RolloutStateOut }, [404, 409, 503, 504]),
      },
    }, async (request) => {
      const rollout = await rolloutOf(request, request.params.id);
      if (rollout.status !== 'running') throw new ApiError(409, 'rollout_not_running', `rollout ${rollout.id} is ${rollout.status}`, 'id');
      const before = await app.rollouts.state(rollout.workflow_id).catch(() => null);
      const state = await app.rollouts.act(rollout.workflow_id, action, { by: principalOf(request).actor, ...(request.body.reason ? { reason: request.body.reason } : {}) });
      await auditOnly(app, request, { action: `rollout.${action}`, targetType: 'rollout', targetId: rollout.id },
        stateSummary(before), { ...stateSummary(state), reason: request.body.reason ?? null });
      return state;
    });
  }

  app.put<{ Params: Static<typeof RolloutParams>; Body: Static<typeof SetWeightsBody> }>('/v1/rollouts/:id/weights', {
    config: { role: 'admin' },
    schema: {
      summary: 'Override the traffic weights of a running rollout',
      description: 'Weights are {version: share} summing to 1; the workflow applies them as a new generation or refuses (409).',
      tags: ['rollouts'],
      params: RolloutParams,
      body: SetWeightsBody,
      response: withErrors({ 200: RolloutStateOut }, [404, 409, 503, 504]),
    },
  }, async (request) => {
    const { weights, reason } = request.body;
    const entries = Object.entries(weights);
    if (entries.length === 0) throw new ApiError(400, 'invalid_request', 'body/weights: needs at least one version', 'body/weights');
    const sum = entries.reduce((a, [, w]) => a + w, 0);
    if (Math.abs(sum - 1) > 1e-6) throw new ApiError(400, 'invalid_request', `body/weights: shares must sum to 1 (they sum to ${sum})`, 'body/weights');
    const rollout = await rolloutOf(request, request.params.id);
    if (rollout.status !== 'running') throw new ApiError(409, 'rollout_not_running', `rollout ${rollout.id} is ${rollout.status}`, 'id');
    const model = await modelOf(app, request, rollout.model);
    for (const version of Object.keys(weights)) {
      const v = await findVersion(app.db, model.id, version);
      if (!v) throw new ApiError(400, 'invalid_request', `body/weights/${version}: no such version of model ${model.name}`, `body/weights/${version}`);
    }
    const before = await app.rollouts.state(rollout.workflow_id).catch(() => null);
    const state = await app.rollouts.setWeights(rollout.workflow_id, { weights, by: principalOf(request).actor, ...(reason ? { reason } : {}) });
    await auditOnly(app, request, { action: 'rollout.set_weights', targetType: 'rollout', targetId: rollout.id },
      stateSummary(before), { ...stateSummary(state), requested: weights, reason: reason ?? null });
    return state;
  });

  app.get<{ Params: Static<typeof RolloutParams> }>('/v1/rollouts/:id/history', {
    config: { role: 'viewer' },
    schema: {
      summary: 'The recorded steps of a rollout, and its experiments with every look',
      tags: ['rollouts'],
      params: RolloutParams,
      response: withErrors({ 200: HistoryOut }, [404]),
    },
  }, async (request) => {
    const rollout = await rolloutOf(request, request.params.id);
    const [steps, experiments] = await Promise.all([listRolloutSteps(app.db, rollout.id), listRolloutExperiments(app.db, rollout.id)]);
    const withLooks = await Promise.all(experiments.map(async (e) => ({
      ...presentExperiment(e), looks: (await listExperimentLooks(app.db, e.id)).map(presentLook),
    })));
    return { rollout: presentRollout(rollout, ui()), steps: steps.map(presentStep), experiments: withLooks };
  });

  app.get<{ Params: Static<typeof RolloutParams> }>('/v1/rollouts/:id/report', {
    config: { role: 'viewer' },
    schema: {
      summary: 'The rollout\'s A/B test report: per-arm statistics, the confidence sequence over looks, SRM, guardrails, decision',
      tags: ['experiments'],
      params: RolloutParams,
      response: withErrors({ 200: ExperimentReportOut }, [404]),
    },
  }, async (request) => {
    const rollout = await rolloutOf(request, request.params.id);
    const experiments = await listRolloutExperiments(app.db, rollout.id);
    const experiment = experiments[experiments.length - 1];
    if (!experiment) throw new ApiError(404, 'no_experiment', `rollout ${rollout.id} has no experiment (yet)`, 'id');
    return buildExperimentReport(rollout, experiment, await listExperimentLooks(app.db, experiment.id));
  });

  app.get<{ Params: Static<typeof ExperimentParams> }>('/v1/experiments/:id', {
    config: { role: 'viewer' },
    schema: {
      summary: 'An experiment\'s report by experiment id',
      tags: ['experiments'],
      params: ExperimentParams,
      response: withErrors({ 200: ExperimentReportOut }, [404]),
    },
  }, async (request) => {
    const { projectId } = principalOf(request);
    const experiment = await findExperiment(app.db, request.params.id, projectId);
    if (!experiment) throw new ApiError(404, 'not_found', `experiment ${request.params.id} not found`, 'id');
    const rollout = await rolloutOf(request, experiment.rollout_id);
    return buildExperimentReport(rollout, experiment, await listExperimentLooks(app.db, experiment.id));
  });
};
