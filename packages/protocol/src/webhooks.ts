/**
 * Standard Webhooks signing and verification (https://www.standardwebhooks.com/).
 *
 *   signed content = `${webhook-id}.${webhook-timestamp}.${body}`
 *   signature      = base64(HMAC-SHA256(key, signed content))
 *   header         = `v1,<signature>` — several, space-separated, while a secret is rotated
 *   secret         = `whsec_` + base64(key)
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';
const SIGNATURE_VERSION = 'v1';
const DEFAULT_TOLERANCE_SECONDS = 5 * 60;
/** Secrets we generate carry 32 random bytes (the spec asks for 24 to 64). */
const GENERATED_SECRET_BYTES = 32;
/** Standard (not URL-safe) base64 with its padding, as the spec and reference libraries use. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Visible ASCII only: the id goes into an HTTP header and into the signed content. */
const MESSAGE_ID = /^[\x21-\x7e]+$/;
/** A Unix time in whole seconds, as the header carries it: digits only, no sign or exponent. */
const TIMESTAMP = /^[0-9]{1,15}$/;

export type WebhookVerificationErrorCode =
  'missing_headers' | 'invalid_timestamp' | 'timestamp_out_of_tolerance' | 'invalid_signature' | 'invalid_secret' | 'invalid_body';

export class WebhookVerificationError extends Error {
  readonly code: WebhookVerificationErrorCode;

  constructor(code: WebhookVerificationErrorCode, message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
    this.code = code;
  }
}

// A type alias rather than an interface, so that it is assignable to verifyWebhook's header record.
export type WebhookHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

export interface VerifyWebhookOptions {
  /** Largest accepted distance, either way, between the timestamp and `now`. Default 300. */
  toleranceSeconds?: number;
  /** The current time in Unix seconds; defaults to the clock. */
  now?: number;
}

/** A fresh signing secret: `whsec_` followed by the base64 of 32 random bytes. */
export function generateWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(GENERATED_SECRET_BYTES).toString('base64');
}

/**
 * The `v1,<base64>` signature of one message under one secret.
 * Throws a TypeError for a malformed secret, message id or timestamp (programming errors).
 */
export function signWebhook(secret: string, msgId: string, timestampSeconds: number, body: string): string {
  const key = decodeSecret(secret);
  if (key === null) {
    throw new TypeError('webhook secret must be "whsec_" followed by non-empty standard base64');
  }
  assertMessageId(msgId);
  assertTimestamp(timestampSeconds);
  return `${SIGNATURE_VERSION},${hmacBase64(key, msgId, String(timestampSeconds), body)}`;
}

/**
 * The three Standard Webhooks headers for one delivery attempt. Every secret given signs the
 * message, so that during a rotation a receiver holding either the old or the new secret accepts it.
 */
export function webhookHeaders(secrets: readonly string[], msgId: string, timestampSeconds: number, body: string): WebhookHeaders {
  if (secrets.length === 0) {
    throw new TypeError('at least one webhook secret is needed to sign a message');
  }
  const signatures = secrets.map((secret) => signWebhook(secret, msgId, timestampSeconds, body));
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': signatures.join(' '),
  };
}

/**
 * Verifies a received webhook and returns its parsed JSON body.
 *
 * `headers` may be a Node `IncomingHttpHeaders` or any record; names are matched without
 * regard to case. Any one of the space-separated `v1` signatures matching is enough; other
 * versions are ignored. Throws a {@link WebhookVerificationError} whose `code` says why.
 */
export function verifyWebhook(
  body: string,
  headers: Record<string, string | string[] | undefined>,
  secret: string,
  options: VerifyWebhookOptions = {},
): unknown {
  const key = decodeSecret(secret);
  if (key === null) {
    throw new WebhookVerificationError('invalid_secret', 'webhook secret must be "whsec_" followed by non-empty standard base64');
  }

  const msgId = singleHeader(headers, 'webhook-id');
  const timestampHeader = singleHeader(headers, 'webhook-timestamp');
  const signatureHeader = joinedHeader(headers, 'webhook-signature');
  if (msgId === undefined || timestampHeader === undefined || signatureHeader === undefined) {
    throw new WebhookVerificationError(
      'missing_headers',
      'webhook-id, webhook-timestamp and webhook-signature must each be present exactly once',
    );
  }

  if (!TIMESTAMP.test(timestampHeader)) {
    throw new WebhookVerificationError('invalid_timestamp', 'webhook-timestamp must be a Unix time in whole seconds');
  }
  const timestamp = Number(timestampHeader);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (!(Math.abs(now - timestamp) <= tolerance)) {
    throw new WebhookVerificationError(
      'timestamp_out_of_tolerance',
      `webhook-timestamp ${timestamp} is more than ${tolerance} s away from now (${now})`,
    );
  }

  const expected = Buffer.from(hmacBase64(key, msgId, timestampHeader, body), 'ascii');
  let matched = false;
  for (const entry of signatureHeader.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== SIGNATURE_VERSION) continue;
    const candidate = Buffer.from(entry.slice(comma + 1), 'utf8');
    // timingSafeEqual needs equal lengths; the length of a signature is no secret.
    if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) {
      matched = true;
      break;
    }
  }
  if (!matched) {
    throw new WebhookVerificationError('invalid_signature', 'no matching v1 webhook signature');
  }

  try {
    return JSON.parse(body) as unknown;
  } catch {
    throw new WebhookVerificationError('invalid_body', 'the webhook body is not valid JSON');
  }
}

/** The HMAC key in a secret, or null when the secret is malformed. The `whsec_` prefix is optional. */
function decodeSecret(secret: string): Buffer | null {
  if (typeof secret !== 'string') return null;
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (encoded.length === 0 || !BASE64.test(encoded)) return null;
  const key = Buffer.from(encoded, 'base64');
  return key.length === 0 ? null : key;
}

function hmacBase64(key: Buffer, msgId: string, timestamp: string, body: string): string {
  return createHmac('sha256', key).update(`${msgId}.${timestamp}.${body}`, 'utf8').digest('base64');
}

function assertMessageId(msgId: string): void {
  if (typeof msgId !== 'string' || !MESSAGE_ID.test(msgId)) {
    throw new TypeError('webhook message id must be non-empty visible ASCII');
  }
}

function assertTimestamp(timestampSeconds: number): void {
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new TypeError('webhook timestamp must be a non-negative whole number of seconds');
  }
}

function headerValues(headers: Record<string, string | string[] | undefined>, name: string): string[] {
  const values: string[] = [];
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name || value === undefined) continue;
    if (Array.isArray(value)) values.push(...value);
    else values.push(value);
  }
  return values.map((value) => value.trim()).filter((value) => value.length > 0);
}

/** A header that must occur once; several different values are as good as none. */
function singleHeader(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const values = headerValues(headers, name);
  const first = values[0];
  return first !== undefined && values.every((value) => value === first) ? first : undefined;
}

/** The signature header; repeated occurrences are one list of space-separated signatures. */
function joinedHeader(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const values = headerValues(headers, name);
  return values.length === 0 ? undefined : values.join(' ');
}
