// The embedded store runs every statement in one session, as a named prepared statement that
// PostgreSQL plans once and keeps. A statement it judges cheaper to plan for each call's values
// (a boolean parameter that switches half the statement off, say) is planned anew on every call,
// on the store's only thread: the creations and decisions here must leave none such.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { actionDigest } from '@sigilauth/protocol';
import { coldBootRequest, pairDevice, startTestServer, type TestServer } from '../../../test/support/api.js';
import { TestDevice } from '../../../test/support/device-keys.js';
import { createStore, type TestStore } from '../../../test/support/stores.js';

/** Past its first five calls PostgreSQL keeps a generic plan unless custom ones look cheaper. */
const FIRST_CUSTOM_PLANS = 5;
const REQUESTS = 12;
const PAST_REQUESTS = 2_000;

let store: TestStore;
let t: TestServer;
const alice = new TestDevice('Alice');
const carol = new TestDevice('Carol');
const dave = new TestDevice('Dave');

before(async () => {
  store = await createStore('pglite');
  t = await startTestServer(store);
  for (const d of [alice, carol, dave]) await pairDevice(t.api, t.serverId, d);
  // A store that has seen requests, not yet analysed (as between two runs of the maintenance):
  // plans are chosen by the tables' sizes, and on a few pages, or with statistics that match the
  // values, a statement planned per call can look no dearer than a generic plan.
  await t.server.db
    .query(`INSERT INTO mpa_requests (id, tenant_id, required, groups, action, action_digest, status, expires_at, created_at, completed_at, counted)
     SELECT gen_random_uuid(), t.id, 1, '[]', '{}', '', 'approved', now(), now(), now(), true FROM tenants t, generate_series(1, ${PAST_REQUESTS})`);
  await t.server.db.query(`INSERT INTO mpa_approvers (request_id, fingerprint, group_index, pending, created_at, expires_at)
     SELECT r.id, 'past-approver-' || a, 0, false, r.created_at, r.expires_at FROM mpa_requests r, generate_series(1, 5) a`);
});
after(async () => {
  await t?.close();
  await store?.dispose();
});

test('creations and decisions, the deciding and the ending, leave no statement planned on every call', async () => {
  for (let i = 0; i < REQUESTS; i++) {
    const req = coldBootRequest({ engineering: [alice], security: [carol], operations: [dave] });
    req.action.description = `Cold boot engine ENG-${i}`;
    const created = await t.api.post('/v1/mpa/requests', req);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { request_id: id, action } = created.body as { request_id: string; action: Parameters<typeof actionDigest>[0] };
    // The first approval leaves the request pending, the second ends it; every third is denied at once.
    const deciders =
      i % 3 === 0
        ? ([[dave, 'deny']] as const)
        : ([
            [alice, 'approve'],
            [carol, 'approve'],
          ] as const);
    for (const [device, decision] of deciders) {
      const res = await t.api
        .withKey(null)
        .post(`/v1/mpa/requests/${id}/decisions`, device.decisionBody(t.serverId, id, actionDigest(action), decision));
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
  }
  const plans = await t.server.db.query<{ statement: string; generic_plans: number; custom_plans: number }>(
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
