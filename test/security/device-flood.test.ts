// Attack: lock a device out by flooding it with pending requests. Before pagination the whole
// pending set went to the device in one `sync` message; about 1,100 large requests made it larger
// than the device accepts (8 MiB) and the device could no longer list or decide anything.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import type { DeviceRequestView, ServerMessage } from '@sigilauth/protocol/wire';
import {
  authMessage,
  fetchPendingRequests,
  MAX_SERVER_MESSAGE_BYTES,
  submitDecision,
  verifyServerMessage,
} from '../../packages/device/src/index.js';
import type { DeviceKey, PairedServer } from '../../packages/device/src/keystore.js';
import { openSession } from '../../packages/server/src/web/sessions.js';
import { type Api, pairDevice, startTestServer, type TestServer } from '../support/api.js';
import { TestDevice } from '../support/device-keys.js';
import { createStore, describeEachStore, type TestStore } from '../support/stores.js';

/** Far below the device's limit: a page is at most 20 requests of at most about 10 KiB. */
const PAGE_BYTES_BOUND = 300 * 1024;
const FLOOD = 1_100;

/** An action of about 8 KB, close to the 8192-byte limit. */
function bigAction(i: number) {
  const params: Record<string, string> = {};
  for (const k of ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf']) params[k] = `${k} ${i} ${'y'.repeat(980)}`;
  return { type: 'flood', description: `Flood request ${i} ${'x'.repeat(800)}`, params };
}

function deviceKeyOf(device: TestDevice): DeviceKey {
  return { privateKey: device.privateKey, publicKey: device.publicKey, fingerprint: device.fingerprint, path: '(memory)', created: false };
}

function pairedServer(t: TestServer): PairedServer {
  return {
    url: t.server.url,
    server_id: t.serverId,
    server_public_key: t.server.identity.publicKey,
    org_name: 'Acme Corp',
    tenant_id: '',
    device_name: 'flooded',
    pairing_id: '',
    paired_at: new Date().toISOString(),
  };
}

async function createMany(api: Api, count: number, body: (i: number) => unknown, parallel = 8): Promise<string[]> {
  const ids: string[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const i = next++;
        const res = await api.post('/v1/mpa/requests', body(i));
        assert.equal(res.status, 201, JSON.stringify(res.body));
        ids[i] = res.body.request_id;
      }
    }),
  );
  return ids;
}

/** Reads a whole sync over a raw WebSocket, page by page, returning every message's size and the views. */
async function readSyncPages(t: TestServer, key: DeviceKey): Promise<{ sizes: number[]; views: DeviceRequestView[] }> {
  const server = pairedServer(t);
  const ws = new WebSocket(`${t.server.url.replace(/^http/, 'ws')}/v1/device/ws`, { maxPayload: MAX_SERVER_MESSAGE_BYTES });
  const sizes: number[] = [];
  const views: DeviceRequestView[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      ws.on('error', reject);
      ws.on('close', (code) => reject(new Error(`closed ${code}`)));
      ws.on('message', (data: Buffer) => {
        try {
          const message = verifyServerMessage(data, server, { fingerprint: key.fingerprint }) as ServerMessage;
          if (message.type === 'challenge') return void ws.send(JSON.stringify(authMessage(server, key, message.nonce)));
          if (message.type !== 'sync') return;
          sizes.push(data.length);
          views.push(...message.requests);
          if (message.next_cursor === null) resolve();
          else ws.send(JSON.stringify({ type: 'sync', cursor: message.next_cursor }));
        } catch (err) {
          reject(err as Error);
        }
      });
    });
  } finally {
    ws.removeAllListeners('close');
    ws.terminate();
  }
  return { sizes, views };
}

/** The first `sync` event of the web approver's event stream, and its size. */
async function firstSseSync(
  url: string,
  cookie: string,
): Promise<{ size: number; data: { requests: DeviceRequestView[]; next_cursor: string | null } }> {
  const controller = new AbortController();
  const res = await fetch(`${url}/approve/events`, { headers: { cookie }, signal: controller.signal });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  let text = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error('the event stream ended before a sync');
      text += Buffer.from(value).toString('utf8');
      const match = text.match(/event: sync\ndata: (.*)\n\n/);
      if (match) return { size: Buffer.byteLength(match[1]!), data: JSON.parse(match[1]!) };
    }
  } finally {
    controller.abort();
  }
}

describeEachStore('attack: flooding a device with pending requests', (kind) => {
  let store: TestStore;
  let t: TestServer;
  const device = new TestDevice('flooded device');
  const key = deviceKeyOf(device);
  const group = () => [{ name: 'Ops', approvers: [device.approver] }];
  let floodIds: string[] = [];
  let legitimate = '';

  before(async () => {
    store = await createStore(kind);
    // A quota above the flood: this is the attack as it was, before quotas existed.
    t = await startTestServer(store, { config: { maxPendingPerDevice: 5_000 } });
    await pairDevice(t.api, t.serverId, device);
    floodIds = await createMany(t.api, FLOOD, (i) => ({ required: 1, groups: group(), action: bigAction(i), expires_in_seconds: 900 }));
    const res = await t.api.post('/v1/mpa/requests', {
      required: 1,
      groups: group(),
      action: { type: 'cold_boot', description: 'Cold boot engine ENG-001', params: { engine_id: 'ENG-001' } },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    legitimate = res.body.request_id;
  });
  after(async () => {
    await t?.close();
    await store?.dispose();
  });

  test('the device sync comes in pages far below the device limit, newest first, and reaches every request', async () => {
    const { sizes, views } = await readSyncPages(t, key);
    assert.ok(sizes.length > 50, `${sizes.length} pages`);
    for (const size of sizes) assert.ok(size < PAGE_BYTES_BOUND, `a sync page of ${size} bytes`);
    assert.equal(views[0]!.request_id, legitimate, 'the newest request comes first');
    const ids = new Set(views.map((v) => v.request_id));
    assert.equal(ids.size, views.length, 'no request twice');
    assert.equal(ids.size, FLOOD + 1);
    for (const id of floodIds) assert.ok(ids.has(id));
  });

  test('sigil-device still lists the flooded inbox and decides on the newest legitimate request', async () => {
    const server = pairedServer(t);
    const views = await fetchPendingRequests(server, key, { timeoutMs: 60_000 });
    assert.equal(views.length, FLOOD + 1);
    assert.equal(views[0]!.request_id, legitimate);
    const decided = await submitDecision(server, key, views[0]!, 'approve');
    assert.equal(decided.status, 'approved');
  });

  test("the web approver's event stream and request list are paged the same way", async () => {
    const [tenant] = await t.server.db.query<{ id: string }>('SELECT id FROM tenants LIMIT 1');
    const cookie = `sigil_approver=${await openSession(t.server.db, tenant!.id, device.fingerprint, Date.now())}`;
    const sse = await firstSseSync(t.server.url, cookie);
    assert.ok(sse.size < PAGE_BYTES_BOUND, `sync event of ${sse.size} bytes`);
    assert.ok(sse.data.next_cursor !== null && sse.data.requests.length > 0);
    const seen = new Set<string>();
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await fetch(`${t.server.url}/approve/api/requests${cursor ? `?cursor=${cursor}` : ''}`, { headers: { cookie } });
      const text = await res.text();
      assert.equal(res.status, 200, text);
      assert.ok(Buffer.byteLength(text) < PAGE_BYTES_BOUND, `a page of ${Buffer.byteLength(text)} bytes`);
      const page = JSON.parse(text) as { requests: DeviceRequestView[]; next_cursor: string | null };
      for (const view of page.requests) seen.add(view.request_id);
      cursor = page.next_cursor;
      pages++;
    } while (cursor !== null);
    assert.ok(pages > 50);
    // The legitimate request was approved in the test above; every flood request is still listed.
    assert.equal(seen.size, FLOOD);
    const bad = await fetch(`${t.server.url}/approve/api/requests?cursor=not-a-cursor`, { headers: { cookie } });
    assert.equal(bad.status, 400);
  });
});

describeEachStore('attack: flooding a device, against the default pending quota', (kind) => {
  let store: TestStore;
  let t: TestServer;
  const flooded = new TestDevice('flooded');
  const other = new TestDevice('other');
  const small = (approver: TestDevice, i: number) => ({
    required: 1,
    groups: [{ name: 'Ops', approvers: [approver.approver] }],
    action: { type: 'flood', description: `Request ${i}` },
  });

  before(async () => {
    store = await createStore(kind);
    t = await startTestServer(store);
    await pairDevice(t.api, t.serverId, flooded);
    await pairDevice(t.api, t.serverId, other);
  });
  after(async () => {
    await t?.close();
    await store?.dispose();
  });

  test('the 101st pending request for one device is refused with 429 and Retry-After; other devices and freed slots are unaffected', async () => {
    const ids = await createMany(t.api, 100, (i) => small(flooded, i));
    const refused = await t.api.post('/v1/mpa/requests', small(flooded, 100));
    assert.equal(refused.status, 429, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'too_many_pending_requests');
    assert.match(
      refused.body.error.message,
      new RegExp(`^Device ${flooded.fingerprint} already has 100 pending requests from this organisation`),
    );
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 300, `Retry-After ${retryAfter}`);
    // A request naming the flooded device with another is refused as a whole: nothing is written.
    const both = await t.api.post('/v1/mpa/requests', {
      ...small(flooded, 101),
      groups: [{ name: 'Ops', approvers: [flooded.approver, other.approver] }],
    });
    assert.equal(both.status, 429);
    assert.equal((await t.api.get(`/v1/mpa/requests?status=pending&limit=100`)).body.data.length, 100);
    // Another device of the organisation is not affected.
    assert.equal((await t.api.post('/v1/mpa/requests', small(other, 0))).status, 201);
    // Once one of the flooded device's requests is no longer pending, there is room again.
    assert.equal((await t.api.post(`/v1/mpa/requests/${ids[0]}/cancel`)).status, 200);
    assert.equal((await t.api.post('/v1/mpa/requests', small(flooded, 102))).status, 201);
    assert.equal((await t.api.post('/v1/mpa/requests', small(flooded, 103))).status, 429);
  });

  test('requests created at once cannot together exceed the quota', async () => {
    const device = new TestDevice('raced');
    await pairDevice(t.api, t.serverId, device);
    await createMany(t.api, 90, (i) => small(device, i));
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => t.api.post('/v1/mpa/requests', small(device, 90 + i))));
    assert.equal(results.filter((r) => r.status === 201).length, 10);
    assert.equal(results.filter((r) => r.status === 429).length, 20);
  });
});
