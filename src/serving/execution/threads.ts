/**
 * Starting one of the worker's own modules as a worker thread. From TypeScript sources (tsx,
 * vitest) the thread registers tsx before importing the module; compiled JavaScript imports it
 * directly.
 */
import { Worker } from 'node:worker_threads';

/**
 * `callerUrl` is the caller's `import.meta.url` and `moduleBaseName` the thread module's path
 * relative to it, without extension: the same relative path works from sources and from output.
 */
export function startModuleThread(callerUrl: string, moduleBaseName: string, workerData: unknown): Worker {
  const fromSource = callerUrl.endsWith('.ts');
  const script = new URL(`${moduleBaseName}${fromSource ? '.ts' : '.js'}`, callerUrl).href;
  const code = fromSource
    ? `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(script)}); })`
    : `import(${JSON.stringify(script)})`;
  return new Worker(code, { eval: true, workerData });
}
