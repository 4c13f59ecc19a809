import { Type, type Static } from 'typebox';
import { FingerprintSchema, PatternString, PublicKeySchema, SignatureSchema, UuidSchema } from './common.js';
import { DeviceRequestViewSchema } from './device-view.js';
import { ErrorCodeSchema } from './error.js';
import { STATUS_REQUEST_MAX_IDS } from '../messages.js';

/**
 * The device WebSocket (GET /v1/device/ws), as docs/protocol.md describes it: what the server
 * sends, each payload wrapped in a SignedServerMessage, and what the device sends.
 */

const IssuedAt = Type.Integer({ description: 'Unix time in milliseconds' });
const server = { purpose: Type.Literal('server-message'), server_id: FingerprintSchema, issued_at: IssuedAt };
/** Every message after the challenge repeats its nonce: a message recorded on one connection is refused on any other. */
const session = { ...server, nonce: Type.String({ description: "the nonce of this connection's challenge" }) };

/** The device's own nonce, in the socket's URL (`?nonce=`): a challenge recorded earlier cannot answer it. */
export const DeviceNonceSchema = PatternString('^[A-Za-z0-9_-]{22,86}$', 'must be 22 to 86 base64url characters (16 to 64 random bytes)', {
  description: 'at least 16 random bytes, base64url',
});
export const DeviceSocketQuerySchema = Type.Object({ nonce: Type.Optional(DeviceNonceSchema) }, { additionalProperties: false });
export type DeviceSocketQuery = Static<typeof DeviceSocketQuerySchema>;

export const ChallengeMessageSchema = Type.Object(
  {
    ...server,
    type: Type.Literal('challenge'),
    nonce: Type.String({ description: 'base64 of 32 random bytes' }),
    device_nonce: Type.Optional(Type.String({ description: "the nonce in the socket's URL, when it had one" })),
  },
  { additionalProperties: false },
);
export const ReadyMessageSchema = Type.Object(
  { ...session, type: Type.Literal('ready'), fingerprint: FingerprintSchema },
  { additionalProperties: false },
);
export const SyncMessageSchema = Type.Object(
  {
    ...session,
    type: Type.Literal('sync'),
    fingerprint: FingerprintSchema,
    requests: Type.Array(DeviceRequestViewSchema, { description: 'one page of the pending requests naming the device, newest first' }),
    cursor: Type.Union([Type.String(), Type.Null()], { description: 'the cursor this page answers (null: the first page of a new sync)' }),
    next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'ask for the next page with this cursor; null on the last page' }),
  },
  { additionalProperties: false },
);
export const RequestMessageSchema = Type.Object(
  { ...session, type: Type.Literal('request'), fingerprint: FingerprintSchema, request: DeviceRequestViewSchema },
  { additionalProperties: false },
);
export const ErrorMessageSchema = Type.Object(
  {
    ...session,
    type: Type.Literal('error'),
    code: ErrorCodeSchema,
    message: Type.String(),
    fingerprint: Type.Optional(FingerprintSchema),
    proof_signature: Type.Optional(
      Type.String({ description: "unauthorized: the refused proof's signature, given only when it verified over the payload sent" }),
    ),
  },
  { additionalProperties: false },
);

/** Messages the server sends on the device WebSocket; each is wrapped in a SignedServerMessage. */
export const ServerMessageSchema = Type.Union([
  ChallengeMessageSchema,
  ReadyMessageSchema,
  SyncMessageSchema,
  RequestMessageSchema,
  ErrorMessageSchema,
]);
export type ServerMessage = Static<typeof ServerMessageSchema>;

export const SignedServerMessageSchema = Type.Object(
  { payload: ServerMessageSchema, signature: SignatureSchema },
  { additionalProperties: false, description: 'signature: under SIGIL-SERVER-MESSAGE-V1 over payload' },
);
export type SignedServerMessage = Static<typeof SignedServerMessageSchema>;

/** Signed by a device under DomainTag.deviceSession to answer the server's WebSocket challenge. */
export const DeviceSessionProofSchema = Type.Object(
  {
    purpose: Type.Literal('device-session'),
    server_id: FingerprintSchema,
    fingerprint: FingerprintSchema,
    nonce: Type.String(),
    issued_at: IssuedAt,
  },
  { additionalProperties: false },
);
export type DeviceSessionProof = Static<typeof DeviceSessionProofSchema>;

/** Device to server: the answer to the challenge. */
export const DeviceAuthMessageSchema = Type.Object(
  { type: Type.Literal('auth'), payload: DeviceSessionProofSchema, device_public_key: PublicKeySchema, signature: SignatureSchema },
  { additionalProperties: false },
);
export type DeviceAuthMessage = Static<typeof DeviceAuthMessageSchema>;

/** Device to server, after `ready`: the next page of the sync. */
export const DeviceSyncRequestSchema = Type.Object({ type: Type.Literal('sync'), cursor: Type.String() }, { additionalProperties: false });
export type DeviceSyncRequest = Static<typeof DeviceSyncRequestSchema>;

/**
 * Device to server, after `ready`: send the current view of these requests (at most
 * STATUS_REQUEST_MAX_IDS), each as a signed `request` message, finished ones included. A device
 * asks after a reconnect, or when a request it shows expired, for the outcome it missed.
 */
export const DeviceStatusRequestSchema = Type.Object(
  { type: Type.Literal('status'), request_ids: Type.Array(UuidSchema, { maxItems: STATUS_REQUEST_MAX_IDS }) },
  { additionalProperties: false },
);
export type DeviceStatusRequest = Static<typeof DeviceStatusRequestSchema>;
