import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs, { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { migrate } from '../src/storage/migrate.js';
import { openPglite } from '../src/storage/pglite.js';
import { openStorage } from '../src/storage/open.js';
import { loadTemplate, TEMPLATE_FILE } from '../src/storage/pglite-template.js';

test('the sources find the build-time template, so tests open new stores as an installed server does', () => {
  assert.match(TEMPLATE_FILE, /[/\\]packages[/\\]server[/\\]dist[/\\]pgdata-template\.tar\.gz$/);
  assert.ok(loadTemplate(), `${TEMPLATE_FILE} is made by npm run build for this PGlite build`);
});

test('a new embedded store is unpacked with the whole schema and no data', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-template-'));
  const db = await openPglite(dir);
  try {
    assert.deepEqual(await migrate(db), [], 'every migration is already applied');
    const tables = await db.query<{ name: string }>(
      "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations' ORDER BY 1",
    );
    assert.ok(
      tables.some((t) => t.name === 'tenants') && tables.length > 10,
      `the schema's tables: ${tables.map((t) => t.name).join(', ')}`,
    );
    for (const { name } of tables) {
      assert.deepEqual(await db.query(`SELECT count(*)::int AS n FROM "${name}"`), [{ n: 0 }], `${name} is empty`);
    }
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the embedded store syncs every commit to disk', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-durable-'));
  const db = await openPglite(dir);
  const realFsync = fs.fsyncSync;
  let syncs = 0;
  fs.fsyncSync = (fd) => {
    syncs++;
    realFsync(fd);
  };
  try {
    assert.deepEqual(await db.query('SHOW fsync'), [{ fsync: 'on' }]);
    assert.deepEqual(await db.query('SHOW wal_sync_method'), [{ wal_sync_method: 'fsync' }]);
    await db.query('CREATE TABLE t (x int)');
    syncs = 0;
    for (let i = 0; i < 10; i++) await db.query('INSERT INTO t VALUES ($1)', [i]);
    assert.ok(syncs >= 10, `expected an fsync per commit, saw ${syncs}`);
  } finally {
    fs.fsyncSync = realFsync;
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('one data directory is opened by one process at a time', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-lock-'));
  const db = await openStorage({ dataDir: dir });
  try {
    await assert.rejects(openStorage({ dataDir: dir }), /is in use by process/);
  } finally {
    await db.close();
  }
  const again = await openStorage({ dataDir: dir });
  await again.close();
  rmSync(dir, { recursive: true, force: true });
});

test('migrations are recorded and applied once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-migrate-'));
  const db = await openStorage({ dataDir: dir });
  const first = await db.query<{ version: string }>('SELECT version FROM schema_migrations ORDER BY version');
  assert.ok(first.some((m) => m.version === '001_init'));
  await db.close();
  const reopened = await openStorage({ dataDir: dir });
  assert.deepEqual(await reopened.query('SELECT version FROM schema_migrations ORDER BY version'), first);
  await reopened.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a migration file runs whole, so a dollar-quoted function body with semicolons survives', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-migrations-'));
  writeFileSync(
    join(dir, '001_function.sql'),
    `CREATE TABLE counters (n int NOT NULL);
CREATE FUNCTION bump() RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  result int;
BEGIN
  INSERT INTO counters VALUES (1);
  SELECT count(*) INTO result FROM counters;
  RETURN result;
END;
$$;
DO $body$
BEGIN
  PERFORM bump();
END;
$body$;
`,
  );
  const db = await openPglite(undefined);
  try {
    assert.deepEqual(await migrate(db, { dir: pathToFileURL(`${dir}/`) }), ['001_function']);
    assert.deepEqual(await db.query('SELECT bump() AS n'), [{ n: 2 }], 'the DO block ran bump() once, this call is the second');
    assert.deepEqual(await migrate(db, { dir: pathToFileURL(`${dir}/`) }), [], 'a recorded migration is not applied again');
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
