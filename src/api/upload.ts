// Streamed uploads (model files, datasets): the route reads the request body itself, into the
// artifact store, hashing and counting as it goes.
import { PassThrough, type Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { StoredArtifact } from '../registry/artifacts.js';
import { RegistryError } from '../registry/errors.js';
import { ApiError } from './problem.js';

export interface UploadOptions {
  /** Largest body accepted, bytes: a larger declared content-length is refused before reading. */
  maxBytes: number;
  /** What the body is, for the refusals ("artifact", "dataset"). */
  what: string;
  /** How to send it, for a body that is not a stream (wrong content type). */
  howToSend: string;
}

/** The upload's body stream, or a 415 saying how to send it. */
export function uploadBody(request: FastifyRequest, opts: UploadOptions): Readable {
  const payload = request.body as unknown;
  if (!payload || typeof (payload as Readable).pipe !== 'function') throw new ApiError(415, 'unsupported_media_type', opts.howToSend, 'body');
  return payload as Readable;
}

/** Refuses (413) a body whose declared length is over the limit, before any of it is read. */
export function checkDeclaredLength(request: FastifyRequest, reply: FastifyReply, opts: UploadOptions): void {
  const raw = request.headers['content-length'];
  const declared = typeof raw === 'string' && /^[0-9]{1,15}$/.test(raw) ? Number(raw) : undefined;
  if (declared !== undefined && declared > opts.maxBytes) {
    void reply.header('connection', 'close');
    throw new ApiError(413, 'too_large', `${opts.what} of ${declared} bytes exceeds the limit of ${opts.maxBytes} bytes`, 'body');
  }
}

/**
 * Streams the body into `put` (a store write). The request stream feeds a pass-through, so a
 * refused upload can stop reading without destroying the socket the refusal is sent on.
 */
export async function receiveUpload(source: Readable, reply: FastifyReply, put: (body: Readable) => Promise<StoredArtifact>): Promise<StoredArtifact> {
  const pass = new PassThrough();
  const abort = () => pass.destroy(new RegistryError('invalid', 'the upload was interrupted', 'body'));
  source.once('aborted', abort);
  source.once('error', abort);
  source.once('close', () => { if (!(source as { complete?: boolean }).complete) abort(); });
  source.pipe(pass);
  try {
    return await put(pass);
  } catch (err) {
    source.unpipe(pass);
    void reply.header('connection', 'close');
    source.resume();
    throw err;
  }
}
