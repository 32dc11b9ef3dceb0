import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../config.js';
import { SetupError } from '../shared/errors.js';

/** How a child process ended: an exit code, or the signal that killed it. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One life of a supervised child, from ready until it ends. */
export interface ChildRun {
  /** Resolves when the process ends, whether stopped, killed or crashed. */
  exited: Promise<ChildExit>;
  stop(): Promise<void>;
}

/**
 * When to restart a child that died and when to stop trying. Delays double from `firstDelayMs`
 * up to `maxDelayMs`; a child that stayed up `healthyAfterMs` starts again from the first delay.
 * `maxFailures` failures within `windowMs` (deaths and failed restarts alike) mean it cannot run
 * here, and restarting it more would only fill the terminal.
 */
export interface RestartPolicy {
  firstDelayMs: number;
  maxDelayMs: number;
  healthyAfterMs: number;
  maxFailures: number;
  windowMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { firstDelayMs: 500, maxDelayMs: 10_000, healthyAfterMs: 30_000, maxFailures: 5, windowMs: 60_000 };

export interface SupervisedChild<R extends ChildRun> {
  name: string;
  /** The run now up (after a restart, the new one). */
  current(): R;
  /** Stops the child and any restart under way; it is not started again. */
  stop(): Promise<void>;
}

export interface SuperviseOptions<R extends ChildRun> {
  /** How the lines name it: "serving-1", "PostgreSQL". */
  name: string;
  /** Starts one life of the child, resolved once it is ready; rejects when it cannot be made ready. */
  start: () => Promise<R>;
  policy?: Partial<RestartPolicy>;
  /** One line for each restart and for giving up. */
  log: (line: string) => void;
  /** Called once, with the line already logged, when the child failed too often to go on. */
  onGiveUp?: (message: string) => void;
  /** Where the child writes its output, named in the give-up line. */
  logFile?: string;
  /**
   * False while the whole stack is stopping: then a child that ends is not restarted, and no line
   * is printed. (Ctrl-C signals every process of the terminal's group at once, so children end
   * on their own before the stack's orderly stop reaches them.)
   */
  restartAllowed?: () => boolean;
}

export function describeExit(exit: ChildExit): string {
  return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code ?? 'unknown'}`;
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(2))} s`;
}

/**
 * Starts a child and keeps it running: when it dies it is started again after a backoff, with one
 * line saying which child, how it ended, the attempt and the delay; after `maxFailures` failures
 * within `windowMs` it is left down and `onGiveUp` is told. The first start is not retried: a
 * child that cannot start at all fails the caller at once, with its own message.
 */
export async function supervise<R extends ChildRun>(opts: SuperviseOptions<R>): Promise<SupervisedChild<R>> {
  const policy = { ...DEFAULT_RESTART_POLICY, ...opts.policy };
  let current = await opts.start();
  let upSince = Date.now();
  let stopping = false;
  let attempt = 0;
  let failures: number[] = [];
  let timer: NodeJS.Timeout | undefined;
  let starting: Promise<void> | undefined;

  const allowed = () => !stopping && (opts.restartAllowed?.() ?? true);
  const failed = (what: string, upMs: number) => {
    if (!allowed()) return;
    const now = Date.now();
    if (upMs >= policy.healthyAfterMs) attempt = 0;
    failures = [...failures.filter((t) => now - t < policy.windowMs), now];
    if (failures.length >= policy.maxFailures) {
      const message = `${opts.name} ${what}: ${failures.length} failures within ${seconds(policy.windowMs)}, so it is not restarted again.${opts.logFile ? ` Its log: ${opts.logFile}` : ''}`;
      opts.log(message);
      opts.onGiveUp?.(message);
      return;
    }
    attempt += 1;
    const delay = Math.min(policy.firstDelayMs * 2 ** (attempt - 1), policy.maxDelayMs);
    opts.log(`${opts.name} ${what}; restart ${attempt} in ${seconds(delay)}`);
    timer = setTimeout(() => {
      timer = undefined;
      if (!allowed()) return;
      starting = opts.start().then(
        (run) => {
          current = run;
          upSince = Date.now();
          // A stop that came while it was starting found nothing to stop yet: stop it here.
          if (stopping) return run.stop();
          watch(run);
        },
        (err: unknown) => failed(`did not start again (${(err instanceof Error ? err.message : String(err)).split('\n')[0]})`, 0),
      ).finally(() => { starting = undefined; });
    }, delay);
  };
  const watch = (run: R) => {
    void run.exited.then((exit) => {
      if (run === current) failed(describeExit(exit), Date.now() - upSince);
    });
  };
  watch(current);

  return {
    name: opts.name,
    current: () => current,
    async stop() {
      stopping = true;
      if (timer) clearTimeout(timer);
      await starting;
      await current.stop();
    },
  };
}

export interface ServiceSpec {
  name: string;
  /** A TypeScript entry point under the project, run with node --import tsx. */
  entry: string;
  env: Record<string, string>;
  logDir: string;
  readyTimeoutMs?: number;
}

export interface RunningService extends ChildRun {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** What the process announced in its SLUICE_READY line (its url, for a server on port 0). */
  ready: Record<string, unknown>;
}

/**
 * Starts a Sluice process as a child: output to a log file, stdin as a lifeline (the child exits
 * when it closes, see shared/lifecycle.ts), resolved once the process prints its SLUICE_READY line.
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
  // A child that dies closes its end of the lifeline: writing nothing, we still must not crash on EPIPE.
  child.stdin?.on('error', () => undefined);
  let exit: ChildExit | null = null;
  const exited = new Promise<ChildExit>((resolve) => child.once('exit', (code, signal) => { exit = { code, signal }; resolve(exit); }));
  // 'close' comes after the last output, which may follow 'exit'.
  child.once('close', () => log.end());
  const tail: string[] = [];
  let ready: Record<string, unknown> | null = null;
  let stdoutLine = '';
  const keep = (text: string) => {
    tail.push(text);
    if (tail.length > 40) tail.shift();
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    log.write(chunk);
    const text = chunk.toString();
    keep(text);
    if (ready) return;
    const lines = (stdoutLine + text).split('\n');
    stdoutLine = lines.pop() ?? '';
    for (const line of lines) {
      const m = /^SLUICE_READY (.*)$/.exec(line);
      if (m) ready = parseReady(m[1] as string);
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => { log.write(chunk); keep(chunk.toString()); });

  const timeoutMs = spec.readyTimeoutMs ?? 90_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exit !== null) {
      throw new SetupError(`${spec.name} ${describeExit(exit)} before it was ready:\n${tail.join('').trim().split('\n').slice(-6).join('\n')}`,
        `Full log: ${logFile}`);
    }
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw new SetupError(`${spec.name} was not ready within ${Math.round(timeoutMs / 1000)} s.`, `See ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    name: spec.name,
    child,
    logFile,
    ready,
    exited,
    async stop() {
      if (exit === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

function parseReady(json: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === 'object' && value !== null ? value as Record<string, unknown> : {};
  } catch {
    return {};
  }
}
