import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  AnomalyFlagListSchema,
  DeviceFlagsSchema,
  DeviceTimeZoneInputSchema,
  DeviceTimeZoneSchema,
  GovernanceSettingsPatchSchema,
  GovernanceSettingsSchema,
} from '@sigilauth/protocol/wire';
import type { AppContext } from '../app.js';
import { tenantOf } from '../http/auth.js';
import { notFound } from '../http/errors.js';
import { FingerprintParams, IdParams } from '../http/schemas.js';
import { deviceFlags, requestFlags } from './anomaly-flags.js';
import { deviceTimeZone, getGovernanceSettings, setDeviceTimeZone, updateGovernanceSettings } from './settings.js';

/** The organisation's governance settings, devices' time zones, and the anomaly flags of requests and devices. */
export function governanceRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.get(
    '/v1/governance/settings',
    {
      preHandler: ctx.requireApiKey,
      schema: { summary: "The organisation's governance settings", response: { 200: GovernanceSettingsSchema } },
    },
    async (request) => getGovernanceSettings(ctx.db, tenantOf(request)),
  );
  r.patch(
    '/v1/governance/settings',
    {
      preHandler: ctx.requireApiKey,
      schema: {
        summary: "Change some of the organisation's governance settings",
        body: GovernanceSettingsPatchSchema,
        response: { 200: GovernanceSettingsSchema },
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
        params: FingerprintParams,
        body: DeviceTimeZoneInputSchema,
        response: { 200: DeviceTimeZoneSchema },
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
        response: { 200: AnomalyFlagListSchema },
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
        params: FingerprintParams,
        response: { 200: DeviceFlagsSchema },
      },
    },
    async (request) => {
      const tenantId = tenantOf(request);
      const zone = await deviceTimeZone(ctx.db, tenantId, request.params.fingerprint);
      return { ...zone, data: await deviceFlags(ctx.db, tenantId, request.params.fingerprint, 100) };
    },
  );
}
