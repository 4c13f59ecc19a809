/** How far a signed time may be from the verifier's clock, either way. */
export const SIGNATURE_FRESHNESS_MS = 120_000;

export function isFresh(issuedAtMs: unknown, nowMs: number): issuedAtMs is number {
  return typeof issuedAtMs === 'number' && Number.isSafeInteger(issuedAtMs) && Math.abs(nowMs - issuedAtMs) <= SIGNATURE_FRESHNESS_MS;
}

/** Most request IDs in one DeviceStatusRequest. */
export const STATUS_REQUEST_MAX_IDS = 20;
