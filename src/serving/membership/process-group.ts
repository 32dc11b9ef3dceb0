/**
 * One serving worker as several processes on one port (SLUICE_PROCESSES > 1), through
 * node:cluster. A process answers HTTP on one event loop, and on this workload the HTTP work costs
 * more than the inference (bench:serving): a second process on a second core nearly doubles what
 * the worker serves, where more inference threads would not.
 *
 * The primary only supervises: it forks the processes, waits until each has joined the fleet,
 * announces the worker ready, restarts a process that dies, and stops them all on SIGTERM. Each
 * process is a full fleet member of its own (`<worker id>-<n>`: its row in serving_workers, its
 * LISTEN, its log thread, its metrics), registered with the shared port as its address and a port
 * of its own as its admin address, so the fleet client's pushes and acks reach every process and a
 * weight change is acknowledged only once all of them serve it. Routing is a stable hash, so a key
 * gets the same version from whichever process answers.
 */
import cluster, { type Worker } from 'node:cluster';
import { GroupMetrics } from './group-metrics.js';

/** What a process sends the primary once it has joined the fleet. */
export interface ProcessReady {
  type: 'sluice-process-ready';
  workerId: string;
  url: string;
  ownUrl: string | null;
  details: Record<string, unknown>;
}

export function isProcessReady(m: unknown): m is ProcessReady {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'sluice-process-ready';
}

export interface ProcessGroupOptions {
  processes: number;
  /** The worker's id; process n (from 1) runs as `<workerId>-<n>`. */
  workerId: string;
  /** Called once every process has joined, with what each reported. */
  onReady: (ready: ProcessReady[]) => void;
  log: (message: string) => void;
  /** The first start of any process failed: the group is stopped and this is called with the process's exit code (1 when it had none). */
  onStartFailed: (message: string, exitCode: number) => void;
  /** A process that dies after the group started is forked again after this delay, doubled (to 30 s) while it keeps dying young. */
  restartDelayMs?: number;
}

export interface ProcessGroup {
  /** SIGTERM to every process (each drains, flushes its log and marks its row stopped); resolves when all have exited. */
  stop(): Promise<void>;
}

/** Forks and supervises the processes; call only in the cluster primary. */
export function startProcessGroup(o: ProcessGroupOptions): ProcessGroup {
  const baseDelay = o.restartDelayMs ?? 1000;
  const slots: Array<{ worker: Worker | null; ready: ProcessReady | null; delayMs: number; startedAt: number }> = [];
  let started = false;
  let stopping = false;
  // Pending restarts. Referenced timers: they keep the primary alive while every process is down
  // (all of them crashed at once, say), so the group restarts them instead of exiting.
  const restarts: Array<ReturnType<typeof setTimeout>> = [];
  const metrics = new GroupMetrics(() => slots.flatMap((s) => (s.worker ? [s.worker] : [])));

  const fork = (index: number): void => {
    const slot = slots[index];
    if (slot === undefined || stopping) return;
    // The dev stack's stdin watch stays with the primary: processes end when its IPC channel does.
    const worker = cluster.fork({ SLUICE_WORKER_ID: `${o.workerId}-${index + 1}`, SLUICE_PROCESS_INDEX: String(index + 1), SLUICE_EXIT_WITH_PARENT: '0' });
    slot.worker = worker;
    slot.startedAt = Date.now();
    worker.on('message', (m: unknown) => {
      if (metrics.handle(worker, m)) return;
      if (!isProcessReady(m) || stopping) return;
      slot.ready = m;
      if (!started && slots.every((s) => s.ready !== null)) {
        started = true;
        o.onReady(slots.map((s) => s.ready as ProcessReady));
      }
    });
    worker.once('exit', (code, signal) => {
      if (slot.worker === worker) slot.worker = null;
      metrics.processExited(worker);
      if (stopping) return;
      const how = signal ? `signal ${signal}` : `code ${String(code)}`;
      if (!started) {
        void stop().then(() => o.onStartFailed(`process ${index + 1} of ${slots.length} exited (${how}) before it joined the fleet`, typeof code === 'number' && code !== 0 ? code : 1));
        return;
      }
      // A process that lived a minute is back to the base delay; one that keeps dying waits longer.
      slot.delayMs = Date.now() - slot.startedAt > 60_000 ? baseDelay : Math.min(30_000, slot.delayMs * 2);
      o.log(`process ${index + 1} (${o.workerId}-${index + 1}) exited (${how}); starting it again in ${slot.delayMs} ms`);
      const timer = setTimeout(() => {
        restarts.splice(restarts.indexOf(timer), 1);
        fork(index);
      }, slot.delayMs);
      restarts.push(timer);
    });
  };

  const stop = async (): Promise<void> => {
    stopping = true;
    for (const timer of restarts.splice(0)) clearTimeout(timer);
    const running = slots.map((s) => s.worker).filter((w): w is Worker => w !== null && !w.isDead());
    await Promise.all(running.map((w) => new Promise<void>((resolve) => {
      w.once('exit', () => resolve());
      w.process.kill('SIGTERM');
    })));
  };

  for (let i = 0; i < o.processes; i++) slots.push({ worker: null, ready: null, delayMs: baseDelay / 2, startedAt: 0 });
  for (let i = 0; i < o.processes; i++) fork(i);
  return { stop };
}
