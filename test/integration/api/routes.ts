// Every /v1 route with the role it needs: the spec the auth, OpenAPI and fuzz tests check the app
// against. A route missing here fails the OpenAPI test, so new routes get classified.
import type { Role } from '../../../src/db/schema.js';

export interface RouteSpec { method: 'GET' | 'POST' | 'PUT'; path: string; role: Role; body?: 'json' | 'octet' }

export const V1_ROUTES: RouteSpec[] = [
  { method: 'GET', path: '/v1/whoami', role: 'viewer' },
  { method: 'GET', path: '/v1/models', role: 'viewer' },
  { method: 'POST', path: '/v1/models', role: 'deployer', body: 'json' },
  { method: 'GET', path: '/v1/models/{model}', role: 'viewer' },
  { method: 'PUT', path: '/v1/models/{model}/golden-set', role: 'deployer', body: 'json' },
  { method: 'PUT', path: '/v1/models/{model}/contract', role: 'deployer', body: 'json' },
  { method: 'PUT', path: '/v1/models/{model}/golden-dataset', role: 'deployer', body: 'json' },
  { method: 'GET', path: '/v1/models/{model}/datasets', role: 'viewer' },
  { method: 'POST', path: '/v1/models/{model}/datasets', role: 'deployer', body: 'octet' },
  { method: 'GET', path: '/v1/models/{model}/datasets/{id}', role: 'viewer' },
  { method: 'GET', path: '/v1/models/{model}/versions', role: 'viewer' },
  { method: 'POST', path: '/v1/models/{model}/versions', role: 'deployer', body: 'json' },
  { method: 'POST', path: '/v1/models/{model}/versions/upload', role: 'deployer', body: 'octet' },
  { method: 'GET', path: '/v1/models/{model}/versions/{version}', role: 'viewer' },
  { method: 'GET', path: '/v1/models/{model}/lineage', role: 'viewer' },
  { method: 'PUT', path: '/v1/models/{model}/versions/{version}/reference-profile', role: 'deployer', body: 'json' },
  { method: 'POST', path: '/v1/models/{model}/versions/{version}/reference-profile/compute', role: 'deployer', body: 'json' },
  { method: 'POST', path: '/v1/models/{model}/versions/{version}/retire', role: 'admin', body: 'json' },
  { method: 'GET', path: '/v1/models/{model}/traffic', role: 'viewer' },
  { method: 'GET', path: '/v1/models/{model}/traffic/history', role: 'viewer' },
  { method: 'POST', path: '/v1/rollouts', role: 'deployer', body: 'json' },
  { method: 'GET', path: '/v1/rollouts', role: 'viewer' },
  { method: 'GET', path: '/v1/rollouts/{id}', role: 'viewer' },
  { method: 'GET', path: '/v1/rollouts/{id}/state', role: 'viewer' },
  { method: 'POST', path: '/v1/rollouts/{id}/pause', role: 'deployer', body: 'json' },
  { method: 'POST', path: '/v1/rollouts/{id}/resume', role: 'deployer', body: 'json' },
  { method: 'POST', path: '/v1/rollouts/{id}/abort', role: 'deployer', body: 'json' },
  { method: 'POST', path: '/v1/rollouts/{id}/approve', role: 'approver', body: 'json' },
  { method: 'PUT', path: '/v1/rollouts/{id}/weights', role: 'admin', body: 'json' },
  { method: 'GET', path: '/v1/rollouts/{id}/history', role: 'viewer' },
  { method: 'GET', path: '/v1/rollouts/{id}/report', role: 'viewer' },
  { method: 'GET', path: '/v1/experiments/{id}', role: 'viewer' },
  { method: 'POST', path: '/v1/keys', role: 'admin', body: 'json' },
  { method: 'GET', path: '/v1/keys', role: 'admin' },
  { method: 'POST', path: '/v1/keys/{id}/disable', role: 'admin', body: 'json' },
  { method: 'GET', path: '/v1/audit', role: 'viewer' },
  { method: 'POST', path: '/v1/replays', role: 'deployer', body: 'json' },
  { method: 'GET', path: '/v1/models/{model}/loop-policy', role: 'viewer' },
  { method: 'PUT', path: '/v1/models/{model}/loop-policy', role: 'deployer', body: 'json' },
  { method: 'GET', path: '/v1/models/{model}/drift-reports', role: 'viewer' },
];

export const PUBLIC_ROUTES = [
  { method: 'GET', path: '/health' },
  { method: 'GET', path: '/metrics' },
] as const;

const RANK: Record<Role, Role[]> = {
  viewer: ['viewer', 'deployer', 'approver', 'admin'],
  deployer: ['deployer', 'admin'],
  approver: ['approver', 'admin'],
  admin: ['admin'],
};

/** The roles that may call a route needing `role`. */
export function allowedRoles(role: Role): Role[] {
  return RANK[role];
}
