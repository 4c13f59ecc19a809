import type { FastifyBaseLogger } from 'fastify';
import { RECONNECTED_CHANNEL, type Database } from '../storage/database.js';

export interface ClaimLoopOptions<T> {
  /** Items handled at once on this instance. */
  concurrency: number;
  /** Claims up to `want` due items (under a lease). */
  claim: (want: number) => Promise<T[]>;
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
 */
export function claimLoop<T>(o: ClaimLoopOptions<T>) {
  let stopped = false;
  let scanning: Promise<void> | null = null;
  let again = false;
  const inflight = new Set<Promise<void>>();

  const scan = async () => {
    do {
      again = false;
      await o.beforeScan?.();
      while (!stopped && inflight.size < o.concurrency) {
        const want = o.concurrency - inflight.size;
        const claimed = await o.claim(want);
        for (const item of claimed) {
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
              wake();
            });
          inflight.add(p);
        }
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
