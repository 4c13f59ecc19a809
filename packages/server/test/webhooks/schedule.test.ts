// The production delivery schedule, read from docs/webhooks.md and checked on a server running
// its default webhook settings with a clock the test moves: every retry delay and its jitter,
// the Retry-After cap, and disabling an endpoint after 5 days of failures (not a millisecond before).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { createStore, describeEachStore, type TestStore } from '../../../../test/support/stores.js';
import { startTestServer } from '../../../../test/support/api.js';
import { oneGroupRequest, pairDevice, Receiver, waitFor, type Responder, type TestServer } from './harness.js';

const DOCS = readFileSync(new URL('../../../../docs/webhooks.md', import.meta.url), 'utf8').replace(/\s+/g, ' ');
const UNIT_MS: Record<string, number> = { s: 1000, min: 60_000, h: 3_600_000, hours: 3_600_000, days: 86_400_000 };
const duration = (text: string) => {
  const [, n, unit] = /^(\d+(?:\.\d+)?) (s|min|h|hours|days)$/.exec(text.trim()) ?? [];
  assert.ok(n && unit, `a duration in docs/webhooks.md: ${text}`);
  return Number(n) * UNIT_MS[unit]!;
};
const documented = (pattern: RegExp) => {
  const match = pattern.exec(DOCS);
  assert.ok(match, `docs/webhooks.md states ${pattern}`);
  return match[1]!;
};
const SCHEDULE_MS = documented(/\*\*Retries\*\* after a failure: ([^(]+?) \(/)
  .split(', ')
  .map(duration);
const JITTER = Number(documented(/lengthened by up to (\d+) % of jitter/)) / 100;
const MAX_RETRY_AFTER_MS = duration(documented(/postpones the next attempt, up to (\d+ hours)/));
const DISABLE_AFTER_MS = duration(documented(/has failed for (\d+ days)/));

interface Delivery {
  id: string;
  status: string;
  attempt_count: number;
  in_flight: boolean;
  next_attempt_at: string | null;
  attempts: Array<{ started_at: string; status_code: number | null }>;
}

describeEachStore('webhook delivery schedule (default settings, injected clock)', (kind) => {
  let store: TestStore;
  let t: TestServer;
  let now = Date.now();
  const device = new TestDevice('Scheduler');
  const receivers: Receiver[] = [];

  before(async () => {
    // The schedule under test is the built-in one, whatever the environment says.
    delete process.env.SIGIL_WEBHOOK_RETRY_SCHEDULE_MS;
    delete process.env.SIGIL_WEBHOOK_TIMEOUT_MS;
    store = await createStore(kind);
    // Only what a loopback receiver needs, and a quick poll so a clock jump is noticed at once;
    // the schedule, jitter, Retry-After cap and disabling rule are the defaults.
    t = await startTestServer(store, { clock: () => now, config: { webhooks: { allowPrivate: true, pollIntervalMs: 50 } } });
    await pairDevice(t.api, t.serverId, device);
    // Ahead of the database's clock, which dates new deliveries: they are due at once.
    now = Date.now() + 10 * 60_000;
  });
  after(async () => {
    await t?.close();
    for (const r of receivers) await r.close();
    await store?.dispose();
  });

  const endpointFor = async (respond: Responder) => {
    const rx = await Receiver.start(respond);
    receivers.push(rx);
    const res = await t.api.post('/v1/webhooks', { url: rx.url, events: ['mpa.created'] });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return { rx, id: res.body.id as string };
  };
  /** Creates a request and returns its mpa.created delivery to the endpoint. */
  const deliveryFor = async (endpointId: string): Promise<string> => {
    const created = await t.api.post('/v1/mpa/requests', oneGroupRequest(device));
    assert.equal(created.status, 201);
    const listed = await waitFor(async () => {
      const res = await t.api.get(`/v1/webhooks/${endpointId}/deliveries`);
      return res.body.data.find((d: { request_id: string }) => d.request_id === created.body.request_id);
    }, 'the delivery row');
    return listed.id;
  };
  /**
   * The delivery once attempt `n` is recorded. The attempt and the delivery's new state commit
   * together but are read one after the other: both must show it (claimed n times, no longer in
   * flight, n attempts listed).
   */
  const afterAttempt = (id: string, n: number): Promise<Delivery> =>
    waitFor(async () => {
      const d: Delivery = (await t.api.get(`/v1/webhooks/deliveries/${id}`)).body;
      return d.attempt_count >= n && !d.in_flight && d.attempts.length === d.attempt_count ? d : null;
    }, `attempt ${n} of ${id} to be recorded`);
  /** The delay the worker chose after attempt n: both times come from the injected clock. */
  const delayAfter = (d: Delivery, n: number) => Date.parse(d.next_attempt_at!) - Date.parse(d.attempts[n - 1]!.started_at);

  test('the documented retries, each lengthened by up to the documented jitter, then failed and audited', async () => {
    assert.equal(SCHEDULE_MS.length, 7, `docs/webhooks.md: ${SCHEDULE_MS}`);
    const { rx, id: endpoint } = await endpointFor(() => ({ status: 500 }));
    const id = await deliveryFor(endpoint);
    const delays: number[] = [];
    for (let n = 1; n <= SCHEDULE_MS.length; n++) {
      const d = await afterAttempt(id, n);
      assert.equal(d.attempts.length, n, 'no attempt before its time');
      assert.equal(d.status, 'pending');
      const delay = delayAfter(d, n);
      const base = SCHEDULE_MS[n - 1]!;
      assert.ok(
        delay >= base && delay <= Math.round(base * (1 + JITTER)),
        `after attempt ${n}: ${delay} ms, documented ${base} ms + up to ${JITTER * 100} %`,
      );
      delays.push(delay);
      now = Date.parse(d.next_attempt_at!);
    }
    assert.ok(
      delays.some((delay, i) => delay > SCHEDULE_MS[i]!),
      `no jitter at all: ${delays}`,
    );
    const failed = await afterAttempt(id, SCHEDULE_MS.length + 1);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.next_attempt_at, null);
    assert.equal(rx.received.length, SCHEDULE_MS.length + 1);
    const audit = (await t.api.get('/v1/audit?type=webhook.delivery_failed')).body.data.find(
      (e: { data: { delivery_id: string } }) => e.data.delivery_id === id,
    );
    assert.equal(audit?.data.attempts, SCHEDULE_MS.length + 1);
    await t.api.request('PATCH', `/v1/webhooks/${endpoint}`, { enabled: false });
  });

  test('Retry-After postpones the next attempt, at most by the documented cap, and never brings it forward', async () => {
    const { id: endpoint } = await endpointFor(({ attempt }) =>
      attempt === 1
        ? { status: 503, headers: { 'retry-after': String(2 * 86_400) } }
        : attempt === 2
          ? { status: 429, headers: { 'retry-after': '1' } }
          : { status: 204 },
    );
    const id = await deliveryFor(endpoint);
    const first = await afterAttempt(id, 1);
    assert.equal(delayAfter(first, 1), MAX_RETRY_AFTER_MS, 'two days asked, the cap given');
    now = Date.parse(first.next_attempt_at!);
    const second = await afterAttempt(id, 2);
    const delay = delayAfter(second, 2);
    assert.ok(
      delay >= SCHEDULE_MS[1]! && delay <= SCHEDULE_MS[1]! * (1 + JITTER),
      `1 s asked, the schedule's ${SCHEDULE_MS[1]} ms kept: ${delay}`,
    );
    now = Date.parse(second.next_attempt_at!);
    assert.equal((await afterAttempt(id, 3)).status, 'succeeded');
    await t.api.request('PATCH', `/v1/webhooks/${endpoint}`, { enabled: false });
  });

  test('an endpoint failing for the documented 5 days is disabled, with an audit entry, and not a millisecond before', async () => {
    const { id: endpoint } = await endpointFor(() => ({ status: 500 }));
    const first = await afterAttempt(await deliveryFor(endpoint), 1);
    const failingSince = Date.parse(first.attempts[0]!.started_at);
    const view = async () => (await t.api.get(`/v1/webhooks/${endpoint}`)).body;
    assert.equal(Date.parse((await view()).failing_since), failingSince);

    now = failingSince + DISABLE_AFTER_MS - 1;
    await afterAttempt(await deliveryFor(endpoint), 1);
    assert.equal((await view()).enabled, true, 'still enabled 1 ms before the 5 days are up');

    now = failingSince + DISABLE_AFTER_MS;
    await afterAttempt(await deliveryFor(endpoint), 1);
    const disabled = await view();
    assert.equal(disabled.enabled, false);
    assert.equal(disabled.disabled_reason, `every attempt failed for ${DISABLE_AFTER_MS / 3_600_000} h`);
    const audit = (await t.api.get('/v1/audit?type=webhook.disabled')).body.data.find(
      (e: { data: { webhook_id: string } }) => e.data.webhook_id === endpoint,
    );
    assert.equal(audit?.data.reason, disabled.disabled_reason);
  });
});
