import { postWebhook } from '../../webhooks/http-client.js';
import { resolveWebhookTarget, WebhookTargetError, type WebhookLookup } from '../../webhooks/ssrf.js';

export interface HttpPolicy {
  allowPrivate: boolean;
  lookup?: WebhookLookup | undefined;
  timeoutMs: number;
  /** The organisation the URL is posted for (its DNS lookups share its place). */
  organisationId: string;
}

/**
 * POSTs to a URL a device or organisation gave us, under the webhooks' SSRF guard: the address is
 * checked and pinned, redirects are never followed.
 */
export async function guardedPost(url: string, body: string | Buffer, headers: Record<string, string>, policy: HttpPolicy) {
  try {
    const target = await resolveWebhookTarget(url, {
      allowPrivate: policy.allowPrivate,
      organisationId: policy.organisationId,
      ...(policy.lookup ? { lookup: policy.lookup } : {}),
    });
    return await postWebhook(target, body, headers, { timeoutMs: policy.timeoutMs });
  } catch (err) {
    if (!(err instanceof WebhookTargetError)) throw err;
    return { status: -1, retryAfterSeconds: null, latencyMs: 0, error: `refused by the SSRF guard: ${err.message}` };
  }
}
