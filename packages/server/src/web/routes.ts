import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  ApproverConfigSchema,
  ApproverRequestPageSchema,
  ApproverSessionSchema,
  DeviceRequestViewSchema,
  PasskeyPairedSchema,
  PasskeyPairingOptionsSchema,
  SessionOptionsSchema,
  SignedOutSchema,
  WebAuthnAssertionSchema,
  UuidSchema,
  Base64UrlSchema,
} from '@sigilauth/protocol/wire';
import type { AppContext } from '../app.js';
import { activeDeviceTenant, deviceProfile } from '../devices/devices.js';
import { ApiError, notFound } from '../http/errors.js';
import { IdParams } from '../http/schemas.js';
import { deviceViews, pendingViewsPage } from '../mpa/request-queries.js';
import { publicOrganisation } from '../tenants/tenants.js';
import { claimedChallenge, verifyPasskeyAssertion } from '../webauthn/assertion.js';
import { advanceSignCount, findCredentialByFingerprint, findCredentialById } from '../webauthn/credentials.js';
import { issueSessionChallenge, sessionChallengeExpiry, useSessionChallenge } from '../webauthn/session-challenges.js';
import { completePasskeyPairing, passkeyRegistrationOptions, requireRelyingParty } from '../webauthn/registration.js';
import { approverNotificationRoutes } from '../notifications/routes.js';
import { ApproverEvents } from './events.js';
import { pwaRoutes } from './pwa-routes.js';
import { approvePage, ASSETS, consolePage, CONTENT_SECURITY_POLICY, readAsset } from './pages.js';
import { clearSessionCookie, closeSession, openSession, readCookie, requireSession, SESSION_COOKIE, setSessionCookie } from './sessions.js';

const SESSION_CHALLENGE_TTL_MS = 2 * 60_000;

const Code = Type.String({ minLength: 1, maxLength: 16 });
const DeviceName = Type.String({ maxLength: 100 });

/** Headers on every page, asset and approver API answer. */
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'permissions-policy': 'publickey-credentials-create=(self), publickey-credentials-get=(self), camera=(), microphone=(), geolocation=()',
};

/**
 * The web approver (`/approve`: pair a passkey, see requests live, decide with the passkey) and
 * the operator console (`/console`: a light client of the JSON API, signed in with an API key).
 */
export async function webRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const events = new ApproverEvents({ db: ctx.db, clock: ctx.clock });
  // Subscribed once the app is ready, not while its routes are registered: the store may still be opening then.
  app.addHook('onReady', () => events.start());
  app.addHook('onClose', async () => events.stop());

  const assets = new Map<string, Buffer>();
  for (const name of Object.keys(ASSETS)) {
    const body = readAsset(name);
    if (body) assets.set(name, body);
    else app.log.warn({ asset: name }, 'web front end not built (npm run build); /approve and /console will not work');
  }
  const buildId = createHash('sha256')
    .update(Buffer.concat([...assets.values()]))
    .digest('hex')
    .slice(0, 12);
  const pages = { approve: approvePage(buildId), console: consolePage(buildId) };

  await app.register(async (web) => {
    web.addHook('onSend', async (_request, reply, payload) => {
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) void reply.header(name, value);
      return payload;
    });
    const r = web.withTypeProvider<TypeBoxTypeProvider>();
    const hidden = { schema: { hide: true } };
    const secure = (request: FastifyRequest) =>
      request.protocol === 'https' || ctx.webAuthn.relyingParty()?.origin.startsWith('https:') === true;
    const html = (reply: FastifyReply, body: string) =>
      reply.header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(body);

    for (const path of ['/approve', '/approve/', '/approve/pair', '/approve/requests/:id']) {
      r.get(path, hidden, async (_request, reply) => html(reply, pages.approve));
    }
    for (const path of ['/console', '/console/']) r.get(path, hidden, async (_request, reply) => html(reply, pages.console));

    pwaRoutes(r, ctx, buildId, assets.get('sw.js') ?? null);

    r.get(
      '/web/:file',
      { schema: { hide: true, params: Type.Object({ file: Type.String({ maxLength: 40 }) }) } },
      async (request, reply) => {
        const body = assets.get(request.params.file);
        if (!body) throw notFound('asset');
        return reply.header('content-type', ASSETS[request.params.file]!).header('cache-control', 'public, max-age=3600').send(body);
      },
    );

    // ---- approver API: everything the page needs before and after pairing ----

    r.get('/approve/api/config', { schema: { hide: true, response: { 200: ApproverConfigSchema } } }, async () => {
      const organisation = await publicOrganisation(ctx.db);
      const rp = ctx.webAuthn.relyingParty();
      return {
        server_id: ctx.identity.serverId,
        pictogram: ctx.identity.pictogram,
        org_name: organisation.name,
        rp_id: rp?.rpId ?? null,
        origin: rp?.origin ?? null,
        attestation_required: ctx.webAuthn.attestationRequired,
        server_time: ctx.clock(),
      };
    });

    const pairingLimit = ctx.pairingRateLimit;
    r.post(
      '/approve/api/pair/options',
      {
        config: pairingLimit,
        schema: {
          hide: true,
          body: Type.Object({ code: Code, name: Type.Optional(DeviceName) }, { additionalProperties: false }),
          response: { 200: PasskeyPairingOptionsSchema },
        },
      },
      async (request) => passkeyRegistrationOptions(ctx.db, ctx.webAuthn, request.body.code, request.body.name, request.ip, ctx.clock()),
    );

    r.post(
      '/approve/api/pair/complete',
      {
        config: pairingLimit,
        bodyLimit: 64 * 1024,
        schema: {
          hide: true,
          body: Type.Object(
            {
              challenge_id: Type.String({ format: 'uuid' }),
              code: Code,
              name: DeviceName,
              credential: Type.Object(
                {
                  id: Base64UrlSchema(1400),
                  rawId: Base64UrlSchema(1400),
                  type: Type.Literal('public-key'),
                  authenticatorAttachment: Type.Optional(Type.String({ maxLength: 40 })),
                  response: Type.Object(
                    {
                      clientDataJSON: Base64UrlSchema(4096),
                      attestationObject: Base64UrlSchema(48 * 1024),
                      transports: Type.Optional(Type.Array(Type.String({ maxLength: 40 }), { maxItems: 10 })),
                    },
                    { additionalProperties: false },
                  ),
                  clientExtensionResults: Type.Object({}, { additionalProperties: true }),
                },
                { additionalProperties: false },
              ),
              // The new passkey's assertion over the options' proof challenge: possession of its key.
              proof: WebAuthnAssertionSchema,
            },
            { additionalProperties: false },
          ),
          response: { 200: PasskeyPairedSchema },
        },
      },
      async (request, reply) => {
        const { challenge_id, code, name, credential, proof } = request.body;
        const now = ctx.clock();
        const device = await completePasskeyPairing(
          ctx.db,
          ctx.webAuthn,
          {
            challengeId: challenge_id,
            code,
            name,
            credential: credential as Parameters<typeof completePasskeyPairing>[2]['credential'],
            proof,
          },
          request.ip,
          now,
        );
        setSessionCookie(reply, await openSession(ctx.db, device.tenant_id, device.fingerprint, now), secure(request));
        return { status: 'completed' as const, server_id: ctx.identity.serverId, ...device, paired_at: new Date(now).toISOString() };
      },
    );

    r.post(
      '/approve/api/session/options',
      { config: pairingLimit, schema: { hide: true, response: { 200: SessionOptionsSchema } } },
      async () => {
        const rp = requireRelyingParty(ctx.webAuthn);
        const challenge = issueSessionChallenge(ctx.identity, SESSION_CHALLENGE_TTL_MS, ctx.clock());
        return {
          challenge_id: challenge.id,
          options: { challenge: challenge.challenge, rpId: rp.rpId, userVerification: 'required' as const, timeout: 120_000 },
        };
      },
    );

    r.post(
      '/approve/api/session',
      {
        config: pairingLimit,
        schema: {
          hide: true,
          body: Type.Object(
            { challenge_id: Type.String({ format: 'uuid' }), webauthn: WebAuthnAssertionSchema },
            { additionalProperties: false },
          ),
          response: { 200: ApproverSessionSchema },
        },
      },
      async (request, reply) => {
        const rp = requireRelyingParty(ctx.webAuthn);
        const now = ctx.clock();
        const { challenge_id: challengeId, webauthn } = request.body;
        const expired = () => new ApiError('challenge_expired', 'this sign-in expired or was already used: try again');
        const challenge = claimedChallenge(webauthn);
        const expiresAt = challenge === null ? null : sessionChallengeExpiry(ctx.identity, challengeId, challenge, now);
        if (challenge === null || expiresAt === null) throw expired();
        const credential = await findCredentialById(ctx.db, webauthn.credential_id);
        if (!credential) throw new ApiError('unknown_passkey', 'this passkey is not paired with this server');
        const { counter } = await verifyPasskeyAssertion(rp, credential, challenge, webauthn);
        if (!(await useSessionChallenge(ctx.db, challengeId, expiresAt, now))) throw expired();
        if (!(await advanceSignCount(ctx.db, credential.fingerprint, counter, now))) {
          throw new ApiError(
            'invalid_signature',
            "the passkey's signature counter did not increase: a replayed assertion or a cloned authenticator",
          );
        }
        const tenantId = await activeDeviceTenant(ctx.db, credential.fingerprint);
        if (tenantId === null) throw new ApiError('device_revoked', 'this passkey has been revoked by the organisation');
        setSessionCookie(reply, await openSession(ctx.db, tenantId, credential.fingerprint, now), secure(request));
        return me(tenantId, credential.fingerprint);
      },
    );

    r.post('/approve/api/logout', { schema: { hide: true, response: { 200: SignedOutSchema } } }, async (request, reply) => {
      const token = readCookie(request, SESSION_COOKIE);
      if (token) await closeSession(ctx.db, token);
      clearSessionCookie(reply, secure(request));
      return { status: 'signed_out' as const };
    });

    const me = async (tenantId: string, fingerprint: string) => {
      const device = await deviceProfile(ctx.db, tenantId, fingerprint);
      const credential = await findCredentialByFingerprint(ctx.db, fingerprint);
      if (!device || !credential) throw new ApiError('unauthorized', 'sign in with your passkey');
      return {
        tenant_id: tenantId,
        org_name: device.org_name,
        fingerprint,
        device_public_key: device.public_key,
        name: device.name,
        credential_id: credential.credential_id,
        rp_id: credential.rp_id,
        server_id: ctx.identity.serverId,
        server_time: ctx.clock(),
      };
    };

    r.get('/approve/api/me', { schema: { hide: true, response: { 200: ApproverSessionSchema } } }, async (request) => {
      const session = await requireSession(ctx.db, request, ctx.clock());
      return me(session.tenantId, session.fingerprint);
    });

    // One page of the pending requests naming the device, newest first; `cursor` is the previous page's next_cursor.
    const PageQuery = Type.Object({ cursor: Type.Optional(UuidSchema) }, { additionalProperties: false });
    r.get(
      '/approve/api/requests',
      { schema: { hide: true, querystring: PageQuery, response: { 200: ApproverRequestPageSchema } } },
      async (request) => {
        const session = await requireSession(ctx.db, request, ctx.clock());
        const page = await pendingViewsPage(ctx.db, session, ctx.clock(), request.query.cursor ?? null);
        return { ...page, server_time: ctx.clock() };
      },
    );

    r.get(
      '/approve/api/requests/:id',
      { schema: { hide: true, params: IdParams, response: { 200: DeviceRequestViewSchema } } },
      async (request) => {
        const session = await requireSession(ctx.db, request, ctx.clock());
        const [view] = await deviceViews(ctx.db, session, [request.params.id], ctx.clock());
        if (!view) throw notFound('MPA request');
        return view;
      },
    );

    approverNotificationRoutes(web, ctx);

    r.get('/approve/events', hidden, async (request, reply) => {
      const session = await requireSession(ctx.db, request, ctx.clock());
      await events.open(session, reply, SECURITY_HEADERS);
    });
  });
}
