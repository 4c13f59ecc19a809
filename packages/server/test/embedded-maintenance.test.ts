// The embedded store has no autovacuum of its own: the server vacuums and analyses its tables by
// autovacuum's rules (storage/embedded-maintenance.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from '../src/storage/database.js';
import {
  MAINTENANCE_INTERVAL_MS,
  maintainTables,
  startEmbeddedMaintenance,
  tablesDue,
  type TableDue,
} from '../src/storage/embedded-maintenance.js';
import { EMBEDDED_STATISTICS_TARGET, openPglite } from '../src/storage/pglite.js';

let db: Database;
before(async () => {
  db = await openPglite(undefined);
  await db.query('CREATE TABLE churn (id int PRIMARY KEY, n int NOT NULL)');
  await db.query('CREATE TABLE quiet (id int PRIMARY KEY)');
  await db.query('INSERT INTO quiet SELECT generate_series(1, 10)');
  await maintainTables(db); // both tables start vacuumed and analysed
});
after(() => db?.close());

const stats = async (table: string) => {
  const [row] = await db.query<{ dead: number; reltuples: number; vacuums: number; analyzes: number }>(
    `SELECT t.n_dead_tup::int AS dead, c.reltuples::int AS reltuples, t.vacuum_count::int AS vacuums, t.analyze_count::int AS analyzes
       FROM pg_stat_user_tables t JOIN pg_class c ON c.oid = t.relid WHERE t.relname = $1`,
    [table],
  );
  return row!;
};

test('a table that grew is analysed, and one with many dead rows vacuumed; an untouched one is left alone', async () => {
  await db.query('INSERT INTO churn SELECT g, 0 FROM generate_series(1, 5000) g');
  assert.deepEqual(await tablesDue(db), [{ table: 'public.churn', vacuum: true, analyze: true }], 'inserts past both thresholds');
  await maintainTables(db);
  assert.equal((await stats('churn')).reltuples, 5000, 'the planner now knows its size');
  assert.deepEqual(await tablesDue(db), []);

  await db.query('UPDATE churn SET n = n + 1 WHERE id <= 2000');
  const [due] = await tablesDue(db);
  assert.deepEqual(due, { table: 'public.churn', vacuum: true, analyze: true }, '2,000 dead rows of 5,000: past 50 + 20 %');
  assert.equal((await stats('churn')).dead, 2000);
  const quietBefore = await stats('quiet');
  const done = await maintainTables(db);
  assert.deepEqual(
    done.map(({ table, vacuum, analyze }) => ({ table, vacuum, analyze })),
    [{ table: 'public.churn', vacuum: true, analyze: true }],
  );
  assert.equal((await stats('churn')).dead, 0, 'the dead rows are gone');
  assert.deepEqual(await stats('quiet'), quietBefore, 'the untouched table was neither vacuumed nor analysed');
});

test('a few changes stay under the thresholds, as under autovacuum', async () => {
  await db.query('UPDATE churn SET n = n + 1 WHERE id <= 40');
  assert.deepEqual(await tablesDue(db), []);
});

test('the server runs it by itself, and logs what it did', async () => {
  await db.query('INSERT INTO quiet SELECT generate_series(11, 1000)'); // past the change threshold, under the insert one
  const logged: unknown[] = [];
  let seen!: () => void;
  const analysed = new Promise<void>((resolve) => (seen = resolve));
  const log = {
    info: (fields: { table?: string }, message: string) => {
      logged.push({ ...fields, message });
      if (fields.table === 'public.quiet') seen();
    },
    warn: (fields: unknown, message: string) => logged.push({ fields, message }),
  };
  const stop = startEmbeddedMaintenance(db, log as never, 10);
  await analysed;
  await stop();
  assert.equal((await stats('quiet')).reltuples, 1000);
  assert.deepEqual(logged[0], {
    table: 'public.quiet',
    vacuum: false,
    analyze: true,
    ms: (logged[0] as { ms: number }).ms,
    message: 'embedded store maintenance',
  });
});

test('docs/deployment.md states the interval and the statistics target the server uses', () => {
  const doc = readFileSync(new URL('../../../docs/deployment.md', import.meta.url), 'utf8');
  assert.match(doc, new RegExp(`PGlite has no autovacuum\\. Every ${MAINTENANCE_INTERVAL_MS / 1000} s the server`));
  assert.match(doc, new RegExp(`analyses with a statistics target of ${EMBEDDED_STATISTICS_TARGET} \\(`));
  assert.match(doc, new RegExp(`reads a sample of ${(300 * EMBEDDED_STATISTICS_TARGET).toLocaleString('en')} rows`));
});

// ANALYZE holds the store's one connection while it reads its sample: 300 rows per unit of the
// statistics target, so the target bounds how long every request waits for it.
test('the embedded store analyses at its own statistics target, on disk as in memory', async () => {
  await db.query('CREATE TABLE sampled (id int PRIMARY KEY, n int NOT NULL)');
  await db.query('INSERT INTO sampled SELECT g, g FROM generate_series(1, 20000) g');
  await maintainTables(db);
  const [column] = await db.query<{ bounds: number }>(
    `SELECT array_length(histogram_bounds, 1) AS bounds FROM pg_stats WHERE tablename = 'sampled' AND attname = 'n'`,
  );
  assert.equal(column!.bounds, EMBEDDED_STATISTICS_TARGET + 1, 'one histogram bucket per unit of the target');
  const dataDir = mkdtempSync(join(tmpdir(), 'sigil-statistics-'));
  try {
    const durable = await openPglite(dataDir);
    try {
      const [setting] = await durable.query<{ target: string }>(`SELECT current_setting('default_statistics_target') AS target`);
      assert.equal(Number(setting!.target), EMBEDDED_STATISTICS_TARGET);
    } finally {
      await durable.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

/** Runs `before` on a durable store, restarts it (which forgets the row counters), and runs `after` on it. */
async function acrossRestart(before: (store: Database) => Promise<void>, after: (store: Database) => Promise<void>): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sigil-maintenance-'));
  try {
    const first = await openPglite(dataDir, { template: false });
    try {
      await before(first);
    } finally {
      await first.close();
    }
    const second = await openPglite(dataDir, { template: false });
    try {
      const counted = await second.query<{ n: number }>('SELECT sum(n_mod_since_analyze)::int AS n FROM pg_stat_user_tables');
      assert.equal(counted[0]!.n, 0, 'the changes were forgotten at the restart');
      await after(second);
    } finally {
      await second.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** `table` alone is due, for what `work` says; one maintenance run leaves it analysed with `rows` rows and nothing due. */
async function maintainedOnce(store: Database, table: string, work: Omit<TableDue, 'table'>, rows: number): Promise<void> {
  assert.deepEqual(await tablesDue(store), [{ table: `public.${table}`, ...work }]);
  await maintainTables(store);
  const [analysed] = await store.query<{ n: number }>('SELECT reltuples::int AS n FROM pg_class WHERE relname = $1', [table]);
  assert.equal(analysed!.n, rows);
  assert.deepEqual(await tablesDue(store), [], 'and once is enough');
}

test('a table filled before a restart is analysed after it', () =>
  acrossRestart(
    async (store) => {
      await store.query('CREATE TABLE filled (id int PRIMARY KEY)');
      await store.query('INSERT INTO filled SELECT generate_series(1, 500)');
    },
    (store) => maintainedOnce(store, 'filled', { vacuum: false, analyze: true }, 500),
  ));

test('rows gained before a restart count against the thresholds by the pages the table grew', () =>
  acrossRestart(
    async (store) => {
      await store.query('CREATE TABLE grown (id int PRIMARY KEY)');
      await store.query('CREATE TABLE barely (id int PRIMARY KEY)');
      await store.query('INSERT INTO grown SELECT generate_series(1, 5000)');
      await store.query('INSERT INTO barely SELECT generate_series(1, 5000)');
      await maintainTables(store);
      assert.deepEqual(await tablesDue(store), []);
      // 3,000 rows: past 1,000 + 20 % of 5,000 (inserts) and 50 + 10 % (changes). 300 rows: under both.
      await store.query('INSERT INTO grown SELECT generate_series(5001, 8000)');
      await store.query('INSERT INTO barely SELECT generate_series(5001, 5300)');
    },
    (store) => maintainedOnce(store, 'grown', { vacuum: true, analyze: true }, 8000),
  ));
