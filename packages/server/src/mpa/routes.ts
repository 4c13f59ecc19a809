import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { MpaValidationError, validateMpaRequest, type MpaPolicy } from '@sigilauth/protocol';
import {
  DecisionBodySchema,
  DeviceRequestViewSchema,
  MpaListSchema,
  MpaRequestInputSchema,
  MpaRequestViewSchema,
  MpaStatusSchema,
} from '@sigilauth/protocol/wire';
import type { AppContext } from '../app.js';
import { tenantOf } from '../http/auth.js';
import type { DecisionOrigin } from '../governance/anomaly-flags.js';
import { ApiError } from '../http/errors.js';
import { IdParams, PageCursor, PageLimit } from '../http/schemas.js';
import { submitDecision, submitWebAuthnDecision } from './decisions.js';
import { getRequest, listRequests } from './request-queries.js';
import { cancelRequest, createRequest } from './request-transitions.js';
import { hashBody } from './requests.js';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export function mpaRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.post(
    '/v1/mpa/requests',
    {
      preHandler: ctx.requireApiKey,
      bodyLimit: 512 * 1024,
      schema: { summary: 'Create an MPA request', body: MpaRequestInputSchema, response: { 201: MpaRequestViewSchema } },
      validatorCompiler: () => (body: unknown) => {
        try {
          return { value: { raw: body, policy: validateMpaRequest(body) } };
        } catch (err) {
          if (err instanceof MpaValidationError) return { error: err };
          throw err;
        }
      },
    },
    async (request, reply) => {
      const { raw, policy } = request.body as unknown as { raw: unknown; policy: MpaPolicy };
      const key = request.headers['idempotency-key'];
      if (key !== undefined && (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key))) {
        throw new ApiError('invalid_request', 'Idempotency-Key must be 1-255 printable ASCII characters');
      }
      const { view, replayed } = await createRequest(ctx.db, tenantOf(request), policy, {
        idempotencyKey: key,
        bodyHash: hashBody(raw),
        now: ctx.clock(),
        maxPendingPerDevice: ctx.maxPendingPerDevice,
      }).catch((err: unknown) => {
        if (err instanceof ApiError && err.code === 'too_many_pending_requests')
          void reply.header('retry-after', String(err.details?.retry_after_seconds));
        throw err;
      });
      if (replayed) void reply.header('idempotent-replayed', 'true');
      return reply.code(201).send(view);
    },
  );

  r.get(
    '/v1/mpa/requests',
    {
      preHandler: ctx.requireApiKey,
      schema: {
        querystring: Type.Object(
          {
            status: Type.Optional(MpaStatusSchema),
            limit: Type.Optional(PageLimit(100, 50)),
            cursor: Type.Optional(PageCursor('^[A-Za-z0-9_-]{1,200}$')),
          },
          { additionalProperties: false },
        ),
        response: { 200: MpaListSchema },
      },
    },
    async (request) =>
      listRequests(ctx.db, tenantOf(request), {
        status: request.query.status,
        limit: Number(request.query.limit ?? 50),
        cursor: request.query.cursor,
        now: ctx.clock(),
      }),
  );

  r.get(
    '/v1/mpa/requests/:id',
    { preHandler: ctx.requireApiKey, schema: { params: IdParams, response: { 200: MpaRequestViewSchema } } },
    async (request) => getRequest(ctx.db, tenantOf(request), request.params.id, ctx.clock()),
  );

  r.post(
    '/v1/mpa/requests/:id/cancel',
    { preHandler: ctx.requireApiKey, schema: { params: IdParams, response: { 200: MpaRequestViewSchema } } },
    async (request) => cancelRequest(ctx.db, tenantOf(request), request.params.id, ctx.clock()),
  );

  r.post(
    '/v1/mpa/requests/:id/decisions',
    {
      schema: {
        summary: 'Called by a device: a signed approve or deny (a device signature, or a passkey assertion)',
        params: IdParams,
        body: DecisionBodySchema,
        response: { 200: DeviceRequestViewSchema },
      },
    },
    async (request) => {
      const body = request.body;
      const payload = body.payload;
      const started = performance.now();
      const userAgent = request.headers['user-agent'];
      const origin = (via: DecisionOrigin['via']): DecisionOrigin => ({ ip: request.ip, userAgent, via });
      const view =
        'webauthn' in body
          ? await submitWebAuthnDecision(
              ctx.db,
              ctx.identity.serverId,
              ctx.webAuthn.relyingParty(),
              request.params.id,
              payload,
              body.webauthn,
              ctx.clock(),
              origin('passkey'),
            )
          : await submitDecision(
              ctx.db,
              ctx.identity.serverId,
              request.params.id,
              payload,
              body.signature,
              ctx.clock(),
              origin('device_key'),
            );
      ctx.metrics.decisionSeconds.observe((performance.now() - started) / 1000);
      return view;
    },
  );
}
