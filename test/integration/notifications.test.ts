// Notifications for real: a webhook receiver listening on a free port, the notify activities over a
// real database (the model's loop policy names the URL). Signatures verify with the secret and
// not with another; a receiver that is down or never answers does not fail the activity; every
// event is one structured log line.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotifyActivities } from '../../src/activities/notify.js';
import {
  createNotifier, DELIVERY_HEADER, EVENT_HEADER, notifierOptionsFromEnv, SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER, verifyWebhookSignature,
} from '../../src/loop/notify.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { seedFixtureModel } from '../support/seed.js';

interface Received { path: string; headers: http.IncomingHttpHeaders; body: string }

const SECRET = 'whsec-test-0123456789';

describe('notifications', () => {
  let t: TestDatabase;
  let server: http.Server;
  let base: string;
  const received: Received[] = [];
  /** Requests to /hang are held open until the test ends (a receiver that never answers). */
  const hanging: http.ServerResponse[] = [];
  const lines: string[] = [];
  const notifier = createNotifier({ secret: SECRET, defaultUrl: null, timeoutMs: 1000, log: (line) => lines.push(line) });
  let activities: ReturnType<typeof createNotifyActivities>;

  beforeAll(async () => {
    t = await createTestDatabase();
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => {
        received.push({ path: req.url ?? '', headers: req.headers, body });
        if (req.url === '/hang') { hanging.push(res); return; }
        res.statusCode = req.url === '/broken' ? 500 : 204;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    activities = createNotifyActivities(t.db, notifier);
  });
  afterAll(async () => {
    for (const res of hanging) res.destroy();
    await new Promise((resolve) => server.close(resolve));
    await t?.drop();
  });

  const lastLine = () => JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;

  it('signs the body with the secret: it verifies with that secret, not with another, and not replayed later', async () => {
    const delivery = await activities.notifyLoopEvent({ model: 'credit', event: 'drift', webhookUrl: `${base}/hook`, reportId: '42', shareDrifted: 0.5, features: ['age'] });
    expect(delivery).toEqual({ delivered: true, status: 204 });
    const got = received.find((r) => r.path === '/hook')!;
    expect(JSON.parse(got.body)).toMatchObject({ event: 'drift', model: 'credit', reportId: '42', shareDrifted: 0.5, features: ['age'], deliveryId: got.headers[DELIVERY_HEADER] });
    expect(got.headers[EVENT_HEADER]).toBe('drift');
    expect(got.headers[SIGNATURE_HEADER]).toMatch(/^sha256=[0-9a-f]{64}$/);
    const check = (secret: string, o: { body?: string; now?: Date } = {}) => verifyWebhookSignature({
      secret, body: o.body ?? got.body, timestamp: got.headers[TIMESTAMP_HEADER] as string, signature: got.headers[SIGNATURE_HEADER] as string, ...(o.now ? { now: o.now } : {}),
    });
    expect(check(SECRET)).toEqual({ ok: true });
    expect(check('another-secret')).toEqual({ ok: false, reason: 'signature does not match' });
    expect(check(SECRET, { body: got.body.replace('"42"', '"43"') })).toEqual({ ok: false, reason: 'signature does not match' });
    const later = new Date((Number(got.headers[TIMESTAMP_HEADER]) + 3600) * 1000);
    expect(check(SECRET, { now: later })).toMatchObject({ ok: false, reason: expect.stringMatching(/away from now/) });
    // The timestamp is inside the signed text: the same signature with a fresh timestamp fails.
    const fresh = Number(got.headers[TIMESTAMP_HEADER]) + 1;
    expect(verifyWebhookSignature({ secret: SECRET, body: got.body, timestamp: String(fresh), signature: got.headers[SIGNATURE_HEADER] as string, now: new Date(fresh * 1000) }).ok).toBe(false);
    expect(signWebhook(SECRET, fresh, got.body)).not.toBe(got.headers[SIGNATURE_HEADER]);
    expect(lastLine()).toMatchObject({ level: 'info', component: 'sluice.notify', event: 'drift', model: 'credit', webhook: { url: `${base}/hook`, delivered: true, status: 204 } });
  });

  it('posts to the model\'s loop policy webhook, else the global one; the event\'s own URL wins; with none it only logs', async () => {
    const { modelId } = await seedFixtureModel(t.db, { model: 'looped', versions: { 1: 'logreg' } });
    await t.db.updateTable('models').set({ loop_policy: JSON.stringify({ drift: {}, notifications: { webhookUrl: `${base}/policy` } }) }).where('id', '=', modelId).execute();
    await seedFixtureModel(t.db, { model: 'unlooped', versions: { 1: 'logreg' } });

    expect(await activities.notifyLoopEvent({ model: 'looped', event: 'retrain_started', retrainId: 'rt_1' })).toMatchObject({ delivered: true });
    expect(received.filter((r) => r.path === '/policy').map((r) => JSON.parse(r.body).event)).toEqual(['retrain_started']);
    await activities.notifyLoopEvent({ model: 'looped', event: 'rollout_outcome', webhookUrl: `${base}/rollout-policy`, status: 'promoted' });
    expect(received.filter((r) => r.path === '/rollout-policy')).toHaveLength(1);

    expect(await activities.notifyLoopEvent({ model: 'unlooped', event: 'retrain_ended', status: 'failed' })).toEqual({ delivered: false, reason: 'no webhook configured' });
    expect(lastLine()).toMatchObject({ level: 'info', event: 'retrain_ended', model: 'unlooped', status: 'failed', webhook: null });

    const global = createNotifyActivities(t.db, createNotifier({ secret: SECRET, defaultUrl: `${base}/global`, log: (line) => lines.push(line) }));
    expect(await global.notifyLoopEvent({ model: 'unlooped', event: 'retrain_ended', status: 'registered' })).toMatchObject({ delivered: true });
    expect(await global.notifyLoopEvent({ model: 'looped', event: 'retrain_ended', status: 'registered' })).toMatchObject({ delivered: true });
    expect(received.filter((r) => r.path === '/global').map((r) => JSON.parse(r.body).model)).toEqual(['unlooped']);
    expect(received.filter((r) => r.path === '/policy')).toHaveLength(2);
  });

  it('never fails the activity: a receiver that is down, answers 500 or never answers is logged as a warning', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/hook`;
    await new Promise((resolve) => closed.close(resolve));

    const down = await activities.notifyLoopEvent({ model: 'credit', event: 'drift', webhookUrl: deadUrl });
    expect(down).toMatchObject({ delivered: false, reason: expect.stringMatching(/webhook unreachable: ECONNREFUSED/) });
    expect(lastLine()).toMatchObject({ level: 'warn', event: 'drift', webhook: { delivered: false } });

    expect(await activities.notifyLoopEvent({ model: 'credit', event: 'drift', webhookUrl: `${base}/broken` })).toEqual({ delivered: false, status: 500, reason: 'webhook answered 500' });
    const hang = await activities.notifyLoopEvent({ model: 'credit', event: 'retrain_started', webhookUrl: `${base}/hang` });
    expect(hang).toEqual({ delivered: false, reason: 'webhook did not answer within 1000 ms' });
    expect(hanging.length).toBeGreaterThan(0);

    // A model name the database does not know still gets its log line (and the global URL, none here).
    expect(await activities.notifyLoopEvent({ model: 'no-such-model', event: 'drift' })).toEqual({ delivered: false, reason: 'no webhook configured' });
  });

  it('keeps the rollout phase notification: posted to the rollout policy\'s URL, now signed', async () => {
    const delivery = await activities.notifyPhaseChange({ webhookUrl: `${base}/phase`, rolloutId: 'ro_1', model: 'credit', version: '2', phase: 'canary' });
    expect(delivery).toEqual({ delivered: true, status: 204 });
    const got = received.find((r) => r.path === '/phase')!;
    expect(JSON.parse(got.body)).toMatchObject({ event: 'rollout_phase', rolloutId: 'ro_1', model: 'credit', version: '2', phase: 'canary' });
    expect(verifyWebhookSignature({ secret: SECRET, body: got.body, timestamp: got.headers[TIMESTAMP_HEADER] as string, signature: got.headers[SIGNATURE_HEADER] as string })).toEqual({ ok: true });
  });

  it('sends unsigned without a secret, and reads its settings from the environment', async () => {
    const unsigned = createNotifier({ log: () => undefined });
    expect(await unsigned.notify({ model: 'credit', event: 'drift' }, `${base}/unsigned`)).toMatchObject({ delivered: true });
    const got = received.find((r) => r.path === '/unsigned')!;
    expect(got.headers[SIGNATURE_HEADER]).toBeUndefined();
    expect(verifyWebhookSignature({ secret: SECRET, body: got.body, timestamp: undefined, signature: undefined }).ok).toBe(false);
    expect(notifierOptionsFromEnv({ SLUICE_WEBHOOK_SECRET: 's', SLUICE_WEBHOOK_URL: 'http://x.test/h' })).toEqual({ secret: 's', defaultUrl: 'http://x.test/h' });
    expect(notifierOptionsFromEnv({})).toEqual({ secret: null, defaultUrl: null });
  });
});
