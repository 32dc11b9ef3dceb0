// Keys, roles and the audit log over real HTTP, and the OpenAPI document.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../../src/db/schema.js';
import { fixture, readManifest, rowCounts, startHarness, type Harness } from './harness.js';
import { allowedRoles, PUBLIC_ROUTES, V1_ROUTES } from './routes.js';

const ROLES: Role[] = ['viewer', 'deployer', 'approver', 'admin'];
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** Params that name nothing: an allowed call answers 4xx without writing. */
const fill = (path: string) => path.replace('{model}', 'no-such-model').replace('{version}', 'v0').replace('{id}', path.startsWith('/v1/keys') ? '0000000000000000' : path.startsWith('/v1/experiments') ? 'exp_none' : `ro_${'0'.repeat(32)}`);

describe('auth, roles, audit, OpenAPI', () => {
  let h: Harness;
  beforeAll(async () => { h = await startHarness({ temporal: false }); });
  afterAll(async () => { await h?.close(); });

  it('documents every route in an OpenAPI 3 document with responses, and serves the docs UI', async () => {
    const res = await h.call('GET', '/docs/json', { key: null });
    expect(res.status).toBe(200);
    const doc = res.body as { openapi: string; info: { title: string }; paths: Record<string, Record<string, { responses?: Record<string, unknown>; security?: unknown[] }>>; components: { securitySchemes: Record<string, unknown> } };
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(doc.info.title).toBeTruthy();
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).filter((m) => m !== 'parameters').map((m) => `${m.toUpperCase()} ${p}`));
    const expected = [...V1_ROUTES, ...PUBLIC_ROUTES].map((r) => `${r.method} ${r.path}`);
    // Every /v1 route is classified in routes.ts and documented; nothing undocumented exists.
    expect(documented.filter((r) => r.includes('/v1/')).sort()).toEqual(V1_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
    for (const route of expected) expect(documented).toContain(route);
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const codes = Object.keys(op.responses ?? {});
        expect(codes.some((c) => /^2\d\d$/.test(c)), `${method} ${p} documents a success`).toBe(true);
        if (p.startsWith('/v1/')) {
          expect(codes, `${method} ${p}`).toEqual(expect.arrayContaining(['400', '401', '403', '5XX']));
          expect(op.security).toEqual([{ apiKey: [] }]);
        }
      }
    }
    // Structure: path parameters declared and required, every parameter typed, every $ref resolvable.
    for (const [p, ops] of Object.entries(doc.paths)) {
      const templated = [...p.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      for (const [method, op] of Object.entries(ops) as Array<[string, { parameters?: Array<{ in: string; name: string; required?: boolean; schema?: unknown }>; responses?: Record<string, { description?: string }> }]>) {
        const params = op.parameters ?? [];
        for (const name of templated) expect(params.find((x) => x.in === 'path' && x.name === name), `${method} ${p} declares {${name}}`).toMatchObject({ required: true });
        for (const param of params) {
          expect(['path', 'query', 'header', 'cookie']).toContain(param.in);
          expect(param.schema, `${method} ${p} ${param.name}`).toBeTruthy();
        }
        for (const [code, r] of Object.entries(op.responses ?? {})) expect(typeof r.description, `${method} ${p} ${code}`).toBe('string');
      }
    }
    const refs = [...res.text.matchAll(/"\$ref":"#\/([^"]+)"/g)].map((m) => m[1] as string);
    for (const ref of refs) {
      const target = ref.split('/').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], doc);
      expect(target, ref).toBeTruthy();
    }
    const ui = await fetch(`${h.url}/docs/`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toMatch(/swagger/i);
  });

  it('refuses every /v1 route without a key (401) and with a malformed or unknown key', async () => {
    for (const r of V1_ROUTES) {
      const res = await h.call(r.method, fill(r.path), { key: null, ...(r.body === 'json' ? { body: {} } : {}) });
      expect(res.status, `${r.method} ${r.path}`).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(res.body.code).toBe('unauthenticated');
    }
    for (const key of ['garbage', 'sk_zzz_yyy', `sk_${'a'.repeat(16)}_${'b'.repeat(43)}`, h.keys.admin.slice(0, -1) + (h.keys.admin.endsWith('A') ? 'B' : 'A')]) {
      const res = await h.call('GET', '/v1/models', { key });
      expect(res.status, key).toBe(401);
      expect(res.body.code).toBe('invalid_key');
    }
    const health = await h.call('GET', '/health', { key: null });
    expect(health.status).toBe(200);
    const metrics = await fetch(`${h.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/sluice_api_requests_total\{method="GET",route="\/v1\/models",status="401"\}/);
  });

  it('allows each role exactly the routes it should have (403 otherwise), writing nothing when refused', async () => {
    const before = await rowCounts(h.t);
    for (const r of V1_ROUTES) {
      for (const role of ROLES) {
        const res = await h.call(r.method, fill(r.path), {
          key: h.keys[role],
          ...(r.body === 'json' ? { body: {} } : r.body === 'octet' ? { raw: Buffer.from('x'), headers: { 'content-type': 'application/octet-stream' } } : {}),
        });
        const allowed = allowedRoles(r.role).includes(role);
        if (allowed) expect([401, 403], `${role} ${r.method} ${r.path} → ${res.status} ${res.text}`).not.toContain(res.status);
        else {
          expect(res.status, `${role} ${r.method} ${r.path}`).toBe(403);
          expect(res.body.detail).toMatch(new RegExp(`needs ${r.role}`));
        }
        expect(res.status, `${role} ${r.method} ${r.path}: ${res.text}`).toBeLessThan(500);
      }
    }
    expect(await rowCounts(h.t)).toEqual(before);
  });

  it('creates keys (shown once, stored hashed), and a disabled key fails on its next request', async () => {
    const created = await h.call('POST', '/v1/keys', { body: { name: 'ci-bot', role: 'deployer' } });
    expect(created.status).toBe(201);
    const token: string = created.body.token;
    expect(token).toMatch(/^sk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const stored = await h.t.db.selectFrom('api_keys').selectAll().where('id', '=', created.body.id).executeTakeFirstOrThrow();
    expect(stored.secret_hash).toBe(sha(Buffer.from(token.split('_').slice(2).join('_'))));
    expect(JSON.stringify(stored)).not.toContain(token.slice(20));
    const listed = await h.call('GET', '/v1/keys');
    expect(listed.text).not.toContain(token.slice(20));
    expect(listed.body.keys.map((k: { id: string }) => k.id)).toContain(created.body.id);

    const who = await h.call('GET', '/v1/whoami', { key: token });
    expect(who.body).toMatchObject({ role: 'deployer', project: 'default', name: 'ci-bot' });
    const disabled = await h.call('POST', `/v1/keys/${created.body.id}/disable`, { body: { reason: 'rotated' } });
    expect(disabled.status).toBe(200);
    expect(disabled.body.disabledAt).toBeTruthy();
    const after = await h.call('GET', '/v1/whoami', { key: token });
    expect(after.status).toBe(401);
    const twice = await h.call('POST', `/v1/keys/${created.body.id}/disable`, { body: {} });
    expect(twice.status).toBe(409);
    // Keys of another project are invisible.
    const otherDisable = await h.call('POST', `/v1/keys/${created.body.id}/disable`, { key: h.keys.otherAdmin, body: {} });
    expect(otherDisable.status).toBe(404);
    const badRole = await h.call('POST', '/v1/keys', { body: { name: 'x', role: 'root' } });
    expect(badRole.status).toBe(400);
    expect(badRole.body.field).toBe('body/role');
  });

  it('audits every mutation in its transaction: who, what, target, before/after, request id', async () => {
    const manifest = await readManifest();
    const bytes = await fixture(manifest.models[0]!.file);
    const audit = () => h.t.db.selectFrom('audit_log').selectAll().orderBy('id').execute();
    const start = (await audit()).length;
    const steps: Array<{ res: Awaited<ReturnType<Harness['call']>>; action: string; target: string }> = [];
    const step = async (action: string, target: string, p: Promise<Awaited<ReturnType<Harness['call']>>>) => {
      const res = await p;
      expect(res.status, `${action}: ${res.text}`).toBeLessThan(300);
      steps.push({ res, action, target });
    };
    await step('model.create', 'audited', h.call('POST', '/v1/models', { key: h.keys.deployer, body: { name: 'audited' }, headers: { 'x-request-id': 'req-model-create-1' } }));
    await step('version.register', 'audited/1', h.call('POST', `/v1/models/audited/versions/upload?version=1&sha256=${sha(bytes)}`, {
      key: h.keys.deployer, raw: bytes, headers: { 'content-type': 'application/octet-stream' },
    }));
    await step('version.register', 'audited/1b', h.call('POST', '/v1/models/audited/versions', { key: h.keys.deployer, body: { version: '1b', artifactUri: h.store.uriFor(sha(bytes)), sha256: sha(bytes) } }));
    await step('version.reference_profile', 'audited/1', h.call('PUT', '/v1/models/audited/versions/1/reference-profile', { key: h.keys.deployer, body: { version: 1, rows: 0, bins: 10, sampleSize: 1000, seed: 'sluice', features: [], prediction: null } }));
    await step('version.retire', 'audited/1b', h.call('POST', '/v1/models/audited/versions/1b/retire', { body: { reason: 'dup' } }));
    await step('key.create', '', h.call('POST', '/v1/keys', { body: { name: 'temp', role: 'viewer' } }));
    const keyId = steps[steps.length - 1]!.res.body.id as string;
    steps[steps.length - 1]!.target = keyId;
    await step('key.disable', keyId, h.call('POST', `/v1/keys/${keyId}/disable`, { body: {} }));

    const entries = (await audit()).slice(start);
    expect(entries.map((e) => e.action)).toEqual(steps.map((s) => s.action));
    const keyIds = { deployer: h.keys.deployer.split('_')[1], admin: h.keys.admin.split('_')[1] };
    entries.forEach((e, i) => {
      const s = steps[i]!;
      expect(e.target_id).toBe(s.target);
      expect(e.request_id).toBe(s.res.headers.get('x-request-id'));
      expect(e.project_id).toBe('default');
      expect([`key:${keyIds.deployer}`, `key:${keyIds.admin}`]).toContain(e.actor);
      expect(e.at).toBeInstanceOf(Date);
    });
    expect(entries[0]?.request_id).toBe('req-model-create-1');
    expect(entries[0]?.after).toMatchObject({ name: 'audited' });
    expect(entries[4]?.before).toEqual({ status: 'registered' });
    expect(entries[4]?.after).toMatchObject({ status: 'retired', reason: 'dup' });
    expect(JSON.stringify(entries[5]?.after)).not.toMatch(/sk_/);

    // Refused mutations leave no audit entry.
    const count = (await audit()).length;
    expect((await h.call('POST', '/v1/models', { key: h.keys.deployer, body: { name: 'audited' } })).status).toBe(409);
    expect((await h.call('POST', '/v1/models/audited/versions/1/retire', { body: {} })).status).toBe(200);
    expect((await audit()).length).toBe(count + 1);

    const listed = await h.call('GET', '/v1/audit?targetType=version&limit=10', { key: h.keys.viewer });
    expect(listed.status).toBe(200);
    expect(listed.body.entries[0]).toMatchObject({ action: 'version.retire', targetId: 'audited/1' });
    const otherTenant = await h.call('GET', '/v1/audit', { key: h.keys.other });
    expect(otherTenant.body.entries).toEqual([]);
  });
});
