/**
 * Shared process plumbing for Sluice's long-running entry points: stop cleanly on SIGINT/SIGTERM,
 * and when started by `sluice dev`, exit when the parent dies (its stdin pipe closes), so a
 * killed dev stack leaves no orphan process behind.
 */
export function onShutdown(stop: () => Promise<void>): void {
  let stopping = false;
  const run = (code: number) => {
    if (stopping) return;
    stopping = true;
    const hard = setTimeout(() => process.exit(code), 15_000);
    hard.unref();
    stop().then(() => process.exit(code), (err: unknown) => { console.error(err); process.exit(1); });
  };
  // on, not once: a second signal while draining must not fall back to the default action (which
  // kills the process mid-drain). Supervisors often signal twice: systemd and `timeout` signal the
  // whole process group, and a serving worker's primary signals its processes again.
  process.on('SIGINT', () => run(0));
  process.on('SIGTERM', () => run(0));
  if (process.env.SLUICE_EXIT_WITH_PARENT === '1') {
    process.stdin.on('end', () => run(0));
    process.stdin.on('error', () => run(0));
    process.stdin.resume();
  }
}

/** One machine-readable line a supervisor waits for before it calls the process ready. */
export function announceReady(service: string, details: Record<string, unknown> = {}): void {
  process.stdout.write(`SLUICE_READY ${JSON.stringify({ service, ...details })}\n`);
}
