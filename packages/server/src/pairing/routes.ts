import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../app.js';
import { tenantOf } from '../http/auth.js';
import { ApiError } from '../http/errors.js';
import { IdParams } from '../http/schemas.js';
import { completePairing, createPairing, getPairing } from './pairings.js';
import { PairingCompletedSchema, PairingCreatedSchema, PairingSchema, SignedPairingProofSchema } from '@sigilauth/protocol/wire';

export function pairingRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.post(
    '/v1/pairings',
    {
      preHandler: ctx.requireApiKey,
      schema: {
        summary: 'Open a pairing: a single-use 8-digit code valid for 5 minutes',
        body: Type.Optional(
          Type.Object({ name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })) }, { additionalProperties: false }),
        ),
        response: { 201: PairingCreatedSchema },
      },
    },
    async (request, reply) => {
      const { pairing, code } = await createPairing(ctx.db, tenantOf(request), request.body?.name ?? null, ctx.clock());
      return reply.code(201).send({
        pairing_id: pairing.id,
        code,
        status: 'pending' as const,
        name: pairing.name_hint,
        expires_at: pairing.expires_at.toISOString(),
        server_id: ctx.identity.serverId,
        server_public_key: ctx.identity.publicKey,
        pictogram: ctx.identity.pictogram,
      });
    },
  );
  r.get(
    '/v1/pairings/:id',
    { preHandler: ctx.requireApiKey, schema: { params: IdParams, response: { 200: PairingSchema } } },
    async (request) => getPairing(ctx.db, tenantOf(request), request.params.id, ctx.clock()),
  );
  r.post(
    '/v1/pairings/complete',
    {
      config: ctx.pairingRateLimit,
      schema: {
        summary: 'Called by a device: complete a pairing with its code and a proof of key possession',
        body: SignedPairingProofSchema,
        response: { 200: PairingCompletedSchema },
      },
    },
    async (request) => {
      if (ctx.webAuthn.attestationRequired) {
        throw new ApiError(
          'attestation_required',
          'this server accepts only devices with verified hardware attestation (SIGIL_ATTESTATION_REQUIRED=true); a software key such as sigil-device cannot pair: use a passkey at /approve',
        );
      }
      const device = await completePairing(
        ctx.db,
        ctx.identity.serverId,
        request.body.payload,
        request.body.signature,
        request.ip,
        ctx.clock(),
      );
      return { status: 'completed' as const, server_id: ctx.identity.serverId, ...device, paired_at: new Date(ctx.clock()).toISOString() };
    },
  );
}
