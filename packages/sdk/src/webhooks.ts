import { verifyWebhook, WebhookVerificationError, type SignedTreeHead } from '@sigilauth/protocol';
import type { MpaStatus, ParamValue, RequestedBy } from './types.js';

interface MpaEventFields {
  request_id: string;
  groups_satisfied: string[];
  groups_required: number;
  groups_total: number;
  action: { type: string; description: string; params: Record<string, ParamValue> };
  /** When the request was created (mpa.created) or finished (the others). */
  timestamp: string;
}

type MpaEventOf<S extends MpaStatus, T extends string> = MpaEventFields & { type: T; status: S };

export type MpaCreatedEvent = MpaEventOf<'pending', 'mpa.created'> & { expires_at: string };
export type MpaApprovedEvent = MpaEventOf<'approved', 'mpa.approved'>;
export type MpaRejectedEvent = MpaEventOf<'rejected', 'mpa.rejected'>;
export type MpaTimeoutEvent = MpaEventOf<'timeout', 'mpa.timeout'>;
export type MpaCancelledEvent = MpaEventOf<'cancelled', 'mpa.cancelled'>;
export type MpaWebhookEvent = MpaCreatedEvent | MpaApprovedEvent | MpaRejectedEvent | MpaTimeoutEvent | MpaCancelledEvent;

export interface DevicePairedEvent {
  type: 'device.paired';
  fingerprint: string;
  device_public_key: string;
  name: string;
  pairing_id: string;
  timestamp: string;
}

export interface DeviceRevokedEvent {
  type: 'device.revoked';
  fingerprint: string;
  name: string;
  timestamp: string;
}

export type DeviceWebhookEvent = DevicePairedEvent | DeviceRevokedEvent;

/**
 * A new signed tree head of the organisation's audit log (only to endpoints that list
 * `audit.head` in their events): keep them outside Sigil and check later that the log still
 * extends them (sigil.audit.verifySince).
 */
export interface AuditHeadEvent {
  type: 'audit.head';
  tree_head: SignedTreeHead;
  timestamp: string;
}

/** A team was created, changed or deleted: its state after the change, and the members added and removed. */
export interface TeamWebhookEvent {
  type: 'team.created' | 'team.updated' | 'team.deleted';
  slug: string;
  name: string;
  min_members: number;
  members: string[];
  added: string[];
  removed: string[];
  timestamp: string;
}

interface OverrideEventFields {
  override_id: string;
  review_request_id: string;
  reason: string;
  action: { type: string; description: string; params: Record<string, ParamValue> };
  timestamp: string;
}

/** An emergency override was recorded; its review request was opened with it. */
export type OverrideCreatedEvent = OverrideEventFields & { type: 'override.created'; requested_by: RequestedBy | null };

/** An override's review request ended: `outcome` approved (endorsed), rejected, timeout or cancelled. */
export type OverrideReviewedEvent = OverrideEventFields & {
  type: 'override.reviewed';
  outcome: Exclude<MpaStatus, 'pending'>;
  groups_satisfied: string[];
};

/** A webhook body; narrow on `type`. */
export type WebhookEvent =
  MpaWebhookEvent | DeviceWebhookEvent | AuditHeadEvent | TeamWebhookEvent | OverrideCreatedEvent | OverrideReviewedEvent;
export type WebhookEventType = WebhookEvent['type'];

/** Node's IncomingHttpHeaders, any plain record, or a fetch Headers object. */
export type WebhookHeadersInput = Record<string, string | string[] | undefined> | Headers;

export interface WebhookVerifyOptions {
  /** Largest accepted distance between webhook-timestamp and now, in seconds; default 300. */
  toleranceSeconds?: number;
}

export class WebhooksApi {
  /**
   * Checks a delivery's Standard Webhooks signature and timestamp against your endpoint's secret
   * (`whsec_...`) and returns the parsed event. Pass the body exactly as received (string or
   * bytes), before any JSON parsing. Throws a WebhookVerificationError whose `code` says why.
   */
  verify(rawBody: string | Uint8Array, headers: WebhookHeadersInput, secret: string, options: WebhookVerifyOptions = {}): WebhookEvent {
    let body: string;
    if (typeof rawBody === 'string') body = rawBody;
    else if (rawBody instanceof Uint8Array) body = Buffer.from(rawBody.buffer, rawBody.byteOffset, rawBody.byteLength).toString('utf8');
    else throw new TypeError('webhooks.verify: pass the raw request body (a string or Buffer), not parsed JSON');
    const record = headers instanceof Headers ? Object.fromEntries(headers.entries()) : headers;
    const event = verifyWebhook(
      body,
      record,
      secret,
      options.toleranceSeconds === undefined ? {} : { toleranceSeconds: options.toleranceSeconds },
    );
    if (typeof event !== 'object' || event === null || Array.isArray(event) || typeof (event as { type?: unknown }).type !== 'string') {
      throw new WebhookVerificationError('invalid_body', 'the webhook body is not an event object with a type');
    }
    return event as WebhookEvent;
  }
}
