// Two `sigil serve` processes on one PostgreSQL database: every delivery attempt is made by
// exactly one of them, and per request the events arrive in order.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { actionDigest } from '@sigilauth/protocol';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { startSigil, type SigilProcess } from '../../../../test/support/processes.js';
import { queryStore } from '../../../../test/support/sql.js';
import { createStore, describePostgres, type TestStore } from '../../../../test/support/stores.js';
import { Api, oneGroupRequest, pairDevice, Receiver, waitFor } from './harness.js';

const REQUESTS = 30;

describePostgres('two instances on one PostgreSQL', () => {
  let store: TestStore;
  const processes: SigilProcess[] = [];
  let rx: Receiver;

  before(async () => {
    store = await createStore('postgres');
    rx = await Receiver.start(() => ({ status: 200 }));
  });
  after(async () => {
    for (const p of processes) await p.stop();
    await rx?.close();
    await store?.dispose();
  });

  test('never deliver one attempt twice; created before approved or cancelled', { timeout: 120_000 }, async () => {
    const env = { SIGIL_WEBHOOK_ALLOW_PRIVATE: 'true' };
    const a = await startSigil(store, env);
    processes.push(a);
    const b = await startSigil(store, env);
    processes.push(b);
    const apiA = new Api(a.url, a.apiKey!);
    const apiB = new Api(b.url, a.apiKey!);
    const serverId = (await apiA.get('/v1/info')).body.server_id;
    assert.equal((await apiA.post('/v1/webhooks', { url: rx.url })).status, 201);
    const device = new TestDevice('Erin');
    await pairDevice(apiB, serverId, device);

    const requestIds: string[] = [];
    await Promise.all(
      Array.from({ length: REQUESTS }, async (_, i) => {
        const api = i % 2 === 0 ? apiA : apiB;
        const created = await api.post('/v1/mpa/requests', oneGroupRequest(device, `Request ${i}`));
        assert.equal(created.status, 201);
        const id: string = created.body.request_id;
        requestIds.push(id);
        if (i % 3 === 0) {
          assert.equal((await api.post(`/v1/mpa/requests/${id}/cancel`)).status, 200);
        } else {
          const decision = device.decisionBody(serverId, id, actionDigest(created.body.action), i % 3 === 1 ? 'approve' : 'deny');
          assert.equal((await (i % 2 === 0 ? apiB : apiA).withKey(null).post(`/v1/mpa/requests/${id}/decisions`, decision)).status, 200);
        }
      }),
    );
    const expected = 1 + 2 * REQUESTS; // device.paired, then created + outcome per request
    // Wait until every delivery's result is recorded: none is pending, in flight or due again.
    // A claim counts its attempt before sending, so one attempt each means none was sent twice.
    const rows = await waitFor(
      async () => {
        const all = await queryStore<{ status: string; attempts: number; recorded: number }>(
          store,
          'SELECT status, attempts, (SELECT count(*)::int FROM webhook_attempts a WHERE a.delivery_id = d.id) AS recorded FROM webhook_deliveries d',
        );
        return all.length === expected && all.every((row) => row.status !== 'pending') ? all : null;
      },
      `${expected} deliveries recorded`,
      60_000,
    );
    for (const row of rows) assert.deepEqual(row, { status: 'succeeded', attempts: 1, recorded: 1 });
    const perId = new Map<string, number>();
    for (const r of rx.received) perId.set(r.id, (perId.get(r.id) ?? 0) + 1);
    assert.equal(perId.size, expected);
    assert.deepEqual(
      [...perId.values()].filter((n) => n !== 1),
      [],
      'each webhook-id exactly once',
    );
    assert.equal(rx.accepted().size, expected);

    for (const id of requestIds) {
      const types = rx.received
        .map((r) => JSON.parse(r.body))
        .filter((e) => e.request_id === id)
        .map((e) => e.type);
      assert.equal(types.length, 2);
      assert.equal(types[0], 'mpa.created', `${id}: ${types.join(', ')}`);
    }
  });
});
