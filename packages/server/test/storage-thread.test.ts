import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiError, throwRefusal } from '../src/http/errors.js';
import { storeProcedure, type Database } from '../src/storage/database.js';
import { openPgliteThread } from '../src/storage/pglite-thread.js';
import { INSERT_ROWS, INSERT_THEN_REFUSE, ROWS_CHANNEL } from './storage-thread-procedures.js';

// The embedded store on its own thread must behave as the in-process one: values, errors,
// transactions and notifications cross the thread boundary unchanged.
let db: Database;
let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sigil-thread-'));
  db = await openPgliteThread(dir);
  await db.query('CREATE TABLE t (id int PRIMARY KEY, at timestamptz, bytes bytea, doc jsonb, big int8)');
});
after(async () => {
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('values cross the thread as PostgreSQL returns them', async () => {
  const at = new Date('2026-01-02T03:04:05.678Z');
  await db.query('INSERT INTO t VALUES ($1, $2, $3, $4, $5)', [
    1,
    at,
    Buffer.from([0, 1, 255]),
    JSON.stringify({ a: [1, 'x'] }),
    '9007199254740993',
  ]);
  const [row] = await db.query<{ id: number; at: Date; bytes: Uint8Array; doc: unknown; big: unknown }>('SELECT * FROM t WHERE id = 1');
  assert.equal(row!.id, 1);
  assert.ok(row!.at instanceof Date);
  assert.equal(row!.at.getTime(), at.getTime());
  assert.deepEqual([...row!.bytes], [0, 1, 255]);
  assert.deepEqual(row!.doc, { a: [1, 'x'] });
  assert.equal(String(row!.big), '9007199254740993');
});

test('a driver error keeps its SQLSTATE and loses the statement data', async () => {
  const err = await db.query('INSERT INTO t (id) VALUES ($1)', [1]).then(
    () => assert.fail('a duplicate key was accepted'),
    (e: unknown) => e as Record<string, unknown>,
  );
  assert.ok(err instanceof Error);
  assert.equal(err.code, '23505');
  assert.equal(err.constraint, 't_pkey');
  for (const field of ['params', 'query', 'detail']) assert.equal(err[field], undefined, `${field} crossed the thread`);
});

test('a transaction commits when its function resolves and rolls back, rethrowing, when it throws', async () => {
  const value = await db.transaction(async (tx) => {
    await tx.query('INSERT INTO t (id) VALUES (2)');
    await tx.exec('INSERT INTO t (id) VALUES (3); INSERT INTO t (id) VALUES (4);');
    return 'done';
  });
  assert.equal(value, 'done');
  const thrown = new Error('changed my mind');
  await assert.rejects(
    db.transaction(async (tx) => {
      await tx.query('INSERT INTO t (id) VALUES (5)');
      throw thrown;
    }),
    (e) => e === thrown,
  );
  await assert.rejects(
    db.transaction(async (tx) => {
      await tx.query('INSERT INTO t (id) VALUES (6)');
      await tx.query('INSERT INTO t (id) VALUES (2)'); // duplicate: the whole transaction goes
    }),
    { code: '23505' },
  );
  const ids = await db.query<{ id: number }>('SELECT id FROM t WHERE id > 1 ORDER BY id');
  assert.deepEqual(
    ids.map((r) => r.id),
    [2, 3, 4],
  );
});

test('transactions from concurrent callers each see only their own work until commit', async () => {
  await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      db.transaction(async (tx) => {
        const [row] = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM t WHERE id = $1', [100 + i]);
        assert.equal(row!.n, 0);
        await tx.query('INSERT INTO t (id) VALUES ($1)', [100 + i]);
      }),
    ),
  );
  const [row] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM t WHERE id >= 100');
  assert.equal(row!.n, 8);
});

test('notifications reach the listener on the main thread, and stop after unsubscribing', async () => {
  const received: string[] = [];
  let arrived: () => void = () => {};
  const first = new Promise<void>((resolve) => (arrived = resolve));
  const unsubscribe = await db.listen('thread_test', (payload) => {
    received.push(payload);
    arrived();
  });
  await db.query("SELECT pg_notify('thread_test', 'hello')");
  await first;
  assert.deepEqual(received, ['hello']);
  await unsubscribe();
  await db.query("SELECT pg_notify('thread_test', 'after')");
  await db.query('SELECT 1'); // a round trip after the notification: it would have arrived by now
  assert.deepEqual(received, ['hello']);
});

test("a store procedure runs on the store's thread; its refusals and the driver's errors come back as they were", async () => {
  assert.equal((await db.runProcedure(INSERT_ROWS, [200, 201])).mainThread, false);
  await assert.rejects(db.runProcedure(INSERT_ROWS, [202, 200]), { code: '23505', constraint: 't_pkey' });
  const refusal = await db.runProcedure(INSERT_THEN_REFUSE, 203);
  assert.deepEqual(refusal, {
    refused: { code: 'request_completed', message: 'MPA request is already timeout', details: { status: 'timeout' } },
  });
  assert.throws(
    () => throwRefusal(refusal),
    (e: unknown) => e instanceof ApiError && e.code === 'request_completed' && e.statusCode === 409 && e.details?.status === 'timeout',
  );
  const ids = await db.query<{ id: number }>('SELECT id FROM t WHERE id >= 200 ORDER BY id');
  assert.deepEqual(
    ids.map((r) => r.id),
    [200, 201, 203],
    'the failed transaction left nothing; the refusing one kept its row',
  );
  const fake = storeProcedure(new URL('./storage-thread-procedures.ts', import.meta.url).href, 'NOT_A_PROCEDURE', async () => 'ran here');
  await assert.rejects(db.runProcedure(fake), /is not a store procedure/);
});

test('procedures that arrive together share a transaction, and each ends as it would have alone', async () => {
  await db.query('INSERT INTO t (id) VALUES (399)');
  const announced = new Set<number>();
  let markerArrived: () => void = () => {};
  const marker = new Promise<void>((resolve) => (markerArrived = resolve));
  const unsubscribe = await db.listen(ROWS_CHANNEL, (payload) => (payload === 'marker' ? markerArrived() : announced.add(Number(payload))));
  const ids = Array.from({ length: 24 }, (_, k) => 400 + k);
  // Every third refuses after its transaction; every other one fails on a duplicate key.
  const outcomes = await Promise.all(
    ids.map((id, k) =>
      k % 3 === 2
        ? db.runProcedure(INSERT_THEN_REFUSE, id)
        : db.runProcedure(INSERT_ROWS, k % 2 === 1 ? [id, 399] : [id]).catch((e: { code?: string }) => e.code),
    ),
  );
  const stored = new Set((await db.query<{ id: number }>('SELECT id FROM t WHERE id >= 400')).map((r) => r.id));
  const txids = new Set<string>();
  ids.forEach((id, k) => {
    const outcome = outcomes[k];
    if (k % 3 === 2)
      assert.ok(outcome && typeof outcome === 'object' && 'refused' in outcome && stored.has(id), `${id}: refused, row kept`);
    else if (k % 2 === 1) assert.ok(outcome === '23505' && !stored.has(id), `${id}: failed alone, nothing kept`);
    else {
      assert.ok(outcome && typeof outcome === 'object' && 'txid' in outcome && stored.has(id), `${id}: committed`);
      txids.add(outcome.txid);
    }
  });
  const committed = ids.filter((_, k) => k % 3 !== 2 && k % 2 === 0);
  assert.ok(txids.size < committed.length, `${committed.length} procedures in ${txids.size} transactions: some shared one`);
  // A procedure's notifications go with its own outcome: a failed one announced its first row before failing.
  await db.query('SELECT pg_notify($1, $2)', [ROWS_CHANNEL, 'marker']);
  await marker;
  await unsubscribe();
  assert.deepEqual([...announced].filter((id) => id >= 400).sort(), committed);
});

test('the data directory stays locked while the thread holds it, and a closed store refuses calls', async () => {
  await assert.rejects(openPgliteThread(dir), /is in use by process/);
  await db.close();
  await assert.rejects(db.query('SELECT 1'), /closed/);
});
