import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ErrorBodySchema, MPA_LIMITS, OVERRIDE_LIMITS, OWNER_ID, TEAM_SLUG } from '@sigilauth/protocol';
import type { AppContext } from '../app.js';
import { tenantOf } from '../http/auth.js';
import { Fingerprint, Timestamp, Uuid } from '../http/schemas.js';
import { createOverride, listOverrides } from './overrides.js';
import { overrideSettings, saveOverrideSettings } from './settings.js';

const Params = Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]));
const Action = Type.Object({ type: Type.String(), description: Type.String(), params: Params });
const RequestedBy = Type.Union([Type.Object({ fingerprint: Fingerprint }), Type.Object({ id: Type.String({ pattern: OWNER_ID.source }) })]);
const Status = Type.Union([
  Type.Literal('pending'),
  Type.Literal('approved'),
  Type.Literal('rejected'),
  Type.Literal('timeout'),
  Type.Literal('cancelled'),
]);

const OverrideSchema = Type.Object({
  override_id: Uuid,
  status: Type.Union([Type.Literal('awaiting_review'), Type.Literal('reviewed')]),
  reason: Type.String(),
  action: Action,
  requested_by: Type.Union([RequestedBy, Type.Null()]),
  created_at: Timestamp,
  reviewed_at: Type.Union([Timestamp, Type.Null()]),
  review_request_id: Uuid,
  review_status: Status,
});
const ReviewRequest = Type.Object({
  request_id: Uuid,
  status: Status,
  groups_required: Type.Integer(),
  groups_total: Type.Integer(),
  groups_satisfied: Type.Array(Type.String()),
  expires_at: Timestamp,
  created_at: Timestamp,
  completed_at: Type.Optional(Timestamp),
  action: Action,
});
const Settings = Type.Object(
  {
    enabled: Type.Boolean(),
    daily_limit: Type.Union([Type.Integer({ minimum: 1, maximum: OVERRIDE_LIMITS.maxDailyLimit }), Type.Null()], {
      description: 'most overrides in any 24 hours; null: no limit',
    }),
    review_teams: Type.Array(Type.String({ pattern: TEAM_SLUG.source }), { maxItems: MPA_LIMITS.maxGroups }),
    review_required: Type.Integer({ minimum: 1, maximum: MPA_LIMITS.maxGroups }),
    review_expires_in_seconds: Type.Integer({ minimum: MPA_LIMITS.minExpiresInSeconds, maximum: MPA_LIMITS.maxExpiresInSeconds }),
  },
  { additionalProperties: false },
);
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
        body: Type.Object(
          {
            reason: Type.String({ minLength: 1, maxLength: OVERRIDE_LIMITS.maxReasonLength, pattern: '\\S' }),
            action: Type.Object(
              {
                type: Type.String({ minLength: 1, maxLength: MPA_LIMITS.maxActionTypeLength }),
                // leaves room for the review request's "Emergency override: " prefix
                description: Type.String({ minLength: 1, maxLength: MPA_LIMITS.maxActionDescriptionLength - 100 }),
                params: Type.Optional(Params),
              },
              { additionalProperties: false },
            ),
            requested_by: Type.Optional(RequestedBy),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Intersect([OverrideSchema, Type.Object({ review_request: ReviewRequest })]), ...Errors },
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
        querystring: Type.Object(
          { status: Type.Optional(Type.Union([Type.Literal('awaiting_review'), Type.Literal('reviewed')])) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ data: Type.Array(OverrideSchema) }), ...Errors },
      },
    },
    async (request) => ({ data: await listOverrides(ctx.db, tenantOf(request), request.query.status, ctx.clock()) }),
  );

  r.get(
    '/v1/overrides/settings',
    { ...auth, schema: { summary: "The organisation's break-glass settings", response: { 200: Settings, ...Errors } } },
    async (request) => overrideSettings(ctx.db, tenantOf(request)),
  );

  r.put(
    '/v1/overrides/settings',
    {
      ...auth,
      schema: {
        summary: 'Turn overrides on or off, limit them per day, and choose the teams that review them',
        body: Settings,
        response: { 200: Settings, ...Errors },
      },
    },
    async (request) => saveOverrideSettings(ctx.db, tenantOf(request), request.body),
  );
}
