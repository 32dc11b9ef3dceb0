// One error format for every route: application/problem+json with a status, a machine-readable
// code and a detail that names the field at fault. 5xx details are masked (the log keeps them).
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { RegistryError, type RegistryErrorCode } from '../registry/errors.js';
import '../shared/formats.js';

const TITLES: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 406: 'Not Acceptable',
  409: 'Conflict', 411: 'Length Required', 413: 'Content Too Large', 414: 'URI Too Long', 415: 'Unsupported Media Type',
  422: 'Unprocessable Content', 429: 'Too Many Requests', 431: 'Request Header Fields Too Large',
  500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

/** An error a handler throws on purpose: it becomes a problem response with this status and code. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly errors?: Array<{ field: string; message: string }>,
  ) {
    super(message);
  }
}

const REGISTRY_STATUS: Record<RegistryErrorCode, number> = {
  not_found: 404,
  conflict: 409,
  invalid: 400,
  too_large: 413,
  sha256_mismatch: 400,
  invalid_model: 400,
  invalid_contract: 400,
  unsupported_uri: 400,
};

export function fromRegistryError(err: RegistryError): ApiError {
  return new ApiError(REGISTRY_STATUS[err.code], err.code, err.message, err.field, err.errors);
}

/** Fastify's own error codes, renamed to what a client can act on. */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_VALIDATION: 'invalid_request',
  FST_ERR_CTP_BODY_TOO_LARGE: 'too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_content_length',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
  FST_ERR_BAD_URL: 'bad_url',
  FST_ERR_ASYNC_CONSTRAINT: 'bad_request',
};

export function sendProblem(reply: FastifyReply, status: number, code: string, detail: string, extra: { field?: string; errors?: Array<{ field: string; message: string }> } = {}): FastifyReply {
  return reply.status(status).type('application/problem+json').send({
    type: 'about:blank',
    title: TITLES[status] ?? (status >= 500 ? 'Server Error' : 'Client Error'),
    status,
    code,
    detail,
    ...(extra.field ? { field: extra.field } : {}),
    ...(extra.errors ? { errors: extra.errors } : {}),
    requestId: String(reply.request.id),
  });
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((raw: FastifyError | ApiError | RegistryError | Error, request: FastifyRequest, reply: FastifyReply) => {
    const err = raw instanceof RegistryError ? fromRegistryError(raw) : raw;
    const e = err as Partial<FastifyError> & Partial<ApiError> & Error;
    let status = typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 600 ? e.statusCode : 500;
    // A JSON body that does not parse is the client's fault, whatever the parser said.
    if (err instanceof SyntaxError && status === 500) status = 400;
    if (status >= 500) {
      // Deliberate 5xx (ApiError: a dependency down or slow) say so; anything else is masked.
      if (err instanceof ApiError) return sendProblem(reply, status, err.code, err.message);
      request.log.error({ err: raw }, 'request failed');
      return sendProblem(reply, status, 'internal', `Internal error; the server log has the details under request id ${request.id}`);
    }
    const code = e instanceof ApiError ? e.code : (e.code && FASTIFY_CODES[e.code]) ?? (e.code && !e.code.startsWith('FST_') ? e.code : 'bad_request');
    const validationField = (e as { validationContext?: string }).validationContext;
    const field = e.field ?? (e as { validationField?: string }).validationField ?? validationField;
    return sendProblem(reply, status, code, e.message, { ...(field ? { field } : {}), ...(e.errors ? { errors: e.errors } : {}) });
  });

  app.setNotFoundHandler((request, reply) => {
    sendProblem(reply, 404, 'route_not_found', `no route ${request.method} ${request.url.split('?')[0]}`);
  });
}

// ---- Validation: TypeBox everywhere, strict for bodies, string coercion for query/params/headers.


/** Schemas marked with this key describe a streamed body that the handler reads itself. */
export const STREAM_BODY = 'x-sluice-stream';

class RequestValidationError extends Error {
  readonly statusCode = 400;
  readonly code = 'FST_ERR_VALIDATION';
  constructor(message: string, readonly validationField: string, readonly errors: Array<{ field: string; message: string }>) {
    super(message);
  }
}

function hasRequired(schema: TSchema): boolean {
  return Array.isArray((schema as { required?: unknown }).required) && ((schema as unknown as { required: unknown[] }).required.length > 0);
}

export function installValidation(app: FastifyInstance): void {
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const s = schema as TSchema;
    if ((s as Record<string, unknown>)[STREAM_BODY]) return () => true;
    const checker = TypeCompiler.Compile(s);
    const part = httpPart === 'querystring' ? 'query' : (httpPart ?? 'body');
    return (data: unknown) => {
      let value = data;
      if (part === 'body') {
        if ((value === null || value === undefined) && !hasRequired(s) && (s as { type?: string }).type === 'object') value = {};
      } else {
        value = Value.Convert(s, Value.Clone(value ?? {}));
      }
      value = Value.Default(s, value);
      if (checker.Check(value)) return { value };
      const errors = [...checker.Errors(value)].slice(0, 10).map((err) => ({
        field: `${part}${err.path || ''}`,
        message: describe(err.message, err.path, err.value),
      }));
      const first = errors[0] ?? { field: part, message: 'is invalid' };
      return { error: new RequestValidationError(`${first.field}: ${first.message}`, first.field, errors) };
    };
  });
}

function describe(message: string, _path: string, value: unknown): string {
  const m = message.charAt(0).toLowerCase() + message.slice(1);
  if (m === 'unexpected property') return 'is not a known field';
  if (value === undefined && m.startsWith('expected required property')) return 'is required';
  return m;
}
