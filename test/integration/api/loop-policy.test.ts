// The drift monitor's API over real HTTP: reading and setting a model's loop policy (who may, the
// refusals that name the field and store nothing, the audit entry) and reading the drift reports
// the monitor's activity wrote.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMonitorActivities } from '../../../src/activities/monitor.js';
import { listAudit } from '../../../src/registry/audit.js';
import { findModel } from '../../../src/registry/models.js';
import { exporterFixtureContract } from '../../support/exporter-contracts.js';
import { seedFixtureModel } from '../../support/seed.js';
import { startHarness, type Harness } from './harness.js';

const MODEL = 'looped';
const KIND = 'binary-label-probabilities';

describe('loop policy and drift reports API', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ temporal: false });
    await seedFixtureModel(h.t.db, { model: MODEL, production: 'v1', contract: exporterFixtureContract(KIND), versions: { v1: KIND } });
  });
  afterAll(async () => { await h?.close(); });

  const put = (body: unknown, key?: string) => h.call('PUT', `/v1/models/${MODEL}/loop-policy`, { body, ...(key !== undefined ? { key } : {}) });

  it('shows the defaults until a policy is stored', async () => {
    const got = await h.call('GET', `/v1/models/${MODEL}/loop-policy`, { key: h.keys.viewer });
    expect(got.status, got.text).toBe(200);
    expect(got.body).toMatchObject({ model: MODEL, stored: false, policy: { drift: { intervalSeconds: 300, debounceWindows: 3, numericMethod: 'ks' } } });
    expect(got.body.policy.retrain).toBeUndefined();
  });

  it('refuses invalid thresholds and unknown features naming the field, and stores nothing', async () => {
    const cases: Array<[unknown, string]> = [
      [{ drift: { pValueThreshold: 2 } }, 'body/drift/pValueThreshold'],
      [{ drift: { debounceWindows: 0 } }, 'body/drift/debounceWindows'],
      [{ drift: { features: ['age', 'shoe_size'] } }, 'body/drift/features/1'],
      [{ drift: { performance: { metric: 'rmse', maxDrop: 0.1 } } }, 'body/drift/performance/metric'],
      [{ drift: { warningShare: 0.9 } }, 'body/drift/warningShare'],
      [{ drift: {}, retrain: { trainer: { kind: 'shell' } } }, 'body/retrain/trainer'],
    ];
    for (const [body, field] of cases) {
      const r = await put(body, h.keys.deployer);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.field, JSON.stringify(body)).toBe(field);
      expect(r.body.detail).toContain(field);
    }
    expect((await findModel(h.t.db, MODEL))?.loop_policy).toBeNull();
    expect((await put({ drift: {} }, h.keys.viewer)).status).toBe(403);
  });

  it('stores a valid policy with its defaults, audited', async () => {
    const body = { drift: { intervalSeconds: 60, features: ['age', 'prediction'], performance: { metric: 'roc_auc', maxDrop: 0.05, labelDelaySeconds: 86400 } }, retrain: { trainer: { kind: 'builtin' } } };
    const r = await put(body, h.keys.deployer);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ stored: true, policy: { drift: { intervalSeconds: 60, debounceWindows: 3, performance: { minLabels: 100, feedbackMetric: 'label' } }, retrain: { trainer: { kind: 'builtin', name: 'logistic_regression' }, holdoutShare: 0.2 } } });
    expect((await findModel(h.t.db, MODEL))?.loop_policy).toEqual(r.body.policy);
    const got = await h.call('GET', `/v1/models/${MODEL}/loop-policy`, { key: h.keys.viewer });
    expect(got.body).toEqual(r.body);
    const [entry] = await listAudit(h.t.db, { projectId: 'default', action: 'model.loop_policy' });
    expect(entry).toMatchObject({ target_type: 'model', target_id: MODEL, before: null, after: r.body.policy });
  });

  it('lists the drift reports the monitor wrote, newest first', async () => {
    const monitor = createMonitorActivities(h.t.db);
    await monitor.judgeDriftWindow({ model: MODEL, version: 'v1', consecutive: 0 });
    const r = await h.call('GET', `/v1/models/${MODEL}/drift-reports?limit=5`, { key: h.keys.viewer });
    expect(r.status, r.text).toBe(200);
    expect(r.body.items).toHaveLength(1);
    // v1 was seeded without a reference profile: recorded with the reason, no rows.
    expect(r.body.items[0]).toMatchObject({ version: 'v1', decision: 'insufficient_data', rows: 0, windowKind: 'time', windowSize: 3600, consecutive: 0 });
    expect(r.body.items[0].reason).toMatch(/no reference profile/);
    expect(r.body.items[0].performance).toMatchObject({ status: 'labels_not_due' });
    const none = await h.call('GET', `/v1/models/${MODEL}/drift-reports?decision=drift`, { key: h.keys.viewer });
    expect(none.body.items).toEqual([]);
    expect((await h.call('GET', '/v1/models/nope/drift-reports', { key: h.keys.viewer })).status).toBe(404);
  });
});
