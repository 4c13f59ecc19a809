/**
 * How errors reach HTTP clients: every route's error answers in the catalogue's one body, for
 * ApiErrors, Fastify's own errors and a stopped store alike. Apart from errors.ts, which the
 * store's thread also loads (store procedures throw ApiErrors), so that it need not load the wire
 * schemas.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { errorStatus, MpaValidationError, type ErrorCode } from '@sigilauth/protocol';
import { type ErrorBody, ErrorBodySchema } from '@sigilauth/protocol/wire';
import { StorageUnavailableError } from '../storage/database.js';
import { ApiError, errorBody } from './errors.js';

/** Fastify's own errors that reach clients, by Fastify code. */
const FASTIFY_ERRORS: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_BAD_URL: 'invalid_request',
  FST_ERR_VALIDATION: 'invalid_request',
};

/** Any other error a plugin or Fastify raises with a status: the catalogue code for that status. */
const BY_STATUS: Record<number, ErrorCode> = {
  400: 'invalid_request',
  401: 'unauthorized',
  404: 'not_found',
  408: 'request_timeout',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  431: 'headers_too_large',
  503: 'unavailable',
};

/** The error body, and its status, for any error a handler or Fastify raised. */
export function errorAnswer(err: FastifyError | ApiError | Error): { status: number; body: ErrorBody } | null {
  if (err instanceof ApiError) {
    return {
      status: err.statusCode,
      body: { error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } },
    };
  }
  const fe = err as FastifyError;
  const code: ErrorCode | undefined =
    fe.validation || err instanceof MpaValidationError
      ? 'invalid_request'
      : ((fe.code ? FASTIFY_ERRORS[fe.code] : undefined) ?? (fe.statusCode !== undefined ? BY_STATUS[fe.statusCode] : undefined));
  return code ? { status: errorStatus(code), body: { error: { code, message: fe.message } } } : null;
}

/** Every route answers its errors with the one error body, and says so in /openapi.json. */
const ERROR_RESPONSES = { '4xx': ErrorBodySchema, '5xx': ErrorBodySchema };

export function installErrorHandling(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const schema = route.schema ?? {};
    route.schema = { ...schema, response: { ...ERROR_RESPONSES, ...(schema.response as object | undefined) } };
  });

  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send(errorBody('not_found', `no route for ${request.method} ${request.url.split('?')[0]}`));
  });

  // A request that arrives while the server stops gets the catalogue's 503, not Fastify's own body.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (closing) {
      void reply.header('connection', 'close').header('retry-after', '1');
      throw new ApiError('unavailable', 'the server is stopping; retry shortly');
    }
  });

  app.setErrorHandler((err: FastifyError | ApiError | Error, request, reply) => {
    if (err instanceof StorageUnavailableError) {
      request.log.warn({ err: err.message }, 'storage unavailable');
      return reply.code(503).header('retry-after', '1').send(errorBody('unavailable', 'storage is unavailable; retry shortly'));
    }
    const answer = errorAnswer(err);
    if (answer) {
      const retryAfter = answer.body.error.details?.retry_after_seconds;
      if (typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter));
      return reply.code(answer.status).send(answer.body);
    }
    request.log.error({ err }, 'unhandled error');
    return reply.code(500).send(errorBody('internal_error', 'internal server error'));
  });
}
