import type { FastifyInstance } from 'fastify';
import type { ServerInfo } from '@sigilauth/protocol';
import type { AppContext } from './app.js';
import { ApiError } from './http/errors.js';
import { ping } from './storage/database.js';
import { defaultTenant, getTenant } from './tenants/tenants.js';
import { VERSION } from './version.js';

export function systemRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    try {
      await ping(ctx.db);
      return { status: 'ready' };
    } catch {
      return reply.code(503).send({ error: { code: 'unavailable', message: 'storage is unreachable' } });
    }
  });
  app.get('/v1/info', async (request): Promise<ServerInfo> => {
    if (request.headers.authorization) await ctx.requireApiKey(request);
    const tenant = request.auth ? await getTenant(ctx.db, request.auth.tenantId) : await defaultTenant(ctx.db);
    if (!tenant) throw new ApiError(503, 'not_initialised', 'the server has no organisation yet');
    return {
      server_id: ctx.identity.serverId,
      server_public_key: ctx.identity.publicKey,
      pictogram: ctx.identity.pictogram,
      org_name: tenant.name,
      version: VERSION,
    };
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
