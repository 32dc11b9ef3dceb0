import net from 'node:net';
import { SetupError } from './errors.js';

/** Resolves when nothing listens on host:port; a clear SetupError naming the owner otherwise. */
export async function assertPortFree(port: number, what: string, host = '127.0.0.1'): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(new SetupError(`Port ${port} for ${what} is already taken on ${host}.`,
          `Stop whatever listens there (e.g. \`ss -ltnp 'sport = :${port}'\`) or choose another port.`));
      } else reject(err);
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve()));
  });
}

/** Asks the kernel for a free TCP port on loopback. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port: 0, host }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls until something accepts TCP connections on host:port, or the deadline passes. */
export async function waitForPort(port: number, timeoutMs: number, host = '127.0.0.1'): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ port, host });
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (open) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/**
 * Starts something that must be told its port up front (PostgreSQL, the Temporal dev server) on
 * a port picked free by `start` itself (freePort): when another process takes that port between
 * the pick and the start (a busy machine does), `start` runs again and picks a new one.
 * `portTaken` says whether a failure was that and nothing else; any other failure is thrown as it is.
 */
export async function retryWhilePortTaken<T>(start: () => Promise<T>, portTaken: (err: unknown) => boolean, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (attempt >= attempts || !portTaken(err)) throw err;
    }
  }
}
