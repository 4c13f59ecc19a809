import type { Decision } from './mpa.js';

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

/** Most request IDs in one DeviceStatusRequest. */
export const STATUS_REQUEST_MAX_IDS = 20;
