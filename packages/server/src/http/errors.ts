import type { FastifyError, FastifyInstance } from 'fastify';
import { MpaValidationError } from '@sigilauth/protocol';
import { StorageUnavailableError } from '../storage/database.js';

/** An error the client caused or must know about; becomes `{ error: { code, message, details? } }`. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} not found`);

const FASTIFY_ERRORS: Record<string, [number, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'payload_too_large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'unsupported_media_type'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'invalid_json'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'invalid_json'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'invalid_request'],
};

export function installErrorHandling(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ error: { code: 'not_found', message: `no route for ${request.method} ${request.url.split('?')[0]}` } });
  });

  app.setErrorHandler((err: FastifyError | ApiError | Error, request, reply) => {
    if (err instanceof ApiError) {
      if (typeof err.details?.retry_after_seconds === 'number') void reply.header('retry-after', String(err.details.retry_after_seconds));
      return reply.code(err.statusCode).send({ error: { code: err.code, message: err.message, details: err.details } });
    }
    if (err instanceof StorageUnavailableError) {
      request.log.warn({ err: err.message }, 'storage unavailable');
      return reply
        .code(503)
        .header('retry-after', '1')
        .send({ error: { code: 'unavailable', message: 'storage is unavailable; retry shortly' } });
    }
    const fe = err as FastifyError;
    if (fe.validation || err instanceof MpaValidationError) {
      return reply.code(400).send({ error: { code: 'invalid_request', message: fe.message } });
    }
    const known = fe.code ? FASTIFY_ERRORS[fe.code] : undefined;
    if (known) return reply.code(known[0]).send({ error: { code: known[1], message: fe.message } });
    if (fe.statusCode === 429) {
      return reply.code(429).send({ error: { code: 'rate_limited', message: fe.message } });
    }
    request.log.error({ err }, 'unhandled error');
    return reply.code(500).send({ error: { code: 'internal_error', message: 'internal server error' } });
  });
}

/** "body/groups/0 must have required property 'name'" style messages, with unknown fields named. */
export function formatValidationErrors(
  errors: Array<{ instancePath: string; message?: string; keyword: string; params: Record<string, unknown> }>,
  context: string,
): Error {
  const first = errors[0];
  if (!first) return new Error(`invalid ${context}`);
  const where = `${context}${first.instancePath}`;
  const message =
    first.keyword === 'additionalProperties'
      ? `${where} has unknown field '${String(first.params.additionalProperty)}'`
      : first.keyword === 'format' && first.params.format === 'date-time'
        ? `${where} must be an RFC 3339 date-time in the years 0001-9999, such as 2026-01-31T12:00:00Z`
        : `${where} ${first.message ?? 'is invalid'}`;
  return new Error(message);
}
