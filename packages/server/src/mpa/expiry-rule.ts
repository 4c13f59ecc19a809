import type { MpaStatus } from '@sigilauth/protocol';

/**
 * The one statement of "a pending request past its expiry is a timeout", even before the sweeper
 * records it: a request has expired from the moment `now` reaches `expires_at`. Everything else —
 * the engine, the views, the SQL filters — is derived from these definitions, and
 * test/mpa/expiry-rule.test.ts checks that the SQL and the TypeScript agree at the boundary.
 */
export const hasExpired = (expiresAt: number, now: number): boolean => now >= expiresAt;

/** The status a reader sees: the stored one, except that a pending request past its expiry reads as timeout. */
export function effectiveStatus(stored: MpaStatus, expiresAt: number, now: number): MpaStatus {
  return stored === 'pending' && hasExpired(expiresAt, now) ? 'timeout' : stored;
}

/** The same rule as SQL over `mpa_requests` columns; `alias` is the table's alias ('' for none), `now` a bound parameter. */
export const expirySql = {
  /** `expires_at` has been reached: the SQL of hasExpired. */
  hasExpired: (alias: string, now: string) => `${col(alias, 'expires_at')} <= ${now}`,
  /** Pending and past its expiry: due for the sweeper. */
  overdue: (alias: string, now: string) => `(${col(alias, 'status')} = 'pending' AND ${expirySql.hasExpired(alias, now)})`,
  /** Pending and not yet expired: still waiting for decisions. */
  stillPending: (alias: string, now: string) => `(${col(alias, 'status')} = 'pending' AND NOT ${expirySql.hasExpired(alias, now)})`,
  /** The SQL of effectiveStatus. */
  effectiveStatus: (alias: string, now: string) =>
    `(CASE WHEN ${expirySql.overdue(alias, now)} THEN 'timeout' ELSE ${col(alias, 'status')} END)`,
};

const col = (alias: string, name: string) => (alias ? `${alias}.${name}` : name);
