// A decision's signature is checked against the request's fixed fields, which each store reads
// once (findFixedRequest); everything that changes is read again under the row lock.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { actionDigest, validateMpaRequest } from '@sigilauth/protocol';
import { coldBootRequest } from '../../../test/support/cold-boot.js';
import { insertPairedDevices, TestDevice } from '../../../test/support/device-keys.js';
import { createStore, describeEachStore, type TestStore } from '../../../test/support/stores.js';
import { submitDecision } from '../src/mpa/decisions.js';
import { FIXED_REQUESTS_KEPT, findFixedRequest } from '../src/mpa/request-queries.js';
import { cancelRequest, createRequest } from '../src/mpa/request-transitions.js';
import { FIXED_COLUMNS, hashBody } from '../src/mpa/requests.js';
import type { Database } from '../src/storage/database.js';
import { openStorage } from '../src/storage/open.js';
import { createTenant } from '../src/tenants/tenants.js';

const SERVER_ID = 'f'.repeat(64);

describeEachStore('a request is read once for its decisions', (kind) => {
  let store: TestStore;
  let db: Database;
  let tenantId: string;
  const devices = [new TestDevice('Alice'), new TestDevice('Bob'), new TestDevice('Carol')];
  /** The statements that read a request's fixed fields, by request id. */
  const fixedReads = new Map<string, number>();

  before(async () => {
    store = await createStore(kind);
    const opened = await openStorage({ dataDir: store.dataDir, databaseUrl: store.databaseUrl, poolSize: 2 });
    db = {
      ...opened,
      query: async (sql, params) => {
        if (sql.startsWith(`SELECT ${FIXED_COLUMNS} FROM mpa_requests`)) {
          const id = String(params?.[0]);
          fixedReads.set(id, (fixedReads.get(id) ?? 0) + 1);
        }
        return opened.query(sql, params);
      },
    };
    tenantId = (await createTenant(db, 'Org')).id;
    await insertPairedDevices(db, tenantId, devices);
  });
  after(async () => {
    await db?.close();
    await store?.dispose();
  });

  const [alice, bob, carol] = devices as [TestDevice, TestDevice, TestDevice];
  async function newRequest() {
    const body = coldBootRequest({ engineering: [alice], security: [bob], operations: [carol] });
    const { view } = await createRequest(db, tenantId, validateMpaRequest(body), { bodyHash: hashBody(body), now: Date.now() });
    return { id: view.request_id, digest: actionDigest(view.action) };
  }
  const decide = (device: TestDevice, request: { id: string; digest: string }, decision: 'approve' | 'deny' = 'approve') => {
    const { payload, signature } = device.decisionBody(SERVER_ID, request.id, request.digest, decision);
    return submitDecision(db, SERVER_ID, request.id, payload, signature, Date.now());
  };

  test('the second decision does not read the request again, and still sees what changed since', async () => {
    const request = await newRequest();
    assert.equal((await decide(alice, request)).status, 'pending');
    await cancelRequest(db, tenantId, request.id, Date.now());
    await assert.rejects(decide(bob, request), { code: 'request_completed', details: { status: 'cancelled' } });
    assert.equal(fixedReads.get(request.id), 1);
  });

  test('a completed quorum is seen by the next decision, and a forged decision is still refused', async () => {
    const request = await newRequest();
    await decide(alice, request);
    assert.equal((await decide(bob, request)).status, 'approved');
    const forged = carol.decisionBody(SERVER_ID, request.id, request.digest, 'deny');
    await assert.rejects(
      submitDecision(
        db,
        SERVER_ID,
        request.id,
        forged.payload,
        alice.decisionBody(SERVER_ID, request.id, request.digest, 'deny').signature,
        Date.now(),
      ),
      {
        code: 'invalid_signature',
      },
    );
    await assert.rejects(decide(carol, request, 'deny'), { code: 'request_completed', details: { status: 'approved' } });
    assert.equal(fixedReads.get(request.id), 1);
  });

  test(`only the newest ${FIXED_REQUESTS_KEPT} requests read are kept`, async () => {
    const first = await newRequest();
    await decide(alice, first);
    const others = await db.query<{ id: string }>(
      `INSERT INTO mpa_requests (id, tenant_id, required, groups, action, action_digest, expires_at, created_at)
       SELECT gen_random_uuid(), $1, 1, '[]'::jsonb, '{"type": "t", "description": "d"}'::jsonb, md5(i::text) || md5((i + 1)::text),
              now() + interval '5 minutes', now()
         FROM generate_series(1, $2::int) AS i RETURNING id`,
      [tenantId, FIXED_REQUESTS_KEPT],
    );
    for (const { id } of others) assert.ok(await findFixedRequest(db, id));
    assert.equal(await findFixedRequest(db, crypto.randomUUID()), null, 'a request that does not exist');
    await cancelRequest(db, tenantId, first.id, Date.now());
    await assert.rejects(decide(bob, first), { code: 'request_completed' });
    assert.equal(fixedReads.get(first.id), 2, 'read again once pushed out by newer ones');
    assert.equal(fixedReads.get(others.at(-1)!.id), 1);
    await findFixedRequest(db, others.at(-1)!.id);
    assert.equal(fixedReads.get(others.at(-1)!.id), 1, 'the newest is still kept');
  });
});
