import type { FastifyRequest } from 'fastify';
import { authenticateApiKey, type AuthenticatedKey } from '../tenants/api-keys.js';
import type { Queryable } from '../storage/database.js';
import { ApiError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    auth?: AuthenticatedKey;
  }
}

/** preHandler for integrator routes: `Authorization: Bearer sgk_...` resolves the tenant. */
export function requireApiKey(db: Queryable) {
  return async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization;
    const match = header?.match(/^Bearer\s+(\S+)$/i);
    if (!match) throw new ApiError('unauthorized', 'missing API key: send Authorization: Bearer sgk_...');
    const auth = await authenticateApiKey(db, match[1]!);
    if (!auth) throw new ApiError('unauthorized', 'invalid or revoked API key');
    request.auth = auth;
  };
}

export function tenantOf(request: FastifyRequest): string {
  if (!request.auth) throw new ApiError('unauthorized', 'missing API key');
  return request.auth.tenantId;
}
