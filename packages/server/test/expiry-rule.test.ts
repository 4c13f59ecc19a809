import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { MpaStatus } from '@sigilauth/protocol';
import { effectiveStatus, expirySql, hasExpired } from '../src/mpa/expiry-rule.js';
import type { Database } from '../src/storage/database.js';
import { openPglite } from '../src/storage/pglite.js';

// The SQL fragments and the TypeScript must give the same answer, above all at the boundary
// (now equal to expires_at), or a list filter, a sync page and a view would disagree about a request.
let db: Database;
before(async () => {
  db = await openPglite(undefined);
});
after(async () => {
  await db?.close();
});

const expiresAt = Date.UTC(2026, 0, 1, 12, 0, 0, 0);
const statuses: MpaStatus[] = ['pending', 'approved', 'rejected', 'timeout', 'cancelled'];
const moments = [expiresAt - 60_000, expiresAt - 1, expiresAt, expiresAt + 1, expiresAt + 60_000];

test('the SQL of the expiry rule agrees with the TypeScript for every status and around the boundary', async () => {
  for (const status of statuses) {
    for (const now of moments) {
      const [row] = await db.query<{ effective: MpaStatus; overdue: boolean; still_pending: boolean; expired: boolean }>(
        `SELECT ${expirySql.effectiveStatus('r', '$3')} AS effective, ${expirySql.overdue('r', '$3')} AS overdue,
                ${expirySql.stillPending('r', '$3')} AS still_pending, ${expirySql.hasExpired('r', '$3')} AS expired
           FROM (SELECT $1::text AS status, $2::timestamptz AS expires_at) r`,
        [status, new Date(expiresAt), new Date(now)],
      );
      const label = `${status} at expires_at${now - expiresAt >= 0 ? '+' : ''}${now - expiresAt} ms`;
      const expected = effectiveStatus(status, expiresAt, now);
      assert.equal(row!.effective, expected, label);
      assert.equal(row!.expired, hasExpired(expiresAt, now), label);
      assert.equal(row!.overdue, status === 'pending' && expected === 'timeout', label);
      assert.equal(row!.still_pending, expected === 'pending', label);
    }
  }
});

test('a pending request reads as timeout from the moment of its expiry, not a millisecond before', () => {
  assert.equal(effectiveStatus('pending', expiresAt, expiresAt - 1), 'pending');
  assert.equal(effectiveStatus('pending', expiresAt, expiresAt), 'timeout');
  assert.equal(effectiveStatus('approved', expiresAt, expiresAt + 1), 'approved');
});

test('the fragments qualify columns with the alias given, and use none without one', () => {
  assert.match(expirySql.overdue('r', '$1'), /r\.status = 'pending' AND r\.expires_at <= \$1/);
  assert.doesNotMatch(expirySql.overdue('', '$1'), /\.\w/);
});
