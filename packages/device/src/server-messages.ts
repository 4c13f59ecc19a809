import { DomainTag, isFresh, verifyPayload } from '@sigilauth/protocol';
import { isDeviceRequestView, type ServerMessage } from '@sigilauth/protocol/wire';
import type { PairedServer } from './keystore.js';
import { sanitizeText } from './screen.js';

/** Largest server message accepted on the WebSocket (a sync of many large requests). */
export const MAX_SERVER_MESSAGE_BYTES = 8 * 1024 * 1024;

export class ServerMessageError extends Error {
  override name = 'ServerMessageError';
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCursor = (v: unknown): v is string | null => v === null || (typeof v === 'string' && v.length > 0 && v.length <= 200);

export interface VerifyOptions {
  /** This device's fingerprint: messages addressed to another device are refused. */
  fingerprint?: string;
  /** Clock for the freshness check (default Date.now()). */
  now?: number;
  /** Refuse messages signed more than SIGNATURE_FRESHNESS_MS away from now (default true). */
  checkFreshness?: boolean;
  /**
   * The nonce of this connection's challenge, once it came: every later message must repeat it,
   * so that a signed message recorded on another connection (a revocation, an old view) is refused.
   */
  nonce?: string;
  /** The nonce this device put in the socket's URL: a challenge must repeat it (one recorded earlier cannot). */
  deviceNonce?: string;
}

/**
 * Parses and checks one WebSocket message from the server: the signature must verify against
 * the server key saved at pairing, under the server-message domain tag; it must name this
 * server (and this device and connection), be fresh, and be well-formed. Throws ServerMessageError otherwise.
 */
export function verifyServerMessage(
  data: unknown,
  server: Pick<PairedServer, 'server_id' | 'server_public_key'>,
  options: VerifyOptions = {},
): ServerMessage {
  let message: unknown = data;
  if (typeof data === 'string' || Buffer.isBuffer(data)) {
    try {
      message = JSON.parse(data.toString());
    } catch {
      throw new ServerMessageError('the server sent a message that is not JSON');
    }
  }
  if (!isObject(message) || !isObject(message.payload) || typeof message.signature !== 'string') {
    throw new ServerMessageError('the server sent a message without a signed payload');
  }
  const payload = message.payload;
  if (!verifyPayload(DomainTag.serverMessage, payload, message.signature, server.server_public_key)) {
    throw new ServerMessageError('a server message signature does not verify against the key saved at pairing');
  }
  if (payload.purpose !== 'server-message') throw new ServerMessageError('a signed server message has the wrong purpose');
  if (payload.server_id !== server.server_id) throw new ServerMessageError('a server message names another server');
  if ((options.checkFreshness ?? true) && !isFresh(payload.issued_at, options.now ?? Date.now())) {
    throw new ServerMessageError('a server message is not fresh (is this computer\u2019s clock right?)');
  }
  if (payload.type !== 'challenge' && options.nonce !== undefined && payload.nonce !== options.nonce) {
    throw new ServerMessageError('a server message belongs to another connection');
  }
  const fingerprintOk = options.fingerprint === undefined || payload.fingerprint === options.fingerprint;
  switch (payload.type) {
    case 'challenge':
      if (typeof payload.nonce !== 'string' || payload.nonce === '') throw new ServerMessageError('a challenge has no nonce');
      if (options.deviceNonce !== undefined && payload.device_nonce !== options.deviceNonce) {
        throw new ServerMessageError('a challenge answers another connection');
      }
      break;
    case 'ready':
      if (!fingerprintOk) throw new ServerMessageError('a server message is addressed to another device');
      break;
    case 'sync':
      if (!fingerprintOk) throw new ServerMessageError('a server message is addressed to another device');
      if (!Array.isArray(payload.requests) || !payload.requests.every(isDeviceRequestView)) {
        throw new ServerMessageError('a sync message holds a malformed request');
      }
      if (!isCursor(payload.cursor) || !isCursor(payload.next_cursor))
        throw new ServerMessageError('a sync message has a malformed cursor');
      break;
    case 'request':
      if (!fingerprintOk) throw new ServerMessageError('a server message is addressed to another device');
      if (!isDeviceRequestView(payload.request)) throw new ServerMessageError('a request message holds a malformed request');
      break;
    case 'error':
      if (typeof payload.code !== 'string' || typeof payload.message !== 'string')
        throw new ServerMessageError('a malformed error message');
      break;
    default:
      throw new ServerMessageError(`unknown server message type ${sanitizeText(String(payload.type))}`);
  }
  return payload as unknown as ServerMessage;
}
