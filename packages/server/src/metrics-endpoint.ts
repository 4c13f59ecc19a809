/**
 * Where and to whom `/metrics` answers: on the API port (the default) or only on a separate
 * listener (`--metrics-port`, e.g. on a private interface), and, with SIGIL_METRICS_TOKEN, only
 * to `Authorization: Bearer <token>`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { METRICS_TOKEN_MIN_LENGTH } from './config.js';
import { errorAnswer } from './http/error-answers.js';
import { ApiError, errorBody } from './http/errors.js';
import type { Metrics } from './metrics.js';

export interface MetricsEndpointConfig {
  /** Bearer token every scrape must present; null: none needed. */
  token: string | null;
  /** A separate listener for /metrics (which the API port then no longer serves); null: the API port. */
  listen: { host: string; port: number } | null;
  /** How often the storage-wide gauges are re-read from the database. */
  refreshIntervalMs: number;
}

export function checkMetricsToken(token: string | null): void {
  if (token !== null && token.length < METRICS_TOKEN_MIN_LENGTH) {
    throw new Error(`SIGIL_METRICS_TOKEN must be at least ${METRICS_TOKEN_MIN_LENGTH} characters`);
  }
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Compares the presented bearer token with the configured one in constant time (over their SHA-256). */
function authorised(request: FastifyRequest, token: string | null): boolean {
  if (token === null) return true;
  const presented = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1] ?? '';
  return timingSafeEqual(digest(presented), digest(token));
}

/** Registers GET /metrics on an app. */
export function metricsRoute(app: FastifyInstance, metrics: Metrics, token: string | null): void {
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (!authorised(request, token)) {
      void reply.header('www-authenticate', 'Bearer realm="sigil-metrics"');
      throw new ApiError('unauthorized', 'metrics need Authorization: Bearer <SIGIL_METRICS_TOKEN>');
    }
    void reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}

/** A listener that serves only /metrics. */
export async function startMetricsListener(metrics: Metrics, config: MetricsEndpointConfig & { listen: { host: string; port: number } }) {
  const app = Fastify({ logger: false, forceCloseConnections: true });
  app.setErrorHandler((err: Error, _request, reply) => {
    const answer = errorAnswer(err) ?? { status: 500, body: errorBody('internal_error', 'internal server error') };
    void reply.code(answer.status).send(answer.body);
  });
  app.setNotFoundHandler((_request, reply) => void reply.code(404).send(errorBody('not_found', 'this listener serves only GET /metrics')));
  metricsRoute(app, metrics, config.token);
  await app.listen({ host: config.listen.host, port: config.listen.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.listen.port;
  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  return { url: `http://${host}:${port}`, close: () => app.close() };
}
