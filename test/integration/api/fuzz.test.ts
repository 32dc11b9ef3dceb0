// Fuzzing every route over real HTTP with fast-check: malformed paths, queries, headers and
// bodies (wrong types, unknown fields, broken JSON, wrong media types, random bytes). No answer may
// be a 5xx, the server must stay up, every malformed mutation must be refused, and nothing may be
// written (row counts before and after; no artifact left behind).
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, readManifest, rowCounts, startHarness, type Harness } from './harness.js';
import { V1_ROUTES } from './routes.js';

interface RawRequest { method: string; path: string; headers: Record<string, string>; body?: Buffer; mutating: boolean; why: string }

const MODEL = 'fuzz-model';
/** Replays are computed, not stored: a valid one may answer 200 (and still writes nothing). */
const isMutation = (method: string, p: string) => method !== 'GET' && p !== '/v1/replays';
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function send(base: URL, req: RawRequest): Promise<{ status: number; body: string; contentType: string }> {
  return new Promise((resolve, reject) => {
    const r = http.request({
      host: base.hostname, port: base.port, method: req.method, path: req.path,
      headers: { ...req.headers, ...(req.body ? { 'content-length': String(req.body.length) } : {}) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), contentType: String(res.headers['content-type'] ?? '') }));
    });
    r.on('error', reject);
    if (req.body) r.write(req.body);
    r.end();
  });
}

// ---- arbitraries

const printable = fc.string({ unit: fc.constantFrom(...' !"#$%&\'()*+,-./0123456789:;<=>?@ABCXYZ[\\]^_`abcxyz{|}~'.split('')), maxLength: 40 });
const weirdSegment = fc.oneof(
  fc.string({ maxLength: 30 }).map(encodeURIComponent),
  fc.constantFrom('..', '%2e%2e', '%2F', '%00', '%', '%E0%A4%A', '%ff', 'a'.repeat(300), '%F0%9F%98%80', '%20', '', '.', 'CON', '-', '_x', 'ro_', `ro_${'g'.repeat(32)}`, `ro_${'0'.repeat(32)}`, 'exp:1', '0000000000000000', 'ZZZZ'),
  printable.map((s) => s.replace(/[/?#\s%]/g, 'x')),
);
const badJsonText = fc.constantFrom('{', '{"a":', '[1,2', 'nul', '{"name": "x",}', '\u0000', '{"__proto__": {"polluted": true}}', '{"constructor": {"prototype": {"x": 1}}}', '"just a string"', '1e999999', '{"a":'.repeat(200));
const anyJson = fc.jsonValue({ maxDepth: 4 });

/** A value of the wrong type for whatever a field expects (strings, numbers, objects, arrays). */
const wrongValue = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }), fc.string({ maxLength: 300 }));

type Kind = 'string' | 'number' | 'boolean' | 'null' | 'array' | 'object';
/** Fields with the kinds of JSON value they accept: a value of any other kind cannot be valid. */
interface BodySpec { template: Record<string, unknown>; fields: Record<string, Kind[]>; required: string[] }

const kindOf = (v: unknown): Kind => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'object' ? 'object' : typeof v as Kind);
const POLICY = { canary: { steps: [{ weight: 0.1, bakeSeconds: 1 }] }, experiment: { primaryMetric: { name: 'repaid' } } };
const S: Kind[] = ['string'];
const N: Kind[] = ['number'];

/** Valid-looking bodies per route; the fuzzer breaks them so they can no longer pass. */
function bodySpec(route: string, v: { uri: string; sha: string }): BodySpec | null {
  switch (route) {
    case 'POST /v1/models': return { template: { name: 'fuzz-new', description: 'd' }, fields: { name: S, description: S, task: S }, required: ['name'] };
    case 'PUT /v1/models/{model}/golden-set': return { template: { features: [[0.1, 0.2], [0.3, 0.4]], labels: [0, 1] }, fields: { features: ['array'], labels: ['array'], segments: ['array'] }, required: ['features', 'labels'] };
    case 'PUT /v1/models/{model}/golden-dataset': return { template: { dataset: `ds_${'f'.repeat(32)}` }, fields: { dataset: ['string', 'null'] }, required: ['dataset'] };
    case 'POST /v1/models/{model}/versions': return { template: { version: 'fz1', artifactUri: v.uri, sha256: v.sha }, fields: { version: S, artifactUri: S, sha256: S, metadata: ['object'], trainingDataRef: S, referenceProfile: ['object'] }, required: ['version', 'artifactUri', 'sha256'] };
    case 'PUT /v1/models/{model}/versions/{version}/reference-profile': return { template: { version: 1, rows: 0, bins: 10, sampleSize: 1000, seed: 's', features: [], prediction: null }, fields: { version: N, rows: N, bins: N, sampleSize: N, seed: ['string', 'number'], features: ['array'], prediction: ['object', 'null'] }, required: ['version', 'rows', 'bins', 'sampleSize', 'seed', 'features', 'prediction'] };
    case 'POST /v1/models/{model}/versions/{version}/reference-profile/compute': return { template: { columns: { a: [1, 2, 3] } }, fields: { columns: ['object'], categorical: ['array'], bins: N, sampleSize: N, predict: ['boolean'] }, required: ['columns'] };
    case 'POST /v1/rollouts': return { template: { model: MODEL, version: 'nope', policy: POLICY }, fields: { model: S, version: S, policy: ['object', 'null', 'array', 'string', 'number', 'boolean'] }, required: ['model', 'version'] };
    case 'PUT /v1/rollouts/{id}/weights': return { template: { weights: { 1: 0.5, 2: 0.5 } }, fields: { weights: ['object'], reason: S }, required: ['weights'] };
    case 'POST /v1/keys': return { template: { name: 'fz', role: 'viewer' }, fields: { name: S, role: S }, required: ['name', 'role'] };
    case 'POST /v1/replays': return { template: { model: MODEL, version: '1', from: '2020-01-01T00:00:00Z', to: '2020-01-02T00:00:00Z' }, fields: { rolloutId: S, model: S, from: S, to: S, version: S, limit: N, tolerance: N }, required: [] };
    default: return { template: {}, fields: { reason: S }, required: [] };
  }
}

/** A body that cannot be valid for the spec: each mutation breaks the schema on its own. */
function brokenBody(spec: BodySpec): fc.Arbitrary<{ body: Buffer; contentType: string; why: string }> {
  const json = (value: unknown, why: string) => ({ body: Buffer.from(JSON.stringify(value)), contentType: 'application/json', why });
  const mutations: Array<fc.Arbitrary<{ body: Buffer; contentType: string; why: string }>> = [
    badJsonText.map((t) => ({ body: Buffer.from(t), contentType: 'application/json', why: `bad JSON ${t.slice(0, 20)}` })),
    fc.oneof(fc.array(anyJson, { maxLength: 3 }), fc.string(), fc.integer(), fc.boolean()).map((v) => json(v, 'not an object')),
    fc.tuple(fc.constantFrom('text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', 'image/png', 'application/json; charset=latin9', 'bogus'), fc.uint8Array({ maxLength: 64 }))
      .map(([ct, bytes]) => ({ body: Buffer.from(bytes.length ? bytes : [1]), contentType: ct, why: `content-type ${ct}` })),
  ];
  const names = Object.keys(spec.fields);
  mutations.push(fc.tuple(fc.string({ minLength: 1, maxLength: 20 }).filter((k) => !names.includes(k) && k !== '__proto__'), anyJson)
    .map(([k, val]) => json({ ...spec.template, [k]: val }, `unknown field ${k}`)));
  const typed = names.filter((f) => spec.fields[f]!.length < 6);
  if (typed.length > 0) {
    mutations.push(fc.tuple(fc.constantFrom(...typed), wrongValue).filter(([f, val]) => !spec.fields[f]!.includes(kindOf(val)))
      .map(([f, val]) => json({ ...spec.template, [f]: val }, `field ${f} = ${JSON.stringify(val).slice(0, 30)}`)));
  }
  if (spec.required.length > 0) {
    mutations.push(fc.constantFrom(...spec.required).map((f) => {
      const { [f]: _drop, ...rest } = spec.template;
      return json(rest, `missing ${f}`);
    }));
  }
  if ('policy' in spec.fields) {
    mutations.push(fc.oneof(
      fc.record({ canary: fc.record({ steps: fc.array(fc.record({ weight: fc.double({ min: -2, max: 2, noNaN: true }) }), { minLength: 2, maxLength: 3 }).filter((s) => s.some((x) => x.weight <= 0 || x.weight > 1) || s.some((x, i) => i > 0 && x.weight <= (s[i - 1]?.weight ?? 0))) }) }),
      fc.record({ experiment: fc.record({ alpha: fc.oneof(fc.double({ min: 0.5, max: 10, noNaN: true }), fc.constant(0), fc.string()) }) }),
      fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !['version', 'validation', 'shadow', 'canary', 'approval', 'experiment', 'postPromotion', 'notifications', '__proto__'].includes(k)), anyJson, { minKeys: 1, maxKeys: 3 }),
    ).map((p) => json({ ...spec.template, version: '1', policy: p }, `policy ${JSON.stringify(p).slice(0, 40)}`)));
  }
  return fc.oneof(...mutations);
}

describe('fuzzing every route', () => {
  let h: Harness;
  let base: URL;
  let v1Bytes: Buffer;
  beforeAll(async () => {
    h = await startHarness({ temporal: false });
    base = new URL(h.url);
    const manifest = await readManifest();
    v1Bytes = await fixture(manifest.models[0]!.file);
    expect((await h.call('POST', '/v1/models', { body: { name: MODEL } })).status).toBe(201);
    const up = await h.call('POST', `/v1/models/${MODEL}/versions/upload?version=1&sha256=${sha(v1Bytes)}`, { raw: v1Bytes, headers: { 'content-type': 'application/octet-stream' } });
    expect(up.status, up.text).toBe(201);
  });
  afterAll(async () => { await h?.close(); });

  it('answers ≥ 300 malformed requests over every route with 4xx problems, writing nothing', async () => {
    const before = await rowCounts(h.t);
    const storeFiles = async () => (await fs.readdir(h.store.root, { recursive: true })).filter((f) => /\.(onnx|csv|jsonl|part)$/.test(f)).sort();
    const filesBefore = await storeFiles();
    const keys = [h.keys.admin, h.keys.admin, h.keys.admin, h.keys.deployer, h.keys.viewer, h.keys.other];
    const stored = { uri: h.store.uriFor(sha(v1Bytes)), sha: sha(v1Bytes) };
    const seen = new Map<string, number>();

    const routeArb = fc.constantFrom(...V1_ROUTES);
    const requestArb: fc.Arbitrary<RawRequest> = fc.oneof(
      // 1. Any route, any param values (mostly not matching the patterns), valid-looking or broken body.
      fc.tuple(routeArb, fc.array(weirdSegment, { minLength: 3, maxLength: 3 }), fc.constantFrom(...keys), fc.boolean()).chain(([route, segs, key, keepBody]) => {
        const spec = bodySpec(`${route.method} ${route.path}`, stored);
        const p = route.path.replace('{model}', segs[0] as string).replace('{version}', segs[1] as string).replace('{id}', segs[2] as string);
        // A route without path params would accept its template as it is: always break its body.
        const bodyArb = route.body === 'json' && spec ? (keepBody && route.path.includes('{') ? fc.constant({ body: Buffer.from(JSON.stringify(spec.template)), contentType: 'application/json', why: 'template' }) : brokenBody(spec)) : fc.constant(null);
        return bodyArb.map((b) => ({
          method: route.method, path: p, mutating: isMutation(route.method, route.path), why: `params ${segs.join('|')} ${b?.why ?? ''}`,
          headers: { authorization: `Bearer ${key}`, ...(b ? { 'content-type': b.contentType } : {}) }, ...(b ? { body: b.body } : {}),
        }));
      }),
      // 2. Existing model and version; only the body is broken.
      fc.tuple(fc.constantFrom(...V1_ROUTES.filter((r) => r.body === 'json')), fc.constantFrom(...keys.slice(0, 3))).chain(([route, key]) => {
        const spec = bodySpec(`${route.method} ${route.path}`, stored) as BodySpec;
        const p = route.path.replace('{model}', MODEL).replace('{version}', '1').replace('{id}', route.path.startsWith('/v1/keys') ? 'ffffffffffffffff' : `ro_${'f'.repeat(32)}`);
        return brokenBody(spec).map((b) => ({ method: route.method, path: p, mutating: isMutation(route.method, route.path), why: b.why, headers: { authorization: `Bearer ${key}`, 'content-type': b.contentType }, body: b.body }));
      }),
      // 3. Uploads: random bytes, wrong digests, bad queries and metadata headers.
      fc.tuple(fc.uint8Array({ maxLength: 2048 }), fc.boolean(), fc.oneof(fc.constant('fz2'), weirdSegment), fc.option(printable)).map(([bytes, rightSha, version, meta]) => {
        const body = Buffer.from(bytes.length ? bytes : [0]);
        return {
          method: 'POST', mutating: true, why: `upload ${body.length} bytes sha ${rightSha} meta ${meta}`,
          path: `/v1/models/${MODEL}/versions/upload?version=${version}&sha256=${rightSha ? sha(body) : sha(Buffer.from('other'))}`,
          headers: { authorization: `Bearer ${h.keys.admin}`, 'content-type': 'application/octet-stream', ...(meta !== null ? { 'x-sluice-metadata': meta } : {}) }, body,
        };
      }),
      // 3b. Dataset uploads: random bytes as CSV or JSON lines, odd column options.
      fc.tuple(fc.uint8Array({ maxLength: 2048 }), fc.constantFrom('text/csv', 'application/x-ndjson', 'application/jsonl'), fc.option(printable), fc.option(printable)).map(([bytes, ct, label, segment]) => ({
        method: 'POST', mutating: true, why: `dataset ${bytes.length} bytes as ${ct}`,
        path: `/v1/models/${MODEL}/datasets?${new URLSearchParams({ ...(label !== null ? { label } : {}), ...(segment !== null ? { segment } : {}) }).toString()}`,
        headers: { authorization: `Bearer ${h.keys.admin}`, 'content-type': ct }, body: Buffer.from(bytes.length ? bytes : [0]),
      })),
      // 4. Query strings on list routes: unknown keys, wrong types, repeated keys.
      fc.tuple(fc.constantFrom('/v1/models', `/v1/models/${MODEL}/versions`, '/v1/rollouts', '/v1/audit', `/v1/models/${MODEL}/traffic/history`),
        fc.array(fc.tuple(fc.constantFrom('limit', 'offset', 'status', 'phase', 'model', 'before', 'targetType', 'x', '__proto__', 'limit[]'), fc.oneof(printable, fc.integer().map(String), fc.constant('-1'), fc.constant('1e9'))), { minLength: 1, maxLength: 4 }))
        .map(([p, params]) => ({ method: 'GET', mutating: false, why: 'query', path: `${p}?${params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`, headers: { authorization: `Bearer ${h.keys.viewer}` } })),
      // 5. Headers: broken credentials, request ids, odd accept headers; unknown methods and paths.
      fc.tuple(fc.constantFrom(...V1_ROUTES), fc.oneof(printable.map((s) => `Bearer ${s}`), printable, fc.constant('Basic YWRtaW46YWRtaW4='), fc.constant(`Bearer ${h.keys.admin} extra`), fc.constant(`bearer  ${h.keys.admin.toUpperCase()}`)), printable, printable)
        .map(([route, auth, rid, accept]) => ({ method: route.method, mutating: isMutation(route.method, route.path), why: `auth ${auth}`, path: route.path.replace('{model}', MODEL).replace('{version}', '1').replace('{id}', `ro_${'0'.repeat(32)}`), headers: { authorization: auth, 'x-request-id': rid.replace(/[^\x20-\x7e]/g, ''), accept: accept.replace(/[^\x20-\x7e]/g, '') || '*/*', 'content-type': 'application/json' }, body: Buffer.from('{}') })),
      fc.tuple(fc.constantFrom('DELETE', 'PATCH', 'OPTIONS', 'PUT', 'POST', 'GET', 'TRACE'), fc.constantFrom('/v1', '/v1/', '//v1//models', '/v1/models/../keys', '/v1/models/%2e%2e/keys', '/v2/models', '/v1/rollouts/x/y/z', '/docs/../../etc/passwd', '/v1/models/' + 'a'.repeat(5000)))
        .map(([method, p]) => ({ method, mutating: method !== 'GET' && method !== 'OPTIONS', why: 'odd path', path: p, headers: { authorization: `Bearer ${h.keys.admin}`, ...(method === 'POST' || method === 'PUT' ? { 'content-type': 'application/json' } : {}) }, ...(method === 'POST' || method === 'PUT' ? { body: Buffer.from('{"x":1}') } : {}) })),
    );

    let requests = 0;
    await fc.assert(fc.asyncProperty(requestArb, async (req) => {
      requests++;
      const res = await send(base, req);
      const routeKey = `${req.method} ${res.status}`;
      seen.set(routeKey, (seen.get(routeKey) ?? 0) + 1);
      if (res.status >= 500) throw new Error(`${req.method} ${req.path.slice(0, 200)} (${req.why}) → ${res.status} ${res.body.slice(0, 300)}`);
      if (req.mutating && res.status < 400) throw new Error(`malformed ${req.method} ${req.path} (${req.why}) was accepted: ${res.status} ${res.body.slice(0, 300)}`);
      if (res.status >= 400 && res.status !== 431 && res.status !== 414) {
        expect(res.contentType, `${req.method} ${req.path} → ${res.status}`).toMatch(/application\/problem\+json/);
        const problem = JSON.parse(res.body) as { status: number; code: string; detail: string };
        expect(problem.status).toBe(res.status);
        expect(problem.code).toBeTruthy();
        expect(problem.detail).toBeTruthy();
      }
    }), { numRuns: Number(process.env.SLUICE_FUZZ_RUNS ?? 360), seed: Number(process.env.SLUICE_FUZZ_SEED ?? 20261123), endOnFailure: true });

    expect(requests).toBeGreaterThanOrEqual(300);
    // Still up, still right.
    expect((await h.call('GET', '/health', { key: null })).status).toBe(200);
    expect(await rowCounts(h.t)).toEqual(before);
    expect(await storeFiles()).toEqual(filesBefore);
    // The fuzzer reached handlers and validators alike, not only the auth gate.
    const statuses = new Set([...seen.keys()].map((k) => Number(k.split(' ')[1])));
    for (const s of [400, 401, 404]) expect(statuses, JSON.stringify([...seen])).toContain(s);
    void path;
  });
});
