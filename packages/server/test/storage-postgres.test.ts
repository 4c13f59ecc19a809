// The PostgreSQL store prepares its statements once per connection, and never more than a bounded
// number of them, whatever text callers send.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Database } from '../src/storage/database.js';
import { openPostgres } from '../src/storage/postgres.js';
import { PREPARED_MAX } from '../src/storage/prepared-names.js';
import { createStore, describePostgres, type TestStore } from '../../../test/support/stores.js';

describePostgres('statements prepared on PostgreSQL', () => {
  let store: TestStore;
  let db: Database;
  // One connection, so every statement below runs in the session pg_prepared_statements lists.
  before(async () => {
    store = await createStore('postgres');
    db = await openPostgres({ connectionString: store.databaseUrl!, poolSize: 1 });
  });
  after(async () => {
    await db?.close();
    await store?.dispose();
  });

  const prepared = async () =>
    (await db.query<{ name: string }>('SELECT name FROM pg_prepared_statements WHERE name LIKE $1 ORDER BY name', ['sigil\\_%'])).map(
      (r) => r.name,
    );

  test('a statement with parameters is prepared once and reused, by name', async () => {
    for (let i = 0; i < 3; i++) assert.deepEqual(await db.query('SELECT $1::int + 1 AS n', [i]), [{ n: i + 1 }]);
    const names = await prepared();
    assert.equal(names.length, 2, 'the addition and the listing itself, each prepared once');
    assert.equal(new Set(names).size, names.length);
  });

  test(`at most ${PREPARED_MAX} distinct texts are prepared; the rest still run`, async () => {
    for (let i = 0; i < PREPARED_MAX + 5; i++) {
      const [row] = await db.query<{ n: number }>(`SELECT $1::int + ${i} AS n`, [1]);
      assert.equal(row!.n, i + 1);
    }
    assert.equal((await prepared()).length, PREPARED_MAX);
    await db.transaction(async (tx) =>
      assert.deepEqual(await tx.query('SELECT $1::text AS s', ['in a transaction']), [{ s: 'in a transaction' }]),
    );
  });
});
