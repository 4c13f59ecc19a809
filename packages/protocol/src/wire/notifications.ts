import { Type, type Static, type TSchema } from 'typebox';
import { FingerprintSchema, TimestampSchema, UuidSchema } from './common.js';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/**
 * How a device is reached. A Slack webhook URL and a push endpoint are capabilities (whoever
 * holds one can post), so only their origin is shown back.
 */
export const ContactsSchema = Type.Object(
  {
    email: Nullable(Type.String()),
    slack_webhook: Nullable(Type.String({ description: 'the origin of the Slack webhook URL, followed by /…' })),
    push: Nullable(Type.Object({ service: Type.String({ description: "the push service's origin" }) }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);
export type Contacts = Static<typeof ContactsSchema>;

/** GET and PATCH /v1/devices/:fingerprint (contacts), GET /v1/devices/:fingerprint/notifications. */
export const DeviceContactsSchema = Type.Object(
  { fingerprint: FingerprintSchema, notifications: ContactsSchema },
  { additionalProperties: false },
);
export type DeviceContacts = Static<typeof DeviceContactsSchema>;

/** GET and PATCH /v1/notifications/settings. */
export const NotificationSettingsSchema = Type.Object(
  {
    content: Type.Union([Type.Literal('full'), Type.Literal('title_only')]),
    slack_webhook: Nullable(Type.String({ description: 'the origin of the Slack webhook URL, followed by /…' })),
  },
  { additionalProperties: false },
);
export type NotificationSettings = Static<typeof NotificationSettingsSchema>;

/** One notification of a request and its attempts: GET /v1/mpa/requests/:id/notifications. */
export const NotificationSchema = Type.Object(
  {
    id: UuidSchema,
    kind: Type.String(),
    fingerprint: Nullable(FingerprintSchema),
    channel: Type.Union([Type.Literal('push'), Type.Literal('email'), Type.Literal('slack')]),
    target: Type.String(),
    status: Type.Union([Type.Literal('queued'), Type.Literal('sent'), Type.Literal('delivered'), Type.Literal('failed')]),
    reason: Nullable(Type.String()),
    attempt_count: Type.Integer({ minimum: 0 }),
    next_attempt_at: Nullable(TimestampSchema),
    created_at: TimestampSchema,
    completed_at: Nullable(TimestampSchema),
    attempts: Type.Array(
      Type.Object(
        { attempt: Type.Integer({ minimum: 1 }), started_at: TimestampSchema, outcome: Type.String(), error: Nullable(Type.String()) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type Notification = Static<typeof NotificationSchema>;

export const NotificationListSchema = Type.Object({ data: Type.Array(NotificationSchema) }, { additionalProperties: false });
export type NotificationList = Static<typeof NotificationListSchema>;
