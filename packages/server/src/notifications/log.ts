/** The notification log (the guide's "relay logs"): every notification of a request and every attempt. */
import { shownUrl } from '../http/capability-urls.js';
import { notFound } from '../http/errors.js';
import type { Queryable } from '../storage/database.js';

interface Row {
  id: string;
  kind: string;
  fingerprint: string;
  channel: 'push' | 'email' | 'slack';
  target: string;
  status: 'queued' | 'sent' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: Date;
  last_error: string | null;
  created_at: Date;
  completed_at: Date | null;
}

interface AttemptRow {
  notification_id: string;
  attempt: number;
  started_at: Date;
  outcome: string;
  error: string | null;
}

/** An email address is shown; a push endpoint or Slack URL is a capability, so only its origin. */
const shownTarget = (channel: Row['channel'], target: string): string => (channel === 'email' ? target : shownUrl(target));

export async function listNotifications(db: Queryable, tenantId: string, requestId: string) {
  const [request] = await db.query('SELECT 1 FROM mpa_requests WHERE id = $1 AND tenant_id = $2', [requestId, tenantId]);
  if (!request) throw notFound('MPA request');
  const rows = await db.query<Row>(
    `SELECT id, kind, fingerprint, channel, target, status, attempts, next_attempt_at, last_error, created_at, completed_at
       FROM notifications WHERE request_id = $1 AND tenant_id = $2 ORDER BY seq LIMIT 1000`,
    [requestId, tenantId],
  );
  const attempts = rows.length
    ? await db.query<AttemptRow>(
        'SELECT notification_id, attempt, started_at, outcome, error FROM notification_attempts WHERE notification_id = ANY($1::uuid[]) ORDER BY attempt',
        [rows.map((r) => r.id)],
      )
    : [];
  return {
    data: rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      /** null: the organisation's own Slack channel. */
      fingerprint: r.fingerprint === '' ? null : r.fingerprint,
      channel: r.channel,
      target: shownTarget(r.channel, r.target),
      status: r.status,
      reason: r.last_error,
      attempt_count: r.attempts,
      next_attempt_at: r.status === 'queued' ? r.next_attempt_at.toISOString() : null,
      created_at: r.created_at.toISOString(),
      completed_at: r.completed_at?.toISOString() ?? null,
      attempts: attempts
        .filter((a) => a.notification_id === r.id)
        .map((a) => ({ attempt: a.attempt, started_at: a.started_at.toISOString(), outcome: a.outcome, error: a.error })),
    })),
  };
}
