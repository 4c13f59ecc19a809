import type { ErrorCode } from './errors.js';
import type { Decision } from './mpa.js';
import type { DeviceRequestView } from './wire/device-view.js';

/** How far a signed time may be from the verifier's clock, either way. */
export const SIGNATURE_FRESHNESS_MS = 120_000;

export function isFresh(issuedAtMs: unknown, nowMs: number): issuedAtMs is number {
  return typeof issuedAtMs === 'number' && Number.isSafeInteger(issuedAtMs) && Math.abs(nowMs - issuedAtMs) <= SIGNATURE_FRESHNESS_MS;
}

/** Signed by a device under DomainTag.pairing to complete a pairing. */
export interface PairingProof {
  purpose: 'pairing';
  server_id: string;
  code: string;
  device_public_key: string;
  fingerprint: string;
  name: string;
  issued_at: number;
}

/** Signed by a device under DomainTag.deviceSession to answer the server's WebSocket challenge. */
export interface DeviceSessionProof {
  purpose: 'device-session';
  server_id: string;
  fingerprint: string;
  nonce: string;
  issued_at: number;
}

/** Signed by a device under DomainTag.mpaDecision: one approver's answer to one request. */
export interface DecisionPayload {
  purpose: 'mpa-decision';
  server_id: string;
  request_id: string;
  fingerprint: string;
  decision: Decision;
  action_digest: string;
  issued_at: number;
}

export type { DeviceRequestView };

/** Messages the server sends on the device WebSocket; each is wrapped in a SignedServerMessage. */
export type ServerMessage =
  | { purpose: 'server-message'; type: 'challenge'; server_id: string; nonce: string; issued_at: number }
  | { purpose: 'server-message'; type: 'ready'; server_id: string; fingerprint: string; issued_at: number }
  | {
      purpose: 'server-message';
      type: 'sync';
      server_id: string;
      fingerprint: string;
      /** One page of the pending requests naming the device, newest first. */
      requests: DeviceRequestView[];
      /** The cursor this page answers (null: the first page of a new sync). */
      cursor: string | null;
      /** Ask for the next page with this cursor (a DeviceSyncRequest); null on the last page. */
      next_cursor: string | null;
      issued_at: number;
    }
  | { purpose: 'server-message'; type: 'request'; server_id: string; fingerprint: string; request: DeviceRequestView; issued_at: number }
  | { purpose: 'server-message'; type: 'error'; server_id: string; code: ErrorCode; message: string; issued_at: number };

export interface SignedServerMessage {
  payload: ServerMessage;
  signature: string;
}

/** Device to server on the WebSocket: the answer to the challenge. */
export interface DeviceAuthMessage {
  type: 'auth';
  payload: DeviceSessionProof;
  device_public_key: string;
  signature: string;
}

/** Device to server on the WebSocket, after `ready`: the next page of the sync. */
export interface DeviceSyncRequest {
  type: 'sync';
  cursor: string;
}

/** Most request IDs in one DeviceStatusRequest. */
export const STATUS_REQUEST_MAX_IDS = 20;

/**
 * Device to server on the WebSocket, after `ready`: send the current view of these requests (at
 * most STATUS_REQUEST_MAX_IDS), each as a signed `request` message, finished ones included. A
 * device asks after a reconnect, or when a request it shows expired, for the outcome it missed.
 */
export interface DeviceStatusRequest {
  type: 'status';
  request_ids: string[];
}

export type { ServerInfo } from './wire/info.js';
