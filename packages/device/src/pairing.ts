import { decodePublicKey, DomainTag, ErrorCode, fingerprintOf, isFingerprint, pictogramFor, signPayload } from '@sigilauth/protocol';
import type { PairingCompleted, PairingProof, Pictogram, ServerInfo } from '@sigilauth/protocol/wire';
import { requestJson, SigilApiError } from './http.js';
import { normalizeServerUrl, savePairing, type DeviceKey, type PairedServer } from './keystore.js';

export interface VerifiedServerInfo extends ServerInfo {
  url: string;
  /** Derived here from server_id: what the person compares with the pictogram the server printed. */
  pictogram: Pictogram;
  /** Whether the pictogram the server reported differs from the one derived from its ID (a broken server). */
  pictogramMismatch: boolean;
}

/** GET /v1/info, checking that server_id really is the fingerprint of server_public_key. */
export async function fetchServerInfo(serverUrl: string): Promise<VerifiedServerInfo> {
  const url = normalizeServerUrl(serverUrl);
  const body = (await requestJson(`${url}/v1/info`)) as Partial<ServerInfo> | null;
  if (
    typeof body !== 'object' ||
    body === null ||
    !isFingerprint(body.server_id) ||
    typeof body.server_public_key !== 'string' ||
    (typeof body.org_name !== 'string' && body.org_name !== null)
  ) {
    throw new SigilApiError(200, 'invalid_response', `${url}/v1/info did not describe a Sigil server`);
  }
  try {
    decodePublicKey(body.server_public_key);
  } catch {
    throw new SigilApiError(200, 'invalid_response', 'the server public key is not a compressed P-256 point');
  }
  if (fingerprintOf(body.server_public_key) !== body.server_id) {
    throw new SigilApiError(200, 'invalid_response', 'the server ID is not the fingerprint of the server public key');
  }
  const pictogram = pictogramFor(body.server_id);
  return {
    url,
    server_id: body.server_id,
    server_public_key: body.server_public_key,
    org_name: body.org_name,
    version: typeof body.version === 'string' ? body.version : 'unknown',
    pictogram,
    pictogramMismatch: body.pictogram?.text !== pictogram.text,
  };
}

/** The 8 digits of a pairing code as typed ("123 45-678" → "12345678"), or null. */
export function normalizePairingCode(code: string): string | null {
  const digits = code.replace(/[\s-]/g, '');
  return /^\d{8}$/.test(digits) ? digits : null;
}

/** The server's answer to a completed pairing. */
export type PairingResponse = PairingCompleted;

export interface PairOptions {
  code: string;
  key: DeviceKey;
  /** From fetchServerInfo; its server key is what later messages are verified against. */
  info: VerifiedServerInfo;
  name?: string;
  /** When given, the pairing is remembered in this device home. */
  home?: string;
  now?: number;
}

/** Completes a pairing: proves possession of the device key over the code, for this server only. */
export async function pairDevice(options: PairOptions): Promise<{ server: PairedServer; response: PairingResponse }> {
  const code = normalizePairingCode(options.code);
  if (code === null) throw new SigilApiError(0, ErrorCode.invalid_code, 'the pairing code must be 8 digits');
  const { info, key } = options;
  const payload: PairingProof = {
    purpose: 'pairing',
    server_id: info.server_id,
    code,
    device_public_key: key.publicKey,
    fingerprint: key.fingerprint,
    // At most 100 characters, cut between code points (a lone surrogate cannot be signed). Empty:
    // the server names the device as the administrator named the pairing.
    name: Array.from((options.name ?? '').trim())
      .slice(0, 100)
      .join(''),
    issued_at: options.now ?? Date.now(),
  };
  const signature = signPayload(DomainTag.pairing, payload, key.privateKey);
  const body = (await requestJson(`${info.url}/v1/pairings/complete`, {
    method: 'POST',
    body: { payload, signature },
  })) as Partial<PairingResponse>;
  if (
    body?.status !== 'completed' ||
    body.server_id !== info.server_id ||
    body.fingerprint !== key.fingerprint ||
    body.device_public_key !== key.publicKey ||
    typeof body.pairing_id !== 'string' ||
    typeof body.tenant_id !== 'string' ||
    typeof body.org_name !== 'string'
  ) {
    throw new SigilApiError(200, 'invalid_response', 'the server answered the pairing with something other than this device and server');
  }
  const response = body as PairingResponse;
  const server: PairedServer = {
    url: info.url,
    server_id: info.server_id,
    server_public_key: info.server_public_key,
    org_name: response.org_name,
    tenant_id: response.tenant_id,
    device_name: typeof response.name === 'string' ? response.name : payload.name,
    pairing_id: response.pairing_id,
    paired_at: typeof response.paired_at === 'string' ? response.paired_at : new Date().toISOString(),
  };
  if (options.home !== undefined) savePairing(options.home, server);
  return { server, response };
}
