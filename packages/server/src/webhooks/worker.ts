/**
 * The delivery worker. Every instance runs one; each due delivery is claimed by exactly one of
 * them (FOR UPDATE SKIP LOCKED) with a lease, sent outside any transaction, and its result
 * recorded under the lease's fencing token (the attempt number). A worker that dies mid-attempt
 * leaves a lease that expires, and the delivery is attempted again: at least once, never lost.
 * On the embedded store such a lease is released when the server starts again.
 */
import { canonicalize, webhookHeaders } from '@sigilauth/protocol';
import type { FastifyBaseLogger } from 'fastify';
import { appendAudit } from '../audit/log.js';
import { shownUrl } from '../http/capability-urls.js';
import { fairlyDueSql, startOutboxWorker } from '../background/claim-loop.js';
import type { Database } from '../storage/database.js';
import type { WebhookConfig } from './config.js';
import { DELIVERY_CHANNEL } from './deliveries.js';
import { signingSecrets } from './endpoints.js';
import { postWebhook, type PostWebhookResult } from './http-client.js';
import { resolveWebhookTarget, WebhookTargetError } from './ssrf.js';

export interface WebhookWorkerOptions {
  db: Database;
  log: FastifyBaseLogger;
  config: WebhookConfig;
  /** Called after each attempt (for metrics and tests). */
  onAttempt?: (result: AttemptOutcome) => void;
  /** The clock deliveries are scheduled by; unset, the database's own (tests inject one). */
  clock?: () => number;
}

export interface AttemptOutcome {
  deliveryId: string;
  eventId: string;
  attempt: number;
  status: number;
  ok: boolean;
  final: boolean;
  latencyMs: number;
}

interface Claimed {
  id: string;
  endpoint_id: string;
  tenant_id: string;
  /** The tenant's organisation: itself, or the live one of a test-mode twin (its share of the slots). */
  organisation_id: string;
  event_id: string;
  event_type: string;
  request_id: string | null;
  attempts: number;
  manual: boolean;
  payload: Record<string, unknown>;
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
}

/** How long a claimed attempt is leased: long enough for the attempt and recording its result. */
export function leaseMs(config: Pick<WebhookConfig, 'timeoutMs'>): number {
  return 2 * config.timeoutMs + 5_000;
}

/** Delay before the next attempt after `failedAttempts` failures, or null when there is none left. */
export function retryDelayMs(
  config: WebhookConfig,
  failedAttempts: number,
  retryAfterSeconds: number | null,
  random = Math.random,
): number | null {
  const base = config.retryScheduleMs[failedAttempts - 1];
  if (base === undefined) return null;
  let delay = Math.round(base * (1 + 0.2 * random()));
  if (retryAfterSeconds !== null) delay = Math.max(delay, Math.min(retryAfterSeconds * 1000, config.maxRetryAfterMs));
  return delay;
}

const CLAIM_SQL = `
WITH ${fairlyDueSql({
  table: 'webhook_deliveries',
  waiting: 'pending',
  join: 'JOIN webhook_endpoints e ON e.id = d.endpoint_id',
  // An endpoint's later event of a request waits for the earlier ones.
  ready: `e.enabled AND NOT EXISTS (
        SELECT 1 FROM webhook_deliveries p
         WHERE p.endpoint_id = d.endpoint_id AND p.request_id = d.request_id AND p.status = 'pending' AND p.seq < d.seq)`,
})}
UPDATE webhook_deliveries w
   SET attempts = w.attempts + 1, locked_until = coalesce($3::timestamptz, now()) + make_interval(secs => $2::float8 / 1000),
       last_attempt_at = coalesce($3::timestamptz, now())
  FROM due, events ev, webhook_endpoints e
 WHERE w.id = due.id AND ev.id = w.event_id AND e.id = w.endpoint_id
RETURNING w.id, w.endpoint_id, w.tenant_id, due.organisation_id, w.event_id, w.event_type, w.request_id, w.attempts, w.manual, ev.payload,
          e.url, e.secret, e.previous_secret, e.previous_secret_expires_at`;

export interface WebhookWorker {
  /** Look for due deliveries now. */
  wake(): void;
  stop(): Promise<void>;
}

export async function startWebhookWorker(o: WebhookWorkerOptions): Promise<WebhookWorker> {
  const { db, log, config } = o;
  const lease = leaseMs(config);
  /** The injected clock's time for the SQL, or null: the database's now(). */
  const clockTime = () => (o.clock ? new Date(o.clock()) : null);
  const deliver = async (d: Claimed) => {
    const started = clockTime() ?? new Date();
    const now = started.getTime();
    const body = canonicalize(d.payload);
    const headers = webhookHeaders(signingSecrets(d, now), d.event_id, Math.floor(now / 1000), body);
    let result: PostWebhookResult;
    try {
      const target = await resolveWebhookTarget(d.url, {
        allowPrivate: config.allowPrivate,
        organisationId: d.organisation_id,
        ...(config.lookup ? { lookup: config.lookup } : {}),
      });
      result = await postWebhook(target, body, headers, { timeoutMs: config.timeoutMs });
    } catch (err) {
      if (!(err instanceof WebhookTargetError)) throw err;
      result = { status: 0, retryAfterSeconds: null, latencyMs: 0, error: `refused by the SSRF guard: ${err.message}` };
    }
    const ok = result.status >= 200 && result.status < 300;
    const error = ok ? null : (result.error ?? `HTTP ${result.status}`);
    const delay = ok || d.manual ? null : retryDelayMs(config, d.attempts, result.retryAfterSeconds);
    const final = !ok && delay === null;
    const recordedAt = clockTime();
    await db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO webhook_attempts (delivery_id, attempt, started_at, status_code, latency_ms, error) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT DO NOTHING`,
        [d.id, d.attempts, started, result.status === 0 ? null : result.status, result.latencyMs, error],
      );
      const [updated] = await tx.query<{ id: string }>(
        `UPDATE webhook_deliveries SET
           status = CASE WHEN $3 THEN 'succeeded' WHEN $4 THEN 'failed' ELSE 'pending' END,
           locked_until = NULL, manual = false,
           next_attempt_at = CASE WHEN $5::float8 IS NULL THEN next_attempt_at ELSE coalesce($8::timestamptz, now()) + make_interval(secs => $5::float8 / 1000) END,
           completed_at = CASE WHEN $3 OR $4 THEN coalesce($8::timestamptz, now()) ELSE NULL END,
           last_status_code = $6, last_error = $7
         WHERE id = $1 AND attempts = $2 AND status = 'pending' RETURNING id`,
        [d.id, d.attempts, ok, final, delay, result.status === 0 ? null : result.status, error, recordedAt],
      );
      if (!updated) return; // the lease expired and another worker took the delivery over
      if (ok) {
        await tx.query(
          `UPDATE webhook_endpoints SET consecutive_failures = 0, failing_since = NULL
            WHERE id = $1 AND (consecutive_failures <> 0 OR failing_since IS NOT NULL)`,
          [d.endpoint_id],
        );
        return;
      }
      const [endpoint] = await tx.query<{ enabled: boolean; consecutive_failures: number; failing_for_ms: number }>(
        `UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, $3::timestamptz, now()), consecutive_failures = consecutive_failures + $2
          WHERE id = $1
          RETURNING enabled, consecutive_failures, (extract(epoch FROM coalesce($3::timestamptz, now()) - failing_since) * 1000)::float8 AS failing_for_ms`,
        [d.endpoint_id, final ? 1 : 0, recordedAt],
      );
      if (final) {
        await appendAudit(
          tx,
          d.tenant_id,
          'webhook.delivery_failed',
          {
            webhook_id: d.endpoint_id,
            delivery_id: d.id,
            event_id: d.event_id,
            event_type: d.event_type,
            attempts: d.attempts,
            last_status_code: result.status || null,
            last_error: error,
          },
          d.request_id,
        );
      }
      if (!endpoint?.enabled) return;
      const byTime = endpoint.failing_for_ms >= config.disableAfterMs;
      const byCount = config.disableAfterFailedDeliveries > 0 && endpoint.consecutive_failures >= config.disableAfterFailedDeliveries;
      if (!byTime && !byCount) return;
      const reason = byTime
        ? `every attempt failed for ${Math.round(endpoint.failing_for_ms / 3_600_000)} h`
        : `${endpoint.consecutive_failures} deliveries in a row failed`;
      await tx.query(
        `UPDATE webhook_endpoints SET enabled = false, disabled_reason = $2, disabled_at = coalesce($3::timestamptz, now()), updated_at = coalesce($3::timestamptz, now())
          WHERE id = $1`,
        [d.endpoint_id, reason, recordedAt],
      );
      await appendAudit(tx, d.tenant_id, 'webhook.disabled', { webhook_id: d.endpoint_id, reason, url: shownUrl(d.url) });
      log.warn({ webhook: d.endpoint_id, reason }, 'webhook endpoint disabled');
    });
    o.onAttempt?.({
      deliveryId: d.id,
      eventId: d.event_id,
      attempt: d.attempts,
      status: result.status,
      ok,
      final,
      latencyMs: result.latencyMs,
    });
  };

  if (db.kind === 'pglite') {
    // The embedded store is opened by one process at a time (the data-directory lock), so a lease
    // found now was left by a process that died mid-attempt: retry at once, not when it runs out.
    await db.query(`UPDATE webhook_deliveries SET locked_until = NULL WHERE status = 'pending' AND locked_until IS NOT NULL`);
  }
  return startOutboxWorker<Claimed>({
    db,
    channel: DELIVERY_CHANNEL,
    pollIntervalMs: config.pollIntervalMs,
    concurrency: config.concurrency,
    claim: (share) =>
      db.query<Claimed>(CLAIM_SQL, [share.want, lease, clockTime(), share.busyOrganisations, share.busyCounts, share.perOrganisation]),
    organisationOf: (delivery) => delivery.organisation_id,
    handle: (delivery) => deliver(delivery),
    log,
    describe: (delivery) => ({ delivery: delivery.id }),
    what: 'webhook delivery',
  });
}
