import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ANOMALY_FLAG_KINDS, type AnomalyFlagKind } from '@sigilauth/protocol';
import type { AppContext } from '../app.js';
import { tenantOf } from '../http/auth.js';
import { notFound } from '../http/errors.js';
import { Fingerprint, IdParams, Timestamp, Uuid } from '../http/schemas.js';
import { deviceFlags, requestFlags } from './anomaly-flags.js';
import {
  ANOMALY_LIMITS,
  BATCH_SECONDS,
  deviceTimeZone,
  getGovernanceSettings,
  setDeviceTimeZone,
  updateGovernanceSettings,
} from './settings.js';

const TimeZone = Type.String({ minLength: 1, maxLength: 64, description: 'an IANA time zone name, such as Europe/Paris' });
const Bounded = (key: keyof typeof ANOMALY_LIMITS, description: string) => Type.Integer({ ...ANOMALY_LIMITS[key], description });

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

const BatchSeconds = Type.Integer({ ...BATCH_SECONDS, description: 'decisions are released at multiples of this many seconds' });
const DenyImmediately = Type.Boolean({ description: 'a denial ends its request at once instead of at the next boundary' });

const SettingsView = Type.Object({
  time_zone: TimeZone,
  anomaly_flags: Type.Object(AnomalyFields),
  decision_release: Type.Union([Type.Object({ batch_seconds: BatchSeconds, deny_immediately: DenyImmediately }), Type.Null()]),
});

const SettingsPatch = Type.Object(
  {
    time_zone: Type.Optional(TimeZone),
    anomaly_flags: Type.Optional(
      Type.Object(
        Object.fromEntries(Object.entries(AnomalyFields).map(([k, v]) => [k, Type.Optional(v)])) as {
          [K in keyof typeof AnomalyFields]: ReturnType<typeof Type.Optional<(typeof AnomalyFields)[K]>>;
        },
        { additionalProperties: false },
      ),
    ),
    decision_release: Type.Optional(
      Type.Union([
        Type.Object({ batch_seconds: BatchSeconds, deny_immediately: Type.Optional(DenyImmediately) }, { additionalProperties: false }),
        Type.Null(),
      ]),
    ),
  },
  { additionalProperties: false },
);

const Flag = Type.Object({
  request_id: Uuid,
  fingerprint: Fingerprint,
  device_name: Type.Union([Type.String(), Type.Null()]),
  group: Type.String(),
  decision: Type.Union([Type.Literal('approve'), Type.Literal('deny')]),
  kind: Type.Unsafe<AnomalyFlagKind>({ type: 'string', enum: [...ANOMALY_FLAG_KINDS] }),
  details: Type.Record(Type.String(), Type.Unknown()),
  created_at: Timestamp,
});

const DeviceParams = Type.Object({ fingerprint: Fingerprint }, { additionalProperties: false });
const DeviceTimeZone = Type.Object({
  fingerprint: Fingerprint,
  time_zone: Type.Union([TimeZone, Type.Null()]),
  effective_time_zone: TimeZone,
});

/** The organisation's governance settings, devices' time zones, and the anomaly flags of requests and devices. */
export function governanceRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.get(
    '/v1/governance/settings',
    {
      preHandler: ctx.requireApiKey,
      schema: { summary: "The organisation's governance settings", response: { 200: SettingsView } },
    },
    async (request) => getGovernanceSettings(ctx.db, tenantOf(request)),
  );
  r.patch(
    '/v1/governance/settings',
    {
      preHandler: ctx.requireApiKey,
      schema: {
        summary: "Change some of the organisation's governance settings",
        body: SettingsPatch,
        response: { 200: SettingsView },
      },
    },
    async (request) => updateGovernanceSettings(ctx.db, tenantOf(request), request.body, 'api', ctx.clock()),
  );
  r.put(
    '/v1/devices/:fingerprint/time-zone',
    {
      preHandler: ctx.requireApiKey,
      schema: {
        summary: "Set a device's own time zone (null: the organisation's)",
        params: DeviceParams,
        body: Type.Object({ time_zone: Type.Union([TimeZone, Type.Null()]) }, { additionalProperties: false }),
        response: { 200: DeviceTimeZone },
      },
    },
    async (request) => setDeviceTimeZone(ctx.db, tenantOf(request), request.params.fingerprint, request.body.time_zone, 'api'),
  );
  r.get(
    '/v1/mpa/requests/:id/flags',
    {
      preHandler: ctx.requireApiKey,
      schema: {
        summary: "A request's anomaly flags, oldest first",
        params: IdParams,
        response: { 200: Type.Object({ data: Type.Array(Flag) }) },
      },
    },
    async (request) => {
      const data = await requestFlags(ctx.db, tenantOf(request), request.params.id);
      if (!data) throw notFound('MPA request');
      return { data };
    },
  );
  r.get(
    '/v1/devices/:fingerprint/flags',
    {
      preHandler: ctx.requireApiKey,
      schema: {
        summary: "A device's time zone and its 100 most recent anomaly flags, newest first",
        params: DeviceParams,
        response: {
          200: Type.Object({
            fingerprint: Fingerprint,
            time_zone: Type.Union([TimeZone, Type.Null()]),
            effective_time_zone: TimeZone,
            data: Type.Array(Flag),
          }),
        },
      },
    },
    async (request) => {
      const tenantId = tenantOf(request);
      const zone = await deviceTimeZone(ctx.db, tenantId, request.params.fingerprint);
      return { ...zone, data: await deviceFlags(ctx.db, tenantId, request.params.fingerprint, 100) };
    },
  );
}
