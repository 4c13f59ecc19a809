import type { WebhookLookup } from './ssrf.js';

/** Delays before retry 1, 2, …: at least 24 h in all; each gets up to +20 % jitter. */
export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = [
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  5 * 3_600_000,
  10 * 3_600_000,
  10 * 3_600_000,
];

export interface WebhookConfig {
  /** Deliver to private, loopback and other reserved addresses (self-hosted receivers, tests). */
  allowPrivate: boolean;
  /** Delay before each retry; the delivery fails after retryScheduleMs.length + 1 attempts. */
  retryScheduleMs: readonly number[];
  /** Per-attempt timeout (connect, send, response). */
  timeoutMs: number;
  /** Longest Retry-After honoured; a longer one is cut to this. */
  maxRetryAfterMs: number;
  /** Deliveries in flight at once on this instance. */
  concurrency: number;
  /** Fallback poll when no notification arrives. */
  pollIntervalMs: number;
  /** An endpoint whose attempts have all failed for this long is disabled. */
  disableAfterMs: number;
  /** …or after this many deliveries in a row failed for good (0: never on that count). */
  disableAfterFailedDeliveries: number;
  /** DNS resolution for the SSRF guard; tests inject one. */
  lookup?: WebhookLookup | undefined;
}

export const DEFAULT_WEBHOOK_CONFIG: WebhookConfig = {
  allowPrivate: false,
  retryScheduleMs: DEFAULT_RETRY_SCHEDULE_MS,
  timeoutMs: 15_000,
  maxRetryAfterMs: 10 * 3_600_000,
  concurrency: 16,
  pollIntervalMs: 1_000,
  disableAfterMs: 5 * 24 * 3_600_000,
  disableAfterFailedDeliveries: 0,
};
