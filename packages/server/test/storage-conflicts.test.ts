// PostgreSQL may abort a transaction so that another can go on: a deadlock's victim, or a
// serialization failure. Nothing of it was written, so the store runs it again, and a decision
// caught in a deadlock is accepted, not answered 500. A database whose default isolation is
// SERIALIZABLE does not change how Sigil's own transactions run.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { actionDigest } from '@sigilauth/protocol';
import { StorageUnavailableError, type Database } from '../src/storage/database.js';
import { CONFLICT_ATTEMPTS, openPostgres } from '../src/storage/postgres.js';
import { pairDevice, startTestServer, type TestServer } from '../../../test/support/api.js';
import { TestDevice } from '../../../test/support/device-keys.js';
import { waitFor } from '../../../test/support/wait.js';
import { Receiver } from '../../../test/support/webhook-receiver.js';
import { lockWaiters } from '../../../test/support/postgres.js';
import { createStore, describePostgres, type TestStore } from '../../../test/support/stores.js';

/** A connection of the test's own, and the number of backends of the database waiting for a lock. */
async function rawConnection(store: TestStore) {
  const client = new pg.Client({ connectionString: store.databaseUrl });
  await client.connect();
  return { client, lockWaiters: () => lockWaiters(client) };
}

/** A pending request for one group of `device`, needing its approval. */
async function requestFor(t: TestServer, device: TestDevice) {
  const created = await t.api.post('/v1/mpa/requests', {
    required: 1,
    groups: [{ name: 'Approvers', approvers: [device.approver] }],
    action: { type: 'grant_admin', description: 'Grant admin to Erin' },
    expires_in_seconds: 600,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id: string = created.body.request_id;
  const approve = () =>
    t.api
      .withKey(null)
      .post(`/v1/mpa/requests/${id}/decisions`, device.decisionBody(t.serverId, id, actionDigest(created.body.action), 'approve'));
  return { id, approve };
}

describePostgres('transactions PostgreSQL aborts for a conflict', () => {
  describe('under SERIALIZABLE, set as the database default', () => {
    let store: TestStore;
    let t: TestServer;
    before(async () => {
      store = await createStore('postgres');
      const { client } = await rawConnection(store);
      await client.query(
        `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET default_transaction_isolation = serializable', current_database()); END $$`,
      );
      await client.end();
      t = await startTestServer(store);
    });
    after(async () => {
      await t?.close();
      await store?.dispose();
    });

    test("Sigil's transactions still run READ COMMITTED: a decision that waited for its request's row is accepted at once", async () => {
      const device = new TestDevice("Erin's laptop");
      await pairDevice(t.api, t.serverId, device);
      const { id, approve } = await requestFor(t, device);
      const { client, lockWaiters } = await rawConnection(store);
      try {
        assert.equal((await client.query('SHOW transaction_isolation')).rows[0].transaction_isolation, 'serializable');
        // The request row changes while the decision waits for it: under SERIALIZABLE its lock
        // could only fail (40001) and the decision would have to run again.
        await client.query('BEGIN');
        await client.query('UPDATE mpa_requests SET status = status WHERE id = $1', [id]);
        const decided = approve();
        await waitFor(async () => (await lockWaiters()) === 1, "the decision to wait for the request's row");
        await client.query('COMMIT');
        const answer = await decided;
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        assert.equal((await t.api.get(`/v1/mpa/requests/${id}`)).body.status, 'approved');
        assert.deepEqual(t.server.db.conflictRetries(), { deadlock: 0, serialization_failure: 0 });
      } finally {
        await client.end();
      }
    });

    test('requests created together for the same approvers all succeed', async () => {
      const devices = [new TestDevice("Grace's laptop"), new TestDevice("Heidi's laptop"), new TestDevice("Ivan's laptop")];
      for (const device of devices) await pairDevice(t.api, t.serverId, device);
      const answers = await Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          t.api.post('/v1/mpa/requests', {
            required: 2,
            groups: devices.map((d, g) => ({ name: `Group ${g}`, approvers: [d.approver] })),
            action: { type: 'deploy', description: `Deploy build ${i}` },
          }),
        ),
      );
      assert.deepEqual(
        answers.map((a) => a.status),
        answers.map(() => 201),
        JSON.stringify(answers.find((a) => a.status !== 201)?.body),
      );
    });
  });

  describe('under READ COMMITTED', () => {
    let store: TestStore;
    let t: TestServer;
    let receiver: Receiver;
    before(async () => {
      store = await createStore('postgres');
      receiver = await Receiver.start();
      t = await startTestServer(store, { config: { webhooks: { allowPrivate: true } } });
    });
    after(async () => {
      await t?.close();
      await receiver?.close();
      await store?.dispose();
    });

    test("a decision chosen as a deadlock's victim is run again and accepted", async () => {
      const device = new TestDevice("Frank's laptop");
      await pairDevice(t.api, t.serverId, device);
      const hook = await t.api.post('/v1/webhooks', { url: receiver.url, events: ['mpa.approved'] });
      assert.equal(hook.status, 201, JSON.stringify(hook.body));
      const { id, approve } = await requestFor(t, device);
      const { client, lockWaiters } = await rawConnection(store);
      try {
        // The approving decision locks its request, then waits at the endpoint this holds for its
        // delivery; this then waits for the request: a cycle. This side checks for it last, so
        // PostgreSQL aborts the decision's transaction.
        await client.query('BEGIN');
        await client.query(`SET LOCAL deadlock_timeout = '60s'`);
        await client.query('SELECT 1 FROM webhook_endpoints WHERE id = $1 FOR UPDATE', [hook.body.id]);
        const decided = approve();
        await waitFor(async () => (await lockWaiters()) === 1, 'the decision to wait at the endpoint');
        await client.query('SELECT 1 FROM mpa_requests WHERE id = $1 FOR UPDATE', [id]);
        await client.query('COMMIT');
        const answer = await decided;
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        assert.equal((await t.api.get(`/v1/mpa/requests/${id}`)).body.status, 'approved');
        assert.equal(t.server.db.conflictRetries().deadlock, 1);
        await waitFor(
          () => receiver.received.some((r) => (JSON.parse(r.body) as { request_id?: string }).request_id === id),
          'the mpa.approved webhook',
        );
      } finally {
        await client.end();
      }
    });
  });

  describe('that keep failing', () => {
    let store: TestStore;
    let db: Database;
    before(async () => {
      store = await createStore('postgres');
      db = await openPostgres({ connectionString: store.databaseUrl!, poolSize: 2 });
    });
    after(async () => {
      await db?.close();
      await store?.dispose();
    });

    const failWith = (code: string) => `DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '${code}'; END $$`;

    test('a transaction aborted once is run again, and its result returned', async () => {
      const before = db.conflictRetries().serialization_failure;
      let runs = 0;
      const result = await db.transaction(async (tx) => {
        runs++;
        const [row] = await tx.query<{ n: number }>('SELECT $1::int AS n', [runs]);
        if (runs === 1) await tx.query(failWith('40001'));
        return row!.n;
      });
      assert.equal(result, 2);
      assert.equal(db.conflictRetries().serialization_failure, before + 1);
    });

    test(`a transaction runs ${CONFLICT_ATTEMPTS} times, then fails as the store being unavailable`, async () => {
      let runs = 0;
      await assert.rejects(
        db.transaction(async (tx) => {
          runs++;
          await tx.query('SELECT 1');
          await tx.query(failWith('40001'));
        }),
        (err) => err instanceof StorageUnavailableError && /serialization failure/.test(err.message),
      );
      assert.equal(runs, CONFLICT_ATTEMPTS);
    });

    test('a statement outside a transaction is run again too; other errors are not', async () => {
      await db.query('CREATE SEQUENCE runs');
      const counted = (code: string) => `DO $$ BEGIN PERFORM nextval('runs'); RAISE EXCEPTION 'failed' USING ERRCODE = '${code}'; END $$`;
      await assert.rejects(db.query(counted('40P01')), StorageUnavailableError);
      assert.equal((await db.query<{ n: string }>('SELECT last_value AS n FROM runs'))[0]!.n, String(CONFLICT_ATTEMPTS));
      await assert.rejects(db.query(counted('23505')), (err) => (err as { code?: string }).code === '23505');
      assert.equal((await db.query<{ n: string }>('SELECT last_value AS n FROM runs'))[0]!.n, String(CONFLICT_ATTEMPTS + 1));
    });
  });
});
