import type { Database } from './storage/database.js';

/**
 * Requests and webhook deliveries in storage by status, for the gauges of /metrics, without
 * counting whole tables (migration 011): pending rows are counted through their partial indexes,
 * and each row that is no longer pending is added to status_totals once, marked `counted` in the
 * same transaction. A refresh therefore costs what changed since the last one, not what is stored.
 * A delivery that stops being finished, or stops existing, leaves the totals first
 * (uncountDeliveries in webhooks/deliveries.ts).
 */
export type TotalsKind = 'mpa_requests' | 'webhook_deliveries';

/**
 * Rows moved into the totals per statement, and statements per kind in one refresh: small
 * statements, so other work on the embedded store's thread runs between them, and up to 50,000
 * rows a refresh, far more than finish between two refreshes.
 */
export const COUNT_BATCH = 1_000;
const MAX_BATCHES = 50;

/**
 * Adds up to `limit` newly finished rows of one table to the totals. Rows another transaction
 * holds are skipped and counted by a later refresh; several instances refreshing at once count
 * each row once.
 */
async function countFinished(db: Database, kind: TotalsKind, limit: number): Promise<number> {
  const [row] = await db.query<{ n: number }>(
    `WITH batch AS (
       SELECT id FROM ${kind} WHERE status <> 'pending' AND NOT counted LIMIT $1 FOR UPDATE SKIP LOCKED
     ), marked AS (
       UPDATE ${kind} t SET counted = true FROM batch WHERE t.id = batch.id RETURNING t.status
     ), added AS (
       INSERT INTO status_totals (kind, status, n) SELECT $2, status, count(*) FROM marked GROUP BY status
       ON CONFLICT (kind, status) DO UPDATE SET n = status_totals.n + excluded.n
     )
     SELECT count(*)::int AS n FROM marked`,
    [limit, kind],
  );
  return row?.n ?? 0;
}

export interface StatusCounts {
  requests: Map<string, number>;
  deliveries: Map<string, number>;
}

/** Brings the totals up to date, then reads them with the pending counts. */
export async function readStatusCounts(db: Database): Promise<StatusCounts> {
  for (const kind of ['mpa_requests', 'webhook_deliveries'] as const) {
    for (let batch = 0; batch < MAX_BATCHES; batch++) if ((await countFinished(db, kind, COUNT_BATCH)) < COUNT_BATCH) break;
  }
  const [totals, pending] = await Promise.all([
    db.query<{ kind: TotalsKind; status: string; n: string }>('SELECT kind, status, n::text AS n FROM status_totals'),
    db.query<{ requests: number; deliveries: number }>(
      `SELECT (SELECT count(*)::int FROM mpa_requests WHERE status = 'pending') AS requests,
              (SELECT count(*)::int FROM webhook_deliveries WHERE status = 'pending') AS deliveries`,
    ),
  ]);
  const counts: StatusCounts = {
    requests: new Map([['pending', pending[0]?.requests ?? 0]]),
    deliveries: new Map([['pending', pending[0]?.deliveries ?? 0]]),
  };
  for (const t of totals) (t.kind === 'mpa_requests' ? counts.requests : counts.deliveries).set(t.status, Number(t.n));
  return counts;
}
