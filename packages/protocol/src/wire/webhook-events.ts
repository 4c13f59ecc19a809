import { Type, type Static, type TLiteral } from 'typebox';
import { ActionSchema, FingerprintSchema, PublicKeySchema, TimestampSchema, UuidSchema } from './common.js';
import { SignedTreeHeadSchema } from './audit.js';

/** The body of every webhook delivery, by `type`. */

const mpaEvent = <T extends string, S extends string>(type: TLiteral<T>, status: TLiteral<S>, extra = {}) =>
  Type.Object(
    {
      type,
      status,
      request_id: UuidSchema,
      groups_satisfied: Type.Array(Type.String()),
      groups_required: Type.Integer(),
      groups_total: Type.Integer(),
      action: ActionSchema,
      timestamp: Type.String({ description: 'when the request was created (mpa.created) or finished (the others)' }),
      ...extra,
    },
    { additionalProperties: false },
  );

export const MpaCreatedEventSchema = Type.Object(
  { ...mpaEvent(Type.Literal('mpa.created'), Type.Literal('pending')).properties, expires_at: TimestampSchema },
  { additionalProperties: false },
);
export type MpaCreatedEvent = Static<typeof MpaCreatedEventSchema>;
export const MpaApprovedEventSchema = mpaEvent(Type.Literal('mpa.approved'), Type.Literal('approved'));
export type MpaApprovedEvent = Static<typeof MpaApprovedEventSchema>;
export const MpaRejectedEventSchema = mpaEvent(Type.Literal('mpa.rejected'), Type.Literal('rejected'));
export type MpaRejectedEvent = Static<typeof MpaRejectedEventSchema>;
export const MpaTimeoutEventSchema = mpaEvent(Type.Literal('mpa.timeout'), Type.Literal('timeout'));
export type MpaTimeoutEvent = Static<typeof MpaTimeoutEventSchema>;
export const MpaCancelledEventSchema = mpaEvent(Type.Literal('mpa.cancelled'), Type.Literal('cancelled'));
export type MpaCancelledEvent = Static<typeof MpaCancelledEventSchema>;
export type MpaWebhookEvent = MpaCreatedEvent | MpaApprovedEvent | MpaRejectedEvent | MpaTimeoutEvent | MpaCancelledEvent;

export const DevicePairedEventSchema = Type.Object(
  {
    type: Type.Literal('device.paired'),
    fingerprint: FingerprintSchema,
    device_public_key: PublicKeySchema,
    name: Type.String(),
    pairing_id: UuidSchema,
    timestamp: TimestampSchema,
  },
  { additionalProperties: false },
);
export type DevicePairedEvent = Static<typeof DevicePairedEventSchema>;

export const DeviceRevokedEventSchema = Type.Object(
  { type: Type.Literal('device.revoked'), fingerprint: FingerprintSchema, name: Type.String(), timestamp: TimestampSchema },
  { additionalProperties: false },
);
export type DeviceRevokedEvent = Static<typeof DeviceRevokedEventSchema>;
export type DeviceWebhookEvent = DevicePairedEvent | DeviceRevokedEvent;

/**
 * A new signed tree head of the organisation's audit log (only to endpoints that list
 * `audit.head` in their events): keep them outside Sigil and check later that the log still
 * extends them.
 */
export const AuditHeadEventSchema = Type.Object(
  { type: Type.Literal('audit.head'), tree_head: SignedTreeHeadSchema, timestamp: TimestampSchema },
  { additionalProperties: false },
);
export type AuditHeadEvent = Static<typeof AuditHeadEventSchema>;

/** A webhook body; narrow on `type`. */
export const WebhookEventSchema = Type.Union([
  MpaCreatedEventSchema,
  MpaApprovedEventSchema,
  MpaRejectedEventSchema,
  MpaTimeoutEventSchema,
  MpaCancelledEventSchema,
  DevicePairedEventSchema,
  DeviceRevokedEventSchema,
  AuditHeadEventSchema,
]);
export type WebhookEvent = Static<typeof WebhookEventSchema>;
export type WebhookEventType = WebhookEvent['type'];
