import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../config.js';
import { SetupError } from '../shared/errors.js';

export interface ServiceSpec {
  name: string;
  /** A TypeScript entry point under the project, run with node --import tsx. */
  entry: string;
  env: Record<string, string>;
  /** Ready when this URL answers 2xx, or (without it) when the process prints SLUICE_READY. */
  readyUrl?: string;
  logDir: string;
  readyTimeoutMs?: number;
}

export interface RunningService {
  name: string;
  child: ChildProcess;
  logFile: string;
  stop(): Promise<void>;
}

/**
 * Starts a Sluice process as a child: output to a log file, stdin as a lifeline (the child exits
 * when it closes, see shared/lifecycle.ts), resolved once the process is ready.
 */
export async function startService(spec: ServiceSpec): Promise<RunningService> {
  fs.mkdirSync(spec.logDir, { recursive: true });
  const logFile = path.join(spec.logDir, `${spec.name}.log`);
  const log = fs.createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, spec.entry)], {
    cwd: projectRoot,
    env: { ...process.env, ...spec.env, SLUICE_EXIT_WITH_PARENT: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let exitCode: number | null = null;
  const exited = new Promise<void>((resolve) => child.once('exit', (code, signal) => { exitCode = code ?? (signal ? 128 : 0); resolve(); }));
  const tail: string[] = [];
  let announced = false;
  const onOutput = (chunk: Buffer) => {
    log.write(chunk);
    const text = chunk.toString();
    if (text.includes('SLUICE_READY')) announced = true;
    tail.push(text);
    if (tail.length > 40) tail.shift();
  };
  child.stdout?.on('data', onOutput);
  child.stderr?.on('data', onOutput);

  const deadline = Date.now() + (spec.readyTimeoutMs ?? 90_000);
  for (;;) {
    if (exitCode !== null) {
      throw new SetupError(`${spec.name} exited (code ${exitCode}) before it was ready:\n${tail.join('').trim().split('\n').slice(-6).join('\n')}`,
        `Full log: ${logFile}`);
    }
    if (spec.readyUrl ? await answers(spec.readyUrl) : announced) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new SetupError(`${spec.name} was not ready within ${Math.round((spec.readyTimeoutMs ?? 90_000) / 1000)} s.`, `See ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    name: spec.name,
    child,
    logFile,
    async stop() {
      if (exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      log.end();
    },
  };
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}
