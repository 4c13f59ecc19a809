import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { DeviceListSchema, DeviceOwnerInputSchema, DeviceSchema } from '@sigilauth/protocol/wire';
import type { AppContext } from '../app.js';
import { tenantOf } from '../http/auth.js';
import { FingerprintParams } from '../http/schemas.js';
import { listDevices, revokeDevice, setDeviceOwner } from './devices.js';

export function deviceRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.get('/v1/devices', { preHandler: ctx.requireApiKey, schema: { response: { 200: DeviceListSchema } } }, async (request) => ({
    data: await listDevices(ctx.db, tenantOf(request)),
  }));
  r.put(
    '/v1/devices/:fingerprint/owner',
    {
      preHandler: ctx.requireApiKey,
      schema: {
        summary: "Link a device to its owner (null unlinks): a request naming that owner as requester leaves the owner's devices out",
        params: FingerprintParams,
        body: DeviceOwnerInputSchema,
        response: { 200: DeviceSchema },
      },
    },
    async (request) => setDeviceOwner(ctx.db, tenantOf(request), request.params.fingerprint, request.body.owner_id),
  );
  r.delete(
    '/v1/devices/:fingerprint',
    { preHandler: ctx.requireApiKey, schema: { params: FingerprintParams, response: { 200: DeviceSchema } } },
    async (request) => revokeDevice(ctx.db, tenantOf(request), request.params.fingerprint, ctx.clock()),
  );
}
