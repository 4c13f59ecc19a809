import { verifyWebhook, WebhookVerificationError } from '@sigilauth/protocol';
import type { WebhookEvent } from '@sigilauth/protocol/wire';

export type { AnomalyFlagKind } from '@sigilauth/protocol';
export type {
  AuditHeadEvent,
  DevicePairedEvent,
  DeviceRevokedEvent,
  DeviceWebhookEvent,
  MpaApprovedEvent,
  MpaCancelledEvent,
  MpaCreatedEvent,
  MpaFlaggedEvent,
  MpaRejectedEvent,
  MpaTimeoutEvent,
  MpaWebhookEvent,
  OverrideCreatedEvent,
  OverrideReviewedEvent,
  TeamWebhookEvent,
  WebhookEvent,
  WebhookEventType,
} from '@sigilauth/protocol/wire';

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
