// Anomaly flags on a real server with a clock the test controls: each kind of flag, where flags
// are shown (request, device page, audit log, the mpa.flagged event), that the application never
// learns of a flagged denial, and "require one more group" on the approval that would reach quorum.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { actionDigest } from '@sigilauth/protocol';
import { pairDevice, startTestServer, type TestServer } from '../../../../test/support/api.js';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { waitFor } from '../../../../test/support/wait.js';
import { Receiver } from '../../../../test/support/webhook-receiver.js';
import { createStore, describeEachStore, type TestStore } from '../../../../test/support/stores.js';
import { HOUR_HISTORY_APPROVALS } from '../../src/governance/anomaly-flags.js';
import { evaluate } from '../../src/mpa/engine.js';

const HOUR = 3_600_000;
/** Far from every other test's approvals: a calm moment, noon UTC on a fixed day. */
const DAY0 = Date.parse('2030-03-04T12:00:00Z');

test('engine: a quorum-raising approval cannot itself reach the old quorum; the raise happens once, capped at every group', () => {
  const policy = { required: 1, groupNames: ['a', 'b', 'c'], expiresAt: 1_000 };
  const flagged = evaluate(policy, [{ kind: 'approve', groupIndex: 0, at: 1, raisesRequired: true }], 2);
  assert.deepEqual(flagged, { status: 'pending', groupsSatisfied: ['a'], completedAt: null, required: 2 });
  const twice = evaluate(
    policy,
    [
      { kind: 'approve', groupIndex: 0, at: 1, raisesRequired: true },
      { kind: 'approve', groupIndex: 1, at: 2, raisesRequired: true },
    ],
    3,
  );
  assert.deepEqual(twice, { status: 'approved', groupsSatisfied: ['a', 'b'], completedAt: 2, required: 2 });
  const all = { required: 2, groupNames: ['a', 'b'], expiresAt: 1_000 };
  const capped = evaluate(
    all,
    [
      { kind: 'approve', groupIndex: 0, at: 1, raisesRequired: true },
      { kind: 'approve', groupIndex: 1, at: 2 },
    ],
    3,
  );
  assert.deepEqual(
    capped,
    { status: 'approved', groupsSatisfied: ['a', 'b'], completedAt: 2 },
    'a request needing every group stays satisfiable',
  );
});

test('docs/governance.md states the history window and the burst detail the code uses', () => {
  const doc = readFileSync(new URL('../../../../docs/governance.md', import.meta.url), 'utf8');
  assert.ok(doc.includes(`newest ${HOUR_HISTORY_APPROVALS.toLocaleString('en')} approvals`), 'the hour window');
  assert.ok(doc.includes('`requests_at_least`'), 'the burst detail');
});

describeEachStore('anomaly flags', (kind) => {
  let store: TestStore;
  let t: TestServer;
  let now = DAY0;
  let seq = 0;
  let receiver: Receiver | undefined;
  let endpointId: string;
  const fresh = () => new TestDevice(`dev${++seq}`);

  /** Pairing signs with the real clock: the server's clock is the real one meanwhile. */
  const pair = async (...devices: TestDevice[]) => {
    const held = now;
    now = Date.now();
    for (const d of devices) await pairDevice(t.api, t.serverId, d);
    now = held;
  };
  const settings = (body: unknown) => t.api.request('PATCH', '/v1/governance/settings', body);
  const create = async (groups: TestDevice[][], required = 1) => {
    const res = await t.api.post('/v1/mpa/requests', {
      required,
      groups: groups.map((g, i) => ({ name: `group ${i}`, approvers: g.map((d) => d.approver) })),
      action: { type: 'deploy', description: 'anomaly flags' },
      expires_in_seconds: 900,
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { request_id: string; action: never };
  };
  const decide = (
    device: TestDevice,
    created: { request_id: string; action: never },
    decision: 'approve' | 'deny' = 'approve',
    from: { ip?: string; agent?: string } = {},
  ) =>
    t.api
      .withKey(null)
      .post(
        `/v1/mpa/requests/${created.request_id}/decisions`,
        device.decisionBody(t.serverId, created.request_id, actionDigest(created.action), decision, { issued_at: now }),
        { 'x-forwarded-for': from.ip ?? '192.0.2.10', 'user-agent': from.agent ?? 'sigil-device/0.1.0 node/20.20.0' },
      );
  const flagsOf = async (requestId: string) => (await t.api.get(`/v1/mpa/requests/${requestId}/flags`)).body.data as any[];
  const kinds = async (requestId: string) => (await flagsOf(requestId)).map((f) => f.kind).sort();
  /** Approves a request naming only this device, at `at`, from the usual place. */
  const history = async (device: TestDevice, at: number) => {
    now = at - 60_000;
    const created = await create([[device]]);
    now = at;
    assert.equal((await decide(device, created)).status, 200);
  };
  /**
   * Adds `count` approvals by the device, one a day from `from` on, each with its own copy of a
   * request it approved: a long history, laid down directly because it is only read.
   */
  const seedApprovals = async (device: TestDevice, template: string, from: number, count: number) => {
    const columns = (
      await t.server.db.query<{ column_name: string }>(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'mpa_requests' AND column_name NOT IN ('id', 'created_at')",
      )
    ).map((c) => c.column_name);
    const ids = Array.from({ length: count }, () => randomUUID());
    await t.server.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO mpa_requests (id, created_at, ${columns.join(', ')})
         SELECT n.id, $3::timestamptz + (n.day - 1) * interval '1 day' - interval '1 minute', ${columns.map((c) => `r.${c}`).join(', ')}
           FROM mpa_requests r, unnest($2::uuid[]) WITH ORDINALITY AS n(id, day) WHERE r.id = $1`,
        [template, ids, new Date(from)],
      );
      await tx.query(
        `INSERT INTO mpa_decisions (request_id, fingerprint, group_index, decision, payload, signature, decided_at, network, client)
         SELECT n.id, d.fingerprint, d.group_index, d.decision, d.payload, d.signature, $3::timestamptz + (n.day - 1) * interval '1 day',
                d.network, d.client
           FROM mpa_decisions d, unnest($2::uuid[]) WITH ORDINALITY AS n(id, day) WHERE d.request_id = $1 AND d.fingerprint = $4`,
        [template, ids, new Date(from), device.fingerprint],
      );
    });
  };
  const flaggedEvents = async (requestId: string) =>
    (
      await t.server.db.query<{ payload: any }>("SELECT payload FROM events WHERE type = 'mpa.flagged' AND request_id = $1", [requestId])
    ).map((r) => r.payload);

  before(async () => {
    store = await createStore(kind);
    t = await startTestServer(store, { clock: () => now, config: { trustProxy: 1, webhooks: { allowPrivate: true } } });
    // mpa.flagged is written only for an endpoint that subscribes to it.
    receiver = await Receiver.start();
    const endpoint = await t.api.post('/v1/webhooks', { url: receiver.url, events: ['mpa.flagged'] });
    assert.equal(endpoint.status, 201, JSON.stringify(endpoint.body));
    endpointId = endpoint.body.id;
  });
  after(async () => {
    await receiver?.close();
    await t?.close();
    await store?.dispose();
  });

  test('settings: defaults, validation that changes nothing, and an audit entry per change', async () => {
    const initial = await t.api.get('/v1/governance/settings');
    assert.deepEqual(initial.body, {
      time_zone: 'UTC',
      anomaly_flags: {
        rubber_stamp_seconds: 5,
        burst_requests: 5,
        burst_minutes: 10,
        new_hour_min_history: 10,
        flagged_approval_requires_extra_group: false,
      },
      decision_release: null,
    });
    for (const [body, code] of [
      [{ time_zone: 'Mars/Olympus_Mons' }, 400],
      [{ time_zone: 'Europe/Paris', anomaly_flags: { burst_requests: 1 } }, 400],
      [{ anomaly_flags: { rubber_stamp_seconds: 601 } }, 400],
      [{ anomaly_flags: { colour: 'red' } }, 400],
      [{ decision_release: { batch_seconds: 0 } }, 400],
    ] as const) {
      const res = await settings(body);
      assert.equal(res.status, code, JSON.stringify(body));
      assert.equal(res.body.error.code, 'invalid_request');
    }
    assert.deepEqual((await t.api.get('/v1/governance/settings')).body, initial.body, 'a refused change changes nothing');
    const changed = await settings({ time_zone: 'Europe/Paris', anomaly_flags: { burst_minutes: 15 } });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.equal(changed.body.time_zone, 'Europe/Paris');
    assert.equal(changed.body.anomaly_flags.burst_minutes, 15);
    assert.equal(changed.body.anomaly_flags.burst_requests, 5);
    const [entry] = await t.server.db.query<{ data: any }>(
      "SELECT data FROM audit_entries WHERE type = 'governance.updated' ORDER BY id DESC LIMIT 1",
    );
    assert.deepEqual(entry?.data, {
      changes: { time_zone: { from: 'UTC', to: 'Europe/Paris' }, 'anomaly_flags.burst_minutes': { from: 10, to: 15 } },
      via: 'api',
    });
    assert.equal((await settings({ time_zone: 'UTC', anomaly_flags: { burst_minutes: 10 } })).status, 200);
  });

  test('rubber-stamping: an approval within rubber_stamp_seconds of the request is flagged, one after it is not', async () => {
    const [a, b] = [fresh(), fresh()];
    await pair(a, b);
    now = DAY0 + 10 * HOUR;
    const created = await create([[a], [b]], 2);
    now += 4_999;
    assert.equal((await decide(a, created)).status, 200);
    now += 1;
    assert.equal((await decide(b, created)).status, 200);
    const flags = await flagsOf(created.request_id);
    assert.deepEqual(
      flags.map((f) => [f.kind, f.fingerprint, f.group, f.device_name, f.decision]),
      [['rubber_stamp', a.fingerprint, 'group 0', a.name, 'approve']],
    );
    assert.equal(flags[0].details.seconds_after_creation, 4.999);
    const page = await t.api.get(`/v1/devices/${a.fingerprint}/flags`);
    assert.equal(page.status, 200);
    assert.deepEqual(
      page.body.data.map((f: any) => [f.kind, f.request_id]),
      [['rubber_stamp', created.request_id]],
    );
    assert.deepEqual((await t.api.get(`/v1/devices/${b.fingerprint}/flags`)).body.data, []);
    const [audit] = await t.server.db.query<{ data: any }>(
      "SELECT data FROM audit_entries WHERE type = 'mpa.flagged' AND request_id = $1",
      [created.request_id],
    );
    assert.equal(audit?.data.fingerprint, a.fingerprint, 'the audit log names the device, for the organisation');
    assert.deepEqual(
      audit?.data.flags.map((f: any) => f.kind),
      ['rubber_stamp'],
    );
  });

  test("a device's next decision is judged by the settings in force, not by those of its last one", async () => {
    const a = fresh();
    await pair(a);
    now = DAY0 + 11 * HOUR;
    const first = await create([[a]]);
    now += 1_000;
    assert.equal((await decide(a, first)).status, 200);
    assert.deepEqual(await kinds(first.request_id), ['rubber_stamp']);
    assert.equal((await settings({ anomaly_flags: { rubber_stamp_seconds: 0 } })).status, 200);
    try {
      const second = await create([[a]]);
      now += 1_000;
      assert.equal((await decide(a, second)).status, 200);
      assert.deepEqual(await kinds(second.request_id), [], 'rubber-stamping is no longer judged');
    } finally {
      await settings({ anomaly_flags: { rubber_stamp_seconds: 5 } });
    }
    const third = await create([[a]]);
    now += 1_000;
    assert.equal((await decide(a, third)).status, 200);
    assert.deepEqual(await kinds(third.request_id), ['rubber_stamp']);
  });

  test('mpa.flagged is group-level; a flagged denial is never sent to the application', async () => {
    const [a, b] = [fresh(), fresh()];
    await pair(a, b);
    await history(a, DAY0 + 11 * HOUR);
    await history(b, DAY0 + 11 * HOUR);
    now = DAY0 + 12 * HOUR;
    const approved = await create([[a], [b]], 2);
    now += 60_000;
    assert.equal((await decide(a, approved, 'approve', { ip: '198.51.100.7' })).status, 200);
    const [event] = await flaggedEvents(approved.request_id);
    assert.deepEqual(event, {
      type: 'mpa.flagged',
      request_id: approved.request_id,
      group: 'group 0',
      flags: ['new_network'],
      extra_group_required: false,
      groups_required: 2,
      groups_total: 2,
      timestamp: new Date(now).toISOString(),
    });
    assert.ok(!JSON.stringify(event).includes(a.fingerprint), 'the event never names the device');
    const delivered = await waitFor(
      () => receiver!.received.find((r) => r.body.includes(approved.request_id)),
      'the mpa.flagged webhook to be delivered',
    );
    assert.deepEqual(JSON.parse(delivered.body), event);

    now += 60_000;
    const denied = await create([[a], [b]], 2);
    now += 60_000;
    const res = await decide(b, denied, 'deny', { ip: '203.0.113.9', agent: 'curl/8.5.0' });
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'rejected');
    assert.deepEqual(await kinds(denied.request_id), ['new_client', 'new_network'], 'the console sees the denial was flagged');
    assert.deepEqual(await flaggedEvents(denied.request_id), [], 'the application is not told whose denial it was');
    const view = (await t.api.get(`/v1/mpa/requests/${denied.request_id}`)).body;
    assert.ok(!('flags' in view) && !JSON.stringify(view).includes(b.fingerprint));
  });

  test('new network and new client: judged once the device has decided before; versions of a user agent are the same client', async () => {
    const a = fresh();
    await pair(a);
    now = DAY0 + 20 * HOUR;
    const first = await create([[a]]);
    now += 10 * 60_000; // far enough apart not to be a burst
    await decide(a, first, 'approve', { ip: '192.0.2.10', agent: 'Mozilla/5.0 (X11) Firefox/120.0' });
    assert.deepEqual(await kinds(first.request_id), [], 'a first decision has nothing to differ from');
    const sameNet = await create([[a]]);
    now += 10 * 60_000; // far enough apart not to be a burst
    await decide(a, sameNet, 'approve', { ip: '192.0.2.200', agent: 'Mozilla/5.0 (X11) Firefox/121.0' });
    assert.deepEqual(await kinds(sameNet.request_id), [], 'same /24, same browser a version later');
    const elsewhere = await create([[a]]);
    now += 10 * 60_000; // far enough apart not to be a burst
    await decide(a, elsewhere, 'approve', { ip: '192.0.3.10', agent: 'Mozilla/5.0 (X11) Firefox/121.0' });
    assert.deepEqual(await kinds(elsewhere.request_id), ['new_network']);
    assert.equal((await flagsOf(elsewhere.request_id))[0].details.network, '192.0.3.0/24');
    const v6 = await create([[a]]);
    now += 10 * 60_000; // far enough apart not to be a burst
    await decide(a, v6, 'approve', { ip: '2001:db8:1:2::5', agent: 'Mozilla/5.0 (X11) Chrome/120.0 Safari/537.36' });
    assert.deepEqual(await kinds(v6.request_id), ['new_client', 'new_network']);
    const v6again = await create([[a]]);
    now += 10 * 60_000; // far enough apart not to be a burst
    await decide(a, v6again, 'approve', { ip: '2001:db8:1:2:ffff::9', agent: 'Mozilla/5.0 (X11) Chrome/131.0 Safari/537.36' });
    assert.deepEqual(await kinds(v6again.request_id), [], 'same /64');
  });

  test("new hour: an hour of the day the device never approved in, in the device's own time zone, once it has a history", async () => {
    assert.equal((await settings({ anomaly_flags: { new_hour_min_history: 2 } })).status, 200);
    try {
      const a = fresh();
      await pair(a);
      const zone = await t.api.request('PUT', `/v1/devices/${a.fingerprint}/time-zone`, { time_zone: 'Asia/Tokyo' });
      assert.deepEqual(zone.body, { fingerprint: a.fingerprint, time_zone: 'Asia/Tokyo', effective_time_zone: 'Asia/Tokyo' });
      assert.equal((await t.api.request('PUT', `/v1/devices/${a.fingerprint}/time-zone`, { time_zone: 'Nowhere/Special' })).status, 400);
      const tokyoTen = Date.parse('2030-03-10T01:00:00Z'); // 10:00 in Tokyo
      await history(a, tokyoTen);
      now = Date.parse('2030-03-10T13:00:00Z') - 60_000;
      const early = await create([[a]]);
      now += 60_000; // 22:00 in Tokyo, but only one approval on record
      assert.equal((await decide(a, early, 'approve')).status, 200);
      assert.deepEqual(await kinds(early.request_id), [], 'too little history to judge hours');
      now = Date.parse('2030-03-11T01:30:00Z') - 60_000;
      const usual = await create([[a]]);
      now += 60_000; // 10:30 in Tokyo: an hour it has approved in
      assert.equal((await decide(a, usual, 'approve')).status, 200);
      assert.deepEqual(await kinds(usual.request_id), []);
      now = Date.parse('2030-03-11T18:00:00Z') - 60_000;
      const odd = await create([[a]]);
      now += 60_000; // 03:00 in Tokyo (18:00 UTC, never seen either)
      assert.equal((await decide(a, odd, 'approve')).status, 200);
      const [flag] = await flagsOf(odd.request_id);
      assert.equal(flag?.kind, 'new_hour');
      assert.deepEqual(flag?.details, { hour: 3, time_zone: 'Asia/Tokyo', prior_approvals: 3 });
      const [entry] = await t.server.db.query<{ data: any }>(
        "SELECT data FROM audit_entries WHERE type = 'device.time_zone_set' AND data->>'fingerprint' = $1",
        [a.fingerprint],
      );
      assert.deepEqual(entry?.data, { fingerprint: a.fingerprint, from: null, to: 'Asia/Tokyo', via: 'api' });
    } finally {
      await settings({ anomaly_flags: { new_hour_min_history: 10 } });
    }
  });

  test(`new hour: judged against the device's newest ${HOUR_HISTORY_APPROVALS} approvals`, async () => {
    const [inside, beyond] = [fresh(), fresh()];
    await pair(inside, beyond);
    const threeAm = Date.parse('2031-01-01T03:00:00Z');
    const noon = Date.parse('2031-01-02T12:00:00Z');
    for (const [device, newer] of [
      [inside, HOUR_HISTORY_APPROVALS - 1],
      [beyond, HOUR_HISTORY_APPROVALS],
    ] as const) {
      await history(device, threeAm);
      now = noon - 60_000;
      const template = await create([[device]]);
      now = noon;
      assert.equal((await decide(device, template)).status, 200);
      await seedApprovals(device, template.request_id, noon + 86_400_000, newer - 1);
    }
    const late = Date.parse('2034-01-01T03:00:00Z');
    for (const device of [inside, beyond]) {
      now = late - 60_000;
      const created = await create([[device]]);
      now = late;
      assert.equal((await decide(device, created)).status, 200);
      const flags = await flagsOf(created.request_id);
      if (device === inside) assert.deepEqual(flags, [], 'its 03:00 approval is the oldest of the window');
      else
        assert.deepEqual(
          flags.map((f) => [f.kind, f.details]),
          [['new_hour', { hour: 3, time_zone: 'UTC', prior_approvals: HOUR_HISTORY_APPROVALS }]],
          'its 03:00 approval has left the window',
        );
    }
  });

  test('approval burst: K requests to one approver within T minutes flag its approval', async () => {
    assert.equal((await settings({ anomaly_flags: { burst_requests: 3, burst_minutes: 5 } })).status, 200);
    try {
      const a = fresh();
      await pair(a);
      now = DAY0 + 30 * HOUR;
      const spaced = await create([[a]]);
      now += 5 * 60_000;
      await create([[a]]);
      now += 60_000;
      await decide(a, spaced);
      assert.deepEqual(await kinds(spaced.request_id), [], 'two requests within 5 minutes');
      const third = await create([[a]]);
      now += 60_000;
      await decide(a, third);
      assert.deepEqual(await kinds(third.request_id), []);
      await create([[a]]);
      const fifth = await create([[a]]);
      now += 60_000;
      await decide(a, fifth);
      const [flag] = await flagsOf(fifth.request_id);
      assert.deepEqual([flag?.kind, flag?.details], ['approval_burst', { requests_at_least: 3, minutes: 5 }]);
    } finally {
      await settings({ anomaly_flags: { burst_requests: 5, burst_minutes: 10 } });
    }
  });

  test('require one more group: a flagged approval that would reach quorum does not approve the request', async () => {
    assert.equal((await settings({ anomaly_flags: { flagged_approval_requires_extra_group: true } })).status, 200);
    try {
      const [a, b, c] = [fresh(), fresh(), fresh()];
      await pair(a, b, c);
      now = DAY0 + 40 * HOUR;
      const created = await create([[a], [b], [c]], 1);
      now += 1_000; // rubber-stamped
      const first = await decide(a, created);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.equal(first.body.status, 'pending', 'the quorum-reaching approval was flagged: one more group is needed');
      assert.equal(first.body.groups_required, 2);
      const view = (await t.api.get(`/v1/mpa/requests/${created.request_id}`)).body;
      assert.deepEqual([view.status, view.groups_required, view.groups_satisfied], ['pending', 2, ['group 0']]);
      const [event] = await flaggedEvents(created.request_id);
      assert.deepEqual([event.extra_group_required, event.groups_required], [true, 2]);

      now += 1_000; // flagged too: the quorum rises once, not again
      const second = await decide(b, created);
      assert.equal(second.body.status, 'approved');
      assert.deepEqual((await t.api.get(`/v1/mpa/requests/${created.request_id}`)).body.groups_required, 2);
      const [completed] = await t.server.db.query<{ payload: any }>(
        "SELECT payload FROM events WHERE type = 'mpa.approved' AND request_id = $1",
        [created.request_id],
      );
      assert.equal(completed?.payload.groups_required, 2);
    } finally {
      await settings({ anomaly_flags: { flagged_approval_requires_extra_group: false } });
    }
  });

  test('mpa.flagged is written only while some endpoint subscribes to it; the flag is recorded either way', async () => {
    const listing = (events: string[] | null) => t.api.request('PATCH', `/v1/webhooks/${endpointId}`, { events });
    const [a, b] = [fresh(), fresh()];
    await pair(a, b);
    now = DAY0 + 60 * HOUR;
    // Every type but the opt-in ones: mpa.flagged is opt-in, so nothing subscribes to it now.
    assert.equal((await listing(null)).status, 200);
    try {
      const unwatched = await create([[a], [b]], 2);
      assert.equal((await decide(a, unwatched)).status, 200);
      assert.deepEqual(await kinds(unwatched.request_id), ['rubber_stamp']);
      assert.deepEqual(await flaggedEvents(unwatched.request_id), []);
    } finally {
      assert.equal((await listing(['mpa.flagged'])).status, 200);
    }
    now += HOUR;
    const watched = await create([[a], [b]], 2);
    assert.equal((await decide(b, watched)).status, 200);
    assert.deepEqual(
      (await flaggedEvents(watched.request_id)).map((e) => e.flags),
      [['rubber_stamp']],
    );
  });

  test('require one more group, capped: a request that already needs every group is decided as before', async () => {
    assert.equal((await settings({ anomaly_flags: { flagged_approval_requires_extra_group: true } })).status, 200);
    try {
      const [a, b] = [fresh(), fresh()];
      await pair(a, b);
      now = DAY0 + 50 * HOUR;
      const created = await create([[a], [b]], 2);
      now += 1_000;
      assert.equal((await decide(a, created)).body.status, 'pending');
      now += 1_000;
      const last = await decide(b, created);
      assert.deepEqual([last.body.status, last.body.groups_required], ['approved', 2]);
      const events = await flaggedEvents(created.request_id);
      assert.deepEqual(
        events.map((e) => e.extra_group_required),
        [false, false],
      );
    } finally {
      await settings({ anomaly_flags: { flagged_approval_requires_extra_group: false } });
    }
  });
});
