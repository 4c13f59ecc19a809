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

/**
 * Settings from the environment: SIGIL_WEBHOOK_ALLOW_PRIVATE=true, and for tests only
 * SIGIL_WEBHOOK_RETRY_SCHEDULE_MS (comma-separated delays in ms) and SIGIL_WEBHOOK_TIMEOUT_MS.
 */
export function webhookConfigFromEnv(env: NodeJS.ProcessEnv): Partial<WebhookConfig> {
  const config: Partial<WebhookConfig> = {};
  const allow = env.SIGIL_WEBHOOK_ALLOW_PRIVATE;
  if (allow !== undefined && allow !== '') {
    if (allow !== 'true' && allow !== 'false') throw new Error(`SIGIL_WEBHOOK_ALLOW_PRIVATE must be true or false, not ${allow}`);
    config.allowPrivate = allow === 'true';
  }
  const schedule = env.SIGIL_WEBHOOK_RETRY_SCHEDULE_MS;
  if (schedule !== undefined && schedule !== '') {
    const delays = schedule.split(',').map((s) => Number(s.trim()));
    if (delays.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      throw new Error(`SIGIL_WEBHOOK_RETRY_SCHEDULE_MS must be comma-separated milliseconds, not ${schedule}`);
    }
    config.retryScheduleMs = delays;
  }
  const timeout = env.SIGIL_WEBHOOK_TIMEOUT_MS;
  if (timeout !== undefined && timeout !== '') {
    const ms = Number(timeout);
    if (!Number.isSafeInteger(ms) || ms < 1) throw new Error(`SIGIL_WEBHOOK_TIMEOUT_MS must be a positive integer, not ${timeout}`);
    config.timeoutMs = ms;
  }
  return config;
}
