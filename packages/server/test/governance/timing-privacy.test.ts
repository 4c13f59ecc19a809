// Timing privacy on a real server with a clock the test controls: decisions are recorded and
// answered when they arrive, and released (status, quorum progress, webhooks, audit) only at
// batch boundaries, by the background sweep; denials across a boundary, deny_immediately,
// expiry before the boundary, and (on PostgreSQL) a release by another instance after a restart.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { actionDigest } from '@sigilauth/protocol';
import { pairDevice, startTestServer, type TestServer } from '../../../../test/support/api.js';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { createStore, describeEachStore, describePostgres, type TestStore } from '../../../../test/support/stores.js';
import { waitFor } from '../../../../test/support/wait.js';
import { enqueueDueReminders } from '../../src/notifications/outbox.js';

const BATCH = 30_000;
/** A batch boundary far from the real clock: windows are [T0 + k·30 s, T0 + (k+1)·30 s). */
const T0 = Math.ceil(Date.parse('2031-06-01T08:00:00Z') / BATCH) * BATCH;

interface Created {
  request_id: string;
  action: never;
}

function harness(getT: () => TestServer, clock: { now: number }) {
  const t = () => getT();
  return {
    settings: (body: unknown) => t().api.request('PATCH', '/v1/governance/settings', body),
    pair: async (...devices: TestDevice[]) => {
      const held = clock.now;
      clock.now = Date.now();
      for (const d of devices) await pairDevice(t().api, t().serverId, d);
      clock.now = held;
    },
    create: async (groups: TestDevice[], required: number, expiresIn = 900): Promise<Created> => {
      const res = await t().api.post('/v1/mpa/requests', {
        required,
        groups: groups.map((d) => ({ name: `${d.name}'s group`, approvers: [d.approver] })),
        action: { type: 'deploy', description: 'timing privacy' },
        expires_in_seconds: expiresIn,
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body as Created;
    },
    decide: async (device: TestDevice, created: Created, decision: 'approve' | 'deny' = 'approve') => {
      const res = await t()
        .api.withKey(null)
        .post(
          `/v1/mpa/requests/${created.request_id}/decisions`,
          device.decisionBody(t().serverId, created.request_id, actionDigest(created.action), decision, { issued_at: clock.now }),
        );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body;
    },
    view: async (created: Created) => (await t().api.get(`/v1/mpa/requests/${created.request_id}`)).body,
    /** Waits (without sleeping a batch) until the background sweep has released the request. */
    released: (created: Created) =>
      waitFor(async () => {
        const [row] = await t().server.db.query<{ release_due_at: Date | null }>('SELECT release_due_at FROM mpa_requests WHERE id = $1', [
          created.request_id,
        ]);
        return row && row.release_due_at === null ? true : null;
      }, 'the held decisions to be released'),
    events: async (created: Created) =>
      (
        await t().server.db.query<{ type: string; payload: any }>(
          'SELECT type, payload FROM events WHERE request_id = $1 ORDER BY created_at',
          [created.request_id],
        )
      ).filter((e) => e.type !== 'mpa.created'),
    audited: async (created: Created) =>
      (
        await t().server.db.query<{ type: string; data: any }>('SELECT type, data FROM audit_entries WHERE request_id = $1 ORDER BY id', [
          created.request_id,
        ])
      )
        .map((e) => (e.type === 'mpa.decision' ? `${e.type}:${e.data.decision}` : e.type))
        .filter((type) => type !== 'mpa.created' && type !== 'mpa.flagged'),
  };
}

describeEachStore('timing privacy', (kind) => {
  let store: TestStore;
  let t: TestServer;
  const clock = { now: T0 };
  const h = harness(() => t, clock);
  let seq = 0;
  const devices = (n: number) => Array.from({ length: n }, () => new TestDevice(`tp${++seq}`));

  before(async () => {
    store = await createStore(kind);
    t = await startTestServer(store, { clock: () => clock.now });
  });
  after(async () => {
    await t?.close();
    await store?.dispose();
  });

  test('settings: off by default, validated, audited', async () => {
    assert.equal((await t.api.get('/v1/governance/settings')).body.decision_release, null);
    for (const bad of [{ batch_seconds: 0 }, { batch_seconds: 901 }, { batch_seconds: 30, deny_immediately: 'yes' }, { seconds: 30 }]) {
      const res = await h.settings({ decision_release: bad });
      assert.equal(res.status, 400, JSON.stringify(bad));
      assert.equal(res.body.error.code, 'invalid_request');
    }
    const on = await h.settings({ decision_release: { batch_seconds: 30 } });
    assert.deepEqual(on.body.decision_release, { batch_seconds: 30, deny_immediately: false });
    const [entry] = await t.server.db.query<{ data: any }>(
      "SELECT data FROM audit_entries WHERE type = 'governance.updated' ORDER BY id DESC LIMIT 1",
    );
    assert.deepEqual(entry?.data.changes, { decision_release: { from: null, to: { batch_seconds: 30, deny_immediately: false } } });
  });

  test('an approval is answered at once but released only at the boundary, dated by it', async () => {
    assert.equal((await h.settings({ decision_release: { batch_seconds: 30, deny_immediately: false } })).status, 200);
    const [a, b] = devices(2);
    await h.pair(a!, b!);
    clock.now = T0 + 2 * BATCH + 5_000;
    const created = await h.create([a!, b!], 1);
    clock.now += 10_000; // 10:32:15 in the example
    const answer = await h.decide(a!, created);
    assert.deepEqual([answer.status, answer.my_decision, answer.groups_satisfied_count], ['pending', 'approve', 0]);
    const before = await h.view(created);
    assert.deepEqual([before.status, before.groups_satisfied], ['pending', []], 'the application sees nothing yet');
    assert.deepEqual(await h.events(created), [], 'no webhook yet');
    assert.deepEqual(await h.audited(created), [], 'no audit entry yet');
    const [stored] = await t.server.db.query<{ held: boolean }>('SELECT held FROM mpa_decisions WHERE request_id = $1', [
      created.request_id,
    ]);
    assert.equal(stored?.held, true, 'the decision is durably recorded');

    clock.now = T0 + 3 * BATCH - 1;
    assert.equal((await h.view(created)).status, 'pending', 'one millisecond before the boundary');
    clock.now = T0 + 3 * BATCH + 700; // the sweep runs a little after the boundary
    await h.released(created);
    const after = await h.view(created);
    assert.deepEqual([after.status, after.completed_at], ['approved', new Date(T0 + 3 * BATCH).toISOString()]);
    const [approved] = await h.events(created);
    assert.equal(approved?.type, 'mpa.approved');
    assert.equal(approved?.payload.timestamp, new Date(T0 + 3 * BATCH).toISOString());
    assert.deepEqual(await h.audited(created), ['mpa.decision:approve', 'mpa.completed']);
  });

  test('a denial after a released approval, across the next boundary: the request is rejected at that boundary', async () => {
    const [a, b, c] = devices(3);
    await h.pair(a!, b!, c!);
    clock.now = T0 + 10 * BATCH + 1_000;
    const created = await h.create([a!, b!, c!], 2);
    clock.now += 9_000;
    await h.decide(a!, created);
    clock.now = T0 + 11 * BATCH + 300;
    await h.released(created);
    const progress = await h.view(created);
    assert.deepEqual([progress.status, progress.groups_satisfied], ['pending', [`${a!.name}'s group`]], 'first boundary: one group');
    clock.now = T0 + 11 * BATCH + 5_000;
    const denied = await h.decide(b!, created, 'deny');
    assert.equal(denied.status, 'pending', 'the denier is answered; the outcome waits for the boundary');
    assert.equal((await h.view(created)).status, 'pending');
    clock.now = T0 + 12 * BATCH + 300;
    await h.released(created);
    const end = await h.view(created);
    assert.deepEqual([end.status, end.completed_at], ['rejected', new Date(T0 + 12 * BATCH).toISOString()]);
    assert.deepEqual(
      (await h.events(created)).map((e) => e.type),
      ['mpa.rejected'],
    );
  });

  test('a denial in the same window as the approval that reached quorum still rejects: nothing was released yet', async () => {
    const [a, b] = devices(2);
    await h.pair(a!, b!);
    clock.now = T0 + 20 * BATCH + 1_000;
    const created = await h.create([a!, b!], 1);
    clock.now += 5_000;
    await h.decide(a!, created);
    clock.now += 5_000;
    await h.decide(b!, created, 'deny');
    clock.now = T0 + 21 * BATCH + 300;
    await h.released(created);
    assert.equal((await h.view(created)).status, 'rejected');
    assert.deepEqual(await h.audited(created), ['mpa.decision:approve', 'mpa.decision:deny', 'mpa.completed']);
  });

  test('deny_immediately: a denial ends the request at once, releasing what was held with it', async () => {
    assert.equal((await h.settings({ decision_release: { batch_seconds: 30, deny_immediately: true } })).status, 200);
    const [a, b] = devices(2);
    await h.pair(a!, b!);
    clock.now = T0 + 30 * BATCH + 1_000;
    const created = await h.create([a!, b!], 1);
    clock.now += 5_000;
    await h.decide(a!, created); // held: it would approve at the boundary
    clock.now += 5_000;
    const denied = await h.decide(b!, created, 'deny');
    assert.equal(denied.status, 'rejected');
    const view = await h.view(created);
    assert.deepEqual([view.status, view.completed_at], ['rejected', new Date(clock.now).toISOString()]);
    assert.deepEqual(await h.audited(created), ['mpa.decision:approve', 'mpa.decision:deny', 'mpa.completed']);
    assert.equal((await h.settings({ decision_release: { batch_seconds: 30 } })).status, 200);
  });

  test('a quorum reached before expiry is released at the expiry when the boundary comes later: approved, never timeout', async () => {
    const [a] = devices(1);
    await h.pair(a!);
    clock.now = T0 + 40 * BATCH + 2_000;
    const created = await h.create([a!], 1, 60); // expires at T0 + 42·30 s + 2 s, the boundary after is 28 s later
    const expiresAt = Date.parse((await h.view(created)).expires_at);
    clock.now = expiresAt - 1_000;
    await h.decide(a!, created);
    clock.now = expiresAt + 1; // past expiry, not yet at the boundary
    const meanwhile = await h.view(created);
    assert.ok(meanwhile.status === 'pending' || meanwhile.status === 'approved', `never timeout: ${meanwhile.status}`);
    await h.released(created);
    const end = await h.view(created);
    assert.deepEqual([end.status, end.completed_at], ['approved', new Date(expiresAt).toISOString()]);
  });

  test('a device revoked while its approval is held: the approval was accepted before, and counts at the release', async () => {
    assert.equal((await h.settings({ decision_release: { batch_seconds: 30, deny_immediately: false } })).status, 200);
    const [a, b] = devices(2);
    await h.pair(a!, b!);
    clock.now = T0 + 60 * BATCH + 1_000;
    const created = await h.create([a!, b!], 1);
    clock.now += 1_000;
    await h.decide(a!, created);
    assert.equal((await t.api.delete(`/v1/devices/${a!.fingerprint}`)).status, 200);
    clock.now = T0 + 61 * BATCH + 300;
    await h.released(created);
    const view = await h.view(created);
    assert.deepEqual([view.status, view.completed_at], ['approved', new Date(T0 + 61 * BATCH).toISOString()]);
    assert.deepEqual(await h.audited(created), ['mpa.decision:approve', 'mpa.completed']);
  });

  test('cancelling with decisions held: cancelled, the held decisions recorded but not counted', async () => {
    const [a, b] = devices(2);
    await h.pair(a!, b!);
    clock.now = T0 + 50 * BATCH + 1_000;
    const created = await h.create([a!, b!], 1);
    clock.now += 1_000;
    await h.decide(a!, created);
    const cancelled = await t.api.post(`/v1/mpa/requests/${created.request_id}/cancel`);
    assert.equal(cancelled.body.status, 'cancelled');
    assert.deepEqual(await h.audited(created), ['mpa.decision:approve', 'mpa.cancelled']);
  });

  test('the half-time reminder goes to every approver whose decision is not released: the log does not tell who decided', async () => {
    assert.equal((await h.settings({ decision_release: { batch_seconds: 900, deny_immediately: false } })).status, 200);
    const [a, b] = devices(2);
    await h.pair(a!, b!);
    for (const d of [a!, b!]) {
      const contact = await t.api.request('PATCH', `/v1/devices/${d.fingerprint}`, { email: `${d.name}@example.com` });
      assert.equal(contact.status, 200, JSON.stringify(contact.body));
    }
    clock.now = T0 + 40 * BATCH + 1_000;
    const created = await h.create([a!, b!], 2, 600);
    await h.decide(a!, created, 'deny');
    assert.equal((await h.view(created)).status, 'pending', 'the denial is held');
    const reminded = await t.server.db.transaction((tx) => enqueueDueReminders(tx, 0.5, new Date(clock.now + 301_000)));
    assert.ok(reminded >= 1);
    const log = (await t.api.get(`/v1/mpa/requests/${created.request_id}/notifications`)).body.data as Array<{
      kind: string;
      fingerprint: string;
    }>;
    const remindedDevices = log.filter((n) => n.kind === 'reminder').map((n) => n.fingerprint);
    assert.deepEqual(remindedDevices.sort(), [a!.fingerprint, b!.fingerprint].sort());
  });
});

describePostgres('timing privacy across instances', () => {
  let store: TestStore;
  const clock = { now: T0 };
  let first: TestServer | null = null;
  let second: TestServer | null = null;
  const h = harness(() => (second ?? first)!, clock);

  before(async () => {
    store = await createStore('postgres');
    first = await startTestServer(store, { clock: () => clock.now });
  });
  after(async () => {
    await first?.close();
    await second?.close();
    await store?.dispose();
  });

  test('a decision held by a stopped instance is released once by another', async () => {
    const apiKey = first!.api.apiKey;
    assert.equal((await h.settings({ decision_release: { batch_seconds: 30 } })).status, 200);
    const [a, b] = [new TestDevice('A'), new TestDevice('B')];
    await h.pair(a, b);
    clock.now = T0 + 5_000;
    const created = await h.create([a, b], 1);
    clock.now += 5_000;
    await h.decide(a, created);
    await first!.close();
    first = null;
    second = await startTestServer(store, { clock: () => clock.now, apiKey });
    const third = await startTestServer(store, { clock: () => clock.now, apiKey });
    try {
      clock.now = T0 + BATCH + 300;
      await h.released(created);
      assert.equal((await h.view(created)).status, 'approved');
      assert.deepEqual(
        (await h.events(created)).map((e) => e.type),
        ['mpa.approved'],
        'released exactly once',
      );
    } finally {
      await third.close();
    }
  });
});
