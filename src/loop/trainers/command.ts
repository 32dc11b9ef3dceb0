// An external trainer run as a command: argv + `--train FILE --holdout FILE --out FILE.onnx
// --params JSON` (the params also in SLUICE_TRAINER_PARAMS). It runs in its own process group, so
// the timeout (and a cancelled retrain) kills it and everything it started; it heartbeats while it
// runs; the last 64 KiB of its stderr are kept for the reason when it fails. A non-zero exit, a
// signal, or no file at --out is a failure; whether the file is an ONNX model is judged after.
import { spawn } from 'node:child_process';
import fsp from 'node:fs/promises';
import type { Trainer } from './trainer.js';
import { HEARTBEAT_MS, TrainerError } from './trainer.js';

/** How much of the trainer's stderr is kept (the end of it: where the error is). */
export const STDERR_TAIL_BYTES = 64 * 1024;

/** A bounded buffer of the last bytes written to it. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= this.limit) this.size -= this.chunks.shift()?.length ?? 0;
  }
  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8').trim();
  }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

export function commandTrainer(argv: readonly string[], timeoutSeconds: number, params: Record<string, unknown>): Trainer {
  const [command, ...args] = argv;
  return {
    ref: { kind: 'command', name: command ?? '', params },
    async train(job) {
      if (!command) throw new TrainerError('the trainer command is empty');
      const stderr = new Tail(STDERR_TAIL_BYTES);
      const paramsJson = JSON.stringify(params);
      const started = Date.now();
      const child = spawn(command, [...args, '--train', job.trainFile, '--holdout', job.holdoutFile, '--out', job.outFile, '--params', paramsJson], {
        detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SLUICE_TRAINER_PARAMS: paramsJson, SLUICE_RETRAIN_ID: job.retrainId },
      });
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      let stopped: string | null = null;
      const stop = (why: string) => {
        stopped ??= why;
        killGroup(child.pid);
      };
      const timer = setTimeout(() => stop(`timed out after ${timeoutSeconds} s and was killed`), timeoutSeconds * 1000);
      const beat = setInterval(() => job.heartbeat({ trainer: command, pid: child.pid, runningSeconds: Math.round((Date.now() - started) / 1000) }), HEARTBEAT_MS);
      const onAbort = () => stop('was cancelled and killed');
      job.signal.addEventListener('abort', onAbort);
      try {
        const exit = await new Promise<{ code: number | null; signal: string | null }>((resolve, reject) => {
          child.once('error', reject);
          child.once('close', (code, signal) => resolve({ code, signal }));
        }).catch((err: NodeJS.ErrnoException) => {
          throw new TrainerError(`trainer command ${command} cannot be run (${err.code ?? err.message}): it must be an executable file or on PATH`);
        });
        const tail = stderr.text();
        const said = tail ? `; its stderr ends:\n${tail}` : '; it wrote nothing to stderr';
        if (stopped) throw new TrainerError(`trainer command ${command} ${stopped}${said}`);
        if (exit.code !== 0) throw new TrainerError(`trainer command ${command} ${exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`}${said}`);
        const out = await fsp.stat(job.outFile).catch(() => null);
        if (!out?.isFile() || out.size === 0) throw new TrainerError(`trainer command ${command} exited 0 but wrote no model to --out ${job.outFile}${said}`);
      } finally {
        clearTimeout(timer);
        clearInterval(beat);
        job.signal.removeEventListener('abort', onAbort);
        // Whatever it left running in its group goes with it.
        if (child.exitCode === null) killGroup(child.pid);
      }
    },
  };
}
