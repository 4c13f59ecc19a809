// An organisation whose webhook endpoints or Slack URLs never answer holds at most half of an
// instance's delivery slots, its test mode included: another organisation's webhooks and
// notifications still go out, however much the first has due and however often it retries by hand.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Api } from '../../../../test/support/api.js';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { createStore, describeEachStore, type TestStore } from '../../../../test/support/stores.js';
import { organisationShare } from '../../src/background/claim-loop.js';
import { createApiKey } from '../../src/tenants/api-keys.js';
import { createTenant } from '../../src/tenants/tenants.js';
import { create, patchDevice, startNotifyServer } from '../notifications/harness.js';
import { pairDevice, Receivers, waitFor, type TestServer } from '../webhooks/harness.js';

const CONCURRENCY = 4;
const SHARE = organisationShare(CONCURRENCY);

describeEachStore('one organisation cannot starve the others of delivery slots', (kind) => {
  let store: TestStore;
  let t: TestServer;
  let other: Api;
  let noisyTest: Api;
  const receivers = new Receivers();
  const noisyDevice = new TestDevice('Noisy phone');
  const otherDevice = new TestDevice('Other phone');
  const noisyTestDevice = new TestDevice('Noisy test phone');

  before(async () => {
    store = await createStore(kind);
    // Attempts that never time out during the test: a slot the noisy organisation takes stays taken.
    t = await startNotifyServer(store, null, {
      webhooks: { concurrency: CONCURRENCY, timeoutMs: 120_000 },
      notifications: { concurrency: CONCURRENCY, timeoutMs: 120_000 },
    });
    other = t.api.withKey((await createApiKey(t.server.db, (await createTenant(t.server.db, 'Other Org')).id, 'other', 'live')).key);
    const [noisy] = await t.server.db.query<{ id: string }>('SELECT tenant_id AS id FROM api_keys LIMIT 1');
    noisyTest = t.api.withKey((await createApiKey(t.server.db, noisy!.id, 'noisy test', 'test')).key);
    await pairDevice(t.api, t.serverId, noisyDevice);
    await pairDevice(noisyTest, t.serverId, noisyTestDevice);
    await pairDevice(other, t.serverId, otherDevice);
  });
  after(async () => {
    await receivers.close(); // drops the held attempts, so the server stops without waiting for them
    await t?.close();
    await store?.dispose();
  });

  test('webhooks: the other organisation is delivered to while the noisy one holds its share', async () => {
    const tarpit = await receivers.start(() => 'hang');
    const healthy = await receivers.start(() => ({ status: 204 }));
    const endpoints: string[] = [];
    for (let i = 0; i < 3; i++) {
      const registered = await t.api.post('/v1/webhooks', { url: tarpit.url, events: ['mpa.created'] });
      assert.equal(registered.status, 201);
      endpoints.push(registered.body.id);
    }
    // Its test mode is the same organisation, with the same share.
    assert.equal((await noisyTest.post('/v1/webhooks', { url: tarpit.url, events: ['mpa.created'] })).status, 201);
    for (let i = 0; i < 3; i++) await create(t.api, [noisyDevice], `Noisy ${i}`);
    for (let i = 0; i < CONCURRENCY; i++) await create(noisyTest, [noisyTestDevice], `Noisy test ${i}`);
    await waitFor(() => tarpit.received.length >= SHARE, 'the noisy organisation to take its share');
    // Bringing every waiting delivery forward by hand takes no more slots.
    let retried = 0;
    for (const endpoint of endpoints) {
      for (const d of (await t.api.get(`/v1/webhooks/${endpoint}/deliveries?status=pending`)).body.data) {
        if ((await t.api.post(`/v1/webhooks/deliveries/${d.id}/retry`)).status === 202) retried++;
      }
    }
    assert.ok(retried >= 9 - SHARE, `the waiting deliveries were retried by hand (${retried})`);

    assert.equal((await other.post('/v1/webhooks', { url: healthy.url, events: ['mpa.created'] })).status, 201);
    const request = await create(other, [otherDevice], 'Other org');
    await waitFor(() => healthy.received.find((r) => r.body.includes(request.id)), "the other organisation's webhook");
    assert.equal(tarpit.received.length, SHARE, `the noisy organisation holds ${SHARE} of ${CONCURRENCY} slots, no more`);
  });

  test('notifications: the other organisation is notified while the noisy one holds its share', async () => {
    const tarpit = await receivers.start(() => 'hang');
    const healthy = await receivers.start(() => ({ status: 200 }));
    assert.equal((await patchDevice(t.api, noisyDevice.fingerprint, { slack_webhook_url: tarpit.url })).status, 200);
    assert.equal((await patchDevice(other, otherDevice.fingerprint, { slack_webhook_url: healthy.url })).status, 200);
    assert.equal((await patchDevice(noisyTest, noisyTestDevice.fingerprint, { slack_webhook_url: tarpit.url })).status, 200);
    for (let i = 0; i < CONCURRENCY; i++) {
      await create(t.api, [noisyDevice], `Noisy message ${i}`);
      await create(noisyTest, [noisyTestDevice], `Noisy test message ${i}`);
    }
    await waitFor(() => tarpit.received.length >= SHARE, 'the noisy organisation to take its share');

    const request = await create(other, [otherDevice], 'Other org message');
    await waitFor(() => healthy.received.find((r) => r.body.includes(request.id)), "the other organisation's Slack message");
    assert.equal(tarpit.received.length, SHARE, `the noisy organisation holds ${SHARE} of ${CONCURRENCY} slots, no more`);
  });
});
