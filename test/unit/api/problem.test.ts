// The validation and error format, on a bare Fastify app with Fastify's inject (no I/O).
import Fastify from 'fastify';
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { ApiError, installErrorHandling, installValidation } from '../../../src/api/problem.js';
import { RegistryError } from '../../../src/registry/errors.js';

async function app() {
  const a = Fastify();
  installErrorHandling(a);
  installValidation(a);
  a.post('/things', {
    schema: {
      body: Type.Object({ name: Type.String({ pattern: '^[a-z]+$' }), n: Type.Optional(Type.Integer({ minimum: 1 })) }, { additionalProperties: false }),
      querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 10, default: 5 }) }, { additionalProperties: false }),
    },
  }, async (req) => ({ body: req.body, query: req.query }));
  a.post('/optional', { schema: { body: Type.Object({ reason: Type.Optional(Type.String()) }, { additionalProperties: false }) } }, async (req) => req.body);
  a.get('/boom', async () => { throw new Error('secret database password in message'); });
  a.get('/conflict', async () => { throw new ApiError(409, 'conflict', 'taken', 'name'); });
  a.get('/registry', async () => { throw new RegistryError('sha256_mismatch', 'digest differs', 'sha256'); });
  await a.ready();
  return a;
}

describe('problem+json errors and strict validation', () => {
  it('names the field for wrong types, unknown fields and bad patterns; never coerces bodies', async () => {
    const a = await app();
    const cases: Array<[unknown, string, RegExp]> = [
      [{ name: 5 }, 'body/name', /expected string/],
      [{ name: 'ok', extra: 1 }, 'body/extra', /not a known field/],
      [{ name: 'NOPE' }, 'body/name', /match/],
      [{}, 'body/name', /required/],
      [{ name: 'ok', n: '3' }, 'body/n', /integer/],
    ];
    for (const [body, field, message] of cases) {
      const res = await a.inject({ method: 'POST', url: '/things', payload: body as object });
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      const p = res.json();
      expect(p).toMatchObject({ status: 400, code: 'invalid_request', field, title: 'Bad Request' });
      expect(p.detail).toMatch(message);
    }
  });

  it('coerces and defaults query strings; refuses unknown query keys', async () => {
    const a = await app();
    expect((await a.inject({ method: 'POST', url: '/things?limit=3', payload: { name: 'ok' } })).json().query).toEqual({ limit: 3 });
    expect((await a.inject({ method: 'POST', url: '/things', payload: { name: 'ok' } })).json().query).toEqual({ limit: 5 });
    const bad = await a.inject({ method: 'POST', url: '/things?limit=abc', payload: { name: 'ok' } });
    expect(bad.json()).toMatchObject({ field: 'query/limit' });
    expect((await a.inject({ method: 'POST', url: '/things?x=1', payload: { name: 'ok' } })).json().field).toBe('query/x');
  });

  it('accepts a missing body where every field is optional', async () => {
    const a = await app();
    expect((await a.inject({ method: 'POST', url: '/optional' })).statusCode).toBe(200);
  });

  it('masks 5xx details, maps ApiError and RegistryError, and 404s unknown routes', async () => {
    const a = await app();
    const boom = await a.inject({ method: 'GET', url: '/boom' });
    expect(boom.statusCode).toBe(500);
    expect(boom.body).not.toMatch(/password/);
    expect(boom.json()).toMatchObject({ code: 'internal', title: 'Internal Server Error' });
    expect((await a.inject({ method: 'GET', url: '/conflict' })).json()).toMatchObject({ status: 409, code: 'conflict', field: 'name', detail: 'taken' });
    expect((await a.inject({ method: 'GET', url: '/registry' })).json()).toMatchObject({ status: 400, code: 'sha256_mismatch', field: 'sha256' });
    expect((await a.inject({ method: 'GET', url: '/nowhere' })).json()).toMatchObject({ status: 404, code: 'route_not_found' });
    const badJson = await a.inject({ method: 'POST', url: '/things', payload: '{"name":', headers: { 'content-type': 'application/json' } });
    expect(badJson.statusCode).toBe(400);
    expect(badJson.json().code).toBe('invalid_json');
  });
});
