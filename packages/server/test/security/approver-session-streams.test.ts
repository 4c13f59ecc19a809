// Attack: someone holding a copy of an approver's session cookie keeps the approver's event stream
// open, so that signing out (or the session's expiry) does not stop them reading new requests; or
// opens streams on one session without end. A stream lives no longer than its session, and a
// session holds at most MAX_STREAMS_PER_SESSION of them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../../../../test/support/api.js';
import { createStore, describeEachStore, describePostgres, type TestStore } from '../../../../test/support/stores.js';
import { pairPasskey, SoftwarePasskey } from '../../../../test/support/webauthn.js';
import { MAX_STREAMS_PER_SESSION } from '../../src/web/events.js';
import { EventStream } from './helpers.js';

async function pairedPhone(t: TestServer, name: string): Promise<{ phone: SoftwarePasskey; cookie: string }> {
  const phone = SoftwarePasskey.create(t.server.publicOrigin!);
  const paired = await pairPasskey(t.api, (await t.api.post('/v1/pairings', {})).body.code, phone, { name });
  assert.equal(paired.complete?.status, 200, JSON.stringify(paired.complete?.body));
  return { phone, cookie: paired.cookie! };
}

async function openSynced(t: TestServer, cookie: string): Promise<EventStream> {
  const stream = await EventStream.open(t.server.url, cookie);
  await stream.waitFor((e) => e.event === 'sync', 'the first sync');
  return stream;
}

const signOut = (t: TestServer, cookie: string) => fetch(`${t.server.url}/approve/api/logout`, { method: 'POST', headers: { cookie } });

describeEachStore("an approver's event streams end with the session", (kind) => {
  let store: TestStore;
  let t: TestServer;

  before(async () => {
    store = await createStore(kind);
    t = await startTestServer(store);
  });
  after(async () => {
    await t?.close();
    await store?.dispose();
  });

  test('signing out ends every stream of the session, and no other session', async () => {
    const { cookie } = await pairedPhone(t, "Alice's phone");
    const other = await pairedPhone(t, "Bob's phone");
    const streams = [await openSynced(t, cookie), await openSynced(t, cookie)];
    const bobs = await openSynced(t, other.cookie);
    try {
      assert.equal((await signOut(t, cookie)).status, 200);
      for (const stream of streams)
        await assert.rejects(
          stream.waitFor(() => false, 'the end of the stream'),
          /the stream ended/,
        );
      assert.equal(bobs.events.length, 1, "Bob's stream stays open");
      assert.equal(bobs.ended, null);
      assert.equal((await fetch(`${t.server.url}/approve/events`, { headers: { cookie } })).status, 401);
    } finally {
      for (const stream of [...streams, bobs]) stream.close();
    }
  });

  test(`a session holds at most ${MAX_STREAMS_PER_SESSION} streams: one more ends the oldest`, async () => {
    const { cookie } = await pairedPhone(t, "Carol's phone");
    const streams: EventStream[] = [];
    try {
      for (let i = 0; i < MAX_STREAMS_PER_SESSION; i++) streams.push(await openSynced(t, cookie));
      streams.push(await openSynced(t, cookie));
      await assert.rejects(
        streams[0]!.waitFor(() => false, 'the end of the oldest stream'),
        /the stream ended/,
      );
      for (const stream of streams.slice(1)) assert.equal(stream.ended, null, 'the others stay open');
    } finally {
      for (const stream of streams) stream.close();
    }
  });
});

describePostgres('signing out on one instance ends the stream on another', () => {
  let store: TestStore;
  let first: TestServer;
  let second: TestServer;

  before(async () => {
    store = await createStore('postgres');
    first = await startTestServer(store);
    second = await startTestServer(store, { apiKey: first.api.apiKey });
  });
  after(async () => {
    await second?.close();
    await first?.close();
    await store?.dispose();
  });

  test('the stream on the second instance ends when the first signs the session out', async () => {
    const { cookie } = await pairedPhone(first, "Dave's phone");
    const stream = await openSynced(second, cookie);
    try {
      assert.equal((await signOut(first, cookie)).status, 200);
      await assert.rejects(
        stream.waitFor(() => false, 'the end of the stream'),
        /the stream ended/,
      );
    } finally {
      stream.close();
    }
  });
});
