// The webhook delivery API on both stores: paging through an endpoint's deliveries, and manual
// retries (accepted, audited, refused with 409 while in flight or when the endpoint is disabled).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { describeEachStore, type TestStore } from '../../../../test/support/stores.js';
import { oneGroupRequest, Receivers, startWithDevice, waitFor, type Receiver, type TestServer } from './harness.js';

interface DeliveryView {
  id: string;
  event_id: string;
  event_type: string;
  request_id: string;
  status: string;
  in_flight: boolean;
  attempt_count: number;
  attempts: unknown[];
}

describeEachStore('webhook delivery API', (kind) => {
  let store: TestStore;
  let t: TestServer;
  const device = new TestDevice('Deliveries');
  const receivers = new Receivers();

  before(async () => {
    ({ store, t } = await startWithDevice(kind, device));
  });
  after(async () => {
    await t?.close();
    await receivers.close();
    await store?.dispose();
  });

  const endpointFor = async (respond: Parameters<typeof Receiver.start>[0]) => {
    const rx = await receivers.start(respond);
    const res = await t.api.post('/v1/webhooks', { url: rx.url, events: ['mpa.created'] });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return { rx, id: res.body.id as string };
  };
  const createRequest = async () => {
    const created = await t.api.post('/v1/mpa/requests', oneGroupRequest(device));
    assert.equal(created.status, 201);
    return created.body.request_id as string;
  };
  const delivery = async (id: string): Promise<DeliveryView> => (await t.api.get(`/v1/webhooks/deliveries/${id}`)).body;
  const settled = (endpointId: string, count: number) =>
    waitFor(async () => {
      const data: DeliveryView[] = (await t.api.get(`/v1/webhooks/${endpointId}/deliveries?limit=100`)).body.data;
      return data.length === count && data.every((d) => d.status !== 'pending') ? data : null;
    }, `${count} settled deliveries`);

  test("an endpoint's deliveries page newest first, every one exactly once, with filters", async () => {
    const { id: endpoint } = await endpointFor(() => ({ status: 204 }));
    const requestIds: string[] = [];
    for (let i = 0; i < 5; i++) requestIds.push(await createRequest());
    const all = await settled(endpoint, 5);
    assert.deepEqual(
      all.map((d) => d.request_id),
      [...requestIds].reverse(),
      'newest first',
    );

    const pages: DeliveryView[][] = [];
    let cursor: string | null = null;
    do {
      const res: { status: number; body: { data: DeliveryView[]; next_cursor: string | null } } = await t.api.get(
        `/v1/webhooks/${endpoint}/deliveries?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      pages.push(res.body.data);
      cursor = res.body.next_cursor;
    } while (cursor && pages.length < 10);
    assert.deepEqual(
      pages.map((p) => p.length),
      [2, 2, 1],
    );
    assert.deepEqual(
      pages.flat().map((d) => d.id),
      all.map((d) => d.id),
      'the pages are the whole list, in order',
    );

    const one = all[2]!;
    const byEvent = await t.api.get(`/v1/webhooks/${endpoint}/deliveries?event_id=${one.event_id}`);
    assert.deepEqual(
      byEvent.body.data.map((d: DeliveryView) => d.id),
      [one.id],
    );
    assert.equal(byEvent.body.next_cursor, null);
    assert.equal((await t.api.get(`/v1/webhooks/${endpoint}/deliveries?status=failed`)).body.data.length, 0);
    assert.equal((await t.api.get(`/v1/webhooks/${endpoint}/deliveries?status=succeeded`)).body.data.length, 5);
    for (const bad of ['limit=0', 'limit=101', 'cursor=abc', 'status=done', 'event_id=nope']) {
      const res = await t.api.get(`/v1/webhooks/${endpoint}/deliveries?${bad}`);
      assert.equal(res.status, 400, bad);
      assert.equal(res.body.error.code, 'invalid_request', bad);
    }
    await t.api.request('PATCH', `/v1/webhooks/${endpoint}`, { enabled: false });
  });

  test('a manual retry redelivers a delivered event once more, and is audited with who asked', async () => {
    const { rx, id: endpoint } = await endpointFor(() => ({ status: 204 }));
    const requestId = await createRequest();
    const [done] = await settled(endpoint, 1);
    assert.equal(done!.status, 'succeeded');

    const retried = await t.api.post(`/v1/webhooks/deliveries/${done!.id}/retry`);
    assert.equal(retried.status, 202, JSON.stringify(retried.body));
    assert.equal(retried.body.id, done!.id);
    assert.equal(retried.body.status, 'pending');
    await waitFor(() => rx.received.length === 2, 'the redelivery');
    assert.equal(rx.received[1]!.id, done!.event_id, 'the same webhook-id');
    const after = await waitFor(async () => {
      const d = await delivery(done!.id);
      return d.status === 'succeeded' && d.attempt_count === 2 ? d : null;
    }, 'the redelivery to be recorded');
    assert.equal(after.attempt_count, 2, 'one more attempt, no automatic retries after it');

    const audit = (await t.api.get(`/v1/audit?type=webhook.delivery_retried&request_id=${requestId}`)).body.data;
    assert.equal(audit.length, 1);
    const keyId = (await t.api.get('/v1/audit?type=apikey.created')).body.data[0].data.api_key_id;
    assert.deepEqual(audit[0].data, { webhook_id: endpoint, delivery_id: done!.id, event_id: done!.event_id, api_key_id: keyId });
    await t.api.request('PATCH', `/v1/webhooks/${endpoint}`, { enabled: false });
  });

  test('a retry is refused with 409 while an attempt is in flight and while the endpoint is disabled', async () => {
    const { rx, id: endpoint } = await endpointFor(() => 'hang');
    const requestId = await createRequest();
    const [listed] = (await t.api.get(`/v1/webhooks/${endpoint}/deliveries`)).body.data as DeliveryView[];
    await waitFor(async () => (await delivery(listed!.id)).in_flight, 'the attempt to be in flight');
    // The delivery is leased before its request leaves, so the receiver may not have it yet.
    await waitFor(() => rx.received.length === 1, 'the attempt to reach the endpoint');
    const inFlight = await t.api.post(`/v1/webhooks/deliveries/${listed!.id}/retry`);
    assert.equal(inFlight.status, 409, JSON.stringify(inFlight.body));
    assert.equal(inFlight.body.error.code, 'delivery_in_progress');

    // The hanging attempt times out and is recorded as a failure (a retry may then be in flight
    // again); then the endpoint is disabled.
    await waitFor(async () => (await delivery(listed!.id)).attempts.length >= 1, 'the attempt to time out');
    assert.equal((await t.api.request('PATCH', `/v1/webhooks/${endpoint}`, { enabled: false })).status, 200);
    const disabled = await t.api.post(`/v1/webhooks/deliveries/${listed!.id}/retry`);
    assert.equal(disabled.status, 409, JSON.stringify(disabled.body));
    assert.equal(disabled.body.error.code, 'webhook_disabled');

    const audit = (await t.api.get(`/v1/audit?type=webhook.delivery_retried&request_id=${requestId}`)).body.data;
    assert.deepEqual(audit, [], 'a refused retry is not audited');
    const unknown = await t.api.post('/v1/webhooks/deliveries/7c3e5f9a-2b4d-4a1e-8f6c-9d2a1b3c4e5f/retry');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'not_found');
  });
});
