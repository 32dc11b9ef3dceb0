// Prometheus metrics for the API: requests by route and status, latency, and the process defaults.
// Each app has its own registry, so several apps in one process (tests) do not collide.
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Registry;
  }
}

export function installMetrics(app: FastifyInstance): void {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'sluice_api_' });
  const requests = new Counter({
    name: 'sluice_api_requests_total', help: 'API requests by method, route and status', labelNames: ['method', 'route', 'status'] as const, registers: [registry],
  });
  const duration = new Histogram({
    name: 'sluice_api_request_duration_seconds', help: 'API request latency', labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry],
  });
  app.decorate('metrics', registry);
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, never the raw URL, so label cardinality stays bounded.
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
  app.get('/metrics', {
    schema: {
      summary: 'Prometheus metrics',
      tags: ['health'],
      produces: ['text/plain'],
      response: { 200: Type.String({ description: 'Prometheus text exposition format' }) },
    },
  }, async (_request, reply) => {
    const body = await registry.metrics();
    return reply.type(registry.contentType).send(body);
  });
}
