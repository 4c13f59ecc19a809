import { Type, type Static, type TOptional, type TSchema } from 'typebox';
import {
  ANOMALY_FLAG_KINDS,
  ANOMALY_LIMITS,
  BATCH_SECONDS,
  OVERRIDE_LIMITS,
  TEAM_LIMITS,
  TIME_ZONE_MAX_LENGTH,
  type AnomalyFlagKind,
} from '../governance.js';
import { MPA_LIMITS, OWNER_ID, OWNER_ID_RULE, TEAM_SLUG, TEAM_SLUG_RULE } from '../mpa.js';
import {
  ActionSchema,
  DecisionSchema,
  FingerprintSchema,
  MpaStatusSchema,
  NotBlank,
  ParamValueSchema,
  PatternString,
  TimestampSchema,
  UuidSchema,
} from './common.js';
import { MpaRequestViewSchema, RequestedBySchema } from './mpa.js';

/** Governance (docs/governance.md): approval teams, break-glass overrides, settings and anomaly flags. */

// Teams.

export const TeamSlugSchema = PatternString(TEAM_SLUG.source, TEAM_SLUG_RULE, {
  description: "1-63 lower-case letters, digits, '-' or '_'",
});
const TeamName = NotBlank(TEAM_LIMITS.maxNameLength);
const MinMembers = Type.Integer({ minimum: 1, maximum: TEAM_LIMITS.maxMinMembers });
const Members = Type.Array(FingerprintSchema, { maxItems: TEAM_LIMITS.maxMembers });

/** Body of POST /v1/teams. `members`: fingerprints of the organisation's paired devices; `min_members`
 * (default 1): a request naming the team is refused when fewer of its members can approve. */
export const TeamInputSchema = Type.Object(
  { slug: TeamSlugSchema, name: TeamName, members: Type.Optional(Members), min_members: Type.Optional(MinMembers) },
  { additionalProperties: false },
);
export type TeamInput = Static<typeof TeamInputSchema>;

/** Body of PATCH /v1/teams/:slug: every field optional; members are added and removed by fingerprint. */
export const TeamUpdateSchema = Type.Object(
  {
    name: Type.Optional(TeamName),
    min_members: Type.Optional(MinMembers),
    add_members: Type.Optional(Members),
    remove_members: Type.Optional(Members),
  },
  { additionalProperties: false },
);
export type TeamUpdate = Static<typeof TeamUpdateSchema>;

export const TeamMemberViewSchema = Type.Object({
  fingerprint: Type.String(),
  name: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('revoked')]),
  owner_id: Type.Union([Type.String(), Type.Null()]),
});
export type TeamMemberView = Static<typeof TeamMemberViewSchema>;

export const TeamViewSchema = Type.Object({
  slug: Type.String(),
  name: Type.String(),
  min_members: Type.Integer(),
  members: Type.Array(TeamMemberViewSchema),
  active_members: Type.Integer({ description: 'members a new request resolves to (not revoked)' }),
  created_at: TimestampSchema,
  updated_at: TimestampSchema,
});
export type TeamView = Static<typeof TeamViewSchema>;

/** GET /v1/teams. */
export const TeamListSchema = Type.Object({ data: Type.Array(TeamViewSchema) });
export type TeamList = Static<typeof TeamListSchema>;

/** DELETE /v1/teams/:slug. */
export const TeamDeletedSchema = Type.Object({ slug: Type.String(), deleted: Type.Literal(true) });
export type TeamDeleted = Static<typeof TeamDeletedSchema>;

// Device owners.

/** Body of PUT /v1/devices/:fingerprint/owner: null unlinks. */
export const DeviceOwnerInputSchema = Type.Object(
  {
    owner_id: Type.Union([
      PatternString(OWNER_ID.source, OWNER_ID_RULE, { description: '1-200 printable ASCII characters without spaces' }),
      Type.Null(),
    ]),
  },
  { additionalProperties: false },
);
export type DeviceOwnerInput = Static<typeof DeviceOwnerInputSchema>;

// Break-glass overrides.

export const OverrideStatusSchema = Type.Union([Type.Literal('awaiting_review'), Type.Literal('reviewed')]);
export type OverrideStatus = Static<typeof OverrideStatusSchema>;

const ParamsSchema = Type.Record(Type.String(), ParamValueSchema);

/** Body of POST /v1/overrides: the action performed without approval and, optionally, who performed
 * it (their own devices do not review it). */
export const OverrideInputSchema = Type.Object(
  {
    reason: NotBlank(OVERRIDE_LIMITS.maxReasonLength),
    action: Type.Object(
      {
        type: Type.String({ minLength: 1, maxLength: MPA_LIMITS.maxActionTypeLength }),
        // leaves room for the review request's "Emergency override: " prefix
        description: Type.String({ minLength: 1, maxLength: MPA_LIMITS.maxActionDescriptionLength - 100 }),
        params: Type.Optional(ParamsSchema),
      },
      { additionalProperties: false },
    ),
    requested_by: Type.Optional(RequestedBySchema),
  },
  { additionalProperties: false },
);
export type OverrideInput = Static<typeof OverrideInputSchema>;

/** `review_status`: the review request's status: approved (the override is endorsed), rejected,
 * timeout or cancelled once it ends. */
export const OverrideViewSchema = Type.Object({
  override_id: UuidSchema,
  status: OverrideStatusSchema,
  reason: Type.String(),
  action: ActionSchema,
  requested_by: Type.Union([RequestedBySchema, Type.Null()]),
  created_at: TimestampSchema,
  reviewed_at: Type.Union([TimestampSchema, Type.Null()]),
  review_request_id: UuidSchema,
  review_status: MpaStatusSchema,
});
export type OverrideView = Static<typeof OverrideViewSchema>;

/** POST /v1/overrides answers with the override and its review request. */
export const OverrideCreatedSchema = Type.Intersect([OverrideViewSchema, Type.Object({ review_request: MpaRequestViewSchema })]);
export type OverrideCreated = Static<typeof OverrideCreatedSchema>;

/** GET /v1/overrides: newest first. */
export const OverrideListSchema = Type.Object({ data: Type.Array(OverrideViewSchema) });
export type OverrideList = Static<typeof OverrideListSchema>;

/** GET and PUT /v1/overrides/settings. Off until review teams are chosen; `review_teams` are the
 * slugs of the teams that review each override, one group each, `review_required` how many of those
 * groups must endorse it. */
export const OverrideSettingsSchema = Type.Object(
  {
    enabled: Type.Boolean(),
    daily_limit: Type.Union([Type.Integer({ minimum: 1, maximum: OVERRIDE_LIMITS.maxDailyLimit }), Type.Null()], {
      description: 'most overrides in any 24 hours; null: no limit',
    }),
    review_teams: Type.Array(TeamSlugSchema, { maxItems: MPA_LIMITS.maxGroups }),
    review_required: Type.Integer({ minimum: 1, maximum: MPA_LIMITS.maxGroups }),
    review_expires_in_seconds: Type.Integer({ minimum: MPA_LIMITS.minExpiresInSeconds, maximum: MPA_LIMITS.maxExpiresInSeconds }),
  },
  { additionalProperties: false },
);
export type OverrideSettings = Static<typeof OverrideSettingsSchema>;

// Governance settings, time zones and anomaly flags.

export const TimeZoneSchema = Type.String({
  minLength: 1,
  maxLength: TIME_ZONE_MAX_LENGTH,
  description: 'an IANA time zone name, such as Europe/Paris',
});
const Bounded = (key: keyof typeof ANOMALY_LIMITS, description: string) =>
  Type.Integer({
    minimum: ANOMALY_LIMITS[key].minimum,
    maximum: ANOMALY_LIMITS[key].maximum,
    default: ANOMALY_LIMITS[key].default,
    description,
  });

const AnomalyFields = {
  rubber_stamp_seconds: Bounded(
    'rubber_stamp_seconds',
    'an approval less than this many seconds after the request was created is flagged (0: never)',
  ),
  burst_requests: Bounded('burst_requests', 'an approval by a device sent this many requests within burst_minutes is flagged'),
  burst_minutes: Bounded('burst_minutes', 'the window of burst_requests'),
  new_hour_min_history: Bounded(
    'new_hour_min_history',
    'approvals a device must have on record before an approval in a new hour is flagged',
  ),
  flagged_approval_requires_extra_group: Type.Boolean({
    description: 'a flagged approval raises the quorum by one group, capped at every group',
  }),
};

/** The organisation's anomaly-flag settings. */
export const AnomalySettingsSchema = Type.Object(AnomalyFields);
export type AnomalySettings = Static<typeof AnomalySettingsSchema>;

const BatchSeconds = Type.Integer({ ...BATCH_SECONDS, description: 'decisions are released at multiples of this many seconds' });
const DenyImmediately = Type.Boolean({ description: 'a denial ends its request at once instead of at the next boundary' });

/** Timing privacy: decisions are released at multiples of batch_seconds. */
export const DecisionReleaseSchema = Type.Object({ batch_seconds: BatchSeconds, deny_immediately: DenyImmediately });
export type DecisionRelease = Static<typeof DecisionReleaseSchema>;

/** GET /v1/governance/settings. `time_zone`: the zone in which devices without their own read "hour
 * of day"; `decision_release` null: every decision is released when it is recorded. */
export const GovernanceSettingsSchema = Type.Object({
  time_zone: TimeZoneSchema,
  anomaly_flags: AnomalySettingsSchema,
  decision_release: Type.Union([DecisionReleaseSchema, Type.Null()]),
});
export type GovernanceSettings = Static<typeof GovernanceSettingsSchema>;

const optionalFields = <T extends Record<string, TSchema>>(fields: T) =>
  Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, Type.Optional(v)])) as { [K in keyof T]: TOptional<T[K]> };

/** Body of PATCH /v1/governance/settings: every field optional; decision_release null turns batching
 * off, and its deny_immediately defaults to false. */
export const GovernanceSettingsPatchSchema = Type.Object(
  {
    time_zone: Type.Optional(TimeZoneSchema),
    anomaly_flags: Type.Optional(Type.Object(optionalFields(AnomalyFields), { additionalProperties: false })),
    decision_release: Type.Optional(
      Type.Union([
        Type.Object({ batch_seconds: BatchSeconds, deny_immediately: Type.Optional(DenyImmediately) }, { additionalProperties: false }),
        Type.Null(),
      ]),
    ),
  },
  { additionalProperties: false },
);
export type GovernanceSettingsPatch = Static<typeof GovernanceSettingsPatchSchema>;

/** Body of PUT /v1/devices/:fingerprint/time-zone: null: the organisation's. */
export const DeviceTimeZoneInputSchema = Type.Object(
  { time_zone: Type.Union([TimeZoneSchema, Type.Null()]) },
  { additionalProperties: false },
);
export type DeviceTimeZoneInput = Static<typeof DeviceTimeZoneInputSchema>;

const deviceTimeZoneFields = {
  fingerprint: FingerprintSchema,
  time_zone: Type.Union([TimeZoneSchema, Type.Null()]),
  effective_time_zone: TimeZoneSchema,
};

/** A device's own time zone (null: its organisation's) and the one its hours are read in. */
export const DeviceTimeZoneSchema = Type.Object(deviceTimeZoneFields);
export type DeviceTimeZone = Static<typeof DeviceTimeZoneSchema>;

export const AnomalyFlagKindSchema = Type.Unsafe<AnomalyFlagKind>({ type: 'string', enum: [...ANOMALY_FLAG_KINDS] });

/** One anomaly flag, as the organisation's API shows it. */
export const AnomalyFlagViewSchema = Type.Object({
  request_id: UuidSchema,
  fingerprint: FingerprintSchema,
  device_name: Type.Union([Type.String(), Type.Null()]),
  group: Type.String(),
  decision: DecisionSchema,
  kind: AnomalyFlagKindSchema,
  details: Type.Record(Type.String(), Type.Unknown()),
  created_at: TimestampSchema,
});
export type AnomalyFlagView = Static<typeof AnomalyFlagViewSchema>;

/** GET /v1/mpa/requests/:id/flags: oldest first. */
export const AnomalyFlagListSchema = Type.Object({ data: Type.Array(AnomalyFlagViewSchema) });
export type AnomalyFlagList = Static<typeof AnomalyFlagListSchema>;

/** GET /v1/devices/:fingerprint/flags: the device's time zone and its most recent flags, newest first. */
export const DeviceFlagsSchema = Type.Object({ ...deviceTimeZoneFields, data: Type.Array(AnomalyFlagViewSchema) });
export type DeviceFlags = Static<typeof DeviceFlagsSchema>;
