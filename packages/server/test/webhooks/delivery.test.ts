// Webhook delivery end to end on both stores, in process: a loopback receiver, fast retries.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import { verifyWebhook } from '@sigilauth/protocol';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { describeEachStore, type TestStore } from '../../../../test/support/stores.js';
import { createAndApprove, pairDevice, Receivers, startWebhookServer, startWithDevice, waitFor, type TestServer } from './harness.js';

describeEachStore('webhook delivery', (kind) => {
  let store: TestStore;
  let t: TestServer;
  const device = new TestDevice('Alice phone');
  const receivers = new Receivers();
  const receiver: Receivers['start'] = (...args) => receivers.start(...args);
  /** Registers an endpoint and returns it with its secret. */
  const register = async (url: string, extra: Record<string, unknown> = {}) => {
    const res = await t.api.post('/v1/webhooks', { url, ...extra });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { id: string; secret: string; url: string; events: string[] | null; enabled: boolean };
  };
  const disable = (id: string) => t.api.request('PATCH', `/v1/webhooks/${id}`, { enabled: false });

  before(async () => {
    ({ store, t } = await startWithDevice(kind, device));
  });
  after(async () => {
    await t?.close();
    await receivers.close();
    await store?.dispose();
  });

  test('a receiver that fails 3 times then succeeds gets every event exactly once, in order, verified by standardwebhooks', async () => {
    const rx = await receiver(({ attempt }) => (attempt <= 3 ? { status: 500 } : { status: 200 }));
    const endpoint = await register(rx.url, { description: 'flaky' });
    assert.match(endpoint.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    const ids = [await createAndApprove(t.api, t.serverId, device), await createAndApprove(t.api, t.serverId, device)];
    await waitFor(() => rx.accepted().size === 4, '4 accepted deliveries');
    const accepted = [...rx.accepted().values()];
    const wh = new Webhook(endpoint.secret);
    for (const requestId of ids) {
      const mine = rx.received.filter((r) => JSON.parse(r.body).request_id === requestId);
      // Every attempt of one event carries the same webhook-id; created is never sent before it is accepted.
      const created = mine.filter((r) => JSON.parse(r.body).type === 'mpa.created');
      const approved = mine.filter((r) => JSON.parse(r.body).type === 'mpa.approved');
      assert.equal(new Set(created.map((r) => r.id)).size, 1);
      assert.equal(new Set(approved.map((r) => r.id)).size, 1);
      assert.equal(created.length, 4);
      assert.equal(approved.length, 4);
      const createdOk = created.find((r) => r.status === 200)!;
      assert.ok(
        approved.every((r) => r.at >= createdOk.at),
        'mpa.approved waited for mpa.created',
      );
    }
    for (const r of accepted) {
      const headers = {
        'webhook-id': r.id,
        'webhook-timestamp': String(r.headers['webhook-timestamp']),
        'webhook-signature': String(r.headers['webhook-signature']),
      };
      const event = wh.verify(r.body, headers) as Record<string, unknown>;
      assert.deepEqual(event, verifyWebhook(r.body, r.headers, endpoint.secret));
      assert.match(r.id, /^evt_[0-9a-f]{32}$/);
      assert.equal(r.headers['content-type'], 'application/json');
    }
    const approvedEvent = JSON.parse(accepted.find((r) => JSON.parse(r.body).type === 'mpa.approved')!.body);
    assert.deepEqual(Object.keys(approvedEvent).sort(), [
      'action',
      'groups_required',
      'groups_satisfied',
      'groups_total',
      'request_id',
      'status',
      'timestamp',
      'type',
    ]);
    assert.equal(approvedEvent.status, 'approved');
    assert.deepEqual(approvedEvent.groups_satisfied, ['Security']);
    assert.equal(approvedEvent.groups_required, 1);
    assert.equal(approvedEvent.groups_total, 1);
    assert.equal(approvedEvent.action.type, 'key_rotation');
    assert.equal(approvedEvent.action.params.requested_by, 'alice@example.com');
    assert.match(approvedEvent.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    // The deliveries API shows each attempt: time, status code, latency, error. A worker records
    // an attempt after the receiver has answered, so wait for the last one to be written.
    const deliveries = await waitFor(async () => {
      const res = await t.api.get(`/v1/webhooks/${endpoint.id}/deliveries`);
      return res.body.data.every((d: { status: string }) => d.status !== 'pending') && res;
    }, 'every delivery to be recorded');
    assert.equal(deliveries.status, 200);
    assert.equal(deliveries.body.data.length, 4);
    for (const d of deliveries.body.data) {
      assert.equal(d.status, 'succeeded');
      assert.equal(d.attempt_count, 4);
      assert.deepEqual(
        d.attempts.map((a: { status_code: number }) => a.status_code),
        [500, 500, 500, 200],
      );
      assert.deepEqual(
        d.attempts.map((a: { attempt: number }) => a.attempt),
        [1, 2, 3, 4],
      );
      for (const a of d.attempts) {
        assert.equal(typeof a.latency_ms, 'number');
        assert.ok(!Number.isNaN(Date.parse(a.started_at)));
      }
      assert.equal(d.attempts[0].error, 'HTTP 500');
      assert.equal(d.attempts[3].error, null);
    }
    const one = await t.api.get(`/v1/webhooks/${endpoint.id}`);
    assert.equal(one.body.consecutive_failures, 0);
    assert.equal(one.body.failing_since, null);
    assert.equal(one.body.secret, undefined, 'the secret is shown once only');
    await disable(endpoint.id);
  });

  test('events filter: an endpoint for mpa.approved gets nothing else', async () => {
    const rx = await receiver();
    const endpoint = await register(rx.url, { events: ['mpa.approved'] });
    assert.deepEqual(endpoint.events, ['mpa.approved']);
    const id = await createAndApprove(t.api, t.serverId, device);
    await waitFor(() => rx.accepted().size === 1, 'one delivery');
    // A delivery is written in its event's transaction, and mpa.created committed first: had the
    // filter let it through, its delivery would be listed, and sent before mpa.approved.
    const deliveries = (await t.api.get(`/v1/webhooks/${endpoint.id}/deliveries`)).body.data;
    assert.deepEqual(
      deliveries.map((d: { event_type: string }) => d.event_type),
      ['mpa.approved'],
    );
    assert.equal(rx.received.length, 1);
    const event = JSON.parse(rx.received[0]!.body);
    assert.equal(event.type, 'mpa.approved');
    assert.equal(event.request_id, id);
    await disable(endpoint.id);
  });

  test('Retry-After postpones the next attempt', async () => {
    const rx = await receiver(({ attempt }) => (attempt === 1 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 200 }));
    const endpoint = await register(rx.url, { events: ['mpa.created'] });
    await t.api.post('/v1/mpa/requests', (await import('./harness.js')).oneGroupRequest(device));
    await waitFor(() => rx.accepted().size === 1, 'the retried delivery', 60_000);
    const [first, second] = rx.received;
    assert.ok(second!.at - first!.at >= 900, `second attempt came ${second!.at - first!.at} ms after the first`);
    await disable(endpoint.id);
  });

  test('secret rotation: both secrets sign during the overlap, and both verify', async () => {
    const rx = await receiver();
    const endpoint = await register(rx.url, { events: ['mpa.approved'] });
    const rotated = await t.api.post(`/v1/webhooks/${endpoint.id}/rotate-secret`);
    assert.equal(rotated.status, 200);
    const newSecret: string = rotated.body.secret;
    assert.notEqual(newSecret, endpoint.secret);
    const expires = Date.parse(rotated.body.previous_secret_expires_at);
    assert.ok(Math.abs(expires - Date.now() - 24 * 3_600_000) < 60_000);
    await createAndApprove(t.api, t.serverId, device);
    await waitFor(() => rx.accepted().size === 1, 'a delivery after rotation');
    const r = rx.received[0]!;
    const signatures = String(r.headers['webhook-signature']).split(' ');
    assert.equal(signatures.length, 2);
    for (const s of signatures) assert.match(s, /^v1,[A-Za-z0-9+/]{43}=$/);
    const headers = {
      'webhook-id': r.id,
      'webhook-timestamp': String(r.headers['webhook-timestamp']),
      'webhook-signature': String(r.headers['webhook-signature']),
    };
    for (const secret of [endpoint.secret, newSecret]) {
      assert.equal((new Webhook(secret).verify(r.body, headers) as { type: string }).type, 'mpa.approved');
    }
    assert.throws(() => new Webhook(`whsec_${Buffer.alloc(32, 1).toString('base64')}`).verify(r.body, headers));
    const view = await t.api.get(`/v1/webhooks/${endpoint.id}`);
    assert.equal(view.body.previous_secret_expires_at, rotated.body.previous_secret_expires_at);
    await disable(endpoint.id);
  });

  test('after the last attempt a delivery fails, is audited, and a manual retry redelivers it', async () => {
    let up = false;
    const rx = await receiver(() => (up ? { status: 200 } : { status: 500 }));
    const endpoint = await register(rx.url, { events: ['mpa.created'] });
    const created = await t.api.post('/v1/mpa/requests', (await import('./harness.js')).oneGroupRequest(device));
    const failed = await waitFor(async () => {
      const res = await t.api.get(`/v1/webhooks/${endpoint.id}/deliveries?status=failed`);
      return res.body.data[0];
    }, 'the delivery to fail for good');
    assert.equal(failed.attempt_count, 8, '1 attempt and 7 retries');
    assert.equal(failed.attempts.length, 8);
    assert.equal(rx.received.length, 8);
    const audit = await waitFor(async () => {
      const res = await t.api.get(`/v1/audit?type=webhook.delivery_failed&request_id=${created.body.request_id}`);
      return res.body.data[0];
    }, 'the audit entry');
    assert.equal(audit.data.delivery_id, failed.id);
    assert.equal(audit.data.webhook_id, endpoint.id);
    const ep = await t.api.get(`/v1/webhooks/${endpoint.id}`);
    assert.equal(ep.body.consecutive_failures, 1);
    assert.ok(ep.body.failing_since);

    up = true;
    const retried = await t.api.post(`/v1/webhooks/deliveries/${failed.id}/retry`);
    assert.equal(retried.status, 202, JSON.stringify(retried.body));
    await waitFor(() => rx.accepted().size === 1, 'the manual redelivery');
    assert.equal(rx.received[8]!.id, failed.event_id);
    const done = await waitFor(async () => {
      const res = await t.api.get(`/v1/webhooks/deliveries/${failed.id}`);
      return res.body.status === 'succeeded' && res.body;
    }, 'the delivery to succeed');
    assert.equal(done.attempts.length, 9);
    const healed = await t.api.get(`/v1/webhooks/${endpoint.id}`);
    assert.equal(healed.body.consecutive_failures, 0);
    assert.equal(healed.body.failing_since, null);
    await disable(endpoint.id);
  });

  test('an endpoint whose deliveries keep failing is disabled, with an audit entry', async () => {
    await t.close();
    t = await startWebhookServer(store, { webhooks: { retryScheduleMs: [20], disableAfterFailedDeliveries: 2 } }, t.api.apiKey);
    const rx = await receiver(() => ({ status: 410 }));
    const endpoint = await register(rx.url, { events: ['mpa.created'] });
    const { oneGroupRequest } = await import('./harness.js');
    await t.api.post('/v1/mpa/requests', oneGroupRequest(device));
    await t.api.post('/v1/mpa/requests', oneGroupRequest(device));
    const disabled = await waitFor(async () => {
      const res = await t.api.get(`/v1/webhooks/${endpoint.id}`);
      return !res.body.enabled && res.body;
    }, 'the endpoint to be disabled');
    assert.match(disabled.disabled_reason, /2 deliveries in a row failed/);
    const audit = await waitFor(
      async () =>
        (await t.api.get('/v1/audit?type=webhook.disabled')).body.data.find(
          (e: { data: { webhook_id: string } }) => e.data.webhook_id === endpoint.id,
        ),
      'the audit entry',
    );
    assert.match(audit.data.reason, /2 deliveries in a row failed/);
    // A disabled endpoint gets no new deliveries (none is even written), while an enabled one,
    // the witness, gets the same event; re-enabling clears the failure record.
    const before = {
      received: rx.received.length,
      deliveries: (await t.api.get(`/v1/webhooks/${endpoint.id}/deliveries`)).body.data.length,
    };
    const witness = await receiver();
    await register(witness.url, { events: ['mpa.created'] });
    const created = await t.api.post('/v1/mpa/requests', oneGroupRequest(device));
    await waitFor(
      () => [...witness.accepted().values()].some((r) => JSON.parse(r.body).request_id === created.body.request_id),
      'the witness to get the event',
    );
    assert.equal((await t.api.get(`/v1/webhooks/${endpoint.id}/deliveries`)).body.data.length, before.deliveries);
    assert.equal(rx.received.length, before.received);
    const enabled = await t.api.request('PATCH', `/v1/webhooks/${endpoint.id}`, { enabled: true });
    assert.equal(enabled.body.enabled, true);
    assert.equal(enabled.body.consecutive_failures, 0);
    assert.equal(enabled.body.disabled_reason, null);
    await disable(endpoint.id);
  });

  test('device.revoked: the documented event, signed, when a device is revoked', async () => {
    const rx = await receiver();
    const endpoint = await register(rx.url, { events: ['device.revoked'] });
    const leaving = new TestDevice('Leaving laptop');
    await pairDevice(t.api, t.serverId, leaving);
    const revoked = await t.api.delete(`/v1/devices/${leaving.fingerprint}`);
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    const [delivery] = await waitFor(() => (rx.accepted().size === 1 ? [...rx.accepted().values()] : null), 'the device.revoked delivery');
    const event = verifyWebhook(delivery!.body, delivery!.headers, endpoint.secret) as Record<string, unknown>;
    assert.deepEqual(Object.keys(event).sort(), ['fingerprint', 'name', 'timestamp', 'type']);
    assert.equal(event.type, 'device.revoked');
    assert.equal(event.fingerprint, leaving.fingerprint);
    assert.equal(event.name, 'Leaving laptop');
    assert.equal(event.timestamp, revoked.body.revoked_at);
    assert.deepEqual(
      (await t.api.get(`/v1/webhooks/${endpoint.id}/deliveries`)).body.data.map((d: { event_type: string }) => d.event_type),
      ['device.revoked'],
      'the pairing before it was not sent',
    );
    await disable(endpoint.id);
  });
});
