// Routing across a fleet of two real workers: sticky assignment agrees between workers, a
// generation swap under concurrent load loses no request, shadow answers are logged and never
// returned, segments fall back (counted), experiment rows survive sampling, input checks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishGeneration, pushGeneration } from '../../../src/fleet/index.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';
import { infer, inferBody, metric, registerModel, row, startWorker, TOKEN, waitFor, WIDTH, type TestWorker } from './support.js';

let t: TestDatabase;
let a: TestWorker;
let b: TestWorker;
const push = (model: string) => pushGeneration(t.db, { model, adminToken: TOKEN });

beforeAll(async () => {
  t = await createTestDatabase();
  await registerModel(t.db, 'credit', { v1: 'logreg', v2: 'mlp' });
  await registerModel(t.db, 'scoring', { base: 'logreg', eu: 'mlp' });
  await publishGeneration(t.db, { model: 'credit', weights: { v1: 0.5, v2: 0.5 }, spec: { experiment: { id: 'exp-1', salt: 'exp-1-salt', arms: { control: 'v1', treatment: 'v2' } } }, createdBy: 'test' });
  await publishGeneration(t.db, { model: 'scoring', weights: { base: 1 }, createdBy: 'test' });
  // Worker b logs nothing outside experiments: experiment rows must still be kept.
  const log = { enabled: true, capacity: 100_000, batchRows: 1000, flushMs: 20, inputSampleRate: 1 };
  [a, b] = await Promise.all([
    startWorker(t.db, { databaseUrl: t.url, config: { workerId: 'worker-a', inferenceLog: { ...log, sampleRate: 1 } } }),
    startWorker(t.db, { databaseUrl: t.url, config: { workerId: 'worker-b', inferenceLog: { ...log, sampleRate: 0 } } }),
  ]);
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await t?.drop();
});

describe('sticky assignment across workers', () => {
  it('the same key lands on the same version and arm on both workers', async () => {
    const counts = { v1: 0, v2: 0 } as Record<string, number>;
    for (let i = 0; i < 300; i++) {
      const body = inferBody([row(i)], { routing_key: `user-${i}` });
      const [ra, rb] = await Promise.all([infer(a.url, 'credit', body), infer(b.url, 'credit', body)]);
      expect(ra.status).toBe(200);
      expect(rb.body.model_version).toBe(ra.body.model_version);
      expect(rb.body.parameters?.arm).toBe(ra.body.parameters?.arm);
      expect(ra.body.parameters).toMatchObject({ experiment_id: 'exp-1', arm: ra.body.model_version === 'v1' ? 'control' : 'treatment' });
      counts[ra.body.model_version as string]! += 1;
    }
    expect(counts.v1).toBeGreaterThan(100);
    expect(counts.v2).toBeGreaterThan(100);
  });

  it('experiment rows are logged even where non-experiment traffic is sampled away', async () => {
    await infer(b.url, 'credit', inferBody([row(1)], { routing_key: 'user-sampled' }, { id: 'exp-row-b' }));
    await infer(b.url, 'scoring', inferBody([row(1)], {}, { id: 'plain-row-b' }));
    const expRow = await waitFor('experiment row', async () => (await t.db.selectFrom('inference_log').selectAll().where('request_id', '=', 'exp-row-b').executeTakeFirst()) ?? undefined);
    expect(expRow).toMatchObject({ experiment_id: 'exp-1', worker_id: 'worker-b' });
    expect(expRow.arm).toMatch(/control|treatment/);
    await new Promise((r) => setTimeout(r, 200));
    expect(await t.db.selectFrom('inference_log').select('id').where('request_id', '=', 'plain-row-b').executeTakeFirst()).toBeUndefined();
  });
});

describe('generations', () => {
  it('a generation swap under concurrent load loses no request', async () => {
    let stop = false;
    const statuses = new Map<number, number>();
    const seenVersions = new Set<string>();
    const client = async (id: number) => {
      let i = 0;
      while (!stop) {
        const target = (id + i) % 2 === 0 ? a : b;
        const r = await infer(target.url, 'credit', inferBody([row(i)], { routing_key: `load-${id}-${i++}` }));
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.body.model_version) seenVersions.add(r.body.model_version);
      }
    };
    const clients = Array.from({ length: 8 }, (_, i) => client(i));
    let last = 0;
    for (let k = 0; k < 20; k++) {
      const share = (k % 5) / 4;
      const published = await publishGeneration(t.db, {
        model: 'credit', weights: { v1: 1 - share, v2: share }, createdBy: 'test', reason: `swap ${k}`,
        spec: { experiment: { id: 'exp-1', salt: 'exp-1-salt', arms: { control: 'v1', treatment: 'v2' } } },
      });
      const pushed = await push('credit');
      expect(pushed.allAcked).toBe(true);
      expect(pushed.workers).toBe(2);
      last = published.generation;
      await new Promise((r) => setTimeout(r, 20));
    }
    stop = true;
    await Promise.all(clients);
    expect([...statuses.keys()]).toEqual([200]);
    expect(statuses.get(200)).toBeGreaterThan(100);
    expect(seenVersions).toEqual(new Set(['v1', 'v2']));
    for (const w of [a, b]) expect(w.app.serving.host.models.get('credit')?.generation?.generation).toBe(last);
  });

  it('targeting predicates reach the worker intact (a boolean stays a boolean) and decide eligibility', async () => {
    await publishGeneration(t.db, { model: 'scoring', weights: { eu: 1 }, spec: { baseline: 'base', targeting: { attribute: 'beta', equals: true } }, createdBy: 'test' });
    expect((await push('scoring')).allAcked).toBe(true);
    expect((await infer(a.url, 'scoring', inferBody([row(1)], { attributes: { beta: true } }))).body.model_version).toBe('eu');
    expect((await infer(a.url, 'scoring', inferBody([row(1)], { attributes: { beta: 'true' } }))).body.model_version).toBe('base');
    expect((await infer(a.url, 'scoring', inferBody([row(1)]))).body.model_version).toBe('base');
    await publishGeneration(t.db, { model: 'scoring', weights: { base: 1 }, createdBy: 'test' });
    expect((await push('scoring')).allAcked).toBe(true);
  });

  it('an older or repeated generation is acknowledged but not applied', async () => {
    const current = a.app.serving.host.models.get('credit')?.generation?.generation as number;
    const r = await a.admin('PUT', '/models/credit/generation', { generation: 1, weights: { v1: 1 } });
    expect(r).toMatchObject({ status: 200, body: { applied: false, generation: current } });
    const again = await a.admin('PUT', '/models/credit/generation', { ...a.app.serving.host.models.get('credit')?.generation?.source });
    expect(again.body).toMatchObject({ applied: false, generation: current });
    const invalid = await a.admin('PUT', '/models/credit/generation', { generation: current + 1, weights: { v1: 0.7, v2: 0.7 } });
    expect(invalid.status).toBe(400);
    expect(String(invalid.body.error)).toMatch(/sum to 1.4/);
  });
});

describe('shadow', () => {
  it('shadow answers are logged and never returned', async () => {
    await publishGeneration(t.db, { model: 'credit', weights: { v1: 1 }, spec: { shadow: { version: 'v2', share: 1 } }, createdBy: 'test' });
    await push('credit');
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await infer(a.url, 'credit', inferBody([row(i)], { routing_key: `shadow-${i}` }, { id: `shadow-req-${i}` }));
      expect(r.body.model_version).toBe('v1');
      expect(r.body.parameters?.routing).toBe('routed');
      ids.push(r.body.id as string);
    }
    const rows = await waitFor('shadow rows', async () => {
      const got = await t.db.selectFrom('inference_log').selectAll().where('request_id', 'in', ids).execute();
      return got.filter((x) => x.shadow).length === 30 ? got : undefined;
    });
    for (const id of ids) {
      const primary = rows.find((x) => x.request_id === id && !x.shadow);
      const shadow = rows.find((x) => x.request_id === id && x.shadow);
      expect(primary?.version).toBe('v1');
      expect(shadow?.version).toBe('v2');
      expect(shadow?.outputs).toHaveLength(1);
      expect(shadow?.outputs?.[0]).not.toBe(primary?.outputs?.[0]);
    }
    expect(await metric(a.url, 'sluice_shadow_requests_total', { version: 'v2', outcome: 'answered' })).toBeGreaterThanOrEqual(30);
  });
});

describe('segments and input checks', () => {
  it('a segment goes to its own version, and falls back to the global split when over budget or not ready (counted)', async () => {
    await publishGeneration(t.db, {
      model: 'scoring', weights: { base: 1 }, createdBy: 'test',
      spec: { segments: [{ name: 'eu', when: { attribute: 'region', in: ['de', 'fr'] }, version: 'eu' }] },
    });
    expect((await push('scoring')).allAcked).toBe(true);
    const eu = await infer(a.url, 'scoring', inferBody([row(1)], { attributes: { region: 'de' } }));
    expect(eu.body).toMatchObject({ model_version: 'eu', parameters: { segment: 'eu' } });
    expect((await infer(a.url, 'scoring', inferBody([row(1)], { attributes: { region: 'us' } }))).body.model_version).toBe('base');

    // A budget no queue can meet: every segment request falls back to the global version.
    await publishGeneration(t.db, {
      model: 'scoring', weights: { base: 1 }, createdBy: 'test',
      spec: { segments: [{ name: 'eu', when: { attribute: 'region', in: ['de', 'fr'] }, version: 'eu', latencyBudgetMs: 0.000001 }] },
    });
    await push('scoring');
    const slow = await infer(a.url, 'scoring', inferBody([row(1)], { attributes: { region: 'fr' } }));
    expect(slow.body).toMatchObject({ model_version: 'base', parameters: { segment: 'eu', fallback: true } });
    expect(await metric(a.url, 'sluice_segment_fallbacks_total', { segment: 'eu', reason: 'latency_budget' })).toBe(1);

    // The segment version unloaded by force (not ready): requests still succeed on the global split.
    expect((await a.admin('DELETE', '/models/scoring/versions/eu?force=true')).body).toMatchObject({ unloaded: true });
    const notReady = await infer(a.url, 'scoring', inferBody([row(1)], { attributes: { region: 'de' } }));
    expect(notReady.body).toMatchObject({ model_version: 'base', parameters: { fallback: true } });
    expect(await metric(a.url, 'sluice_segment_fallbacks_total', { segment: 'eu', reason: 'not_ready' })).toBe(1);
  });

  it('unload refuses a version the generation still routes to', async () => {
    const r = await a.admin('DELETE', '/models/scoring/versions/base');
    expect(r.status).toBe(409);
    expect(String(r.body.error)).toMatch(/still receives traffic in generation/);
  });

  it('input checks from the version profile: count by default, reject by policy', async () => {
    const profile = { features: [{ name: 'age', min: 18, max: 100 }] };
    await registerModel(t.db, 'checked', { v1: 'logreg' }, { v1: { metadata: { inputChecks: profile } } });
    await publishGeneration(t.db, { model: 'checked', weights: { v1: 1 }, createdBy: 'test' });
    await push('checked');
    const young = row(1);
    young[0] = 5;
    const counted = await infer(a.url, 'checked', inferBody([young]));
    expect(counted.status).toBe(200);
    expect(await metric(a.url, 'sluice_input_check_violations_total', { model: 'checked', feature: 'age', kind: 'below_min' })).toBe(1);
    await publishGeneration(t.db, { model: 'checked', weights: { v1: 1 }, spec: { inputChecks: 'reject' }, createdBy: 'test' });
    await push('checked');
    const adult = row(2);
    adult[0] = 30;
    const rejected = await infer(a.url, 'checked', inferBody([adult, young]));
    expect(rejected.status).toBe(400);
    expect(rejected.body.error).toMatch(/feature 'age' \(row 1\) is 5, outside the version's reference range \[18, 100\]/);
    expect(WIDTH()).toBeGreaterThan(1);
  });
});
