// The embedded store registers PostgreSQL's own array types from a list (storage/pglite-array-types.ts)
// instead of reading them from the catalog at every open, as PGlite does: the list must be the
// catalog's, and arrays must convert as PGlite's own catalog read makes them convert.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PGlite } from '@electric-sql/pglite';
import type { Database } from '../src/storage/database.js';
import { openPglite } from '../src/storage/pglite.js';
import { BUILTIN_ARRAY_TYPES } from '../src/storage/pglite-array-types.js';

let db: Database;
let reference: PGlite;
before(async () => {
  db = await openPglite(undefined);
  reference = await PGlite.create(); // reads the array types from its catalog
});
after(async () => {
  await db?.close();
  await reference?.close();
});

test('the list is every array type of a type PostgreSQL defines itself, as the catalog has them', async () => {
  const catalog = await db.query<{ element: number; array: number }>(
    `SELECT e.oid::int AS element, e.typarray::int AS array
       FROM pg_catalog.pg_type e
      WHERE e.oid < 10000 AND e.typarray <> 0
        AND EXISTS (SELECT 1 FROM pg_catalog.pg_type a WHERE a.oid = e.typarray AND a.typcategory = 'A')
      ORDER BY e.oid`,
  );
  const listed = [];
  for (let i = 0; i < BUILTIN_ARRAY_TYPES.length; i += 2)
    listed.push({ element: BUILTIN_ARRAY_TYPES[i], array: BUILTIN_ARRAY_TYPES[i + 1] });
  assert.ok(catalog.length > 80);
  assert.deepEqual(listed, catalog);
});

test('arrays of every kind the server sends and reads convert as with PGlite’s own catalog read', async () => {
  const statement = `SELECT $1::text[] AS words, $2::int[] AS nums, $3::uuid[] AS ids, $4::timestamptz[] AS times, $5::bool[] AS flags,
                            $6::bigint[] AS bigs, $7::float8[] AS floats, $8::jsonb[] AS docs, $9::text[] AS nothing,
                            ARRAY[ARRAY[1, 2], ARRAY[3, 4]] AS grid, ARRAY['a,b', 'c"d', NULL, '{e}']::text[] AS awkward`;
  const params = [
    ['a', 'b c', ''],
    [1, -2, 3],
    ['6f1c1e0c-8a43-4d2b-9a38-8d0f3f1b2a11'],
    [new Date('2026-12-07T09:00:00.123Z')],
    [true, false],
    [2n ** 40n],
    [1.5, -0.25],
    [JSON.stringify({ k: [1, 'x'] })],
    null,
  ];
  const ours = await db.query(statement, params);
  const theirs = (await reference.query(statement, params)).rows;
  assert.deepEqual(ours, theirs);
  assert.deepEqual((ours[0] as { words: unknown }).words, ['a', 'b c', '']); // an array, not its text
});
