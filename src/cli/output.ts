// Printing for the CLI: aligned tables for people, JSON for scripts (--json), errors on stderr.
import type { Command } from 'commander';
import { CliError, EXIT_CODES } from './api-client.js';

export interface GlobalOptions { api?: string; json?: boolean }

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Prints rows as a table with the given columns ([header, accessor]). */
export function printTable<T>(rows: T[], columns: Array<[string, (row: T) => unknown]>): void {
  if (rows.length === 0) {
    console.log('(none)');
    return;
  }
  const cells = rows.map((r) => columns.map(([, get]) => cell(get(r))));
  const widths = columns.map(([h], i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (parts: string[]) => parts.map((p, i) => (i === parts.length - 1 ? p : p.padEnd(widths[i] as number))).join('  ');
  console.log(line(columns.map(([h]) => h.toUpperCase())));
  for (const c of cells) console.log(line(c));
}

/** Prints key: value lines. */
export function printFields(fields: Array<[string, unknown]>): void {
  const width = Math.max(...fields.map(([k]) => k.length));
  for (const [k, v] of fields) console.log(`${(k + ':').padEnd(width + 1)} ${cell(v)}`);
}

export function formatWeights(weights: Record<string, number> | null | undefined): string {
  if (!weights || Object.keys(weights).length === 0) return '-';
  return Object.entries(weights).map(([v, w]) => `${v}=${(w * 100).toFixed(w * 100 % 1 === 0 ? 0 : 2)}%`).join(' ');
}

/** A signed number with fixed decimals (+0.0123, -0.0100), '-' when there is none. */
export function formatSigned(x: number | null | undefined, digits = 4): string {
  return x === null || x === undefined ? '-' : (x >= 0 ? '+' : '') + x.toFixed(digits);
}

/**
 * Wraps a command action: CliErrors print their message (and, with --json, the problem body) and
 * exit with their code; anything else is a bug and keeps its stack.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void | number>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      const code = await fn(...args);
      if (typeof code === 'number' && code !== EXIT_CODES.ok) process.exitCode = code;
    } catch (err) {
      if (err instanceof CliError) {
        const cmd = args[args.length - 1] as Command | undefined;
        const json = typeof cmd?.optsWithGlobals === 'function' && (cmd.optsWithGlobals() as GlobalOptions).json;
        if (json && err.body && typeof err.body === 'object') printJson(err.body);
        console.error(`sluice: ${err.message}`);
        process.exit(err.exitCode);
      }
      throw err;
    }
  };
}

export function usage(message: string): CliError {
  return new CliError(message, EXIT_CODES.usage);
}
