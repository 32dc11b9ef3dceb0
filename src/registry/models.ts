// Models: a named contract (task, description) that belongs to one project. Names are global,
// because serving workers address models by name, but every read here is scoped to a project so
// one tenant never learns of another's models.
import type { ModelContract } from '../contracts/contract.js';
import type { ContractHints } from '../contracts/infer.js';
import type { GoldenSet, Model, ModelVersion } from '../db/schema.js';
import type { LoopPolicy } from '../loop/policy.js';
import { jsonb, type Db } from './db.js';
import { isUniqueViolation, RegistryError } from './errors.js';

export const MODEL_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,127}$/;

export interface NewModel {
  projectId: string;
  name: string;
  description?: string;
  /** A contract declared up front: checked against the first version's signature when it registers. */
  contract?: ModelContract;
  /** Hints the first version's contract is inferred with, when none is declared. */
  hints?: ContractHints;
}

export async function createModel(db: Db, input: NewModel): Promise<Model> {
  if (!MODEL_NAME_PATTERN.test(input.name)) {
    throw new RegistryError('invalid', 'name must be 1-128 characters of a-z, 0-9, ".", "_" and "-", starting with a letter or digit', 'name');
  }
  try {
    return await db.insertInto('models')
      .values({
        project_id: input.projectId, name: input.name, description: input.description,
        // The task column mirrors the contract (or the declared task); readers take it from there (modelTask).
        ...(input.contract ?? input.hints?.task ? { task: input.contract?.task ?? input.hints?.task } : {}),
        contract: input.contract ? jsonb(input.contract) : null,
        contract_hints: input.hints && Object.keys(input.hints).length > 0 ? jsonb(input.hints) : null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (err) {
    // The name may be taken in another project; say only that it is not available.
    if (isUniqueViolation(err)) throw new RegistryError('conflict', `model name ${input.name} is not available`, 'name');
    throw err;
  }
}

/** A model by name, within a project when `projectId` is given (tenant-scoped reads always pass it). */
export async function findModel(db: Db, name: string, projectId?: string): Promise<Model | undefined> {
  let q = db.selectFrom('models').selectAll().where('name', '=', name);
  if (projectId !== undefined) q = q.where('project_id', '=', projectId);
  return await q.executeTakeFirst();
}

export async function getModel(db: Db, name: string, projectId?: string): Promise<Model> {
  const model = await findModel(db, name, projectId);
  if (!model) throw new RegistryError('not_found', `model ${name} not found`, 'model');
  return model;
}

/**
 * Stores the model's contract (checked by the caller against every signature it must fit, under
 * lockModel's row lock) and keeps the task column in step with it. Returns the updated row, or
 * undefined when there is no such model.
 */
export async function setModelContract(db: Db, modelId: string, contract: ModelContract): Promise<Model | undefined> {
  return await db.updateTable('models').set({ contract: jsonb(contract), task: contract.task }).where('id', '=', modelId).returningAll().executeTakeFirst();
}

/**
 * The model's row locked for the rest of the transaction (SELECT … FOR UPDATE), with how many
 * versions it has: registration reads the contract, checks the version against it and stores it
 * (or the inferred one) under this lock, so two first registrations cannot both think they are first.
 */
export async function lockModel(db: Db, modelId: string): Promise<{ model: Model; versionCount: number }> {
  const model = await db.selectFrom('models').selectAll().where('id', '=', modelId).forUpdate().executeTakeFirst();
  if (!model) throw new RegistryError('not_found', `model ${modelId} not found`, 'model');
  const count = await db.selectFrom('model_versions').select((e) => e.fn.countAll<string>().as('n')).where('model_id', '=', modelId).executeTakeFirstOrThrow();
  return { model, versionCount: Number(count.n) };
}

/** The model's task: its contract's, else the one declared at creation; null until either is known. */
export function modelTask(model: Pick<Model, 'contract' | 'contract_hints'>): ModelContract['task'] | null {
  return model.contract?.task ?? model.contract_hints?.task ?? null;
}

/** Every version of the model with its signature, oldest first: what a new contract must fit. */
export async function versionSignatures(db: Db, modelId: string): Promise<Array<Pick<ModelVersion, 'version' | 'signature' | 'status'>>> {
  return await db.selectFrom('model_versions').select(['version', 'signature', 'status']).where('model_id', '=', modelId).orderBy('id').execute();
}

/** Stores the model's loop policy (parsed by src/loop/validate.ts first); null: monitor with the defaults, no retrain. */
export async function setLoopPolicy(db: Db, modelId: string, policy: LoopPolicy | null): Promise<Model | undefined> {
  return await db.updateTable('models').set({ loop_policy: policy === null ? null : jsonb(policy) }).where('id', '=', modelId).returningAll().executeTakeFirst();
}

export async function findModelById(db: Db, id: string | number): Promise<Model | undefined> {
  return await db.selectFrom('models').selectAll().where('id', '=', String(id)).executeTakeFirst();
}

export interface ModelSummary extends Model {
  production_version: string | null;
  version_count: number;
  running_rollout_id: string | null;
}

export async function listModels(db: Db, projectId: string, opts: { limit?: number; offset?: number } = {}): Promise<ModelSummary[]> {
  const rows = await db.selectFrom('models as m')
    .selectAll('m')
    .select((eb) => [
      eb.selectFrom('model_versions as v').select('v.version').whereRef('v.model_id', '=', 'm.id').where('v.status', '=', 'production').limit(1).as('production_version'),
      eb.selectFrom('model_versions as v').select((e) => e.fn.countAll<string>().as('n')).whereRef('v.model_id', '=', 'm.id').as('version_count'),
      eb.selectFrom('rollouts as r').select('r.id').whereRef('r.model_id', '=', 'm.id').where('r.status', '=', 'running').limit(1).as('running_rollout_id'),
    ])
    .where('m.project_id', '=', projectId)
    .orderBy('m.name')
    .limit(opts.limit ?? 100)
    .offset(opts.offset ?? 0)
    .execute();
  return rows.map((r) => ({ ...r, production_version: r.production_version ?? null, version_count: Number(r.version_count ?? 0), running_rollout_id: r.running_rollout_id ?? null }));
}

export async function summarizeModel(db: Db, model: Model): Promise<ModelSummary> {
  const [production, count, running] = await Promise.all([
    db.selectFrom('model_versions').select('version').where('model_id', '=', model.id).where('status', '=', 'production').executeTakeFirst(),
    db.selectFrom('model_versions').select((e) => e.fn.countAll<string>().as('n')).where('model_id', '=', model.id).executeTakeFirstOrThrow(),
    db.selectFrom('rollouts').select('id').where('model_id', '=', model.id).where('status', '=', 'running').executeTakeFirst(),
  ]);
  return { ...model, production_version: production?.version ?? null, version_count: Number(count.n), running_rollout_id: running?.id ?? null };
}

/** The first thing wrong with a golden set, naming its field (e.g. features/3); null when it is usable. */
export function goldenSetProblem(g: GoldenSet): { field: string; message: string } | null {
  if (g.features.length === 0) return { field: 'features', message: 'needs at least one row' };
  const width = g.features[0]?.length ?? 0;
  if (width === 0) return { field: 'features/0', message: 'needs at least one value' };
  for (const [i, row] of g.features.entries()) {
    if (row.length !== width) return { field: `features/${i}`, message: `has ${row.length} values; row 0 has ${width}` };
    for (const [j, value] of row.entries()) {
      if (typeof value !== 'number' || !Number.isFinite(value)) return { field: `features/${i}/${j}`, message: 'must be a finite number' };
    }
  }
  if (g.labels.length !== g.features.length) return { field: 'labels', message: `has ${g.labels.length} labels; features has ${g.features.length} rows` };
  for (const [i, label] of g.labels.entries()) {
    if (typeof label !== 'number' || !Number.isFinite(label)) return { field: `labels/${i}`, message: 'must be a finite number' };
  }
  if (g.segments !== undefined) {
    if (g.segments.length !== g.features.length) return { field: 'segments', message: `has ${g.segments.length} segments; features has ${g.features.length} rows` };
    const bad = g.segments.findIndex((s) => typeof s !== 'string');
    if (bad >= 0) return { field: `segments/${bad}`, message: 'must be a string' };
  }
  return null;
}

/**
 * Sets the rows every candidate of the model is scored on before traffic moves (the validation
 * activity reads them). Refuses a golden set a validation run could not use.
 */
export async function setGoldenSet(db: Db, modelId: string, golden: GoldenSet): Promise<Model> {
  const problem = goldenSetProblem(golden);
  if (problem) throw new RegistryError('invalid', `${problem.field}: ${problem.message}`, problem.field);
  const stored: GoldenSet = { features: golden.features, labels: golden.labels, ...(golden.segments ? { segments: golden.segments } : {}) };
  // Setting rows replaces an attached golden dataset too: the last golden set set is the one in force.
  const row = await db.updateTable('models').set({ golden_set: jsonb(stored), golden_dataset_id: null }).where('id', '=', modelId).returningAll().executeTakeFirst();
  if (!row) throw new RegistryError('not_found', `model ${modelId} not found`, 'model');
  return row;
}
