// The server builds its HTTP app while the store opens (server.ts): what the app asks of the
// store waits for it (whenOpen), the identity is read once the store is open (lateServerIdentity),
// and a store that cannot open fails the start with its own error.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/app.js';
import { lateServerIdentity, loadServerIdentity } from '../src/identity/server-identity.js';
import { createMetrics } from '../src/metrics.js';
import { startServer } from '../src/server.js';
import type { Database } from '../src/storage/database.js';
import { openStorage, whenOpen } from '../src/storage/open.js';
import { DELIVERY_CHANNEL } from '../src/webhooks/deliveries.js';
import { freePort } from '../../../test/support/processes.js';

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

let dir: string;
let db: Database;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sigil-start-'));
  db = await openStorage({ dataDir: dir });
});
after(async () => {
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a store used while it opens', () => {
  test('calls made before it is open wait for it, then reach it', async () => {
    const opening = deferred<Database>();
    const pending = whenOpen('pglite', opening.promise);
    assert.deepEqual(pending.poolStats(), { total: 0, idle: 0, waiting: 0 }, 'no connections before it is open');
    let answered = false;
    const early = pending.query<{ n: number }>('SELECT 41 + 1 AS n').then((rows) => {
      answered = true;
      return rows;
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(answered, false, 'the query waits for the store');
    opening.resolve(db);
    assert.deepEqual(await early, [{ n: 42 }]);
    assert.equal(await pending.transaction(async (tx) => (await tx.query<{ n: number }>('SELECT 7 AS n'))[0]?.n), 7);
    assert.deepEqual(pending.poolStats(), db.poolStats(), 'once open, the store answers for itself');
  });

  test('when the store cannot open, every call fails with the reason', async () => {
    const opening = deferred<Database>();
    const pending = whenOpen('postgres', opening.promise);
    const calls = [pending.query('SELECT 1'), pending.listen('anything', () => {}), pending.close()];
    opening.reject(new Error('the data directory is in use'));
    for (const call of calls) await assert.rejects(call, /the data directory is in use/);
  });
});

describe("the server's identity, read once the store is open", () => {
  test('reading it before it is loaded is refused; afterwards it is the stored identity', async () => {
    const late = lateServerIdentity();
    assert.throws(() => late.identity.serverId, /read before the store was open/);
    assert.throws(() => late.identity.signMessage({ purpose: 'server-message' } as never), /read before the store was open/);
    const loaded = await late.load(db);
    const stored = await loadServerIdentity(db);
    assert.equal(late.identity.serverId, stored.serverId);
    assert.equal(late.identity.publicKey, stored.publicKey);
    assert.deepEqual(late.identity.pictogram, stored.pictogram);
    assert.equal(loaded.serverId, stored.serverId);
  });
});

test('the app is built while the store is still opening, and subscribes to it once ready', async () => {
  const opening = deferred<Database>();
  const pending = whenOpen('pglite', opening.promise);
  const late = lateServerIdentity();
  // A plugin that waited for the store here would hold the build until Fastify's plugin timeout.
  const { app, gateway } = await buildApp({ db: pending, identity: late.identity, metrics: createMetrics(pending), logger: false });
  const channels: string[] = [];
  const recording: Database = {
    kind: db.kind,
    query: (sql, params) => db.query(sql, params),
    write: (sql, params) => db.write(sql, params),
    notifyOnCommit: (sql, params) => db.notifyOnCommit(sql, params),
    transaction: (fn) => db.transaction(fn),
    runProcedure: (procedure, ...args) => db.runProcedure(procedure, ...args),
    listen: (channel, handler) => {
      channels.push(channel);
      return db.listen(channel, handler);
    },
    poolStats: () => db.poolStats(),
    conflictRetries: () => db.conflictRetries(),
    close: () => db.close(),
  };
  opening.resolve(recording);
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  assert.deepEqual(channels, [], 'nothing subscribes while the app is only built');
  try {
    await app.ready();
    assert.ok(channels.length >= 2, `the approver events and the device fan-out subscribe once ready (${channels.join(', ')})`);
  } finally {
    await gateway.stop();
    await app.close();
  }
});

test('a start whose store cannot open fails with the store’s own error', async () => {
  await assert.rejects(startServer({ host: '127.0.0.1', port: 0, dataDir: dir, logLevel: 'silent' }), /is in use by process/);
  assert.deepEqual(await db.query<{ n: number }>('SELECT 1 AS n'), [{ n: 1 }], 'the store that holds the directory is untouched');
});

test('a start that fails after it listens stops everything it had started, and closes the store', async () => {
  const port = await freePort();
  // Timers and listening sockets: what a background task or a listener outliving the start would hold.
  const resources = () =>
    process
      .getActiveResourcesInfo()
      .filter((r) => r === 'Timeout' || r === 'TCPServerWrap')
      .sort();
  await new Promise((resolve) => setImmediate(resolve));
  const before = resources();
  let closed = false;
  const refusing: Database = {
    kind: db.kind,
    query: (sql, params) => db.query(sql, params),
    write: (sql, params) => db.write(sql, params),
    notifyOnCommit: (sql, params) => db.notifyOnCommit(sql, params),
    transaction: (fn) => db.transaction(fn),
    runProcedure: (procedure, ...args) => db.runProcedure(procedure, ...args),
    // The webhook worker cannot subscribe; the app and the notification worker already have.
    listen: (channel, handler) =>
      channel === DELIVERY_CHANNEL ? Promise.reject(new Error('LISTEN refused')) : db.listen(channel, handler),
    poolStats: () => db.poolStats(),
    conflictRetries: () => db.conflictRetries(),
    close: async () => void (closed = true),
  };
  await assert.rejects(
    startServer({ host: '127.0.0.1', port, dataDir: dir, logLevel: 'silent' }, Promise.resolve(refusing)),
    /LISTEN refused/,
  );
  assert.ok(closed, 'the store is closed');
  const left = resources();
  for (const kind of new Set([...before, ...left]))
    assert.ok(
      left.filter((r) => r === kind).length <= before.filter((r) => r === kind).length,
      `no ${kind} is left behind (${left.join(', ')})`,
    );
  await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`), 'nothing listens on the port any more');
});
