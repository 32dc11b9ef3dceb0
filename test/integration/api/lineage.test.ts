// Lineage over real HTTP and a real database: a person's registrations record their parent (the
// production version at the time) and cause; a retrained version shows its drift cause, data
// window, trainer and retrain; validation and rollout outcomes come from the rollouts. Then the CLI.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LineageOut } from '../../../src/api/schemas.js';
import { lineageChain } from '../../../src/cli/lineage-commands.js';
import type { VersionLineage } from '../../../src/loop/lineage.js';
import { parseToken } from '../../../src/registry/keys.js';
import { getModel } from '../../../src/registry/models.js';
import { createRetrain, finishRetrain, newRetrainId, setVersionLineage } from '../../../src/registry/retrains.js';
import { completeRollout, recordRolloutStep } from '../../../src/registry/rollouts.js';
import { promoteVersion } from '../../../src/registry/versions.js';
import { seedFixtureModel, seedRollout } from '../../support/seed.js';
import { fixture, readManifest, startHarness, type Harness } from './harness.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const MODEL = 'lineage-credit';

describe('lineage', () => {
  let h: Harness;
  let deployerActor: string;
  let retrainId: string;
  let skippedId: string;
  const rolloutIds: Record<string, string> = {};

  const upload = async (version: string, file: string) => {
    const bytes = await fixture(file);
    const res = await h.call('POST', `/v1/models/${MODEL}/versions/upload?version=${version}&sha256=${sha(bytes)}`, {
      key: h.keys.deployer, raw: bytes, headers: { 'content-type': 'application/octet-stream' },
    });
    expect(res.status, res.text).toBe(201);
  };
  const step = (rolloutId: string, seq: number, step: string, verdict: 'successful' | 'failed', reason: string) =>
    recordRolloutStep(h.t.db, { rolloutId, seq, at: new Date().toISOString(), phase: 'validating', step, verdict, reason, numbers: {} });

  beforeAll(async () => {
    h = await startHarness({ temporal: false });
    deployerActor = `key:${parseToken(h.keys.deployer)?.id}`;
    const manifest = await readManifest();
    expect((await h.call('POST', '/v1/models', { key: h.keys.deployer, body: { name: MODEL } })).status).toBe(201);

    // 1 registered with nothing in production; promoted; 2 registered while 1 serves.
    await upload('1', manifest.models[0]!.file);
    const model = await getModel(h.t.db, MODEL, 'default');
    await promoteVersion(h.t.db, model, '1', 'test');
    await upload('2', manifest.models[1]!.file);

    // 2 went through a rollout: validated, then promoted.
    const ids = Object.fromEntries((await h.t.db.selectFrom('model_versions').select(['id', 'version']).where('model_id', '=', model.id).execute()).map((v) => [v.version, v.id]));
    rolloutIds['2'] = await seedRollout(h.t.db, { modelId: model.id, candidateId: ids['2']!, baselineId: ids['1']!, model: MODEL, policy: {} });
    await step(rolloutIds['2'], 1, 'validate:sha256', 'successful', 'artifact sha256 matches');
    await step(rolloutIds['2'], 2, 'validate:accuracy', 'successful', 'accuracy 0.81 ≥ 0.6');
    await recordRolloutStep(h.t.db, { rolloutId: rolloutIds['2'], seq: 3, at: new Date().toISOString(), phase: 'canary', step: 'canary:1', verdict: 'successful', reason: 'healthy', numbers: {} });
    await completeRollout(h.t.db, rolloutIds['2'], 'promoted', 'canary healthy');
    await promoteVersion(h.t.db, model, '2', 'test');

    // 3 came from a retrain after drift (the retrain workflow's writes, made here through the same repository).
    retrainId = newRetrainId();
    await createRetrain(h.t.db, { id: retrainId, modelId: model.id, workflowId: `retrain-${MODEL}`, parentVersion: '2', cause: { kind: 'drift', reportId: '17', shareDrifted: 0.4, features: ['age', 'income'] } });
    const seeded = await seedFixtureModel(h.t.db, { model: MODEL, versions: { 3: 'mlp' } });
    const lineage: VersionLineage = {
      parent: '2',
      cause: { kind: 'drift', reportId: '17', shareDrifted: 0.4, features: ['age', 'income'] },
      dataWindow: { source: 'inference_log', from: '2026-12-01T00:00:00.000Z', to: '2026-12-02T00:00:00.000Z', rows: 5000, sha256: 'a'.repeat(64) },
      trainer: { kind: 'builtin', name: 'logistic_regression', params: { l2: 0.01 } },
      retrainId,
    };
    expect(await setVersionLineage(h.t.db, seeded.versionIds['3']!, lineage)).toBe(true);
    await finishRetrain(h.t.db, retrainId, { status: 'registered', reason: 'better on the holdout: roc_auc 0.84 vs 0.79', producedVersion: '3' });
    skippedId = newRetrainId();
    await createRetrain(h.t.db, { id: skippedId, modelId: model.id, workflowId: `retrain-${MODEL}`, parentVersion: '2', status: 'skipped', reason: 'cooldown has not passed', cause: { kind: 'drift', reportId: '18', shareDrifted: 0.5, features: ['age'] } });

    // legacy: a version from before lineage was kept, whose rollout failed validation; 3 is validating now.
    const legacy = await seedFixtureModel(h.t.db, { model: MODEL, versions: { legacy: 'logreg' } });
    rolloutIds.legacy = await seedRollout(h.t.db, { modelId: model.id, candidateId: legacy.versionIds.legacy!, baselineId: ids['2']!, model: MODEL, policy: {} });
    await step(rolloutIds.legacy, 1, 'validate:sha256', 'successful', 'artifact sha256 matches');
    await step(rolloutIds.legacy, 2, 'validate:accuracy', 'failed', 'accuracy 0.41 < 0.6');
    await completeRollout(h.t.db, rolloutIds.legacy, 'rejected', 'validation failed: accuracy 0.41 < 0.6');
    rolloutIds['3'] = await seedRollout(h.t.db, { modelId: model.id, candidateId: seeded.versionIds['3']!, baselineId: ids['2']!, model: MODEL, policy: {} });
    await h.t.db.updateTable('rollouts').set({ phase: 'validating' }).where('id', '=', rolloutIds['3']).execute();
  });
  afterAll(async () => { await h?.close(); });

  it('records a person\'s registration with its parent, in the version row', async () => {
    const rows = await h.t.db.selectFrom('model_versions').select(['version', 'lineage']).where('version', 'in', ['1', '2']).orderBy('version').execute();
    expect(rows.map((r) => r.lineage)).toEqual([
      { parent: null, cause: { kind: 'registration', by: deployerActor } },
      { parent: '1', cause: { kind: 'registration', by: deployerActor } },
    ]);
  });

  it('shows every version oldest first with cause, data window, validation and rollout outcome', async () => {
    const res = await h.call('GET', `/v1/models/${MODEL}/lineage`, { key: h.keys.viewer });
    expect(res.status, res.text).toBe(200);
    const out = res.body as LineageOut;
    expect(out.model).toBe(MODEL);
    expect(out.productionVersion).toBe('2');
    expect(out.versions.map((v) => v.version)).toEqual(['1', '2', '3', 'legacy']);
    const [v1, v2, v3, legacy] = out.versions;

    expect(v1).toMatchObject({ status: 'validated', parent: null, cause: { kind: 'registration', by: deployerActor }, dataWindow: null, retrain: null, validation: null, rollout: null });
    expect(v2).toMatchObject({ status: 'production', parent: '1', cause: { kind: 'registration', by: deployerActor }, createdBy: deployerActor });
    expect(v2!.validation).toEqual({
      rolloutId: rolloutIds['2'], verdict: 'passed',
      checks: [{ name: 'sha256', verdict: 'successful', reason: 'artifact sha256 matches' }, { name: 'accuracy', verdict: 'successful', reason: 'accuracy 0.81 ≥ 0.6' }],
    });
    expect(v2!.rollout).toMatchObject({ id: rolloutIds['2'], status: 'promoted', phase: 'completed', reason: 'canary healthy' });
    expect(v2!.rollout!.endedAt).not.toBeNull();

    expect(v3).toMatchObject({
      parent: '2',
      cause: { kind: 'drift', reportId: '17', shareDrifted: 0.4, features: ['age', 'income'] },
      dataWindow: { source: 'inference_log', rows: 5000, sha256: 'a'.repeat(64) },
      trainer: { kind: 'builtin', name: 'logistic_regression', params: { l2: 0.01 } },
      retrain: { id: retrainId, status: 'registered', reason: 'better on the holdout: roc_auc 0.84 vs 0.79' },
      validation: { rolloutId: rolloutIds['3'], verdict: 'pending', checks: [] },
      rollout: { status: 'running', phase: 'validating', reason: null, endedAt: null },
    });

    expect(legacy).toMatchObject({ parent: null, cause: { kind: 'unknown' }, createdBy: null });
    expect(legacy!.validation).toMatchObject({ verdict: 'failed', checks: [{ name: 'sha256', verdict: 'successful' }, { name: 'accuracy', verdict: 'failed' }] });
    expect(legacy!.rollout).toMatchObject({ status: 'rejected', reason: 'validation failed: accuracy 0.41 < 0.6' });

    expect(out.retrains.map((r) => [r.id, r.status, r.reason])).toEqual([
      [skippedId, 'skipped', 'cooldown has not passed'],
      [retrainId, 'registered', 'better on the holdout: roc_auc 0.84 vs 0.79'],
    ]);
    expect(out.retrains[1]).toMatchObject({ parentVersion: '2', producedVersion: '3', cause: { kind: 'drift', reportId: '17' } });
    expect(lineageChain(out)).toEqual(['1', '2']);
  });

  it('is the caller\'s project\'s: an unknown model and another tenant\'s are both 404', async () => {
    const unknown = await h.call('GET', '/v1/models/no-such-model/lineage', { key: h.keys.viewer });
    expect(unknown.status).toBe(404);
    expect(unknown.body.detail).toMatch(/model no-such-model not found/);
    const other = await h.call('GET', `/v1/models/${MODEL}/lineage`, { key: h.keys.other });
    expect(other.status).toBe(404);
    expect((await h.call('GET', `/v1/models/${MODEL}/lineage`, { key: null })).status).toBe(401);
  });

  it('prints the chain and the table with sluice lineage, and the API\'s answer with --json', async () => {
    const run = (args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const { DATABASE_URL: _db, ...env } = process.env;
      execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
        cwd: root, timeout: 120_000, env: { ...env, SLUICE_API_URL: h.url, SLUICE_API_KEY: h.keys.viewer, NO_COLOR: '1' },
      }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
    });
    const table = await run(['lineage', MODEL]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain(`${MODEL}: 1 → 2 (production: 2)`);
    expect(table.stdout).toMatch(/^VERSION\s+STATUS\s+PARENT\s+CAUSE\s+DATA WINDOW/m);
    expect(table.stdout).toMatch(/^3\s+registered\s+2\s+drift \(report 17, 40% drifted: age, income\)\s+log 2026-12-01 00:00 → 2026-12-02 00:00, 5000 rows, sha256 aaaaaaaa\s/m);
    expect(table.stdout).toMatch(/^2\s+production\s+1\s+registered by key:[0-9a-f]{16}.*passed \(2 checks\)\s+promoted: canary healthy$/m);
    expect(table.stdout).toMatch(/^legacy\s+registered\s+-\s+unknown \(before lineage\).*failed \(2 checks; failed: accuracy\)\s+rejected: validation failed/m);
    expect(table.stdout).toMatch(new RegExp(`^${skippedId}\\s+skipped`, 'm'));
    const json = await run(['lineage', MODEL, '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as LineageOut).versions.map((v) => v.version)).toEqual(['1', '2', '3', 'legacy']);
    const missing = await run(['lineage', 'no-such-model']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/404.*not found/);
  });
});
