/**
 * Every error code a Sigil server answers with, its HTTP status and what it means. An error body
 * is `{ "error": { "code", "message", "details"? } }`; `code` is always one of these. The server
 * builds its errors from a code (the status comes from here), and the clients match on these
 * codes. Runtime-neutral: no I/O, no Node built-in.
 */

interface CatalogueEntry {
  readonly status: number;
  readonly meaning: string;
}

export const ERROR_CATALOGUE = {
  // The HTTP layer: what any route can answer.
  invalid_request: { status: 400, meaning: 'the request breaks a rule: a field, parameter, header or cursor is missing or invalid' },
  invalid_json: { status: 400, meaning: 'the body is not JSON, or is empty where JSON is required' },
  unauthorized: { status: 401, meaning: 'no credentials, or a wrong or revoked API key, session or token' },
  not_found: { status: 404, meaning: 'no such resource, or no such route' },
  request_timeout: { status: 408, meaning: 'the request did not arrive in time' },
  payload_too_large: { status: 413, meaning: 'the body is larger than the server accepts' },
  unsupported_media_type: { status: 415, meaning: 'the body is not application/json' },
  rate_limited: { status: 429, meaning: 'too many requests from this client; wait for Retry-After' },
  headers_too_large: { status: 431, meaning: 'the request headers are too large' },
  internal_error: { status: 500, meaning: 'the server failed; nothing was written' },
  unavailable: { status: 503, meaning: 'storage is unreachable or the server is stopping; retry after Retry-After' },
  not_initialised: { status: 503, meaning: 'the server has no organisation yet' },
  // Signed payloads from devices.
  wrong_server: { status: 400, meaning: 'the payload was signed for another server' },
  stale_signature: { status: 400, meaning: "the payload's issued_at is too far from the server clock" },
  fingerprint_mismatch: { status: 400, meaning: 'the fingerprint is not the SHA-256 of the public key' },
  invalid_signature: { status: 401, meaning: 'a signature or passkey assertion does not verify' },
  // Pairing.
  invalid_code: { status: 400, meaning: 'the pairing code is wrong, expired, burned or already used' },
  attestation_required: { status: 403, meaning: 'the server accepts only devices with verified hardware attestation' },
  device_already_paired: { status: 409, meaning: 'this device key or passkey is already paired on this server' },
  too_many_pairings: { status: 429, meaning: 'the organisation has as many open pairing codes as it may' },
  pairing_capacity: { status: 503, meaning: 'the server holds as many open pairings as it may; retry shortly' },
  // Passkeys and the web approver.
  challenge_expired: { status: 400, meaning: 'the passkey challenge was used or has expired' },
  invalid_registration: { status: 400, meaning: 'the passkey registration or its key is not acceptable' },
  unknown_passkey: { status: 401, meaning: 'the passkey is not paired with this server' },
  webauthn_unavailable: { status: 503, meaning: 'passkeys are not configured on this server' },
  // Devices and decisions.
  device_revoked: { status: 403, meaning: 'the device has been revoked' },
  not_an_approver: { status: 403, meaning: 'the device is not an approver of this request' },
  action_mismatch: { status: 400, meaning: 'the decision was signed for a different action' },
  already_decided: { status: 409, meaning: 'this device has already decided on this request' },
  request_completed: { status: 409, meaning: 'the request is no longer pending; details.status is its outcome' },
  // MPA requests.
  idempotency_conflict: { status: 409, meaning: 'the Idempotency-Key was used with a different body' },
  too_many_pending_requests: { status: 429, meaning: 'a device has as many pending requests from this organisation as it may' },
  // Governance: teams, requester exclusion, overrides (docs/governance.md).
  unknown_team: { status: 400, meaning: 'a request group or the override settings name a team the organisation does not have' },
  team_below_minimum: { status: 400, meaning: "a team group has fewer active members who can approve than the team's min_members" },
  unsatisfiable_request: { status: 400, meaning: 'fewer groups than required still have someone who can approve' },
  team_exists: { status: 409, meaning: 'a team with this slug already exists' },
  team_in_use: { status: 409, meaning: 'the emergency-override settings name this team as a reviewer; remove it there first' },
  overrides_disabled: { status: 403, meaning: 'the organisation has emergency overrides turned off' },
  override_limit_reached: { status: 429, meaning: "the organisation's daily limit of overrides is reached; retry after Retry-After" },
  // Webhooks.
  invalid_url: { status: 400, meaning: 'the URL is not an acceptable webhook or push endpoint' },
  forbidden_address: { status: 400, meaning: 'the webhook URL resolves to a private or reserved address' },
  unresolvable: { status: 400, meaning: 'the webhook host name does not resolve' },
  too_many_webhooks: { status: 409, meaning: 'the organisation has as many webhook endpoints as it may' },
  webhook_disabled: { status: 409, meaning: 'the webhook endpoint is disabled' },
  delivery_in_progress: { status: 409, meaning: 'an attempt of this delivery is in progress' },
  // The audit log.
  empty_log: { status: 404, meaning: 'the audit log has no entries yet' },
  audit_log_damaged: { status: 500, meaning: 'the stored audit log does not hash to its tree; run sigil audit verify' },
  audit_log_tampered: {
    status: 500,
    meaning: 'the audit log no longer extends what this server saw; no tree head is signed until an operator has looked',
  },
} as const satisfies Record<string, CatalogueEntry>;

/** A code of the catalogue: what `error.code` of every error body is. */
export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** Each code by name, for comparisons that the compiler checks: `err.code === ErrorCode.request_completed`. */
export const ErrorCode = Object.freeze(
  Object.fromEntries(Object.keys(ERROR_CATALOGUE).map((code) => [code, code])) as { readonly [C in ErrorCode]: C },
);

/** Every code, in catalogue order. */
export const ERROR_CODES = Object.freeze(Object.keys(ERROR_CATALOGUE) as ErrorCode[]);

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CATALOGUE, value);
}

/** The HTTP status a code is answered with. */
export function errorStatus(code: ErrorCode): number {
  return ERROR_CATALOGUE[code].status;
}
