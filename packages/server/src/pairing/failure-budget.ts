import { ApiError } from '../http/errors.js';
import type { Queryable } from '../storage/database.js';
import { clientNetworks } from './client-network.js';

/**
 * Budgets of wrong pairing codes, kept in the database so that every instance spends the same
 * ones. Each is a leaky bucket: `capacity` failures at once, refilled at `perHour`.
 *
 * - Every client network (`narrow`: IPv4 /24, IPv6 /64; `wide`: IPv4 /16, IPv6 /48) has its own.
 *   An attempt reserves one failure in both before the code is looked at; a right code gives it
 *   back. A network whose budget is spent waits (429 with Retry-After).
 * - The server has one for all failures together. While it is spent (a storm of wrong codes from
 *   many networks), a network that failed within `stormMemoryMs` must wait; a network that has
 *   not failed recently is still heard, so a storm never locks out a person typing a code.
 */
export const PAIRING_FAILURE_BUDGETS = {
  narrow: { capacity: 20, perHour: 20 },
  wide: { capacity: 100, perHour: 100 },
  server: { capacity: 200, perHour: 200 },
  stormMemoryMs: 60 * 60_000,
} as const;

interface Budget {
  capacity: number;
  perHour: number;
}

const SERVER_KEY = 'server';
/** Rows untouched this long are empty (every budget refills within an hour) and are deleted. */
const STALE_MS = 2 * 3_600_000;

/** The bucket's level now: what it held at updated_at, less what drained since. */
const LEVEL = `greatest(0, b.level - $3::float8 * greatest(0, extract(epoch FROM ($2::timestamptz - b.updated_at))))`;
const perSecond = (budget: Budget) => budget.perHour / 3600;

const rateLimited = (seconds: number, why: string) => {
  const wait = Math.max(1, Math.ceil(seconds));
  return new ApiError('rate_limited', `${why}; try again in ${wait} s`, { retry_after_seconds: wait });
};

/** Takes one failure from the bucket if it has room; else returns how long until it will. */
async function reserve(
  db: Queryable,
  key: string,
  budget: Budget,
  now: Date,
): Promise<{ lastFailureAt: Date | null } | { waitSeconds: number }> {
  const [row] = await db.query<{ last_failure_at: Date | null }>(
    `INSERT INTO pairing_failure_buckets AS b (key, level, updated_at) VALUES ($1, 1, $2)
     ON CONFLICT (key) DO UPDATE SET level = ${LEVEL} + 1, updated_at = $2 WHERE ${LEVEL} + 1 <= $4
     RETURNING last_failure_at`,
    [key, now, perSecond(budget), budget.capacity],
  );
  if (row) return { lastFailureAt: row.last_failure_at };
  const [full] = await db.query<{ level: number }>(`SELECT ${LEVEL} AS level FROM pairing_failure_buckets b WHERE key = $1`, [
    key,
    now,
    perSecond(budget),
  ]);
  return { waitSeconds: ((full?.level ?? budget.capacity) + 1 - budget.capacity) / perSecond(budget) };
}

async function giveBack(db: Queryable, key: string, budget: Budget, now: Date): Promise<void> {
  await db.query(`UPDATE pairing_failure_buckets b SET level = greatest(0, ${LEVEL} - 1), updated_at = $2 WHERE key = $1`, [
    key,
    now,
    perSecond(budget),
  ]);
}

export interface CodeAttempt {
  /** The code was right (or the attempt ended before a code was judged): the reservation is returned. */
  settle(): Promise<void>;
  /** The code was wrong: the failure stays spent, and counts towards the server's budget. */
  fail(): Promise<void>;
}

/**
 * Admits one attempt at a pairing code from a client address, or throws 429. The caller judges
 * the code, then calls exactly one of settle() or fail().
 */
export async function admitCodeAttempt(db: Queryable, address: string, nowMs: number): Promise<CodeAttempt> {
  const networks = clientNetworks(address);
  const now = new Date(nowMs);
  const buckets = [
    { key: `narrow:${networks.narrow}`, budget: PAIRING_FAILURE_BUDGETS.narrow },
    { key: `wide:${networks.wide}`, budget: PAIRING_FAILURE_BUDGETS.wide },
  ];
  const reserved: typeof buckets = [];
  const release = async () => {
    for (const b of reserved) await giveBack(db, b.key, b.budget, now);
  };
  let lastFailure = 0;
  for (const b of buckets) {
    const outcome = await reserve(db, b.key, b.budget, now);
    if ('waitSeconds' in outcome) {
      await release();
      throw rateLimited(outcome.waitSeconds, 'too many wrong pairing codes from your network');
    }
    reserved.push(b);
    lastFailure = Math.max(lastFailure, outcome.lastFailureAt?.getTime() ?? 0);
  }
  const server = PAIRING_FAILURE_BUDGETS.server;
  const recentFailure = nowMs - lastFailure < PAIRING_FAILURE_BUDGETS.stormMemoryMs;
  if (recentFailure) {
    const [row] = await db.query<{ level: number }>(`SELECT ${LEVEL} AS level FROM pairing_failure_buckets b WHERE key = $1`, [
      SERVER_KEY,
      now,
      perSecond(server),
    ]);
    if ((row?.level ?? 0) >= server.capacity) {
      await release();
      throw rateLimited(
        (lastFailure + PAIRING_FAILURE_BUDGETS.stormMemoryMs - nowMs) / 1000,
        'the server is receiving many wrong pairing codes, and your network sent one recently',
      );
    }
  }
  let done = false;
  return {
    async settle() {
      if (done) return;
      done = true;
      await release();
    },
    async fail() {
      if (done) return;
      done = true;
      await db.query('UPDATE pairing_failure_buckets SET last_failure_at = $2 WHERE key = ANY($1::text[])', [
        buckets.map((b) => b.key),
        now,
      ]);
      // The server's budget counts at most twice its capacity, so a storm ends within an hour of the last failure.
      await db.query(
        `INSERT INTO pairing_failure_buckets AS b (key, level, updated_at) VALUES ($1, 1, $2)
         ON CONFLICT (key) DO UPDATE SET level = least($4::float8, ${LEVEL} + 1), updated_at = $2`,
        [SERVER_KEY, now, perSecond(server), 2 * server.capacity],
      );
      await db.query(
        `DELETE FROM pairing_failure_buckets WHERE key IN (SELECT key FROM pairing_failure_buckets WHERE updated_at < $1 AND key <> $2 LIMIT 100)`,
        [new Date(nowMs - STALE_MS), SERVER_KEY],
      );
    },
  };
}
