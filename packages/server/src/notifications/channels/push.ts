/** Web Push (RFC 8030) with message encryption (RFC 8291, aes128gcm) and VAPID (RFC 8292), via `web-push`. */
import webpush from 'web-push';
import type { NotificationContent } from '../content.js';
import type { VapidKeys } from '../vapid.js';
import { guardedPost, type HttpPolicy } from './http.js';
import { fromHttpStatus, type SendResult } from './result.js';

export interface PushSubscriptionKeys {
  endpoint: string;
  p256dh: string;
  auth: string;
}

/** What the service worker receives (sw.ts reads the same fields). */
export interface PushPayload {
  title: string;
  body: string;
  url: string;
  request_id: string;
  kind: string;
}

export async function sendPush(
  subscription: PushSubscriptionKeys,
  content: NotificationContent,
  vapid: VapidKeys & { subject: string },
  ttlSeconds: number,
  policy: HttpPolicy,
): Promise<SendResult> {
  const payload: PushPayload = {
    title: content.title,
    body: content.body,
    url: content.url,
    request_id: content.requestId,
    kind: content.kind,
  };
  const details = webpush.generateRequestDetails(
    { endpoint: subscription.endpoint, keys: { p256dh: subscription.p256dh, auth: subscription.auth } },
    JSON.stringify(payload),
    {
      vapidDetails: { subject: vapid.subject, publicKey: vapid.publicKey, privateKey: vapid.privateKey },
      TTL: Math.max(0, Math.floor(ttlSeconds)),
      // One topic per request: a push service holding an older message of it replaces that message.
      topic: content.requestId.replaceAll('-', ''),
      urgency: content.kind === 'created' || content.kind === 'reminder' ? 'high' : 'normal',
      contentEncoding: 'aes128gcm',
    },
  );
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(details.headers)) headers[name.toLowerCase()] = String(value);
  const result = await guardedPost(details.endpoint, details.body ?? Buffer.alloc(0), headers, policy);
  if (result.status === -1) return { outcome: 'failed', error: result.error ?? 'refused' };
  if (result.status === 404 || result.status === 410)
    return {
      outcome: 'failed',
      error: `the push service says the subscription is gone (HTTP ${result.status}); it was removed`,
      gone: true,
    };
  return fromHttpStatus(result.status, result.error, result.retryAfterSeconds);
}
