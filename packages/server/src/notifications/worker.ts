/**
 * The notification worker, one per instance, built like the webhook worker: each due
 * notification is claimed by one instance (FOR UPDATE SKIP LOCKED) with a lease, sent outside any
 * transaction, and its outcome recorded under the lease's fencing token (the attempt number).
 * It also queues each request's one reminder when it falls due.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Counter } from 'prom-client';
import { fairlyDueSql, startOutboxWorker } from '../background/claim-loop.js';
import type { Database } from '../storage/database.js';
import { sendPush } from './channels/push.js';
import type { SendResult } from './channels/result.js';
import { sendSlack } from './channels/slack.js';
import { EmailChannel } from './channels/email.js';
import type { NotificationConfig } from './config.js';
import { notificationContent, type ContentLevel } from './content.js';
import { enqueueDueReminders, NOTIFICATION_CHANNEL, type NotificationChannel, type NotificationKind } from './outbox.js';
import type { VapidKeys } from './vapid.js';

export interface NotificationWorkerOptions {
  db: Database;
  log: FastifyBaseLogger;
  config: NotificationConfig;
  vapid: VapidKeys;
  /** Where links point: the public origin of the approver. */
  publicOrigin: () => string;
  counter: Counter<'channel' | 'outcome'>;
  clock?: () => number;
}

interface Claimed {
  id: string;
  tenant_id: string;
  /** The tenant's organisation: itself, or the live one of a test-mode twin (its share of the slots). */
  organisation_id: string;
  request_id: string;
  kind: NotificationKind;
  fingerprint: string;
  channel: NotificationChannel;
  target: string;
  attempts: number;
  org_name: string;
  description: string;
  expires_at: Date;
  content: ContentLevel | null;
  push_p256dh: string | null;
  push_auth: string | null;
}

const CLAIM_SQL = `
WITH ${fairlyDueSql({ table: 'notifications', waiting: 'queued' })}
UPDATE notifications w
   SET attempts = w.attempts + 1, locked_until = coalesce($3::timestamptz, now()) + make_interval(secs => $2::float8 / 1000)
  FROM due, mpa_requests r, tenants t
 WHERE w.id = due.id AND r.id = w.request_id AND t.id = w.tenant_id
RETURNING w.id, w.tenant_id, due.organisation_id, w.request_id, w.kind, w.fingerprint, w.channel, w.target, w.attempts,
          t.name AS org_name, r.action->>'description' AS description, r.expires_at,
          (SELECT s.content FROM notification_settings s WHERE s.tenant_id = w.tenant_id) AS content,
          (SELECT c.push_p256dh FROM device_contacts c WHERE c.tenant_id = w.tenant_id AND c.fingerprint = w.fingerprint AND c.push_endpoint = w.target) AS push_p256dh,
          (SELECT c.push_auth FROM device_contacts c WHERE c.tenant_id = w.tenant_id AND c.fingerprint = w.fingerprint AND c.push_endpoint = w.target) AS push_auth`;

/** Delay before the next attempt after `failedAttempts` failures, or null when none is left. */
export function notifyRetryDelayMs(
  config: NotificationConfig,
  failedAttempts: number,
  retryAfterSeconds: number | null | undefined,
  random = Math.random,
): number | null {
  const base = config.retryScheduleMs[failedAttempts - 1];
  if (base === undefined) return null;
  const delay = Math.round(base * (1 + 0.2 * random()));
  return retryAfterSeconds ? Math.max(delay, Math.min(retryAfterSeconds * 1000, 3_600_000)) : delay;
}

export interface NotificationWorker {
  wake(): void;
  stop(): Promise<void>;
}

export async function startNotificationWorker(o: NotificationWorkerOptions): Promise<NotificationWorker> {
  const { db, log, config } = o;
  const lease = 2 * config.timeoutMs + 5_000;
  const clockTime = () => (o.clock ? new Date(o.clock()) : null);
  const email = new EmailChannel(config.smtpUrl, config.mailFrom, config.timeoutMs);
  const http = { allowPrivate: config.allowPrivate, lookup: config.lookup, timeoutMs: config.timeoutMs };
  const vapidSubject = config.vapidSubject ?? subjectFor(o.publicOrigin());

  const send = async (n: Claimed, now: number): Promise<SendResult> => {
    const content = notificationContent(
      { kind: n.kind, orgName: n.org_name, description: n.description, requestId: n.request_id, content: n.content ?? 'full' },
      o.publicOrigin(),
    );
    // A request's own news is worth nothing once it expired, on any channel; its outcome keeps for a day.
    const ttl = n.kind === 'created' || n.kind === 'reminder' ? (n.expires_at.getTime() - now) / 1000 : 86_400;
    if (ttl <= 0) return { outcome: 'failed', error: 'the request expired before the notification could be sent' };
    if (n.channel === 'email') return email.send(n.target, content, n.id);
    const policy = { ...http, organisationId: n.organisation_id };
    if (n.channel === 'slack') return sendSlack(n.target, content, policy);
    if (!n.push_p256dh || !n.push_auth) return { outcome: 'failed', error: 'the device is no longer subscribed to push' };
    return sendPush(
      { endpoint: n.target, p256dh: n.push_p256dh, auth: n.push_auth },
      content,
      { ...o.vapid, subject: vapidSubject },
      ttl,
      policy,
    );
  };

  const deliver = async (n: Claimed) => {
    const started = clockTime() ?? new Date();
    let result: SendResult;
    try {
      result = await send(n, started.getTime());
    } catch (err) {
      result = { outcome: 'retry', error: (err as Error).message.slice(0, 500) };
    }
    const delay = result.outcome === 'retry' ? notifyRetryDelayMs(config, n.attempts, result.retryAfterSeconds) : null;
    const status = result.outcome === 'retry' ? (delay === null ? 'failed' : 'queued') : result.outcome;
    const error = result.outcome === 'retry' || result.outcome === 'failed' ? result.error : null;
    const recordedAt = clockTime();
    await db.transaction(async (tx) => {
      const [updated] = await tx.query<{ id: string }>(
        `UPDATE notifications SET status = $3, locked_until = NULL, last_error = $4,
           next_attempt_at = CASE WHEN $5::float8 IS NULL THEN next_attempt_at ELSE coalesce($6::timestamptz, now()) + make_interval(secs => $5::float8 / 1000) END,
           completed_at = CASE WHEN $3 = 'queued' THEN NULL ELSE coalesce($6::timestamptz, now()) END
         WHERE id = $1 AND attempts = $2 AND status = 'queued' RETURNING id`,
        [n.id, n.attempts, status, error, delay, recordedAt],
      );
      if (!updated) return; // the lease ran out and another worker took it over
      await tx.query(
        'INSERT INTO notification_attempts (notification_id, attempt, started_at, outcome, error) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
        [n.id, n.attempts, started, result.outcome === 'retry' ? 'failed' : result.outcome, error],
      );
      if (result.outcome === 'failed' && result.gone) {
        await tx.query(
          `UPDATE device_contacts SET push_endpoint = NULL, push_p256dh = NULL, push_auth = NULL, updated_at = coalesce($3::timestamptz, now())
            WHERE tenant_id = $1 AND fingerprint = $2 AND push_endpoint = $4`,
          [n.tenant_id, n.fingerprint, recordedAt, n.target],
        );
      }
    });
    o.counter.inc({ channel: n.channel, outcome: result.outcome });
    if (status === 'failed')
      log.warn({ notification: n.id, request: n.request_id, channel: n.channel, reason: error }, 'notification failed');
  };

  if (db.kind === 'pglite') {
    // One process holds the embedded store: a lease found now was left by a process that died mid-attempt.
    await db.query(`UPDATE notifications SET locked_until = NULL WHERE status = 'queued' AND locked_until IS NOT NULL`);
  }
  const worker = await startOutboxWorker<Claimed>({
    db,
    channel: NOTIFICATION_CHANNEL,
    pollIntervalMs: config.pollIntervalMs,
    concurrency: config.concurrency,
    beforeScan: async () => {
      if (config.reminderAt > 0) await db.transaction((tx) => enqueueDueReminders(tx, config.reminderAt, clockTime() ?? new Date()));
    },
    claim: (share) =>
      db.query<Claimed>(CLAIM_SQL, [share.want, lease, clockTime(), share.busyOrganisations, share.busyCounts, share.perOrganisation]),
    organisationOf: (n) => n.organisation_id,
    handle: (n) => deliver(n),
    log,
    describe: (n) => ({ notification: n.id }),
    what: 'notification',
  });
  return {
    wake: worker.wake,
    async stop() {
      await worker.stop();
      email.close();
    },
  };
}

/** A VAPID subject when SIGIL_VAPID_SUBJECT is unset: the public origin if it is https, else a mailto: on its host. */
export function subjectFor(origin: string): string {
  try {
    const url = new URL(origin);
    if (url.protocol === 'https:') return url.origin;
    return `mailto:sigil@${url.hostname.includes('.') ? url.hostname : 'localhost.localdomain'}`;
  } catch {
    return 'mailto:sigil@localhost.localdomain';
  }
}
