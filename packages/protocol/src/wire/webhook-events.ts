import { Type, type Static, type TLiteral } from 'typebox';
import { ActionSchema, FingerprintSchema, PublicKeySchema, TimestampSchema, UuidSchema } from './common.js';
import { SignedTreeHeadSchema } from './audit.js';
import { AnomalyFlagKindSchema } from './governance.js';
import { RequestedBySchema } from './mpa.js';

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

/**
 * An approval was flagged as unusual (only to endpoints that list `mpa.flagged` in their events;
 * docs/governance.md). Group-level only, like every event the application receives: the group
 * whose approval it was, never the device or person, and never a denial.
 */
export const MpaFlaggedEventSchema = Type.Object(
  {
    type: Type.Literal('mpa.flagged'),
    request_id: UuidSchema,
    group: Type.String({ description: 'the group whose approval was flagged' }),
    flags: Type.Array(AnomalyFlagKindSchema),
    extra_group_required: Type.Boolean({ description: "whether the flag raised the request's quorum by one group" }),
    groups_required: Type.Integer(),
    groups_total: Type.Integer(),
    timestamp: TimestampSchema,
  },
  { additionalProperties: false },
);
export type MpaFlaggedEvent = Static<typeof MpaFlaggedEventSchema>;

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

/** An approval team was created, changed or deleted: its state after the change, and the members added and removed. */
export const TeamEventSchema = Type.Object(
  {
    type: Type.Union([Type.Literal('team.created'), Type.Literal('team.updated'), Type.Literal('team.deleted')]),
    slug: Type.String(),
    name: Type.String(),
    min_members: Type.Integer(),
    members: Type.Array(FingerprintSchema),
    added: Type.Array(FingerprintSchema),
    removed: Type.Array(FingerprintSchema),
    timestamp: TimestampSchema,
  },
  { additionalProperties: false },
);
export type TeamWebhookEvent = Static<typeof TeamEventSchema>;

const overrideFields = {
  override_id: UuidSchema,
  review_request_id: UuidSchema,
  reason: Type.String(),
  action: ActionSchema,
  timestamp: TimestampSchema,
};

/** An emergency override was recorded; its review request was opened with it. */
export const OverrideCreatedEventSchema = Type.Object(
  { type: Type.Literal('override.created'), ...overrideFields, requested_by: Type.Union([RequestedBySchema, Type.Null()]) },
  { additionalProperties: false },
);
export type OverrideCreatedEvent = Static<typeof OverrideCreatedEventSchema>;

/** An override's review request ended: `outcome` approved (endorsed), rejected, timeout or cancelled. */
export const OverrideReviewedEventSchema = Type.Object(
  {
    type: Type.Literal('override.reviewed'),
    ...overrideFields,
    outcome: Type.Union([Type.Literal('approved'), Type.Literal('rejected'), Type.Literal('timeout'), Type.Literal('cancelled')]),
    groups_satisfied: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);
export type OverrideReviewedEvent = Static<typeof OverrideReviewedEventSchema>;

/** A webhook body; narrow on `type`. */
export const WebhookEventSchema = Type.Union([
  MpaCreatedEventSchema,
  MpaApprovedEventSchema,
  MpaRejectedEventSchema,
  MpaTimeoutEventSchema,
  MpaCancelledEventSchema,
  MpaFlaggedEventSchema,
  DevicePairedEventSchema,
  DeviceRevokedEventSchema,
  AuditHeadEventSchema,
  TeamEventSchema,
  OverrideCreatedEventSchema,
  OverrideReviewedEventSchema,
]);
export type WebhookEvent = Static<typeof WebhookEventSchema>;
export type WebhookEventType = WebhookEvent['type'];
