/**
 * Notifications are written in the transaction of the change that causes them (the outbox), one
 * row per (event, channel, device), so a committed change is always announced, a rolled-back one
 * never, and a retried transaction cannot announce twice (the row's unique key).
 */
import type { Queryable } from '../storage/database.js';

/** NOTIFY channel: a notification became due; every instance's worker wakes up. */
export const NOTIFICATION_CHANNEL = 'sigil_notifications';

export type NotificationKind = 'created' | 'reminder' | 'approved' | 'rejected' | 'timeout' | 'cancelled';
export type NotificationChannel = 'push' | 'email' | 'slack';
export const NOTIFICATION_CHANNELS: readonly NotificationChannel[] = ['push', 'email', 'slack'];

const KIND_OF_EVENT: Readonly<Record<string, NotificationKind>> = {
  'mpa.created': 'created',
  'mpa.approved': 'approved',
  'mpa.rejected': 'rejected',
  'mpa.timeout': 'timeout',
  'mpa.cancelled': 'cancelled',
};

/**
 * Queues a notification on every channel set for each approver the request names (undecided
 * ones only, for a reminder), skipping revoked devices, and one to the organisation's Slack
 * channel when it has one. The request's approvers lead and each looks up its own contacts
 * (`OFFSET 0` keeps the lookup from being merged into the join), so the work is bounded by the
 * approvers whatever the planner believes of the tables: an embedded store's statistics can be
 * missing, and a plan led by the organisation's devices grew with every device paired. A
 * reminder's statement is separate, so that neither plan depends on the kind passed.
 */
async function enqueue(
  tx: Queryable,
  tenantId: string,
  requestId: string,
  eventKey: string,
  kind: NotificationKind,
  at: Date | null,
): Promise<void> {
  // A decision still held for timing privacy is not yet known to anyone but its device: leaving
  // that device out of the reminder would tell the application (in the notification log) who decided.
  const undecidedOnly =
    kind === 'reminder'
      ? 'AND NOT EXISTS (SELECT 1 FROM mpa_decisions m WHERE m.request_id = $2 AND m.fingerprint = a.fingerprint AND NOT m.held)'
      : '';
  await tx.write(
    `INSERT INTO notifications (id, tenant_id, request_id, event_key, kind, fingerprint, channel, target, next_attempt_at, created_at)
       SELECT gen_random_uuid(), $1, $2, $3, $4, t.fingerprint, t.channel, t.target, coalesce($5::timestamptz, now()), coalesce($5::timestamptz, now())
         FROM (
           SELECT c.fingerprint, ch.channel, ch.target
             FROM mpa_approvers a
             CROSS JOIN LATERAL (
               SELECT c.fingerprint, c.push_endpoint, c.email, c.slack_webhook_url
                 FROM device_contacts c
                WHERE c.tenant_id = $1 AND c.fingerprint = a.fingerprint
                  AND EXISTS (SELECT 1 FROM devices d WHERE d.tenant_id = $1 AND d.fingerprint = c.fingerprint AND d.revoked_at IS NULL)
               OFFSET 0) c
             CROSS JOIN LATERAL (VALUES ('push', c.push_endpoint), ('email', c.email), ('slack', c.slack_webhook_url)) AS ch (channel, target)
            WHERE a.request_id = $2 AND ch.target IS NOT NULL ${undecidedOnly}
           UNION ALL
           SELECT '', 'slack', s.slack_webhook_url FROM notification_settings s WHERE s.tenant_id = $1 AND s.slack_webhook_url IS NOT NULL
         ) t
        ORDER BY t.fingerprint, t.channel
       ON CONFLICT DO NOTHING`,
    [tenantId, requestId, eventKey, kind, at],
  );
  await tx.notifyOnCommit(
    `SELECT pg_notify('${NOTIFICATION_CHANNEL}', '') WHERE EXISTS (SELECT 1 FROM notifications WHERE event_key = ANY ($1::text[]))`,
    [[eventKey]],
  );
}

/** Inside recordEvent's transaction: the approvers hear of a new or finished request. */
export async function enqueueNotifications(
  tx: Queryable,
  event: { id: string; tenantId: string; type: string; requestId: string | null },
): Promise<void> {
  const kind = KIND_OF_EVENT[event.type];
  if (!kind || !event.requestId) return;
  await enqueue(tx, event.tenantId, event.requestId, event.id, kind, null);
}

/**
 * Claims the reminders that fell due (a share `reminderAt` of the lifetime passed, the request is
 * still open) and queues them; each request is reminded once, whichever instance gets there first.
 */
export async function enqueueDueReminders(tx: Queryable, reminderAt: number, now: Date, batch = 100): Promise<number> {
  if (reminderAt <= 0) return 0;
  const due = await tx.query<{ id: string; tenant_id: string }>(
    `INSERT INTO notification_reminders (request_id, sent_at)
     SELECT r.id, $2 FROM mpa_requests r
      WHERE r.status = 'pending' AND r.expires_at > $2
        AND r.created_at + (r.expires_at - r.created_at) * $1::float8 <= $2
        AND NOT EXISTS (SELECT 1 FROM notification_reminders n WHERE n.request_id = r.id)
      ORDER BY r.expires_at LIMIT $3
     ON CONFLICT DO NOTHING
     RETURNING request_id AS id, (SELECT tenant_id FROM mpa_requests WHERE id = request_id) AS tenant_id`,
    [reminderAt, now, batch],
  );
  for (const r of due) await enqueue(tx, r.tenant_id, r.id, `reminder:${r.id}`, 'reminder', now);
  return due.length;
}
