import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../app.js';
import { tenantOf } from '../http/auth.js';
import { Fingerprint } from '../http/schemas.js';
import { listDevices, revokeDevice } from './devices.js';
import { DeviceListSchema, DeviceSchema } from '@sigilauth/protocol';

export function deviceRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.get('/v1/devices', { preHandler: ctx.requireApiKey, schema: { response: { 200: DeviceListSchema } } }, async (request) => ({
    data: await listDevices(ctx.db, tenantOf(request)),
  }));
  r.delete(
    '/v1/devices/:fingerprint',
    {
      preHandler: ctx.requireApiKey,
      schema: { params: Type.Object({ fingerprint: Fingerprint }, { additionalProperties: false }), response: { 200: DeviceSchema } },
    },
    async (request) => revokeDevice(ctx.db, tenantOf(request), request.params.fingerprint, ctx.clock()),
  );
}
