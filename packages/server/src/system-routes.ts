import type { FastifyInstance } from 'fastify';
import { type ServerInfo, ServerInfoSchema } from '@sigilauth/protocol/wire';
import type { AppContext } from './app.js';
import { ApiError, errorBody } from './http/errors.js';
import { ping } from './storage/database.js';
import { getTenant, publicOrganisation } from './tenants/tenants.js';
import { VERSION } from './version.js';

/** The Sigil mark: a shield with a check, for browser tabs. */
const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><path d="M16 2 4 7v8c0 7.5 5.1 13.4 12 15 6.9-1.6 12-7.5 12-15V7z" fill="#0a58ca"/><path d="m10 16 4.5 4.5L23 12" fill="none" stroke="#fff" stroke-width="3" stroke-linecap="round" stroke-linejoin="round"/></svg>`;

export function systemRoutes(app: FastifyInstance, ctx: AppContext): void {
  // The URL the server prints leads somewhere useful: the operator console.
  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/console', 302));
  for (const path of ['/favicon.ico', '/favicon.svg']) {
    app.get(path, { schema: { hide: true } }, async (_request, reply) =>
      reply.header('content-type', 'image/svg+xml').header('cache-control', 'public, max-age=86400').send(FAVICON),
    );
  }
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    try {
      await ping(ctx.db);
      return { status: 'ready' };
    } catch {
      return reply.code(503).send(errorBody('unavailable', 'storage is unreachable'));
    }
  });
  app.get('/v1/info', { schema: { response: { 200: ServerInfoSchema } } }, async (request): Promise<ServerInfo> => {
    if (request.headers.authorization) await ctx.requireApiKey(request);
    const organisation = request.auth
      ? { exists: true, name: (await getTenant(ctx.db, request.auth.tenantId))?.name ?? null }
      : await publicOrganisation(ctx.db);
    if (!organisation.exists) throw new ApiError('not_initialised', 'the server has no organisation yet');
    return {
      server_id: ctx.identity.serverId,
      server_public_key: ctx.identity.publicKey,
      pictogram: ctx.identity.pictogram,
      org_name: organisation.name,
      version: VERSION,
    };
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
