import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { GoldenSet } from '../../db/schema.js';
import { checkVersion, describeContract } from '../../contracts/index.js';
import {
  createModel, goldenSetProblem, listModels, lockModel, modelTask, setGoldenSet, setModelContract, summarizeModel, versionSignatures,
} from '../../registry/models.js';
import { runningRolloutForModel } from '../../registry/rollouts.js';
import { audited, modelOf } from '../context.js';
import { principalOf } from '../plugins/auth.js';
import { presentModel } from '../present.js';
import { ApiError } from '../problem.js';
import { ContractBody, GoldenSetBody, GoldenSetOut, Limit, ModelBody, ModelOut, ModelParams, withErrors } from '../schemas.js';

/** What the API and the audit log say of a golden set: its size, not its rows. */
function goldenSetSummary(model: string, g: GoldenSet): GoldenSetOut {
  return { model, rows: g.features.length, width: g.features[0]?.length ?? 0, segments: [...new Set(g.segments ?? [])].sort() };
}

const ListQuery = Type.Object({ limit: Limit(100, 500), offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }) }, { additionalProperties: false });

export const modelRoutes: FastifyPluginAsync = async (app) => {
  app.post<{ Body: Static<typeof ModelBody> }>('/v1/models', {
    config: { role: 'deployer' },
    schema: {
      summary: 'Create a model (a named contract in your project)',
      description: 'Without a contract, the first version registered gives the model the contract inferred from its signature '
        + '(task and featureNames, when given, steer the inference). A contract given here is checked against the first version\'s '
        + 'signature when it registers; a version it does not fit is refused, naming the contract\'s field.',
      tags: ['models'],
      body: ModelBody,
      response: withErrors({ 201: ModelOut }, [409]),
    },
  }, async (request, reply) => {
    const { projectId } = principalOf(request);
    const { name, description, task, featureNames, contract } = request.body;
    if (contract) {
      // Hints steer an inference; a declared contract has nothing left to infer.
      const hint = task !== undefined ? 'task' : featureNames !== undefined ? 'featureNames' : null;
      if (hint) throw new ApiError(400, 'invalid_request', `body/${hint}: give the contract or hints to infer one, not both (the contract says ${hint === 'task' ? 'its task' : 'its inputs\' features'})`, `body/${hint}`);
    }
    const hints = { ...(task ? { task } : {}), ...(featureNames ? { featureNames } : {}) };
    const out = await audited(app, request, { action: 'model.create', targetType: 'model', targetId: name }, async (trx) => {
      const model = await createModel(trx, { projectId, name, description, ...(contract ? { contract } : {}), hints });
      const summary = await summarizeModel(trx, model);
      return { result: presentModel(summary), after: { name: model.name, task: modelTask(model), description: model.description, contract: model.contract, hints: model.contract_hints } };
    });
    return reply.status(201).send(out);
  });

  app.get<{ Querystring: Static<typeof ListQuery> }>('/v1/models', {
    config: { role: 'viewer' },
    schema: {
      summary: 'List your project\'s models',
      tags: ['models'],
      querystring: ListQuery,
      response: withErrors({ 200: Type.Object({ models: Type.Array(ModelOut) }) }),
    },
  }, async (request) => {
    const rows = await listModels(app.db, principalOf(request).projectId, request.query);
    return { models: rows.map(presentModel) };
  });

  app.get<{ Params: Static<typeof ModelParams> }>('/v1/models/:model', {
    config: { role: 'viewer' },
    schema: {
      summary: 'Get a model',
      tags: ['models'],
      params: ModelParams,
      response: withErrors({ 200: ModelOut }, [404]),
    },
  }, async (request) => {
    const model = await modelOf(app, request, request.params.model);
    return presentModel(await summarizeModel(app.db, model));
  });

  app.put<{ Params: Static<typeof ModelParams>; Body: GoldenSetBody }>('/v1/models/:model/golden-set', {
    config: { role: 'deployer' },
    schema: {
      summary: 'Set the golden set every candidate of the model is scored on before traffic moves',
      description: 'Rows of model inputs (finite numbers, every row the same width), one label per row and, for the fairness check, '
        + 'optionally one segment per row. Replaces the previous golden set (a golden dataset too: see PUT golden-dataset); validation of later rollouts uses it.',
      tags: ['models'],
      params: ModelParams,
      body: GoldenSetBody,
      response: withErrors({ 200: GoldenSetOut }, [404, 413]),
    },
  }, async (request) => {
    const model = await modelOf(app, request, request.params.model);
    const problem = goldenSetProblem(request.body);
    if (problem) throw new ApiError(400, 'invalid_request', `body/${problem.field}: ${problem.message}`, `body/${problem.field}`);
    return await audited(app, request, { action: 'model.golden_set', targetType: 'model', targetId: model.name }, async (trx) => {
      const row = await setGoldenSet(trx, model.id, request.body);
      const after = goldenSetSummary(model.name, row.golden_set ?? request.body);
      return { result: after, before: model.golden_set ? goldenSetSummary(model.name, model.golden_set) : null, after };
    });
  });

  app.put<{ Params: Static<typeof ModelParams>; Body: Static<typeof ContractBody> }>('/v1/models/:model/contract', {
    config: { role: 'deployer' },
    schema: {
      summary: 'Declare or replace the model\'s contract',
      description: 'The contract replaces the stored one only when every version of the model (retired ones aside) keeps it; '
        + 'otherwise 409 names each version that breaks it and how. Refused while a rollout runs, whose checks read the contract.',
      tags: ['models'],
      params: ModelParams,
      body: ContractBody,
      response: withErrors({ 200: ModelOut }, [404, 409]),
    },
  }, async (request) => {
    const found = await modelOf(app, request, request.params.model);
    const { contract, reason } = request.body;
    return await audited(app, request, { action: 'model.contract', targetType: 'model', targetId: found.name }, async (trx) => {
      // Under the model's row lock, so a version registering meanwhile is checked against one contract or the other.
      const { model } = await lockModel(trx, found.id);
      const running = await runningRolloutForModel(trx, model.id);
      if (running) throw new ApiError(409, 'conflict', `rollout ${running.id} is running for model ${model.name}; change the contract when it has ended`, 'model');
      const versions = (await versionSignatures(trx, model.id)).filter((v) => v.status !== 'retired');
      const broken = versions.flatMap((v) => {
        const check = checkVersion(contract, v.signature, v.version);
        return check.ok ? [] : [{ version: v.version, check }];
      });
      if (broken.length > 0) {
        const errors = broken.flatMap(({ version, check }) => check.problems.map((p) => ({ field: `body/contract${p.field}`, message: `version ${version}: ${p.message}` })));
        throw new ApiError(409, 'conflict', `the contract does not fit version${broken.length === 1 ? '' : 's'} ${broken.map((b) => b.version).join(', ')} `
          + `of model ${model.name}: ${broken.map((b) => b.check.message).join(' ')}`, errors[0]?.field ?? 'body/contract', errors);
      }
      const row = await setModelContract(trx, model.id, contract);
      if (!row) throw new ApiError(404, 'not_found', `model ${model.name} not found`, 'model');
      return {
        result: presentModel(await summarizeModel(trx, row)),
        before: { contract: model.contract },
        after: { contract, description: describeContract(contract), reason: reason ?? null, checkedVersions: versions.map((v) => v.version) },
      };
    });
  });
};
