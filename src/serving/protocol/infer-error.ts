/**
 * The error of one infer request, with the HTTP status it is answered with. Its own module
 * because both the request reader (protocol.ts) and the tensor codec (tensor-codec.ts) raise it,
 * and the routes and the socket layer answer it.
 */

/** A request-level failure with its HTTP status; the message is safe to show the caller. */
export class InferError extends Error {
  override readonly name = 'InferError';
  constructor(readonly statusCode: number, message: string, readonly code = statusCode === 404 ? 'not_found' : 'bad_request') {
    super(message);
  }
}

/** A 400: the request itself is wrong, and `message` names the field. */
export function badRequest(message: string): InferError {
  return new InferError(400, message);
}
