import Fastify from 'fastify';
import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { Predicate, TrafficGeneration } from '../../../src/traffic/generation.js';

describe('the generation schema', () => {
  const mixed = [
    { attribute: 'x', equals: 1, gt: 5 },
    { all: [], any: [] },
    { attribute: 'x', equals: 1, colour: 'red' },
    { not: { attribute: 'x', in: [1], notIn: [2] } },
  ];
  const fine = [{ attribute: 'x', equals: 1 }, { attribute: 'x', gt: 1, lte: 3 }, { not: { all: [{ attribute: 'x', in: ['a'] }] } }];

  it('refuses a predicate with extra keys rather than dropping them, under Fastify\'s Ajv too', async () => {
    // The worker's validator: Fastify's Ajv, whose removeAdditional would strip keys under
    // `additionalProperties: false` and let {x equals 1, gt 5} through as {x equals 1}.
    const app = Fastify({ ajv: { customOptions: { coerceTypes: false } } });
    app.addSchema(Predicate);
    app.put('/g', { schema: { body: TrafficGeneration } }, async (req) => ({ got: req.body }));
    await app.ready();
    try {
      for (const targeting of mixed) {
        const g = { generation: 1, weights: { v1: 1 }, targeting };
        expect(Value.Check(TrafficGeneration, [Predicate], g), JSON.stringify(targeting)).toBe(false);
        expect((await app.inject({ method: 'PUT', url: '/g', payload: g })).statusCode, JSON.stringify(targeting)).toBe(400);
      }
      for (const targeting of fine) {
        const g = { generation: 1, weights: { v1: 1 }, targeting };
        expect(Value.Check(TrafficGeneration, [Predicate], g), JSON.stringify(targeting)).toBe(true);
        const res = await app.inject({ method: 'PUT', url: '/g', payload: g });
        expect(res.statusCode).toBe(200);
        expect(res.json()).toEqual({ got: g });
      }
    } finally {
      await app.close();
    }
  });
});
