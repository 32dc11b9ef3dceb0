// PUT /v1/models/{model}/golden-set over real HTTP: who may set it, the refusals that name the
// field at fault (and write nothing), the audit entry, and that validation of a candidate then
// scores it on the rows that were set.
import { createHash } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOnnxValidator, type ValidationReport } from '../../../src/activities/validation.js';
import { fixtureGoldenSet } from '../../../src/models/fixtures.js';
import { parseRolloutPolicy } from '../../../src/policy/index.js';
import { listAudit } from '../../../src/registry/audit.js';
import { findModel } from '../../../src/registry/models.js';
import { fixture, readManifest, rowCounts, startHarness, type Harness } from './harness.js';

const MODEL = 'golden';

describe('golden set API', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ temporal: false });
    expect((await h.call('POST', '/v1/models', { body: { name: MODEL } })).status).toBe(201);
    const manifest = await readManifest();
    const logreg = manifest.models.find((m) => m.file.includes('logreg')) ?? manifest.models[0]!;
    const bytes = await fixture(logreg.file);
    const sha = createHash('sha256').update(bytes).digest('hex');
    const up = await h.call('POST', `/v1/models/${MODEL}/versions/upload?version=1&sha256=${sha}`, { raw: bytes, headers: { 'content-type': 'application/octet-stream' } });
    expect(up.status, up.text).toBe(201);
  });
  afterAll(async () => { await h?.close(); });

  const put = (body: unknown, key?: string, model = MODEL) => h.call('PUT', `/v1/models/${model}/golden-set`, { body, ...(key !== undefined ? { key } : {}) });
  const small = { features: [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]], labels: [0, 1, 1], segments: ['b', 'a', 'b'] };

  it('lets deployers and admins set it, refuses viewers and approvers, and hides other tenants\' models', async () => {
    for (const role of ['viewer', 'approver'] as const) {
      const refused = await put(small, h.keys[role]);
      expect(refused.status, role).toBe(403);
      expect(refused.body.detail).toMatch(/needs deployer/);
    }
    expect((await findModel(h.t.db, MODEL))?.golden_set).toBeNull();

    const byDeployer = await put(small, h.keys.deployer);
    expect(byDeployer.status, byDeployer.text).toBe(200);
    expect(byDeployer.body).toEqual({ model: MODEL, rows: 3, width: 2, segments: ['a', 'b'] });
    expect((await findModel(h.t.db, MODEL))?.golden_set).toEqual(small);

    const byAdmin = await put({ features: [[1, 2]], labels: [1] }, h.keys.admin);
    expect(byAdmin.status, byAdmin.text).toBe(200);
    expect(byAdmin.body).toEqual({ model: MODEL, rows: 1, width: 2, segments: [] });
    expect((await findModel(h.t.db, MODEL))?.golden_set).toEqual({ features: [[1, 2]], labels: [1] });

    // Another project's deployer: the model is as absent as a missing one.
    const otherTenant = await put(small, h.keys.other);
    expect(otherTenant.status).toBe(404);
    expect(otherTenant.body.field).toBe('model');

    const audit = await listAudit(h.t.db, { projectId: 'default', action: 'model.golden_set' });
    expect(audit.map((a) => [a.target_type, a.target_id, a.before, a.after])).toEqual([
      ['model', MODEL, { model: MODEL, rows: 3, width: 2, segments: ['a', 'b'] }, { model: MODEL, rows: 1, width: 2, segments: [] }],
      ['model', MODEL, null, { model: MODEL, rows: 3, width: 2, segments: ['a', 'b'] }],
    ]);
  });

  it('refuses bad golden sets with a 4xx naming the field, and writes nothing', async () => {
    const before = await rowCounts(h.t);
    const stored = (await findModel(h.t.db, MODEL))?.golden_set;
    const cases: Array<{ body: unknown; status: number; field: string; detail?: RegExp; model?: string }> = [
      { body: { features: [[1, 2], [3]], labels: [0, 1] }, status: 400, field: 'body/features/1', detail: /body\/features\/1: has 1 values; row 0 has 2/ },
      { body: { features: [[1, 2], [3, 4]], labels: [0] }, status: 400, field: 'body/labels', detail: /body\/labels: has 1 labels; features has 2 rows/ },
      { body: { features: [[1, 2]], labels: [1], segments: ['a', 'b'] }, status: 400, field: 'body/segments', detail: /body\/segments/ },
      { body: { features: [[1, 'two']], labels: [1] }, status: 400, field: 'body/features/0/1', detail: /body\/features\/0\/1/ },
      { body: { features: [[1, null]], labels: [1] }, status: 400, field: 'body/features/0/1' },
      { body: { features: [[1, 2]], labels: ['yes'] }, status: 400, field: 'body/labels/0' },
      { body: { features: [], labels: [] }, status: 400, field: 'body/features' },
      { body: { features: [[]], labels: [1] }, status: 400, field: 'body/features/0' },
      { body: { features: [[1, 2]] }, status: 400, field: 'body/labels' },
      { body: { features: [[1, 2]], labels: [1], colour: 'red' }, status: 400, field: 'body/colour' },
      { body: small, status: 404, field: 'model', model: 'no-such-model' },
    ];
    for (const c of cases) {
      const res = await put(c.body, undefined, c.model);
      expect(res.status, `${JSON.stringify(c.body)} → ${res.text}`).toBe(c.status);
      expect(res.body.field, res.text).toBe(c.field);
      expect(res.body.detail).toMatch(c.detail ?? new RegExp(c.field.replaceAll('/', '\\/')));
    }
    // A number too large for a double arrives as Infinity: not finite, refused.
    const huge = await h.call('PUT', `/v1/models/${MODEL}/golden-set`, { raw: '{"features": [[1, 1e999]], "labels": [1]}', headers: { 'content-type': 'application/json' } });
    expect(huge.status, huge.text).toBe(400);
    expect(huge.body.field).toBe('body/features/0/1');
    expect(await rowCounts(h.t)).toEqual(before);
    expect((await findModel(h.t.db, MODEL))?.golden_set).toEqual(stored);
  });

  it('is what the validation activity scores a candidate on', async () => {
    const golden = fixtureGoldenSet();
    const parsed = parseRolloutPolicy({ validation: { minAccuracy: 0.6, maxP99LatencyMs: 10_000 } });
    if (!parsed.ok) throw new Error('policy did not parse');
    const validator = createOnnxValidator(h.t.db, { latencyRuns: 3 });
    // The validator heartbeats as the activity it runs in; here it runs in a mock activity context.
    const accuracyOf = async () => {
      const report: ValidationReport = await new MockActivityEnvironment().run(validator.validate, { model: MODEL, version: '1', validation: parsed.policy.validation });
      return report.checks.find((c) => c.name === 'accuracy');
    };

    expect((await put({ features: golden.matrix, labels: golden.labels })).status).toBe(200);
    const right = await accuracyOf();
    expect(right?.verdict).toBe('successful');
    expect(right?.numbers.rows).toBe(golden.matrix.length);
    const accuracy = right?.numbers.accuracy as number;
    expect(accuracy).toBeGreaterThan(0.6);

    // The same rows with every label flipped: the validator reads the new set, and fails it.
    expect((await put({ features: golden.matrix, labels: golden.labels.map((l) => 1 - l) })).status).toBe(200);
    const flipped = await accuracyOf();
    expect(flipped?.verdict).toBe('failed');
    expect(flipped?.numbers.accuracy).toBeCloseTo(1 - accuracy, 10);
  });
});
