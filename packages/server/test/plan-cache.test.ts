// The embedded store runs every statement in one session, as a named prepared statement that
// PostgreSQL plans once and keeps. A statement it judges cheaper to plan for each call's values
// (a boolean parameter that switches half the statement off, say) is planned anew on every call,
// on the store's only thread. The creations and decisions here run the server's own code paths
// on a store with nothing else running (no sweeper, no workers), so every statement counted is theirs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { actionDigest, validateMpaRequest } from '@sigilauth/protocol';
import { coldBootRequest } from '../../../test/support/api.js';
import { TestDevice } from '../../../test/support/device-keys.js';
import { submitDecision } from '../src/mpa/decisions.js';
import { createRequest } from '../src/mpa/request-transitions.js';
import { hashBody } from '../src/mpa/requests.js';
import type { Database } from '../src/storage/database.js';
import { migrate } from '../src/storage/migrate.js';
import { openPglite } from '../src/storage/pglite.js';
import { createTenant } from '../src/tenants/tenants.js';

/** Past its first five calls PostgreSQL keeps a generic plan unless custom ones look cheaper. */
const FIRST_CUSTOM_PLANS = 5;
const REQUESTS = 12;
const PAST_REQUESTS = 2_000;
const SERVER_ID = 'f'.repeat(64);
const ORIGIN = { ip: '127.0.0.1', userAgent: 'plan-cache-test', via: 'device_key' } as const;

let dir: string;
let db: Database;
let tenantId: string;
const alice = new TestDevice('Alice');
const carol = new TestDevice('Carol');
const dave = new TestDevice('Dave');

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sigil-plans-'));
  db = await openPglite(dir);
  await migrate(db);
  tenantId = (await createTenant(db, 'Acme Corp')).id;
  for (const d of [alice, carol, dave])
    await db.query('INSERT INTO devices (tenant_id, fingerprint, public_key, name) VALUES ($1, $2, $3, $4)', [
      tenantId,
      d.fingerprint,
      d.publicKey,
      d.name,
    ]);
  // A store that has seen requests, not yet analysed (as between two runs of the maintenance):
  // plans are chosen by the tables' sizes, and on a few pages, or with statistics that match the
  // values, a statement planned per call can look no dearer than a generic plan.
  await db.query(
    `INSERT INTO mpa_requests (id, tenant_id, required, groups, action, action_digest, status, expires_at, created_at, completed_at, counted)
     SELECT gen_random_uuid(), $1, 1, '[]', '{}', '', 'approved', now(), now(), now(), true FROM generate_series(1, ${PAST_REQUESTS})`,
    [tenantId],
  );
  await db.query(`INSERT INTO mpa_approvers (request_id, fingerprint, group_index, pending, created_at, expires_at)
     SELECT r.id, 'past-approver-' || a, 0, false, r.created_at, r.expires_at FROM mpa_requests r, generate_series(1, 5) a`);
});
after(async () => {
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('creations and decisions, the deciding and the ending, leave no statement planned on every call', async () => {
  for (let i = 0; i < REQUESTS; i++) {
    const body = coldBootRequest({ engineering: [alice], security: [carol], operations: [dave] });
    body.action.description = `Cold boot engine ENG-${i}`;
    const { view } = await createRequest(db, tenantId, validateMpaRequest(body), { bodyHash: hashBody(body), now: Date.now() });
    const digest = actionDigest(view.action);
    // The first approval leaves the request pending, the second ends it; every third is denied at once.
    const deciders =
      i % 3 === 0
        ? ([[dave, 'deny']] as const)
        : ([
            [alice, 'approve'],
            [carol, 'approve'],
          ] as const);
    for (const [device, decision] of deciders) {
      const { payload, signature } = device.decisionBody(SERVER_ID, view.request_id, digest, decision);
      await submitDecision(db, SERVER_ID, view.request_id, payload, signature, Date.now(), ORIGIN);
    }
  }
  const plans = await db.query<{ statement: string; generic_plans: number; custom_plans: number }>(
    `SELECT statement, generic_plans::int, custom_plans::int FROM pg_prepared_statements WHERE name LIKE 'sigil\\_%' ORDER BY statement`,
  );
  const busy = plans.filter((p) => p.generic_plans + p.custom_plans > FIRST_CUSTOM_PLANS + 2);
  assert.ok(busy.length >= 10, `the requests ran the statements of creations and decisions often enough (${busy.length})`);
  const replanned = busy.filter((p) => p.custom_plans > FIRST_CUSTOM_PLANS);
  assert.deepEqual(
    replanned.map((p) => `${p.custom_plans} custom plans: ${p.statement.replace(/\s+/g, ' ').slice(0, 160)}`),
    [],
  );
});
