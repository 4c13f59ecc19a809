import type { FastifyBaseLogger } from 'fastify';
import { RECONNECTED_CHANNEL, type Database } from '../storage/database.js';

/**
 * What one claim may take: up to `want` items, at most `perOrganisation` in flight per
 * organisation on this instance, counting the ones it already has (`busyOrganisations[i]` has
 * `busyCounts[i]`).
 */
export interface ClaimShare {
  want: number;
  perOrganisation: number;
  busyOrganisations: string[];
  busyCounts: number[];
}

/**
 * One organisation's share of an instance's slots (its test mode included): half of them, so that
 * an organisation whose targets never answer leaves the other half to everyone else.
 */
export const organisationShare = (concurrency: number): number => Math.max(1, Math.ceil(concurrency / 2));

export interface ClaimLoopOptions<T> {
  /** Items handled at once on this instance. */
  concurrency: number;
  /** Claims due items (under a lease) within the share: see fairlyDueSql. */
  claim: (share: ClaimShare) => Promise<T[]>;
  /** The organisation an item belongs to (a test-mode twin's is its live organisation). */
  organisationOf: (item: T) => string;
  /** Handles one claimed item; a failure is logged and the item's lease is left to run out. */
  handle: (item: T) => Promise<void>;
  /** Runs before each scan (e.g. queueing work that fell due). */
  beforeScan?: () => Promise<void>;
  log: FastifyBaseLogger;
  /** Log fields naming an item, and what a failure means, for the warnings. */
  describe: (item: T) => Record<string, unknown>;
  what: string;
}

/**
 * The scan loop of the outbox workers (webhook deliveries, notifications): claims due items up
 * to the concurrency, handles each outside the claim, and scans again whenever woken or an
 * item finishes. Never two scans at once; a wake-up during a scan makes it go round again.
 * No organisation holds more than its share of the slots (organisationShare), whatever is due.
 */
export function claimLoop<T>(o: ClaimLoopOptions<T>) {
  let stopped = false;
  let scanning: Promise<void> | null = null;
  let again = false;
  const inflight = new Set<Promise<void>>();
  const busy = new Map<string, number>();
  const perOrganisation = organisationShare(o.concurrency);
  const hold = (organisation: string, delta: number) => {
    const n = (busy.get(organisation) ?? 0) + delta;
    if (n > 0) busy.set(organisation, n);
    else busy.delete(organisation);
  };

  const scan = async () => {
    do {
      again = false;
      await o.beforeScan?.();
      while (!stopped && inflight.size < o.concurrency) {
        const want = o.concurrency - inflight.size;
        const claimed = await o.claim({ want, perOrganisation, busyOrganisations: [...busy.keys()], busyCounts: [...busy.values()] });
        for (const item of claimed) {
          const organisation = o.organisationOf(item);
          hold(organisation, 1);
          const p: Promise<void> = o
            .handle(item)
            .catch((err: Error) =>
              o.log.warn(
                { err: err.message, ...o.describe(item) },
                `${o.what} bookkeeping failed; the lease will expire and it is retried`,
              ),
            )
            .finally(() => {
              inflight.delete(p);
              hold(organisation, -1);
              wake();
            });
          inflight.add(p);
        }
        // Fewer than asked: nothing else is due, or what is due belongs to organisations at their share.
        if (claimed.length < want) break;
      }
    } while (again && !stopped);
  };

  const wake = () => {
    if (stopped) return;
    if (scanning) {
      again = true;
      return;
    }
    scanning = scan()
      .catch((err: Error) => o.log.warn({ err: err.message }, `${o.what} claim failed; retrying`))
      .finally(() => (scanning = null));
  };

  return {
    wake,
    /** Stops scanning; waits for the scan, then up to `graceMs` for items in flight (past that their leases run out). */
    async stop(graceMs = 5_000) {
      stopped = true;
      await scanning;
      await Promise.race([Promise.allSettled([...inflight]), new Promise((r) => setTimeout(r, graceMs).unref())]);
    },
  };
}

export interface OutboxWorkerOptions<T> extends ClaimLoopOptions<T> {
  db: Database;
  /** The NOTIFY channel new work is announced on. */
  channel: string;
  /** A scan at least this often, for work that fell due with no announcement. */
  pollIntervalMs: number;
}

/**
 * A claim loop woken by its NOTIFY channel, by the listener reconnecting (announcements sent
 * while it was away are lost) and by a timer; scans once at start.
 */
export async function startOutboxWorker<T>(o: OutboxWorkerOptions<T>) {
  const loop = claimLoop(o);
  const unlisten = await o.db.listen(o.channel, loop.wake);
  const unlistenReconnect = await o.db.listen(RECONNECTED_CHANNEL, loop.wake).catch(async (err: unknown) => {
    await unlisten().catch(() => {});
    throw err;
  });
  const timer = setInterval(loop.wake, o.pollIntervalMs);
  timer.unref();
  loop.wake();
  return {
    wake: loop.wake,
    async stop() {
      clearInterval(timer);
      await unlisten().catch(() => {});
      await unlistenReconnect().catch(() => {});
      // Items in flight get a while to record their result; past that their leases run out and they are retried.
      await loop.stop();
    },
  };
}

/**
 * SQL for the CTEs `locked` and `due` of a claim from an outbox table (alias `d`; columns
 * tenant_id, status, next_attempt_at, seq, locked_until): `due` holds the ids to claim, locked,
 * with their `organisation_id` (a test-mode twin shares its organisation's share). Organisations
 * take turns, each its oldest due item first; the one with the fewest items in flight goes first,
 * and none goes past its share. Rows another claim holds are passed over before any is counted.
 * Parameters: $1 want, $3 the clock (or null: now()), $4 and $5 the busy organisations and their
 * counts, $6 the share (ClaimShare). `ready` is a further SQL condition on `d`, `join` joins what
 * it needs.
 */
export function fairlyDueSql(o: { table: string; waiting: string; join?: string; ready?: string }): string {
  const now = 'coalesce($3::timestamptz, now())';
  return `
locked AS (
  SELECT q.id, q.next_attempt_at, q.seq, coalesce(t.live_tenant_id, t.id) AS organisation_id, coalesce(b.n, 0) AS busy
    FROM tenants t
    LEFT JOIN unnest($4::uuid[], $5::int[]) AS b (organisation_id, n) ON b.organisation_id = coalesce(t.live_tenant_id, t.id)
   CROSS JOIN LATERAL (
     SELECT d.id, d.next_attempt_at, d.seq FROM ${o.table} d ${o.join ?? ''}
      WHERE d.tenant_id = t.id AND d.status = '${o.waiting}' AND d.next_attempt_at <= ${now}
        AND (d.locked_until IS NULL OR d.locked_until <= ${now})${o.ready ? ` AND ${o.ready}` : ''}
      ORDER BY d.next_attempt_at, d.seq
      LIMIT least(greatest($6::int - coalesce(b.n, 0), 0), $1::int)
      FOR UPDATE OF d SKIP LOCKED
   ) q
),
due AS (
  SELECT id, organisation_id FROM (
    SELECT l.*, l.busy + row_number() OVER (PARTITION BY l.organisation_id ORDER BY l.next_attempt_at, l.seq) AS turn FROM locked l
  ) ranked
   WHERE turn <= $6
   ORDER BY turn, next_attempt_at, seq
   LIMIT $1
)`;
}
