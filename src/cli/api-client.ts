// The CLI's HTTP client for the control-plane API: base URL from --api or SLUICE_API_URL, key from
// SLUICE_API_KEY. Every failure becomes a CliError with an exit code that means something.
import type { Readable } from 'node:stream';

/** 0 ok, 1 refused or failed (the API said no, or could not be reached), 2 usage. */
export const EXIT_CODES = { ok: 0, refused: 1, usage: 2 } as const;

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(message: string, readonly exitCode: number = EXIT_CODES.refused, readonly body?: unknown) {
    super(message);
  }
}

export interface Problem { status: number; code: string; detail: string; field?: string; errors?: Array<{ field: string; message: string }> }

export const DEFAULT_API_URL = 'http://127.0.0.1:4000';

export interface ApiClientOptions {
  baseUrl?: string;
  key?: string | null;
}

export class ApiClient {
  readonly baseUrl: string;
  private readonly key: string | null;

  constructor(opts: ApiClientOptions = {}) {
    const raw = opts.baseUrl ?? process.env.SLUICE_API_URL ?? DEFAULT_API_URL;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new CliError(`--api ${raw} is not a URL (e.g. ${DEFAULT_API_URL})`, EXIT_CODES.usage);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`--api ${raw} must be http:// or https://`, EXIT_CODES.usage);
    this.baseUrl = url.href.replace(/\/+$/, '');
    this.key = opts.key === undefined ? (process.env.SLUICE_API_KEY ?? null) : opts.key;
  }

  async request<T = unknown>(method: string, path: string, opts: {
    body?: unknown; query?: Record<string, string | number | undefined>; raw?: Readable | Uint8Array; headers?: Record<string, string>; auth?: boolean;
  } = {}): Promise<T> {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
    if (opts.auth !== false) {
      if (!this.key) throw new CliError('no API key: set SLUICE_API_KEY (sluice dev prints the first admin key; sluice keys create makes more)', EXIT_CODES.usage);
      headers.authorization = `Bearer ${this.key}`;
    }
    let body: Uint8Array | Readable | string | undefined;
    if (opts.raw !== undefined) {
      body = opts.raw;
      headers['content-type'] ??= 'application/octet-stream';
    } else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    let res: Response;
    try {
      res = await fetch(url, {
        method, headers, body: body as never,
        ...(body && typeof (body as Readable).pipe === 'function' ? { duplex: 'half' } : {}),
      } as never);
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(`cannot reach the Sluice API at ${this.baseUrl}: ${cause?.code ?? cause?.message ?? (err as Error).message}`
        + '\n  Is `sluice dev` running? Set --api or SLUICE_API_URL to point elsewhere.');
    }
    const text = await res.text();
    let parsed: unknown = text;
    try { parsed = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
    if (!res.ok) {
      const p = parsed as Partial<Problem> | null;
      const detail = p && typeof p === 'object' && p.detail ? p.detail : `${res.status} ${res.statusText}`;
      const extra = p?.errors && p.errors.length > 1 ? '\n' + p.errors.map((e) => `  - ${e.field}: ${e.message}`).join('\n') : '';
      throw new CliError(`${method} ${path}: ${res.status} ${p?.code ?? ''} — ${detail}${extra}`.replace('  —', ' —'), EXIT_CODES.refused, parsed);
    }
    return parsed as T;
  }
}
