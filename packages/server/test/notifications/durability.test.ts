// Notifications survive a restart: queued while the push service and SMTP server are down, the
// server stops, starts again on the same store, and each notification arrives exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { createStore } from '../../../../test/support/stores.js';
import { create, notificationLog, pairDevice, patchDevice, startLoopback, startNotifyServer, waitFor, type TestServer } from './harness.js';

test('queued notifications are sent after a restart, once each', async () => {
  const store = await createStore('pglite');
  const lo = await startLoopback();
  const device = new TestDevice('Grace phone');
  let t: TestServer | null = await startNotifyServer(store, lo.smtp.url);
  try {
    const apiKey = t.api.apiKey;
    await pairDevice(t.api, t.serverId, device);
    await patchDevice(t.api, device.fingerprint, { push_subscription: lo.push.subscribe(), email: 'grace@example.test' });
    await lo.push.pause();
    await lo.smtp.pause();
    const request = await create(t.api, [device], 'Restart test');
    const api1 = t.api;
    await waitFor(async () => {
      const rows = await notificationLog(api1, request.id);
      return rows.length === 2 && rows.every((r) => r.attempts.length >= 1 && r.status === 'queued');
    }, 'a failed attempt each');
    await t.close();
    t = null;
    await lo.push.resume();
    await lo.smtp.resume();
    t = await startNotifyServer(store, lo.smtp.url, {}, apiKey);
    const api2 = t.api;
    await waitFor(
      async () => (await notificationLog(api2, request.id)).every((r) => r.status === 'delivered' || r.status === 'sent'),
      'both notifications after the restart',
    );
    assert.equal(lo.push.messages.filter((m) => m.payload.request_id === request.id).length, 1);
    assert.equal(lo.smtp.mails.filter((m) => m.text.includes(request.id)).length, 1);
  } finally {
    await t?.close();
    await lo.close();
    await store.dispose();
  }
});

test('news of a request that expired while its notification waited is not sent, on any channel', async () => {
  const store = await createStore('pglite');
  const lo = await startLoopback();
  const device = new TestDevice('Heidi laptop');
  const clock = { ahead: 0 };
  const t = await startNotifyServer(store, lo.smtp.url, { clock: () => Date.now() + clock.ahead });
  try {
    await pairDevice(t.api, t.serverId, device);
    await patchDevice(t.api, device.fingerprint, { email: 'heidi@example.test' });
    await lo.smtp.pause();
    const request = await create(t.api, [device], 'Expires while the relay is down', 60);
    await waitFor(async () => (await notificationLog(t.api, request.id)).some((r) => r.attempts.length >= 1), 'a failed attempt');
    clock.ahead = 61_000;
    await lo.smtp.resume();
    // The request's timeout has news of its own (an outcome, which keeps for a day): only the 'created' one is judged here.
    const created = await waitFor(async () => {
      const row = (await notificationLog(t.api, request.id)).find((r) => r.kind === 'created');
      return row && row.status !== 'queued' ? row : null;
    }, 'the notification to be settled');
    assert.deepEqual([created.status, created.reason], ['failed', 'the request expired before the notification could be sent']);
    const announced = lo.smtp.mails.filter(
      (m) => m.text.includes(request.id) && m.headers.get('subject')?.endsWith('is requesting approval'),
    );
    assert.equal(announced.length, 0, 'no mail announcing an expired request');
  } finally {
    await t.close();
    await lo.close();
    await store.dispose();
  }
});
