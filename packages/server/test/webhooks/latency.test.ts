// Decision-to-webhook latency: from sending a device's approval to the receiver getting
// mpa.approved, reported as a diagnostic (performance targets are checked by `npm run bench`).
// What is asserted is how a delivery starts: with the fallback poll an hour away, every webhook
// that arrives was sent on the database notification of its event.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { actionDigest } from '@sigilauth/protocol';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { createStore, describeEachStore, type TestStore } from '../../../../test/support/stores.js';
import { oneGroupRequest, pairDevice, Receiver, startWebhookServer, waitFor, type TestServer } from './harness.js';

const SAMPLES = 10;
const WARMUP = 2;

describeEachStore('decision-to-webhook latency', (kind) => {
  let store: TestStore;
  let t: TestServer;
  let rx: Receiver;
  const device = new TestDevice('Heidi');

  before(async () => {
    store = await createStore(kind);
    t = await startWebhookServer(store, { webhooks: { pollIntervalMs: 3_600_000 } });
    rx = await Receiver.start(() => ({ status: 204 }));
    await pairDevice(t.api, t.serverId, device);
    assert.equal((await t.api.post('/v1/webhooks', { url: rx.url, events: ['mpa.approved'] })).status, 201);
  });
  after(async () => {
    await t?.close();
    await rx?.close();
    await store?.dispose();
  });

  test(
    `each approval's webhook is sent on the notification, no poll; p50 and p99 over ${SAMPLES} reported`,
    { timeout: 600_000 },
    async (ctx) => {
      const latencies: number[] = [];
      for (let i = -WARMUP; i < SAMPLES; i++) {
        const created = (await t.api.post('/v1/mpa/requests', oneGroupRequest(device, `Request ${i}`))).body;
        const body = device.decisionBody(t.serverId, created.request_id, actionDigest(created.action), 'approve');
        const sent = Date.now();
        const decided = t.api.withKey(null).post(`/v1/mpa/requests/${created.request_id}/decisions`, body);
        const got = await waitFor(
          () => rx.received.find((r) => JSON.parse(r.body).request_id === created.request_id),
          'the webhook',
          60_000,
          1,
        );
        if (i >= 0) latencies.push(got.at - sent);
        assert.equal((await decided).status, 200);
      }
      latencies.sort((a, b) => a - b);
      const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)]!;
      const line = `${kind}: decision-to-webhook p50 ${pct(50)} ms, p99 ${pct(99)} ms, max ${latencies.at(-1)} ms (${SAMPLES} samples)`;
      ctx.diagnostic(line);
      process.stderr.write(`${line}\n`);
    },
  );
});
