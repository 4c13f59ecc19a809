// In a transaction on PostgreSQL, BEGIN and the writes wait for the next statement that is read (or
// for COMMIT) and go with it in one round trip; they still run in order, and a failure anywhere
// fails the whole transaction.
import { after, afterEach, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Database } from '../src/storage/database.js';
import { openPostgres } from '../src/storage/postgres.js';
import { countRoundTrips } from '../../../test/support/postgres.js';
import { createStore, describePostgres, type TestStore } from '../../../test/support/stores.js';

describePostgres('statements sent together on PostgreSQL', () => {
  let store: TestStore;
  let db: Database;
  let roundTrips: ReturnType<typeof countRoundTrips>;

  // One connection, so that every test below reuses the connection the one before it left.
  before(async () => {
    store = await createStore('postgres');
    db = await openPostgres({ connectionString: store.databaseUrl!, poolSize: 1 });
    await db.query('CREATE TABLE batch_rows (id int PRIMARY KEY, note text NOT NULL)');
  });
  after(async () => {
    await db?.close();
    await store?.dispose();
  });
  beforeEach(async () => {
    await db.query('TRUNCATE batch_rows');
    roundTrips = countRoundTrips();
  });
  afterEach(() => roundTrips.stop());

  const rows = async () => db.query<{ id: number; note: string }>('SELECT id, note FROM batch_rows ORDER BY id');

  test('writes go with the next read, which sees them; the rest go with COMMIT', async () => {
    const seen = await db.transaction(async (tx) => {
      await tx.write('INSERT INTO batch_rows (id, note) VALUES ($1, $2)', [1, 'one']);
      await tx.write('UPDATE batch_rows SET note = note || $2 WHERE id = $1', [1, ', then more']);
      await tx.write('INSERT INTO batch_rows (id, note) VALUES ($1, $2)', [2, 'two']);
      const read = await tx.query<{ id: number; note: string }>('SELECT id, note FROM batch_rows ORDER BY id');
      await tx.write('DELETE FROM batch_rows WHERE id = $1', [2]);
      return read;
    });
    assert.deepEqual(seen, [
      { id: 1, note: 'one, then more' },
      { id: 2, note: 'two' },
    ]);
    assert.equal(roundTrips.count, 2, 'BEGIN, three writes and the read; then the last write and COMMIT');
    assert.deepEqual(await rows(), [{ id: 1, note: 'one, then more' }]);
  });

  test('reads started together share one round trip, and run in the order they were started', async () => {
    const [inserted, seen] = await db.transaction((tx) =>
      Promise.all([
        tx.query<{ id: number }>('INSERT INTO batch_rows (id, note) VALUES ($1, $2) RETURNING id', [3, 'three']),
        tx.query<{ note: string }>('SELECT note FROM batch_rows WHERE id = $1', [3]),
      ]),
    );
    assert.deepEqual(inserted, [{ id: 3 }]);
    assert.deepEqual(seen, [{ note: 'three' }], 'the second read sees the row the first inserted');
    assert.equal(roundTrips.count, 2, 'BEGIN and both reads; then COMMIT');
  });

  test('when one of the reads sent together fails, all of them fail, and nothing is written', async () => {
    await db.query('INSERT INTO batch_rows (id, note) VALUES ($1, $2)', [5, 'taken']);
    const outcomes = await db
      .transaction(async (tx) => {
        const settled = await Promise.allSettled([
          tx.query('INSERT INTO batch_rows (id, note) VALUES ($1, $2) RETURNING id', [6, 'lost']),
          tx.query('INSERT INTO batch_rows (id, note) VALUES ($1, $2) RETURNING id', [5, 'duplicate']),
          tx.query('SELECT count(*) FROM batch_rows'),
        ]);
        throw Object.assign(new Error('reads failed'), { settled });
      })
      .catch((err: { settled: PromiseSettledResult<unknown>[] }) => err.settled);
    assert.deepEqual(
      outcomes.map((o) => o.status === 'rejected' && (o.reason as { code?: string }).code),
      ['23505', '23505', '23505'],
    );
    assert.deepEqual(await rows(), [{ id: 5, note: 'taken' }]);
  });

  test('a failed write fails the statement it went with, and the transaction writes nothing', async () => {
    await db.query('INSERT INTO batch_rows (id, note) VALUES ($1, $2)', [7, 'before']);
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.write('INSERT INTO batch_rows (id, note) VALUES ($1, $2)', [8, 'lost']);
        await tx.write('INSERT INTO batch_rows (id, note) VALUES ($1, $2)', [7, 'duplicate']);
        await tx.query('SELECT 1');
        assert.fail('the read after a failed write must not answer');
      }),
      (err: { code?: string; detail?: string }) => err.code === '23505' && err.detail === undefined,
    );
    assert.deepEqual(await rows(), [{ id: 7, note: 'before' }]);
  });

  test('a write that fails at COMMIT fails the transaction, and nothing is committed', async () => {
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.write('INSERT INTO batch_rows (id, note) VALUES ($1, $2)', [1, 'lost']);
        await tx.write('INSERT INTO batch_rows (id, note) VALUES ($1, $2)', [2, null]);
      }),
      (err: { code?: string }) => err.code === '23502',
    );
    assert.deepEqual(await rows(), []);
    assert.deepEqual(await db.transaction((tx) => tx.query('SELECT count(*)::int AS n FROM batch_rows')), [{ n: 0 }]);
  });

  test('a transaction that fails before it sends anything sends nothing', async () => {
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.write('INSERT INTO batch_rows (id, note) VALUES ($1, $2)', [1, 'never sent']);
        throw new Error('changed its mind');
      }),
      /changed its mind/,
    );
    assert.equal(roundTrips.count, 0);
    assert.deepEqual(await rows(), []);
  });

  test('a failed batch that prepared statements leaves no connection behind with a wrong list of them', async () => {
    // New texts, prepared in the batch that fails: the server may or may not have prepared them.
    const insert = 'INSERT INTO batch_rows (id, note) VALUES ($1, $2) /* prepared in a failed batch */';
    const read = 'SELECT note FROM batch_rows WHERE id = $1 /* prepared in a failed batch */';
    await db.query('INSERT INTO batch_rows (id, note) VALUES ($1, $2)', [1, 'taken']);
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.write(insert, [2, 'two']);
        await tx.write(insert, [1, 'duplicate']);
        await tx.query(read, [2]);
      }),
      (err: { code?: string }) => err.code === '23505',
    );
    // The same texts again, on the pool's one connection: preparing them twice, or running them
    // unprepared by name, would fail.
    for (let i = 10; i < 13; i++) {
      await db.transaction(async (tx) => {
        await tx.write(insert, [i, `row ${i}`]);
        assert.deepEqual(await tx.query(read, [i]), [{ note: `row ${i}` }]);
      });
    }
    assert.deepEqual(
      (await rows()).map((r) => r.id),
      [1, 10, 11, 12],
    );
  });

  test('a value that cannot be sent fails its transaction before anything is written, and the store stays usable', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.write('INSERT INTO batch_rows (id, note) VALUES ($1, $2)', [1, 'never written']);
        await tx.query('SELECT $1::jsonb AS doc', [circular]);
      }),
      /circular/i,
    );
    assert.deepEqual(await rows(), []);
    assert.deepEqual(await db.query('SELECT $1::int + 1 AS n', [41]), [{ n: 42 }]);
  });

  test('a script run with exec sees the writes before it', async () => {
    await db.transaction(async (tx) => {
      await tx.write('INSERT INTO batch_rows (id, note) VALUES ($1, $2)', [1, 'one']);
      await tx.exec("UPDATE batch_rows SET note = 'changed by the script' WHERE id = 1; INSERT INTO batch_rows VALUES (2, 'two')");
    });
    assert.deepEqual(await rows(), [
      { id: 1, note: 'changed by the script' },
      { id: 2, note: 'two' },
    ]);
  });
});
