import { Type, type Static } from 'typebox';
import { MPA_LIMITS, OWNER_ID, OWNER_ID_RULE, TEAM_SLUG, TEAM_SLUG_RULE } from '../mpa.js';
import {
  ActionSchema,
  FingerprintSchema,
  MpaStatusSchema,
  ParamValueSchema,
  PatternString,
  PublicKeySchema,
  TimestampSchema,
  UuidSchema,
} from './common.js';

export const ApproverSchema = Type.Object({ fingerprint: FingerprintSchema, device_public_key: PublicKeySchema });

const GroupNameSchema = Type.String({ minLength: 1, maxLength: MPA_LIMITS.maxGroupNameLength });
export const ApprovalGroupSchema = Type.Object({
  name: GroupNameSchema,
  approvers: Type.Immutable(Type.Array(ApproverSchema, { minItems: 1, maxItems: MPA_LIMITS.maxApproversPerGroup })),
});
export const TeamGroupSchema = Type.Object({
  name: GroupNameSchema,
  team: PatternString(TEAM_SLUG.source, TEAM_SLUG_RULE, { description: "a team's slug: its active members when the request is created" }),
});

export const MpaActionSchema = Type.Object({
  type: Type.String(),
  description: Type.String(),
  params: Type.Optional(Type.Record(Type.String(), ParamValueSchema, { description: 'shown to approvers' })),
});

export const RequestedBySchema = Type.Union(
  [Type.Object({ fingerprint: FingerprintSchema }), Type.Object({ id: PatternString(OWNER_ID.source, OWNER_ID_RULE) })],
  { description: 'the requester: their own devices (this one, or every device linked to this owner) never count' },
);

/**
 * Body of POST /v1/mpa/requests. The schema documents it; validateMpaRequestWith checks it, with the
 * messages the SDKs share.
 */
export const MpaRequestInputSchema = Type.Object(
  {
    required: Type.Integer({ minimum: 1, description: 'how many groups must approve (M of N); 1 to groups.length' }),
    groups: Type.Immutable(Type.Array(Type.Union([ApprovalGroupSchema, TeamGroupSchema]), { minItems: 1, maxItems: MPA_LIMITS.maxGroups })),
    action: MpaActionSchema,
    expires_in_seconds: Type.Optional(
      Type.Integer({
        minimum: MPA_LIMITS.minExpiresInSeconds,
        maximum: MPA_LIMITS.maxExpiresInSeconds,
        default: MPA_LIMITS.defaultExpiresInSeconds,
      }),
    ),
    requested_by: Type.Optional(RequestedBySchema),
  },
  { additionalProperties: false },
);

/** The integrator's view of an MPA request: group-level results only, never which device decided. */
export const MpaRequestViewSchema = Type.Object(
  {
    request_id: UuidSchema,
    status: MpaStatusSchema,
    groups_required: Type.Integer(),
    groups_total: Type.Integer(),
    groups_satisfied: Type.Array(Type.String(), {
      description: 'names of the groups that have approved, in the order they were satisfied',
    }),
    expires_at: TimestampSchema,
    created_at: TimestampSchema,
    completed_at: Type.Optional(TimestampSchema),
    action: ActionSchema,
  },
  { additionalProperties: false, description: 'present once the request has finished: completed_at' },
);
export type MpaRequestView = Static<typeof MpaRequestViewSchema>;

/** GET /v1/mpa/requests: a page, newest first. */
export const MpaListSchema = Type.Object(
  { data: Type.Array(MpaRequestViewSchema), next_cursor: Type.Union([Type.String(), Type.Null()]) },
  { additionalProperties: false },
);
export type MpaList = Static<typeof MpaListSchema>;
