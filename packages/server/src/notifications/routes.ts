import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  ApproverNotificationsSchema,
  ContactsSchema,
  DeviceContactsSchema,
  NotificationListSchema,
  NotificationSettingsSchema,
} from '@sigilauth/protocol/wire';
import type { AppContext } from '../app.js';
import { tenantOf } from '../http/auth.js';
import { FingerprintParams, IdParams } from '../http/schemas.js';
import { requireSession } from '../web/sessions.js';
import { getContacts, getSettings, MAX_EMAIL_LENGTH, updateContacts, updateSettings } from './contacts.js';
import { listNotifications } from './log.js';
import { loadVapidKeys, type VapidKeys } from './vapid.js';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
const Email = Nullable(Type.String({ minLength: 3, maxLength: MAX_EMAIL_LENGTH }));
const Url = Nullable(Type.String({ minLength: 1, maxLength: 2048 }));
const PushSubscription = Type.Union([
  Type.Object(
    {
      endpoint: Type.String({ minLength: 1, maxLength: 2048 }),
      expirationTime: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
      keys: Type.Object(
        { p256dh: Type.String({ minLength: 1, maxLength: 200 }), auth: Type.String({ minLength: 1, maxLength: 100 }) },
        { additionalProperties: false },
      ),
    },
    { additionalProperties: false },
  ),
  Type.Null(),
]);

/** The integrator API: a device's contacts, the organisation's settings, a request's notification log. */
export function notificationRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.patch(
    '/v1/devices/:fingerprint',
    {
      preHandler: ctx.requireApiKey,
      schema: {
        params: FingerprintParams,
        body: Type.Object(
          { email: Type.Optional(Email), slack_webhook_url: Type.Optional(Url), push_subscription: Type.Optional(PushSubscription) },
          { additionalProperties: false },
        ),
        response: { 200: DeviceContactsSchema },
      },
    },
    async (request) => ({
      fingerprint: request.params.fingerprint,
      notifications: await updateContacts(ctx.db, tenantOf(request), request.params.fingerprint, request.body, ctx.webhooks, ctx.clock()),
    }),
  );
  r.get(
    '/v1/devices/:fingerprint/notifications',
    {
      preHandler: ctx.requireApiKey,
      schema: {
        params: FingerprintParams,
        response: { 200: DeviceContactsSchema },
      },
    },
    async (request) => ({
      fingerprint: request.params.fingerprint,
      notifications: await getContacts(ctx.db, tenantOf(request), request.params.fingerprint),
    }),
  );
  r.get(
    '/v1/notifications/settings',
    { preHandler: ctx.requireApiKey, schema: { response: { 200: NotificationSettingsSchema } } },
    async (request) => getSettings(ctx.db, tenantOf(request)),
  );
  r.patch(
    '/v1/notifications/settings',
    {
      preHandler: ctx.requireApiKey,
      schema: {
        body: Type.Object(
          { content: Type.Optional(Type.Union([Type.Literal('full'), Type.Literal('title_only')])), slack_webhook_url: Type.Optional(Url) },
          { additionalProperties: false },
        ),
        response: { 200: NotificationSettingsSchema },
      },
    },
    async (request) => updateSettings(ctx.db, tenantOf(request), request.body, ctx.webhooks, ctx.clock()),
  );
  r.get(
    '/v1/mpa/requests/:id/notifications',
    { preHandler: ctx.requireApiKey, schema: { params: IdParams, response: { 200: NotificationListSchema } } },
    async (request) => listNotifications(ctx.db, tenantOf(request), request.params.id),
  );
}

/** The approver page's own device: its push subscription and email address, and the key to subscribe with. */
export function approverNotificationRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  let vapid: Promise<VapidKeys> | null = null;
  r.get('/approve/api/notifications', { schema: { hide: true, response: { 200: ApproverNotificationsSchema } } }, async (request) => {
    const session = await requireSession(ctx.db, request, ctx.clock());
    vapid ??= loadVapidKeys(ctx.db).catch((err: Error) => {
      vapid = null;
      throw err;
    });
    return { vapid_public_key: (await vapid).publicKey, ...(await getContacts(ctx.db, session.tenantId, session.fingerprint)) };
  });
  r.put(
    '/approve/api/notifications',
    {
      schema: {
        hide: true,
        body: Type.Object(
          { email: Type.Optional(Email), push_subscription: Type.Optional(PushSubscription) },
          { additionalProperties: false },
        ),
        response: { 200: ContactsSchema },
      },
    },
    async (request) => {
      const session = await requireSession(ctx.db, request, ctx.clock());
      return updateContacts(ctx.db, session.tenantId, session.fingerprint, request.body, ctx.webhooks, ctx.clock());
    },
  );
}
