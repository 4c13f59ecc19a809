// A transaction's notifications (Queryable.notifyOnCommit) are delivered only when it commits, and
// after what it wrote is visible. On PostgreSQL they run after COMMIT, in a transaction of their
// own: a NOTIFY inside the transaction would hold the cluster's one lock for notifying commits
// through the commit's WAL flush, and every announcing commit would wait for the one before. One
// refused there is sent again until it goes through.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createStore, describeEachStore, type TestStore } from '../../../test/support/stores.js';
import type { Database } from '../src/storage/database.js';
import { openPglite } from '../src/storage/pglite.js';
import { openPostgres } from '../src/storage/postgres.js';

const CHANNEL = 'notify_on_commit_test';
const NOTIFY = `SELECT pg_notify('${CHANNEL}', payload) FROM unnest($1::text[]) AS payload`;
const IF_WRITTEN = `SELECT pg_notify('${CHANNEL}', n.payload) FROM unnest($1::text[], $2::int[]) AS n (payload, id)
                     WHERE EXISTS (SELECT 1 FROM notified WHERE notified.id = n.id)`;

describeEachStore('notifications sent on commit', (kind) => {
  let store: TestStore;
  let db: Database;
  const received: string[] = [];
  let waiting: { payload: string; arrived: () => void } | null = null;
  let unsubscribe: () => Promise<void>;

  /** Sends a marker in a transaction of its own and waits for it: what was sent before it has arrived. */
  const settled = async (marker: string) => {
    const arrived = new Promise<void>((resolve) => (waiting = { payload: marker, arrived: resolve }));
    await db.transaction(async (tx) => tx.notifyOnCommit(NOTIFY, [[marker]]));
    await arrived;
    return received.splice(0).filter((p) => p !== marker);
  };

  before(async () => {
    store = await createStore(kind);
    // In this process, so that the embedded store's own transactions are the ones tested.
    db = kind === 'pglite' ? await openPglite(store.dataDir) : await openPostgres({ connectionString: store.databaseUrl!, poolSize: 1 });
    await db.query('CREATE TABLE notified (id int PRIMARY KEY)');
    unsubscribe = await db.listen(CHANNEL, (payload) => {
      received.push(payload);
      if (payload === waiting?.payload) waiting.arrived();
    });
  });
  after(async () => {
    await unsubscribe?.();
    await db?.close();
    await store?.dispose();
  });

  test('sent when the transaction commits, after what it wrote is visible, conditions judged on its writes, statements of one text merged', async () => {
    let readByListener: Promise<number> | undefined;
    const stop = await db.listen(`${CHANNEL}_row`, (payload) => {
      readByListener ??= db
        .query<{ n: number }>('SELECT count(*)::int AS n FROM notified WHERE id = $1', [Number(payload)])
        .then(([row]) => row!.n);
    });
    await db.transaction(async (tx) => {
      await tx.write('INSERT INTO notified (id) VALUES (1)');
      await tx.notifyOnCommit(`SELECT pg_notify('${CHANNEL}_row', id::text) FROM unnest($1::int[]) AS id`, [[1]]);
      await tx.notifyOnCommit(IF_WRITTEN, [['row 1 written'], [1]]);
      await tx.notifyOnCommit(IF_WRITTEN, [['row 2 written'], [2]]);
      await tx.notifyOnCommit(NOTIFY, [['a', 'b']]);
      await tx.notifyOnCommit(NOTIFY, [['c']]);
    });
    assert.deepEqual((await settled('commit marker')).sort(), ['a', 'b', 'c', 'row 1 written']);
    assert.equal(await readByListener, 1, 'the listener reads what the transaction wrote');
    await stop();
  });

  test('never sent when the transaction rolls back', async () => {
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.notifyOnCommit(NOTIFY, [['rolled back']]);
        await tx.write('INSERT INTO notified (id) VALUES (1)'); // a duplicate: the transaction fails
        await tx.query('SELECT 1');
      }),
      { code: '23505' },
    );
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.notifyOnCommit(NOTIFY, [['thrown']]);
        throw new Error('refused');
      }),
      /refused/,
    );
    assert.deepEqual(await settled('rollback marker'), []);
  });

  test(
    kind === 'postgres'
      ? 'on PostgreSQL it runs after COMMIT, in a transaction of its own'
      : 'on the embedded store it runs inside the transaction, one connection having no one to hold up',
    async () => {
      const txid = await db.transaction(async (tx) => {
        await tx.notifyOnCommit(`SELECT pg_notify('${CHANNEL}', txid_current()::text)`, []);
        const [row] = await tx.query<{ txid: string }>('SELECT txid_current()::text AS txid');
        return row!.txid;
      });
      const [sentFrom] = await settled('txid marker');
      assert.ok(sentFrom);
      if (kind === 'postgres') assert.notEqual(sentFrom, txid);
      else assert.equal(sentFrom, txid);
    },
  );

  if (kind === 'postgres') {
    test('a notification that fails after COMMIT leaves the transaction committed and the connection usable', async () => {
      // pg_notify refuses a payload of 8,000 bytes or more.
      const result = await db.transaction(async (tx) => {
        await tx.write('INSERT INTO notified (id) VALUES (3)');
        await tx.notifyOnCommit(`SELECT pg_notify('${CHANNEL}', repeat(x, 9000)) FROM unnest($1::text[]) AS x`, [['x']]);
        return 'done';
      });
      assert.equal(result, 'done');
      assert.deepEqual(await db.query('SELECT id FROM notified WHERE id = 3'), [{ id: 3 }]);
      assert.deepEqual(await settled('after a failed notification'), []);
    });

    test('a notification refused after COMMIT is sent again until it goes through', async () => {
      await db.query('CREATE SEQUENCE notify_attempts');
      await db.query(`CREATE FUNCTION refused_once(payload text) RETURNS text LANGUAGE plpgsql AS $$
        BEGIN
          IF nextval('notify_attempts') = 1 THEN RAISE EXCEPTION 'too many notifications in the NOTIFY queue'; END IF;
          RETURN payload;
        END $$`);
      const arrived = new Promise<void>((resolve) => (waiting = { payload: 'sent again', arrived: resolve }));
      await db.transaction(async (tx) => {
        await tx.write('INSERT INTO notified (id) VALUES (4)');
        await tx.notifyOnCommit(`SELECT pg_notify('${CHANNEL}', refused_once(payload)) FROM unnest($1::text[]) AS payload`, [
          ['sent again'],
        ]);
      });
      assert.deepEqual(await db.query('SELECT id FROM notified WHERE id = 4'), [{ id: 4 }], 'the transaction committed');
      await Promise.race([
        arrived,
        new Promise((_, reject) => setTimeout(() => reject(new Error('the refused notification was never sent again')), 30_000).unref()),
      ]);
      const [sequence] = await db.query<{ attempts: string }>('SELECT last_value AS attempts FROM notify_attempts');
      assert.equal(Number(sequence?.attempts), 2, 'refused once with the commit, then sent by the next attempt');
    });
  }
});
