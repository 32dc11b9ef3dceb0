// The dev stack's supervisor with small real child processes (node -e): a child that dies is
// started again after a backoff that doubles up to its cap, with one line per restart naming the
// child, how it ended, the attempt and the delay; repeated fast failures end in one give-up line.
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { supervise, type ChildExit, type ChildRun, type SupervisedChild } from '../../../src/dev/supervisor.js';

interface NodeRun extends ChildRun { pid: number }

/** Starts `node -e code`; ready once the process has spawned. */
async function nodeChild(code: string): Promise<NodeRun> {
  const child = spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
  const exited = new Promise<ChildExit>((resolve) => child.once('exit', (c, signal) => resolve({ code: c, signal })));
  await new Promise<void>((resolve, reject) => { child.once('spawn', resolve); child.once('error', reject); });
  return {
    pid: child.pid as number,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

/** Polls until `check` holds; the generous deadline is for a busy machine, the wait is usually short. */
async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const LIVES = 'setInterval(() => undefined, 1000)';
let running: SupervisedChild<NodeRun> | undefined;
afterEach(async () => { await running?.stop(); running = undefined; });

describe('supervise', () => {
  it('starts a child killed with SIGKILL again, with one line naming it, the signal, the attempt and the delay', async () => {
    const lines: string[] = [];
    let starts = 0;
    running = await supervise({ name: 'worker', start: () => { starts++; return nodeChild(LIVES); }, log: (l) => lines.push(l), policy: { firstDelayMs: 50 } });
    const first = running.current().pid;
    process.kill(first, 'SIGKILL');
    await until('a new process', () => running?.current().pid !== first);
    expect(alive(running.current().pid)).toBe(true);
    expect(starts).toBe(2);
    expect(lines).toEqual(['worker was killed by SIGKILL; restart 1 in 0.05 s']);
  });

  it('doubles the delay up to its cap, and gives up with one line after repeated fast failures', async () => {
    const lines: string[] = [];
    const gaveUp: string[] = [];
    let starts = 0;
    running = await supervise({
      name: 'flaky', start: () => { starts++; return nodeChild('process.exit(3)'); }, log: (l) => lines.push(l), onGiveUp: (m) => gaveUp.push(m),
      policy: { firstDelayMs: 20, maxDelayMs: 60, maxFailures: 5, windowMs: 60_000 }, logFile: '/var/log/flaky.log',
    });
    await until('the give-up', () => gaveUp.length > 0);
    expect(lines).toEqual([
      'flaky exited with code 3; restart 1 in 0.02 s',
      'flaky exited with code 3; restart 2 in 0.04 s',
      'flaky exited with code 3; restart 3 in 0.06 s',
      'flaky exited with code 3; restart 4 in 0.06 s',
      'flaky exited with code 3: 5 failures within 60 s, so it is not restarted again. Its log: /var/log/flaky.log',
    ]);
    expect(gaveUp).toEqual([lines[4]]);
    // Left down: no start after the give-up.
    await new Promise((r) => setTimeout(r, 300));
    expect(starts).toBe(5);
  });

  it('counts a restart that fails before it is ready as a failure, with the reason in its line', async () => {
    const lines: string[] = [];
    const gaveUp: string[] = [];
    let starts = 0;
    running = await supervise({
      name: 'api', log: (l) => lines.push(l), onGiveUp: (m) => gaveUp.push(m), policy: { firstDelayMs: 10, maxFailures: 3 },
      start: async () => {
        starts++;
        if (starts > 1) throw new Error('api exited with code 1 before it was ready:\nmore detail');
        return await nodeChild('setTimeout(() => process.exit(1), 50)');
      },
    });
    await until('the give-up', () => gaveUp.length > 0);
    expect(lines).toEqual([
      'api exited with code 1; restart 1 in 0.01 s',
      'api did not start again (api exited with code 1 before it was ready:); restart 2 in 0.02 s',
      'api did not start again (api exited with code 1 before it was ready:): 3 failures within 60 s, so it is not restarted again.',
    ]);
  });

  it('starts from the first delay again after a child stayed up a while', async () => {
    const lines: string[] = [];
    running = await supervise({
      name: 'steady', start: () => nodeChild('setTimeout(() => process.exit(1), 300)'), log: (l) => lines.push(l),
      policy: { firstDelayMs: 10, healthyAfterMs: 200, maxFailures: 100 },
    });
    await until('three restarts', () => lines.length >= 3);
    expect(lines.slice(0, 3)).toEqual(Array.from({ length: 3 }, () => 'steady exited with code 1; restart 1 in 0.01 s'));
  });

  it('stops the child, restarts nothing afterwards, and prints nothing for the stop', async () => {
    const lines: string[] = [];
    let starts = 0;
    const supervised = await supervise({ name: 'worker', start: () => { starts++; return nodeChild(LIVES); }, log: (l) => lines.push(l), policy: { firstDelayMs: 10 } });
    const pid = supervised.current().pid;
    await supervised.stop();
    expect(alive(pid)).toBe(false);
    await new Promise((r) => setTimeout(r, 100));
    expect(starts).toBe(1);
    expect(lines).toEqual([]);
  });

  it('a stop while a restart waits for its delay cancels the restart', async () => {
    const lines: string[] = [];
    let starts = 0;
    const supervised = await supervise({ name: 'worker', start: () => { starts++; return nodeChild(LIVES); }, log: (l) => lines.push(l), policy: { firstDelayMs: 200 } });
    process.kill(supervised.current().pid, 'SIGKILL');
    await until('the restart line', () => lines.length === 1);
    await supervised.stop();
    await new Promise((r) => setTimeout(r, 400));
    expect(starts).toBe(1);
  });

  it('leaves a child that ends while the whole stack stops down, without a line', async () => {
    const lines: string[] = [];
    let starts = 0;
    let stackStopping = false;
    running = await supervise({ name: 'worker', start: () => { starts++; return nodeChild(LIVES); }, log: (l) => lines.push(l), policy: { firstDelayMs: 10 }, restartAllowed: () => !stackStopping });
    const run = running.current();
    stackStopping = true;
    process.kill(run.pid, 'SIGINT'); // as Ctrl-C reaches every process of the terminal's group
    await run.exited;
    await new Promise((r) => setTimeout(r, 200));
    expect(starts).toBe(1);
    expect(lines).toEqual([]);
  });
});
