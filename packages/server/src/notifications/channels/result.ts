/** What one attempt on a channel came to. */
export type SendResult =
  /** Handed on: to the push service or Slack (`delivered`), or accepted by the SMTP relay (`sent`). */
  | { outcome: 'sent' | 'delivered' }
  /** Worth trying again later (network down, 5xx, 429). */
  | { outcome: 'retry'; error: string; retryAfterSeconds?: number | null }
  /** Never going to work (refused address, 4xx); `gone` when a push subscription no longer exists. */
  | { outcome: 'failed'; error: string; gone?: boolean };

export function fromHttpStatus(
  status: number,
  error: string | undefined,
  retryAfterSeconds: number | null,
  delivered: 'sent' | 'delivered' = 'delivered',
): SendResult {
  if (status >= 200 && status < 300) return { outcome: delivered };
  const reason = error ?? `HTTP ${status}`;
  if (status === 0 || status === 408 || status === 429 || status >= 500) return { outcome: 'retry', error: reason, retryAfterSeconds };
  return { outcome: 'failed', error: reason };
}
