import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  WebhookDeliveryListSchema,
  WebhookDeliverySchema,
  WebhookEndpointCreatedSchema,
  WebhookEndpointListSchema,
  WebhookEndpointSchema,
  WebhookSecretRotatedSchema,
  PatternString,
} from '@sigilauth/protocol/wire';
import type { AppContext } from '../app.js';
import { tenantOf } from '../http/auth.js';
import { IdParams, PageCursor, PageLimit } from '../http/schemas.js';
import { getDelivery, listDeliveries, retryDelivery } from './deliveries.js';
import {
  MAX_URL_LENGTH,
  WEBHOOK_EVENT_TYPES,
  createEndpoint,
  deleteEndpoint,
  getEndpoint,
  listEndpoints,
  rotateSecret,
  updateEndpoint,
  type Actor,
} from './endpoints.js';

const EventTypes = Type.Array(Type.Union(WEBHOOK_EVENT_TYPES.map((t) => Type.Literal(t))), {
  minItems: 1,
  maxItems: WEBHOOK_EVENT_TYPES.length,
});
const Url = Type.String({ minLength: 1, maxLength: MAX_URL_LENGTH, description: 'http: or https: URL of a public address' });
const Description = Type.String({ maxLength: 500 });

const actorOf = (request: FastifyRequest): Actor => ({ api_key_id: request.auth?.keyId ?? 'unknown' });

export function webhookRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const auth = { preHandler: ctx.requireApiKey };
  const policy = () => ({ allowPrivate: ctx.webhooks.allowPrivate, lookup: ctx.webhooks.lookup });

  r.post(
    '/v1/webhooks',
    {
      ...auth,
      schema: {
        summary: 'Register a webhook endpoint; the response carries its signing secret, shown once',
        body: Type.Object(
          {
            url: Url,
            events: Type.Optional(Type.Union([EventTypes, Type.Null()])),
            description: Type.Optional(Type.Union([Description, Type.Null()])),
          },
          { additionalProperties: false },
        ),
        response: { 201: WebhookEndpointCreatedSchema },
      },
    },
    async (request, reply) => {
      const { endpoint, secret } = await createEndpoint(ctx.db, tenantOf(request), request.body, policy(), actorOf(request), ctx.clock());
      return reply.code(201).send({ ...endpoint, secret });
    },
  );

  r.get('/v1/webhooks', { ...auth, schema: { response: { 200: WebhookEndpointListSchema } } }, async (request) => ({
    data: await listEndpoints(ctx.db, tenantOf(request), ctx.clock()),
  }));

  r.get('/v1/webhooks/:id', { ...auth, schema: { params: IdParams, response: { 200: WebhookEndpointSchema } } }, async (request) =>
    getEndpoint(ctx.db, tenantOf(request), request.params.id, ctx.clock()),
  );

  r.patch(
    '/v1/webhooks/:id',
    {
      ...auth,
      schema: {
        summary: 'Change an endpoint: URL, events (null: all), description, or enabled (re-enabling clears its failure record)',
        params: IdParams,
        body: Type.Object(
          {
            url: Type.Optional(Url),
            events: Type.Optional(Type.Union([EventTypes, Type.Null()])),
            description: Type.Optional(Type.Union([Description, Type.Null()])),
            enabled: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        response: { 200: WebhookEndpointSchema },
      },
    },
    async (request) => updateEndpoint(ctx.db, tenantOf(request), request.params.id, request.body, policy(), actorOf(request), ctx.clock()),
  );

  r.post(
    '/v1/webhooks/:id/rotate-secret',
    {
      ...auth,
      schema: {
        summary: 'New signing secret; the previous one keeps signing for 24 hours',
        params: IdParams,
        response: { 200: WebhookSecretRotatedSchema },
      },
    },
    async (request) => rotateSecret(ctx.db, tenantOf(request), request.params.id, actorOf(request), ctx.clock()),
  );

  r.delete(
    '/v1/webhooks/:id',
    { ...auth, schema: { params: IdParams, response: { 204: Type.Null({ description: 'deleted' }) } } },
    async (request, reply) => {
      await deleteEndpoint(ctx.db, tenantOf(request), request.params.id, actorOf(request));
      return reply.code(204).send(null);
    },
  );

  r.get(
    '/v1/webhooks/:id/deliveries',
    {
      ...auth,
      schema: {
        summary: "An endpoint's deliveries, newest first, each with every attempt",
        params: IdParams,
        querystring: Type.Object(
          {
            status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')])),
            event_id: Type.Optional(
              PatternString('^evt_[0-9a-f]{32}$', "must be an event id: 'evt_' and 32 lower-case hexadecimal characters"),
            ),
            limit: Type.Optional(PageLimit(100, 50)),
            cursor: Type.Optional(PageCursor('^[0-9]{1,18}$')),
          },
          { additionalProperties: false },
        ),
        response: { 200: WebhookDeliveryListSchema },
      },
    },
    async (request) =>
      listDeliveries(ctx.db, tenantOf(request), request.params.id, {
        status: request.query.status,
        eventId: request.query.event_id,
        limit: Number(request.query.limit ?? 50),
        before: request.query.cursor === undefined ? undefined : Number(request.query.cursor),
        now: ctx.clock(),
      }),
  );

  r.get(
    '/v1/webhooks/deliveries/:id',
    { ...auth, schema: { params: IdParams, response: { 200: WebhookDeliverySchema } } },
    async (request) => getDelivery(ctx.db, tenantOf(request), request.params.id, ctx.clock()),
  );

  r.post(
    '/v1/webhooks/deliveries/:id/retry',
    {
      ...auth,
      schema: {
        summary: 'Deliver again now (a failed or delivered one gets one more attempt)',
        params: IdParams,
        response: { 202: WebhookDeliverySchema },
      },
    },
    async (request, reply) =>
      reply.code(202).send(await retryDelivery(ctx.db, tenantOf(request), request.params.id, actorOf(request), ctx.clock())),
  );
}
