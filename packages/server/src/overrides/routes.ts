import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  ErrorBodySchema,
  OverrideCreatedSchema,
  OverrideInputSchema,
  OverrideListSchema,
  OverrideSettingsSchema,
  OverrideStatusSchema,
} from '@sigilauth/protocol/wire';
import type { AppContext } from '../app.js';
import { tenantOf } from '../http/auth.js';
import { createOverride, listOverrides } from './overrides.js';
import { overrideSettings, saveOverrideSettings } from './settings.js';

const Errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 429: ErrorBodySchema };

export function overrideRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const auth = { preHandler: ctx.requireApiKey };

  r.post(
    '/v1/overrides',
    {
      ...auth,
      bodyLimit: 64 * 1024,
      schema: {
        summary: 'Record an emergency override (break glass) and open its post-facto review request; answers at once',
        body: OverrideInputSchema,
        response: { 201: OverrideCreatedSchema, ...Errors },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(
          await createOverride(ctx.db, tenantOf(request), request.body, { now: ctx.clock(), maxPendingPerDevice: ctx.maxPendingPerDevice }),
        ),
  );

  r.get(
    '/v1/overrides',
    {
      ...auth,
      schema: {
        summary: 'Recent overrides, newest first (at most 100); status=awaiting_review lists those whose review request has not ended',
        querystring: Type.Object({ status: Type.Optional(OverrideStatusSchema) }, { additionalProperties: false }),
        response: { 200: OverrideListSchema, ...Errors },
      },
    },
    async (request) => ({ data: await listOverrides(ctx.db, tenantOf(request), request.query.status, ctx.clock()) }),
  );

  r.get(
    '/v1/overrides/settings',
    { ...auth, schema: { summary: "The organisation's break-glass settings", response: { 200: OverrideSettingsSchema, ...Errors } } },
    async (request) => overrideSettings(ctx.db, tenantOf(request)),
  );

  r.put(
    '/v1/overrides/settings',
    {
      ...auth,
      schema: {
        summary: 'Turn overrides on or off, limit them per day, and choose the teams that review them',
        body: OverrideSettingsSchema,
        response: { 200: OverrideSettingsSchema, ...Errors },
      },
    },
    async (request) => saveOverrideSettings(ctx.db, tenantOf(request), request.body),
  );
}
