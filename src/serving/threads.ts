/**
 * Starting one of the worker's own modules as a worker thread. From TypeScript sources (tsx,
 * vitest) the thread registers tsx before importing the module; compiled JavaScript imports it
 * directly.
 */
import { Worker } from 'node:worker_threads';

export function startModuleThread(moduleBaseName: string, workerData: unknown): Worker {
  const here = import.meta.url;
  const fromSource = here.endsWith('.ts');
  const script = new URL(`./${moduleBaseName}${fromSource ? '.ts' : '.js'}`, here).href;
  const code = fromSource
    ? `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(script)}); })`
    : `import(${JSON.stringify(script)})`;
  return new Worker(code, { eval: true, workerData });
}
