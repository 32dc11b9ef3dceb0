// The demo's simulated users as the loop needs them: each request's true label reported by request
// id (the retrain's training data), and a population that can shift mid-run. Serving is a stub
// fetch here; test/integration/dev-stack.test.ts runs the demo on the real stack.
import { describe, expect, it } from 'vitest';
import { demoSucceeded } from '../../../src/cli/demo.js';
import { creditTrafficRows, DEMO_CREDIT_SHIFT } from '../../../src/simulator/credit-population.js';
import { TrafficSimulator } from '../../../src/simulator/traffic.js';
import { CREDIT_FEATURE_NAMES } from '../../../src/models/dataset.js';

interface Sent { url: string; body: unknown }

function stubServing(sent: Sent[]): typeof fetch {
  return (async (url: string | URL | Request, init?: RequestInit) => {
    const body = JSON.parse(String(init?.body)) as unknown;
    sent.push({ url: String(url), body });
    const answer = String(url).endsWith('/infer') ? { model_version: 'v2', id: (body as { id: string }).id } : { accepted: 1 };
    return new Response(JSON.stringify(answer), { status: 200, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
}

describe('demo traffic', () => {
  it('reports each row\'s label by the request id it was served under, and draws from the new population after a shift', async () => {
    const sent: Sent[] = [];
    const before = { rows: [[1, 1], [1, 1]], labels: [1, 1] };
    const sim = new TrafficSimulator({
      servingUrls: ['http://serving'], model: 'm', users: 10, requestsPerSecond: 1000, features: 2, ...before,
      metric: 'converted', labelMetric: 'label', requestIdPrefix: 'run7', outcome: { conversionRate: {}, defaultRate: 0 }, fetchImpl: stubServing(sent),
    });
    sim.start();
    while (sent.filter((s) => s.url.endsWith('/feedback')).length < 20) await new Promise((r) => setTimeout(r, 5));
    sim.setPopulation([[2, 2]], [0]);
    const shiftedFrom = sent.length;
    while (sent.slice(shiftedFrom).filter((s) => s.url.endsWith('/feedback')).length < 20) await new Promise((r) => setTimeout(r, 5));
    await sim.stop();

    const infers = new Map(sent.filter((s) => s.url.endsWith('/infer')).map((s) => {
      const b = s.body as { id: string; inputs: Array<{ data: number[] }> };
      return [b.id, b.inputs[0]?.data[0]];
    }));
    const labels = sent.filter((s) => s.url.endsWith('/feedback')).map((s) => (s.body as Array<{ metric: string; request_id?: string; value: number }>).find((e) => e.metric === 'label'));
    expect(labels.every((l) => l?.request_id?.startsWith('run7-'))).toBe(true);
    // Every label is the one of the row its request sent: 1 for the first population's rows, 0 after the shift.
    for (const l of labels) expect(l?.value).toBe(infers.get(l?.request_id ?? '') === 1 ? 1 : 0);
    expect(labels.some((l) => l?.value === 1)).toBe(true);
    expect(labels.some((l) => l?.value === 0)).toBe(true);
  });

  it('encodes the credit population as the fixtures read it, and the demo\'s shift moves income down and debt up', () => {
    const base = creditTrafficRows(2000, 3);
    const shifted = creditTrafficRows(2000, 3, DEMO_CREDIT_SHIFT);
    expect(base.rows[0]).toHaveLength(CREDIT_FEATURE_NAMES.length);
    expect(base.labels.every((l) => l === 0 || l === 1)).toBe(true);
    const mean = (rows: number[][], name: string) => rows.reduce((a, r) => a + (r[CREDIT_FEATURE_NAMES.indexOf(name)] ?? 0), 0) / rows.length;
    expect(mean(shifted.rows, 'income')).toBeLessThan(mean(base.rows, 'income'));
    expect(mean(shifted.rows, 'debt_ratio')).toBeGreaterThan(mean(base.rows, 'debt_ratio'));
  });

  it('calls the demo a success only when the retrained version is in production at the end of its chain', () => {
    expect(demoSucceeded({ retrained: 'v3', production: 'v3', chain: ['v1', 'v2', 'v3'] })).toBe(true);
    expect(demoSucceeded({ retrained: 'v3', production: 'v2', chain: ['v1', 'v2'] })).toBe(false);
    expect(demoSucceeded({ retrained: null, production: 'v2', chain: ['v1', 'v2'] })).toBe(false);
    expect(demoSucceeded({ retrained: 'v3', production: 'v3', chain: ['v3'] })).toBe(false);
  });
});
