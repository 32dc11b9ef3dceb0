// The traffic repository on a real PostgreSQL: publishing (numbering, idempotent retries,
// conflicts, refusals that write nothing), the readers every caller shares, the row mapping, and
// the LISTEN that tells workers a generation landed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryError } from '../../../src/registry/errors.js';
import { createModel } from '../../../src/registry/models.js';
import {
  findGeneration, generationFromRow, generationToRow, latestGeneration, latestGenerations, listGenerations, listenForGenerations, publishGeneration,
} from '../../../src/registry/traffic.js';
import { insertVersion } from '../../../src/registry/versions.js';
import type { TrafficGeneration } from '../../../src/traffic/generation.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';

let t: TestDatabase;

async function register(model: string, versions: string[]): Promise<void> {
  const m = await createModel(t.db, { projectId: 'default', name: model });
  for (const version of versions) {
    await insertVersion(t.db, {
      modelId: m.id, version, artifactUri: `file:///nowhere/${version}.onnx`, sha256: 'b'.repeat(64), sizeBytes: 1,
      signature: { inputs: [{ name: 'input', datatype: 'float32', shape: [-1, 2] }], outputs: [{ name: 'probability', datatype: 'float32', shape: [-1, 1] }] },
    });
  }
}

const count = async () => Number((await t.db.selectFrom('traffic_generations').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);

/** The error a promise rejects with (fails the test when it resolves). */
async function refusal(p: Promise<unknown>): Promise<RegistryError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(RegistryError);
  return err as RegistryError;
}

beforeAll(async () => {
  t = await createTestDatabase();
  await register('credit', ['v1', 'v2', 'v3']);
  await register('fraud', ['a', 'b']);
});
afterAll(async () => { await t?.drop(); });

describe('publishGeneration', () => {
  it('takes the next free number when none is given, and the given one otherwise', async () => {
    expect((await publishGeneration(t.db, { model: 'credit', weights: { v1: 1 }, createdBy: 'test' })).generation).toBe(1);
    expect((await publishGeneration(t.db, { model: 'credit', weights: { v1: 0.9, v2: 0.1 }, createdBy: 'test' })).generation).toBe(2);
    const chosen = await publishGeneration(t.db, { model: 'credit', generation: 7, weights: { v1: 0.5, v2: 0.5 }, createdBy: 'test', reason: 'chosen' });
    expect(chosen).toMatchObject({ generation: 7, created: true });
    expect((await publishGeneration(t.db, { model: 'credit', weights: { v1: 1 }, createdBy: 'test' })).generation).toBe(8);
    // Numbering is per model.
    expect((await publishGeneration(t.db, { model: 'fraud', weights: { a: 1 }, createdBy: 'test' })).generation).toBe(1);
  });

  it('writes a retry of the same generation once, and refuses different content under the same number', async () => {
    const spec = { shadow: { version: 'v3', share: 0.25 }, salt: 'credit-salt' };
    const first = await publishGeneration(t.db, { model: 'credit', generation: 20, weights: { v1: 0.8, v2: 0.2 }, spec, createdBy: 'wf', reason: 'canary' });
    expect(first.created).toBe(true);
    const before = await count();
    // Same content, keys in another order: a retried activity.
    const retry = await publishGeneration(t.db, { model: 'credit', generation: 20, weights: { v2: 0.2, v1: 0.8 }, spec: { salt: 'credit-salt', shadow: { share: 0.25, version: 'v3' } }, createdBy: 'wf', reason: 'retry' });
    expect(retry).toMatchObject({ generation: 20, created: false, weights: { v1: 0.8, v2: 0.2 }, spec });
    expect(await count()).toBe(before);
    expect((await findGeneration(t.db, 'credit', 20))?.reason).toBe('canary');

    const weights = await refusal(publishGeneration(t.db, { model: 'credit', generation: 20, weights: { v1: 0.5, v2: 0.5 }, spec, createdBy: 'wf' }));
    expect(weights.code).toBe('conflict');
    expect(weights.message).toMatch(/generation 20 of credit already exists with different weights or spec/);
    const otherSpec = await refusal(publishGeneration(t.db, { model: 'credit', generation: 20, weights: { v1: 0.8, v2: 0.2 }, spec: { salt: 'other' }, createdBy: 'wf' }));
    expect(otherSpec.code).toBe('conflict');
    expect(await count()).toBe(before);
  });

  it('refuses unknown models and versions, and invalid generations, writing nothing', async () => {
    const before = await count();
    const model = await refusal(publishGeneration(t.db, { model: 'nope', weights: { v1: 1 }, createdBy: 'test' }));
    expect(model).toMatchObject({ code: 'not_found', field: 'model' });
    expect(model.message).toMatch(/model nope is not registered/);
    const version = await refusal(publishGeneration(t.db, { model: 'credit', weights: { v1: 0.5, v9: 0.5 }, createdBy: 'test' }));
    expect(version).toMatchObject({ code: 'not_found', field: 'version' });
    expect(version.message).toMatch(/no registered version v9/);
    // A version referenced only by the spec counts too.
    const shadow = await refusal(publishGeneration(t.db, { model: 'credit', generation: 90, weights: { v1: 1 }, spec: { shadow: { version: 'v8', share: 1 } }, createdBy: 'test' }));
    expect(shadow.message).toMatch(/no registered version v8/);
    // Another model's version is not this model's.
    expect((await refusal(publishGeneration(t.db, { model: 'fraud', weights: { v1: 1 }, createdBy: 'test' }))).code).toBe('not_found');
    const sum = await refusal(publishGeneration(t.db, { model: 'credit', weights: { v1: 0.5, v2: 0.6 }, createdBy: 'test' }));
    expect(sum.code).toBe('invalid');
    expect(sum.message).toMatch(/sum to 1.1/);
    expect(await count()).toBe(before);
  });
});

describe('reading generations', () => {
  it('latest, by number and history agree on what was published', async () => {
    await register('reads', ['x', 'y']);
    const spec = { experiment: { id: 'exp-r', salt: 'exp-r-salt', arms: { control: 'x', treatment: 'y' } }, inputChecks: 'reject' as const };
    await publishGeneration(t.db, { model: 'reads', weights: { x: 1 }, createdBy: 'alice', reason: 'first' });
    await publishGeneration(t.db, { model: 'reads', weights: { x: 0.5, y: 0.5 }, spec, createdBy: 'bob', reason: 'ab test' });
    await publishGeneration(t.db, { model: 'reads', weights: { y: 1 }, createdBy: 'carol', reason: 'promote' });

    const latest = await latestGeneration(t.db, 'reads');
    expect(latest).toMatchObject({ model: 'reads', reason: 'promote', createdBy: 'carol', traffic: { generation: 3, weights: { y: 1 } } });
    expect(latest?.createdAt).toBeInstanceOf(Date);

    const second = await findGeneration(t.db, 'reads', 2);
    expect(second?.traffic).toEqual({ ...spec, generation: 2, weights: { x: 0.5, y: 0.5 } });
    expect(second).toMatchObject({ reason: 'ab test', createdBy: 'bob' });
    expect(await findGeneration(t.db, 'reads', 4)).toBeUndefined();
    expect(await findGeneration(t.db, 'credit', 3)).toBeUndefined(); // credit skipped from 2 to 7
    expect(await latestGeneration(t.db, 'no-such-model')).toBeUndefined();

    expect((await listGenerations(t.db, 'reads')).map((g) => g.traffic.generation)).toEqual([3, 2, 1]);
    expect((await listGenerations(t.db, 'reads', { limit: 2 })).map((g) => g.traffic.generation)).toEqual([3, 2]);
    expect((await listGenerations(t.db, 'reads', { before: 3 })).map((g) => g.reason)).toEqual(['ab test', 'first']);
  });

  it('latestGenerations gives the newest of each model asked for, or of every model', async () => {
    const all = await latestGenerations(t.db, null);
    expect(Object.fromEntries(all.map((g) => [g.model, g.traffic.generation]))).toEqual({ credit: 20, fraud: 1, reads: 3 });
    expect((await latestGenerations(t.db, ['fraud', 'nope'])).map((g) => [g.model, g.traffic.generation])).toEqual([['fraud', 1]]);
    expect(await latestGenerations(t.db, [])).toEqual([]);
  });

  it('maps a row to a generation and back without loss', () => {
    const row = { generation: 4, weights: { a: 0.7, b: 0.3 }, spec: { baseline: 'a', segments: [{ name: 'eu', when: { attribute: 'region', equals: 'eu' }, version: 'b' }] } };
    const g = generationFromRow(row);
    expect(g).toEqual({ generation: 4, weights: { a: 0.7, b: 0.3 }, baseline: 'a', segments: row.spec.segments });
    expect(generationToRow(g)).toEqual(row);
    const back: TrafficGeneration = { generation: 1, weights: { a: 1 }, salt: 's' };
    expect(generationFromRow(generationToRow(back))).toEqual(back);
  });
});

describe('listenForGenerations', () => {
  it('hears each published generation, and a close is not reported as a loss', async () => {
    const heard: Array<[string, number]> = [];
    const lost: Array<Error | null> = [];
    const listener = await listenForGenerations(t.url, { onGeneration: (model, generation) => heard.push([model, generation]), onLost: (err) => lost.push(err) });
    try {
      const published = await publishGeneration(t.db, { model: 'fraud', weights: { a: 0.5, b: 0.5 }, createdBy: 'test' });
      const deadline = Date.now() + 30_000;
      while (!heard.some(([m, g]) => m === 'fraud' && g === published.generation) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(heard).toContainEqual(['fraud', published.generation]);
    } finally {
      await listener.close();
    }
    expect(lost).toEqual([]);
  });

  it('rejects when it cannot connect', async () => {
    const url = new URL(t.url);
    url.pathname = '/no_such_database_here';
    await expect(listenForGenerations(url.toString(), { onGeneration: () => undefined, onLost: () => undefined })).rejects.toThrow(/no_such_database_here/);
  });
});
