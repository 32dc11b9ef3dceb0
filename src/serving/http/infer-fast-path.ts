/**
 * The infer fast path of the serving worker's socket layer (fast-http.ts): `POST
 * /v2/models/{m}[/versions/{v}]/infer` recognised from the request line alone and answered
 * straight from InferenceService's result, without Fastify's request and reply objects. The
 * Fastify route (routes/oip.ts) serves the same requests when the fast layer is off; both hand
 * the body to the same `infer`, so parsing and errors are the same on either path.
 */
import type { InferResult } from '../inference.js';
import { InferError } from '../protocol/infer-error.js';
import { HEADER_LENGTH } from '../protocol/protocol.js';
import { JSON_TYPE, MASKED_500, type ResponseSink, type Slot } from './http1-response.js';

/** Serves one infer request (InferenceService.infer); rejects with InferError for the caller's mistakes. */
export type InferHandler = (model: string, version: string | null, body: Buffer, headerLength: string | undefined) => Promise<InferResult>;

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
    return null; // malformed percent-encoding: the Fastify app answers it
  }
  return null;
}

/**
 * Answers one infer request into `slot`: the result as JSON or, with binary outputs, as the
 * binary extension's octet stream; an InferError as its status and message; anything else as a
 * masked 500 (the details go to `o.onError`).
 */
export function answerInfer(sink: ResponseSink, slot: Slot, o: { infer: InferHandler; onError: (err: unknown) => void },
  target: { model: string; version: string | null }, body: Buffer, headerLength: string | undefined): void {
  if (body.length === 0) {
    sink.fill(slot, 400, JSON_TYPE, '{"error":"the request body is empty; expected a JSON object with an \\"inputs\\" array"}');
    return;
  }
  o.infer(target.model, target.version, body, headerLength).then((r) => {
    if (r.headerLength !== null) {
      sink.fillRaw(slot, 200, `content-type: application/octet-stream\r\n${HEADER_LENGTH}: ${r.headerLength}\r\ncontent-length: ${r.body.length}\r\n`, r.body as Buffer);
    } else if (typeof r.body === 'string') {
      sink.fill(slot, 200, JSON_TYPE, r.body);
    } else {
      sink.fillRaw(slot, 200, `${JSON_TYPE}content-length: ${r.body.length}\r\n`, r.body);
    }
  }, (err: unknown) => {
    if (err instanceof InferError) {
      sink.fill(slot, err.statusCode, JSON_TYPE, JSON.stringify({ error: err.message }));
      return;
    }
    o.onError(err);
    sink.fill(slot, 500, JSON_TYPE, MASKED_500);
  });
}
