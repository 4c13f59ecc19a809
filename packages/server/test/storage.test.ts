import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs, { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPglite } from '../src/storage/pglite.js';
import { openStorage } from '../src/storage/open.js';

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
