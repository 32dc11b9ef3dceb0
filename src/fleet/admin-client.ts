/**
 * A small JSON client for the workers' admin routes over keep-alive connections (node:http, or
 * node:https for an https:// admin address). Cheaper per call than fetch, which matters when a
 * weight change must reach every worker in a few milliseconds: the connection to each worker
 * stays open between pushes.
 */
import http from 'node:http';
import https from 'node:https';

const agentOptions = { keepAlive: true, maxSockets: 8, keepAliveMsecs: 10_000 };
const httpAgent = new http.Agent(agentOptions);
const httpsAgent = new https.Agent(agentOptions);

export interface AdminReply {
  status: number;
  body: Record<string, unknown>;
  text: string;
}

/**
 * Where to connect for `url`. URL keeps an IPv6 literal's brackets in `hostname` ("[::1]"), which
 * the resolver does not understand; the port defaults by scheme. Only http and https are spoken:
 * anything else would otherwise go out as plain http, bearer token included.
 */
export function adminTarget(url: string): { secure: boolean; host: string; port: number; path: string } {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new Error(`admin address ${url} is not a valid URL`);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new Error(`admin address ${url} uses ${target.protocol.replace(/:$/, '')}; only http and https are supported`);
  }
  const secure = target.protocol === 'https:';
  const bracketed = target.hostname.startsWith('[') && target.hostname.endsWith(']');
  return {
    secure,
    host: bracketed ? target.hostname.slice(1, -1) : target.hostname,
    port: target.port !== '' ? Number(target.port) : secure ? 443 : 80,
    path: target.pathname + target.search,
  };
}

export function adminRequest(url: string, method: string, body: unknown, o: { token: string | null; timeoutMs: number }): Promise<AdminReply> {
  let target: ReturnType<typeof adminTarget>;
  try {
    target = adminTarget(url);
  } catch (err) {
    return Promise.reject(err as Error);
  }
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const options: http.RequestOptions = {
    method, host: target.host, port: target.port, path: target.path,
    headers: {
      ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
      ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
    },
    timeout: o.timeoutMs,
  };
  return new Promise((resolve, reject) => {
    const onResponse = (res: http.IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let parsed: Record<string, unknown> = {};
        try { parsed = JSON.parse(text) as Record<string, unknown>; } catch { /* reported by the caller */ }
        resolve({ status: res.statusCode ?? 0, body: parsed, text });
      });
      res.on('error', reject);
    };
    const req = target.secure
      ? https.request({ ...options, agent: httpsAgent }, onResponse)
      : http.request({ ...options, agent: httpAgent }, onResponse);
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${o.timeoutMs} ms`), { name: 'TimeoutError' })));
    req.on('error', reject);
    req.end(payload);
  });
}
