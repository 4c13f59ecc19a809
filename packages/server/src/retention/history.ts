import type { FastifyBaseLogger } from 'fastify';
import { startPeriodic } from '../background/periodic.js';
import type { Database } from '../storage/database.js';

/**
 * The operational history is kept for SIGIL_HISTORY_RETENTION_DAYS, then deleted: finished
 * webhook deliveries with their attempts, the events no delivery names any more, finished
 * notifications with their attempts, and pairings that ended. Without this those tables grow for
 * ever. Requests, their approvals and decisions, and the audit log are the record of what was
 * approved: they are never deleted here.
 */
export const DEFAULT_HISTORY_RETENTION_DAYS = 90;
export const HISTORY_RETENTION_MAX_DAYS = 36_500;
export const HISTORY_PRUNE_INTERVAL_MS = 3_600_000;
/** The first run comes soon after start, out of its way, so that instances restarted more often than hourly prune too. */
export const HISTORY_FIRST_PRUNE_MS = 60_000;
/**
 * Rows deleted per statement, and statements per table in one run: small statements (about 15 ms
 * each on the embedded store), so other work on its one connection runs between them, and up to
 * 200,000 rows a table an hour, enough to work off years of history after an upgrade within a day.
 */
export const PRUNE_BATCH = 250;
const MAX_BATCHES = 800;

export const HISTORY_TABLES = ['webhook_deliveries', 'events', 'notifications', 'pairings'] as const;
export type HistoryTable = (typeof HISTORY_TABLES)[number];

/**
 * Each deletes up to PRUNE_BATCH rows that ended before $1, in the order of the time they are
 * judged by, from $2 on ($3 is the batch size, $4 the organisation), and returns how many went and
 * the latest time among them: the next batch starts there instead of walking again over the index
 * entries of the rows just deleted. Events and pairings are read one organisation at a time,
 * through their (tenant_id, created_at) index. Rows another transaction holds are skipped (SKIP
 * LOCKED): a delivery being retried by hand, or another instance's run, so several instances
 * pruning at once do no harm.
 */
const PER_ORGANISATION: ReadonlySet<HistoryTable> = new Set(['events', 'pairings']);

const PRUNE_SQL: Record<HistoryTable, string> = {
  // Counted deliveries leave the /metrics totals as they go (status-totals.ts).
  webhook_deliveries: `
    WITH doomed AS (
      SELECT id, completed_at AS at FROM webhook_deliveries
       WHERE status <> 'pending' AND completed_at < $1 AND completed_at >= $2
       ORDER BY completed_at LIMIT $3 FOR UPDATE SKIP LOCKED
    ), gone AS (
      DELETE FROM webhook_deliveries d USING doomed WHERE d.id = doomed.id RETURNING d.status, d.counted
    ), by_status AS (
      SELECT status, count(*) AS n FROM gone WHERE counted GROUP BY status
    ), uncounted AS (
      UPDATE status_totals t SET n = t.n - by_status.n FROM by_status
       WHERE t.kind = 'webhook_deliveries' AND t.status = by_status.status
    )`,
  // A delivery is made only in its event's transaction, so an event no delivery names keeps it so.
  events: `
    WITH doomed AS (
      SELECT e.id, e.created_at AS at FROM events e
       WHERE e.tenant_id = $4 AND e.created_at < $1 AND e.created_at >= $2
         AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id)
       ORDER BY e.created_at LIMIT $3 FOR UPDATE OF e SKIP LOCKED
    ), gone AS (DELETE FROM events e USING doomed WHERE e.id = doomed.id RETURNING 1)`,
  notifications: `
    WITH doomed AS (
      SELECT id, completed_at AS at FROM notifications
       WHERE status <> 'queued' AND completed_at < $1 AND completed_at >= $2
       ORDER BY completed_at LIMIT $3 FOR UPDATE SKIP LOCKED
    ), attempts AS (
      DELETE FROM notification_attempts a USING doomed WHERE a.notification_id = doomed.id
    ), gone AS (DELETE FROM notifications n USING doomed WHERE n.id = doomed.id RETURNING 1)`,
  // A pending pairing past its expiry has ended too; one a passkey challenge still names stays.
  pairings: `
    WITH doomed AS (
      SELECT p.id, p.created_at AS at FROM pairings p
       WHERE p.tenant_id = $4 AND p.created_at < $1 AND p.created_at >= $2
         AND (p.status <> 'pending' OR p.expires_at < $1)
         AND NOT EXISTS (SELECT 1 FROM webauthn_challenges c WHERE c.pairing_id = p.id)
       ORDER BY p.created_at LIMIT $3 FOR UPDATE OF p SKIP LOCKED
    ), gone AS (DELETE FROM pairings p USING doomed WHERE p.id = doomed.id RETURNING 1)`,
};

/**
 * Deletes the history that ended before `cutoff`, table by table (deliveries before the events
 * they name), in batches; returns how many rows of each went.
 */
export async function pruneHistory(
  db: Database,
  cutoff: Date,
  isStopped: () => boolean = () => false,
): Promise<Record<HistoryTable, number>> {
  const deleted = Object.fromEntries(HISTORY_TABLES.map((t) => [t, 0])) as Record<HistoryTable, number>;
  const tenants = (await db.query<{ id: string }>('SELECT id FROM tenants ORDER BY id')).map((t) => t.id);
  for (const table of HISTORY_TABLES) {
    const sql = `${PRUNE_SQL[table]} SELECT (SELECT count(*)::int FROM gone) AS n, (SELECT max(at) FROM doomed) AS last`;
    for (const tenantId of PER_ORGANISATION.has(table) ? tenants : [null]) {
      let from = new Date(0);
      for (let batch = 0; batch < MAX_BATCHES && !isStopped(); batch++) {
        const params = tenantId === null ? [cutoff, from, PRUNE_BATCH] : [cutoff, from, PRUNE_BATCH, tenantId];
        const [row] = await db.query<{ n: number; last: Date | null }>(sql, params);
        deleted[table] += row?.n ?? 0;
        if (!row?.last || row.n < PRUNE_BATCH) break;
        from = row.last;
      }
    }
  }
  return deleted;
}

export interface HistoryRetention {
  /** 0 keeps everything. */
  days: number;
  intervalMs?: number;
  firstAfterMs?: number;
}

/** Prunes every interval, the first time a minute after start; one log line per run that deleted anything. */
export function startHistoryRetention(
  db: Database,
  clock: () => number,
  log: FastifyBaseLogger,
  retention: HistoryRetention,
  onDeleted: (table: HistoryTable, n: number) => void,
): () => Promise<void> {
  if (retention.days === 0) return async () => {};
  const intervalMs = retention.intervalMs ?? HISTORY_PRUNE_INTERVAL_MS;
  const prune = async (isStopped: () => boolean) => {
    const deleted = await pruneHistory(db, new Date(clock() - retention.days * 86_400_000), isStopped);
    for (const table of HISTORY_TABLES) if (deleted[table] > 0) onDeleted(table, deleted[table]);
    if (Object.values(deleted).some((n) => n > 0)) log.info({ deleted, retentionDays: retention.days }, 'history retention');
  };
  return startPeriodic('history retention', intervalMs, log, prune, retention.firstAfterMs ?? Math.min(HISTORY_FIRST_PRUNE_MS, intervalMs));
}
