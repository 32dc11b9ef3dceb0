import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found from this file's location so scripts work from any cwd. */
export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Where the dev stack keeps state between runs (Postgres data, Temporal SQLite, artifacts). */
export function stateDir(): string {
  return path.resolve(process.env.SLUICE_STATE_DIR ?? path.join(projectRoot, '.sluice'));
}

export { SEARCH_ATTRIBUTES } from './shared/search-attributes.js';

export const TEMPORAL_NAMESPACE = process.env.TEMPORAL_NAMESPACE ?? 'default';
export const TASK_QUEUE = process.env.SLUICE_TASK_QUEUE ?? 'sluice-orchestrator';

export function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new Error(`${name}=${raw} is not a valid port number`);
  }
  return value;
}
