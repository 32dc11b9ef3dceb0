// Bring your own model, the plain flow, nothing mocked: for every exporter shape, a model created
// through the real API with no contract flags, two versions uploaded (the second differs in bytes
// only), the first rolled out (a first version goes straight to production) and the second rolled
// out through a short canary while requests built from the fixture's evaluation rows flow to two
// real serving workers; the real orchestrator on the real Temporal dev server decides. Each rollout
// must end promoted (the second version is the first in other bytes), never with "workflow failed"
// / "Activity task failed".
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApiApp } from '../../src/api/app.js';
import {
  EXPORTER_FIXTURE_KINDS, evaluationInputs, exporterEvaluationSet, exporterFixtureModel, type ExporterFixtureKind,
} from '../../src/models/fixtures.js';
import { ArtifactStore } from '../../src/registry/artifacts.js';
import { createApiKey } from '../../src/registry/keys.js';
import { datatypeByOrt } from '../../src/serving/protocol/tensors.js';
import { startE2eStack, type E2eStack } from './e2e-stack.js';

type Shape = Exclude<ExporterFixtureKind, 'zipmap'>;
const SHAPES = EXPORTER_FIXTURE_KINDS.filter((k): k is Shape => k !== 'zipmap');

/** A short rollout: validation, one canary step with a small bake, no experiment. */
const POLICY = {
  // Latency here measures a machine shared with two workers and the request loop, not the model.
  validation: { maxP99LatencyMs: 2000 },
  canary: { steps: [{ weight: 0.5, bakeSeconds: 2 }], analysisIntervalSeconds: 1, gates: { minRequests: 5, maxPredictionPsi: 10, maxP99LatencyRatio: 50 } },
  experiment: { kind: 'none' },
};

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * The same model in different bytes: a doc_string (ModelProto field 6) appended to the serialized
 * model. Protobuf parsers take the last value of a repeated singular field, so ONNX Runtime loads
 * the same graph; the artifact's sha256 differs, as a re-export's would.
 */
function variant(bytes: Uint8Array, note: string): Buffer {
  const text = Buffer.from(note, 'utf8');
  if (text.length > 127) throw new Error('the note must fit a one-byte length');
  return Buffer.concat([bytes, Buffer.from([(6 << 3) | 2, text.length]), text]);
}

interface Outcome { status: string; reason: string | null }
interface ShapeResult {
  registered: Array<{ status: number; contractSource?: string; detail?: string }>;
  first?: Outcome;
  second?: Outcome;
  requests: number;
  answered: Record<string, number>;
  errors: string[];
}

describe('bring your own model: the plain flow for every exporter shape (real API, Temporal, Postgres, workers)', () => {
  let stack: E2eStack;
  let api: FastifyInstance;
  let apiUrl: string;
  let key: string;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-byom-'));
  const results = new Map<Shape, ShapeResult>();

  const call = async (method: string, route: string, body?: unknown, raw?: Uint8Array) => {
    const res = await fetch(apiUrl + route, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(raw ? { 'content-type': 'application/octet-stream' } : body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as Record<string, unknown> };
  };

  /** Starts a rollout through the API and waits for the workflow to end; the outcome is the rollout's row as the API shows it. */
  async function rollOut(model: string, version: string): Promise<Outcome> {
    const started = await call('POST', '/v1/rollouts', { model, version, policy: POLICY });
    if (started.status !== 201 && started.status !== 202) return { status: `refused ${started.status}`, reason: String(started.body.detail) };
    const id = String(started.body.id);
    await stack.client.workflow.getHandle(String(started.body.workflowId)).result().catch(() => undefined);
    const row = await call('GET', `/v1/rollouts/${id}`);
    return { status: String(row.body.status), reason: row.body.outcomeReason as string | null };
  }

  /** Requests built from the fixture's evaluation rows, round-robin over the workers, until stopped. */
  function traffic(kind: Shape, model: string, result: ShapeResult): () => Promise<void> {
    const { entry } = exporterFixtureModel(kind);
    const { columns, rows } = exporterEvaluationSet(kind);
    let running = true;
    const loop = (async () => {
      for (let i = 0; running; i++) {
        const inputs = evaluationInputs(entry, columns, [rows[i % rows.length] as string[]]).map((input) => ({
          name: input.name, datatype: datatypeByOrt(input.type)?.oip ?? input.type, shape: input.shape, data: input.values,
        }));
        const url = stack.workers[i % stack.workers.length]?.url as string;
        result.requests++;
        try {
          const res = await fetch(`${url}/v2/models/${model}/infer`, {
            method: 'POST', headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ id: `r${i}`, inputs, parameters: { routing_key: `${model}-user-${i % 500}` } }),
          });
          const answer = (await res.json()) as { model_version?: string; error?: string };
          if (res.ok) result.answered[answer.model_version ?? '?'] = (result.answered[answer.model_version ?? '?'] ?? 0) + 1;
          else if (result.errors.length < 5) result.errors.push(`${res.status}: ${answer.error ?? JSON.stringify(answer)}`);
        } catch (err) {
          if (result.errors.length < 5) result.errors.push((err as Error).message);
        }
        // About 50 requests a second per shape: enough for the canary's minimum, light on a shared machine.
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    return async () => { running = false; await loop; };
  }

  async function plainFlow(kind: Shape): Promise<ShapeResult> {
    const result: ShapeResult = { registered: [], requests: 0, answered: {}, errors: [] };
    const model = `byom-${kind}`;
    const created = await call('POST', '/v1/models', { name: model });
    if (created.status !== 201) throw new Error(`create ${model}: ${created.status} ${JSON.stringify(created.body)}`);
    const original = fs.readFileSync(exporterFixtureModel(kind).path);
    for (const [version, bytes] of [['1', original], ['2', variant(original, `${kind} re-exported`)]] as const) {
      const res = await call('POST', `/v1/models/${model}/versions/upload?version=${version}&sha256=${sha256(bytes)}`, undefined, bytes);
      result.registered.push({ status: res.status, contractSource: res.body.contractSource as string | undefined, detail: res.body.detail as string | undefined });
      if (res.status !== 201) return result;
    }
    result.first = await rollOut(model, '1');
    if (result.first.status !== 'promoted') return result;
    const stop = traffic(kind, model, result);
    try {
      result.second = await rollOut(model, '2');
    } finally {
      await stop();
    }
    return result;
  }

  beforeAll(async () => {
    stack = await startE2eStack({ name: 'byom' });
    const { t, client, taskQueue } = stack;
    api = await buildApiApp({
      db: t.db, temporal: { client, taskQueue, uiUrl: null, timeoutMs: 20_000 }, rateLimit: false,
      artifacts: new ArtifactStore({ root: path.join(tmp, 'artifacts'), maxBytes: 16 * 1024 * 1024 }),
    });
    await api.listen({ port: 0, host: '127.0.0.1' });
    const address = api.server.address();
    apiUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    key = (await createApiKey(t.db, { projectId: 'default', name: 'byom-e2e', role: 'admin' })).token;

    // Every shape at once: each has its own model, workflow and traffic, so they do not interfere.
    const settled = await Promise.allSettled(SHAPES.map(async (kind) => [kind, await plainFlow(kind)] as const));
    for (const [i, s] of settled.entries()) {
      const kind = SHAPES[i] as Shape;
      results.set(kind, s.status === 'fulfilled' ? s.value[1] : { registered: [], requests: 0, answered: {}, errors: [`the flow threw: ${(s.reason as Error).message}`] });
    }
  }, 240_000);

  afterAll(async () => {
    await api?.close();
    await stack?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it.each(SHAPES)('%s: created with no contract flags, both versions registered, both rolled out to promotion', async (kind) => {
    const r = results.get(kind) as ShapeResult;
    const summary = JSON.stringify(r);
    expect(r.registered.map((x) => x.status), summary).toEqual([201, 201]);
    // The first version's contract was inferred; the second keeps it.
    expect(r.registered.map((x) => x.contractSource), summary).toEqual(['inferred', 'kept']);
    expect(r.first?.status, summary).toBe('promoted');
    const second = r.second as Outcome;
    // Whatever the outcome, it says why: never a bare workflow failure.
    expect(second.reason ?? '', summary).not.toMatch(/workflow failed|Activity task failed/);
    // The second version is the first in other bytes: it keeps the contract, passes the canary and is promoted.
    expect(second.status, summary).toBe('promoted');
    // Requests with the fixture's inputs were answered by the workers throughout, by the candidate too.
    expect(r.errors, summary).toEqual([]);
    expect(r.answered['2'] ?? 0, summary).toBeGreaterThan(0);
    expect((await call('GET', `/v1/models/byom-${kind}`)).body).toMatchObject({ productionVersion: '2', task: exporterFixtureModel(kind).entry.task });
  });

  it('a ZipMap output is refused at registration through the API, with the skl2onnx fix in the message', async () => {
    expect((await call('POST', '/v1/models', { name: 'byom-zipmap' })).status).toBe(201);
    const bytes = fs.readFileSync(exporterFixtureModel('zipmap').path);
    const res = await call('POST', `/v1/models/byom-zipmap/versions/upload?version=1&sha256=${sha256(bytes)}`, undefined, bytes);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('invalid_model');
    expect(String(res.body.detail)).toContain("output output_probability is not a tensor");
    expect(String(res.body.detail)).toContain("set options={'zipmap': False} in skl2onnx's convert_sklearn");
    const versions = await call('GET', '/v1/models/byom-zipmap/versions');
    expect(versions.body.versions).toEqual([]);
  });
});
