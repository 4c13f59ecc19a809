// The embedded store runs statements as named prepared statements (storage/pglite-statements.ts):
// each text is parsed once and reused, never more than a bounded number of them, with the same
// values, rows, errors, isolation and notifications as PGlite's own query().
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PGlite } from '@electric-sql/pglite';
import type { Database } from '../src/storage/database.js';
import { pgliteDatabase } from '../src/storage/pglite.js';
import { PREPARED_MAX } from '../src/storage/prepared-names.js';

let pg: PGlite;
let db: Database;
before(async () => {
  pg = await PGlite.create();
  db = pgliteDatabase(pg);
  await pg.exec('CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL)');
});
after(() => db?.close());

const prepared = async () =>
  (await db.query<{ name: string }>('SELECT name FROM pg_prepared_statements WHERE name LIKE $1 ORDER BY name', ['sigil\\_%'])).map(
    (r) => r.name,
  );

test('a statement is prepared once and reused, by name', async () => {
  const before = await prepared(); // the listing is prepared, and lists itself
  for (let i = 0; i < 3; i++) assert.deepEqual(await db.query('SELECT $1::int + 1 AS n', [i]), [{ n: i + 1 }]);
  await db.transaction(async (tx) => {
    for (let i = 0; i < 3; i++) assert.deepEqual(await tx.query('SELECT $1::int + 1 AS n', [i]), [{ n: i + 1 }]);
  });
  const added = (await prepared()).filter((name) => !before.includes(name));
  assert.equal(added.length, 1, 'the addition, prepared once for calls in and out of a transaction');
});

test('values and rows convert exactly as in PGlite’s own query()', async () => {
  const statement = `SELECT $1::text AS t, $2::int AS i, $3::bigint AS b, $4::float8 AS f, $5::boolean AS ok, $6::timestamptz AS at,
                            $7::jsonb AS doc, $8::json AS raw, $9::text[] AS words, $10::int[] AS nums, $11::uuid AS id, $12::text AS nothing`;
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        text: fc.string(),
        int: fc.integer(),
        big: fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n }),
        float: fc.double({ noNaN: true, noDefaultInfinity: true }),
        bool: fc.boolean(),
        at: fc.date({ min: new Date('1970-01-01'), max: new Date('2200-01-01'), noInvalidDate: true }),
        doc: fc.jsonValue().filter((d) => !JSON.stringify(d).includes('\\u0000')), // PostgreSQL's text cannot hold NUL
        words: fc.array(fc.string()),
        nums: fc.array(fc.integer()),
        id: fc.uuid(),
      }),
      async (v) => {
        const text = v.text.replaceAll('\0', '');
        const words = v.words.map((w) => w.replaceAll('\0', ''));
        const params = [text, v.int, v.big, v.float, v.bool, v.at, JSON.stringify(v.doc), JSON.stringify(v.doc), words, v.nums, v.id, null];
        const ours = await db.query(statement, params);
        const theirs = (await pg.query(statement, params)).rows;
        assert.deepEqual(ours, theirs);
      },
    ),
    { numRuns: 60 },
  );
});

test('the columns described when a statement is prepared shape every later execution, as in PGlite’s own query()', async () => {
  await db.query('CREATE TABLE shapes (id int PRIMARY KEY, label text, doc jsonb)');
  const statements: Array<[string, unknown[]]> = [
    ['INSERT INTO shapes (id, label, doc) VALUES ($1, $2, $3)', [1, 'one', '{"a":1}']],
    ['INSERT INTO shapes (id, label, doc) VALUES ($1, $2, $3) RETURNING id, doc', [2, null, '[2]']],
    ['INSERT INTO shapes (id, label, doc) VALUES ($1, $2, $3) RETURNING id, doc', [3, 'three', 'null']],
    ['SELECT id, label, doc, id AS label FROM shapes WHERE id >= $1 ORDER BY id', [1]],
    ['SELECT id, label, doc, id AS label FROM shapes WHERE id >= $1 ORDER BY id', [3]],
    ['SELECT id FROM shapes WHERE id > $1', [99]],
    ['UPDATE shapes SET label = $2 WHERE id = $1', [1, 'uno']],
    ['SELECT id, label, doc, id AS label FROM shapes WHERE id >= $1 ORDER BY id', [1]],
  ];
  for (const [sql, params] of statements) {
    // PGlite's own path first, against the same rows, its write undone again.
    const theirs = await pg.transaction(async (tx) => {
      const { rows } = await tx.query(sql, params);
      await tx.rollback();
      return rows;
    });
    assert.deepEqual(await db.query(sql, params), theirs, sql);
  }
  assert.deepEqual(await db.query('SELECT label FROM shapes WHERE id = $1', [1]), [{ label: 'uno' }]);
});

test('an error leaves the store usable and carries no statement data, in and out of a transaction', async () => {
  await db.query('INSERT INTO items (id, label) VALUES ($1, $2)', [1, 'first']);
  const duplicate = await db.query('INSERT INTO items (id, label) VALUES ($1, $2)', [1, 'secret label']).catch((err: unknown) => err);
  assert.equal((duplicate as { code?: string }).code, '23505');
  assert.doesNotMatch(JSON.stringify(duplicate), /secret label/);
  const inTransaction = await db
    .transaction(async (tx) => {
      await tx.query('INSERT INTO items (id, label) VALUES ($1, $2)', [2, 'second']);
      await tx.query('INSERT INTO items (id, label) VALUES ($1, $2)', [1, 'again']);
    })
    .catch((err: unknown) => err);
  assert.equal((inTransaction as { code?: string }).code, '23505');
  const syntax = await db.query('SELEC $1', [1]).catch((err: unknown) => err);
  assert.equal((syntax as { code?: string }).code, '42601');
  assert.deepEqual(
    await db.query('SELECT id, label FROM items ORDER BY id'),
    [{ id: 1, label: 'first' }],
    'the failed transaction left nothing',
  );
});

test('a statement outside a transaction waits for the open one, and sees only what it committed', async () => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let inserted!: () => void;
  const insertedOnce = new Promise<void>((resolve) => (inserted = resolve));
  const transaction = db.transaction(async (tx) => {
    await tx.query('INSERT INTO items (id, label) VALUES ($1, $2)', [10, 'uncommitted']);
    inserted();
    await held;
    await tx.query('UPDATE items SET label = $2 WHERE id = $1', [10, 'committed']);
  });
  await insertedOnce;
  let answered = false;
  const outside = db.query<{ label: string }>('SELECT label FROM items WHERE id = $1', [10]).then((rows) => ((answered = true), rows));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(answered, false, 'the statement waits while the transaction is open');
  release();
  await transaction;
  assert.deepEqual(await outside, [{ label: 'committed' }]);
});

test('a notification reaches its listeners whether a statement or a transaction committed it, and no longer once unsubscribed', async () => {
  const received: string[] = [];
  const marker = (payload: string) => new Promise<void>((resolve) => void db.listen('items_marker', (p) => p === payload && resolve()));
  const unlisten = await db.listen('items_changed', (payload) => received.push(payload));
  const first = marker('first');
  await db.query('SELECT pg_notify($1, $2)', ['items_changed', 'by a statement']);
  await db.query('SELECT pg_notify($1, $2)', ['items_marker', 'first']);
  await first;
  const second = marker('second');
  await db.transaction(async (tx) => tx.query('SELECT pg_notify($1, $2)', ['items_changed', 'by a transaction']));
  await db.transaction(async (tx) => tx.query('SELECT pg_notify($1, $2)', ['items_marker', 'second']));
  await second;
  await unlisten();
  const third = marker('third');
  await db.query('SELECT pg_notify($1, $2)', ['items_changed', 'after unsubscribing']);
  await db.query('SELECT pg_notify($1, $2)', ['items_marker', 'third']);
  await third;
  assert.deepEqual(received, ['by a statement', 'by a transaction']);
});

test('a reply larger than one read of the database arrives whole', async () => {
  const big = 'x'.repeat(3 * 1024 * 1024);
  const [row] = await db.query<{ text: string; n: number }>('SELECT $1::text AS text, length($1::text) AS n', [big]);
  assert.equal(row?.n, big.length);
  assert.equal(row?.text, big);
  const rows = await db.query<{ i: number; label: string }>(
    "SELECT i, 'label ' || i AS label FROM generate_series(1, $1::int) AS i",
    [20_000],
  );
  assert.equal(rows.length, 20_000);
  assert.deepEqual(rows[19_999], { i: 20_000, label: 'label 20000' });
});

test(`at most ${PREPARED_MAX} distinct texts are prepared; the rest still run, unnamed`, async () => {
  const fresh = pgliteDatabase(await PGlite.create());
  try {
    for (let i = 0; i < PREPARED_MAX + 5; i++) {
      const [row] = await fresh.query<{ n: number }>(`SELECT $1::int + ${i} AS n`, [1]);
      assert.equal(row!.n, i + 1);
    }
    const [counted] = await fresh.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name LIKE 'sigil\\_%'");
    assert.equal(counted?.n, PREPARED_MAX);
    await fresh.transaction(async (tx) =>
      assert.deepEqual(await tx.query('SELECT $1::text AS s', ['in a transaction']), [{ s: 'in a transaction' }]),
    );
  } finally {
    await fresh.close();
  }
});
