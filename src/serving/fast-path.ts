/**
 * The infer fast path: `POST /v2/models/{m}[/versions/{v}]/infer` answered straight from Node's
 * HTTP server, ahead of Fastify's request lifecycle. Everything else (and the same routes through
 * `app.inject`) goes through Fastify as usual.
 *
 * Why: on the 2-core development machine a bare Fastify POST that parses a small JSON body costs
 * about 56-60 µs of CPU per request against about 36 µs for the same work on plain `http` (content
 * type parsing, hooks, the reply object, schema-driven serialisation). Infer requests use none of
 * that (they carry their own validation in protocol.ts and need no hooks), so the hottest route
 * skips it. The answers, status codes and error bodies are the ones the Fastify route gives; the
 * integration tests run through this path.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InferenceService } from './inference.js';
import { HEADER_LENGTH, InferError } from './protocol.js';

const PREFIX = '/v2/models/';
const SUFFIX = '/infer';

/** The model and pinned version of an infer URL, or null when the URL is not an infer route. */
export function matchInferUrl(url: string): { model: string; version: string | null } | null {
  const q = url.indexOf('?');
  const p = q < 0 ? url : url.slice(0, q);
  if (!p.startsWith(PREFIX) || !p.endsWith(SUFFIX)) return null;
  const parts = p.slice(PREFIX.length, p.length - SUFFIX.length).split('/');
  try {
    if (parts.length === 1 && parts[0]) return { model: decodeURIComponent(parts[0]), version: null };
    if (parts.length === 3 && parts[0] && parts[1] === 'versions' && parts[2]) return { model: decodeURIComponent(parts[0]), version: decodeURIComponent(parts[2]) };
  } catch {
    return null; // malformed percent-encoding: let Fastify answer it
  }
  return null;
}

function sendError(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) { res.destroy(); return; }
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify({ error: message }));
}

export interface FastPathOptions {
  inference: InferenceService;
  bodyLimitBytes: number;
  onError: (err: unknown) => void;
}

/**
 * Returns true when it took the request. Body limit and error shapes match the Fastify app's
 * error handler: 413 over the limit, the InferError's status and message, 5xx masked.
 */
export function createFastPath(o: FastPathOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if (req.method !== 'POST' || req.url === undefined) return false;
    const target = matchInferUrl(req.url);
    if (target === null) return false;
    const declared = Number(req.headers['content-length']);
    if (declared > o.bodyLimitBytes) {
      res.setHeader('connection', 'close');
      sendError(res, 413, `request body is larger than this worker's limit of ${o.bodyLimitBytes} bytes`);
      req.resume();
      return true;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      if (tooLarge) return;
      size += c.length;
      if (size > o.bodyLimitBytes) {
        tooLarge = true;
        res.setHeader('connection', 'close');
        sendError(res, 413, `request body is larger than this worker's limit of ${o.bodyLimitBytes} bytes`);
        return;
      }
      chunks.push(c);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      if (tooLarge) return;
      if (size === 0) { sendError(res, 400, 'the request body is empty; expected a JSON object with an "inputs" array'); return; }
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
      const headerLength = req.headers[HEADER_LENGTH];
      o.inference.infer(target.model, target.version, body, Array.isArray(headerLength) ? headerLength[0] : headerLength).then((r) => {
        if (r.headerLength !== null) {
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'inference-header-content-length': r.headerLength, 'content-length': r.body.length });
        } else {
          res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
        }
        res.end(r.body);
      }, (err: unknown) => {
        if (err instanceof InferError) { sendError(res, err.statusCode, err.message); return; }
        o.onError(err);
        sendError(res, 500, 'internal error; see the worker log');
      });
    });
    return true;
  };
}
