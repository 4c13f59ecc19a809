import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { actionDigest } from '@sigilauth/protocol';
import { createApiKey } from '../../src/tenants/api-keys.js';
import { createTenant } from '../../src/tenants/tenants.js';
import { pairDevice, startTestServer, type Api, type TestServer } from '../../../../test/support/api.js';
import { COLD_BOOT_ACTION } from '../../../../test/support/cold-boot.js';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { createStore, describeEachStore, type TestStore } from '../../../../test/support/stores.js';

describeEachStore('approval teams and requester exclusion', (kind) => {
  let store: TestStore;
  let t: TestServer;
  let now = Date.now();
  const [alice, bob, carol, dave, eve] = ['Alice', 'Bob', 'Carol', 'Dave', 'Eve'].map((n) => new TestDevice(n)) as [
    TestDevice,
    TestDevice,
    TestDevice,
    TestDevice,
    TestDevice,
  ];
  const patch = (path: string, body: unknown, api: Api = t.api) => api.request('PATCH', path, body);
  const decide = (device: TestDevice, id: string, decision: 'approve' | 'deny', digest: string) =>
    t.api.withKey(null).post(`/v1/mpa/requests/${id}/decisions`, device.decisionBody(t.serverId, id, digest, decision, { issued_at: now }));
  const request = (groups: unknown[], extra: Record<string, unknown> = {}) => ({
    required: 1,
    groups,
    action: structuredClone(COLD_BOOT_ACTION),
    expires_in_seconds: 300,
    ...extra,
  });
  const events = async (type: string) =>
    (await t.server.db.query<{ payload: any }>('SELECT payload FROM events WHERE type = $1 ORDER BY created_at, id', [type])).map(
      (r) => r.payload,
    );
  const audit = async (type: string) =>
    (await t.server.db.query<{ data: any }>('SELECT data FROM audit_entries WHERE type = $1 ORDER BY id', [type])).map((r) => r.data);
  const approversOf = async (id: string) =>
    (
      await t.server.db.query<{ fingerprint: string }>('SELECT fingerprint FROM mpa_approvers WHERE request_id = $1 ORDER BY fingerprint', [
        id,
      ])
    ).map((r) => r.fingerprint);

  before(async () => {
    store = await createStore(kind);
    t = await startTestServer(store, { clock: () => now });
    for (const d of [alice, bob, carol, dave, eve]) await pairDevice(t.api, t.serverId, d);
  });
  after(async () => {
    await t?.close();
    await store?.dispose();
  });

  test('a team is created, listed, changed and deleted, each change audited and announced', async () => {
    const created = await t.api.post('/v1/teams', { slug: 'ops', name: 'Operations', members: [dave.fingerprint], min_members: 1 });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.active_members, 1);
    assert.deepEqual(created.body.members, [{ fingerprint: dave.fingerprint, name: 'Dave', status: 'active', owner_id: null }]);
    assert.equal((await t.api.post('/v1/teams', { slug: 'ops', name: 'Again' })).body.error.code, 'team_exists');

    const changed = await patch('/v1/teams/ops', { name: 'Ops', add_members: [eve.fingerprint], remove_members: [dave.fingerprint] });
    assert.equal(changed.status, 200);
    assert.equal(changed.body.name, 'Ops');
    assert.deepEqual(
      changed.body.members.map((m: { fingerprint: string }) => m.fingerprint),
      [eve.fingerprint],
    );
    const [updated] = (await events('team.updated')).filter((e) => e.slug === 'ops');
    assert.deepEqual([updated.added, updated.removed], [[eve.fingerprint], [dave.fingerprint]]);
    assert.ok((await audit('team.updated')).some((a) => a.slug === 'ops' && a.added[0] === eve.fingerprint));

    const list = await t.api.get('/v1/teams');
    assert.deepEqual(
      list.body.data.map((team: { slug: string }) => team.slug),
      ['ops'],
    );
    assert.equal((await t.api.delete('/v1/teams/ops')).status, 200);
    assert.equal((await t.api.get('/v1/teams/ops')).status, 404);
    assert.equal((await events('team.deleted')).length, 1);
    assert.equal((await events('team.created')).length, 1);
  });

  test('bad team input is a 400, and a device of another organisation cannot join', async () => {
    for (const body of [
      { slug: 'Bad Slug', name: 'x' },
      { slug: 'x', name: '' },
      { slug: 'x', name: 'x', min_members: 0 },
      { slug: 'x', name: 'x', members: ['nope'] },
      { slug: 'x', name: 'x', extra: 1 },
      { slug: 'x', name: 'x', members: [alice.fingerprint, alice.fingerprint] },
    ]) {
      const res = await t.api.post('/v1/teams', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.error.code, 'invalid_request');
    }
    const other = await createTenant(t.server.db, 'Other Org');
    const otherApi = t.api.withKey((await createApiKey(t.server.db, other.id, 'k', 'live')).key);
    const stranger = await otherApi.post('/v1/teams', { slug: 'x', name: 'x', members: [alice.fingerprint] });
    assert.equal(stranger.status, 400);
    assert.match(stranger.body.error.message, /not paired with this organisation/);
    assert.equal((await t.api.get('/v1/teams/x')).status, 404, 'nothing was written');
  });

  test('teams are confined to their organisation and to test or live mode', async () => {
    assert.equal((await t.api.post('/v1/teams', { slug: 'sec', name: 'Security Team', members: [carol.fingerprint] })).status, 201);
    const [tenant] = await t.server.db.query<{ id: string }>('SELECT id FROM tenants WHERE live_tenant_id IS NULL AND name = $1', [
      'Acme Corp',
    ]);
    const testApi = t.api.withKey((await createApiKey(t.server.db, tenant!.id, 'ci', 'test')).key);
    assert.equal((await testApi.get('/v1/teams/sec')).status, 404);
    assert.deepEqual((await testApi.get('/v1/teams')).body.data, []);
    assert.equal((await patch('/v1/teams/sec', { name: 'x' }, testApi)).status, 404);
    const named = await testApi.post('/v1/mpa/requests', request([{ name: 'Security Team', team: 'sec' }]));
    assert.equal(named.status, 400);
    assert.equal(named.body.error.code, 'unknown_team');
    assert.equal((await t.api.withKey(null).get('/v1/teams')).status, 401);

    // Another organisation on the same server sees none of it, and cannot link this one's devices.
    const other = await createTenant(t.server.db, 'Mallory Ltd');
    const mallory = t.api.withKey((await createApiKey(t.server.db, other.id, 'k', 'live')).key);
    assert.equal((await mallory.get('/v1/teams/sec')).status, 404);
    assert.equal((await patch('/v1/teams/sec', { add_members: [] }, mallory)).status, 404);
    assert.equal((await mallory.delete('/v1/teams/sec')).status, 404);
    assert.equal((await mallory.post('/v1/mpa/requests', request([{ name: 'S', team: 'sec' }]))).body.error.code, 'unknown_team');
    assert.equal((await mallory.request('PUT', `/v1/devices/${carol.fingerprint}/owner`, { owner_id: 'mallory' })).status, 404);
    assert.deepEqual((await mallory.get('/v1/overrides')).body.data, []);
    assert.equal((await t.api.get('/v1/teams/sec')).body.members.length, 1, 'untouched');
    await t.api.delete('/v1/teams/sec');
  });

  test('a request freezes a team’s active members; later changes affect only later requests', async () => {
    await t.api.post('/v1/teams', { slug: 'security', name: 'Security', members: [carol.fingerprint, dave.fingerprint], min_members: 1 });
    const body = request(
      [
        { name: 'Engineering Leads', approvers: [alice.approver, bob.approver] },
        { name: 'Security Team', team: 'security' },
      ],
      { required: 2 },
    );
    const first = await t.api.post('/v1/mpa/requests', body);
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.body.groups_total, 2);
    assert.deepEqual(await approversOf(first.body.request_id), [alice, bob, carol, dave].map((d) => d.fingerprint).sort());

    await patch('/v1/teams/security', { remove_members: [dave.fingerprint], add_members: [eve.fingerprint] });
    const second = await t.api.post('/v1/mpa/requests', body);
    assert.deepEqual(await approversOf(second.body.request_id), [alice, bob, carol, eve].map((d) => d.fingerprint).sort());

    // Dave left the team after the first request: he still decides it, not the second.
    const digest = actionDigest(first.body.action);
    assert.equal((await decide(dave, first.body.request_id, 'approve', digest)).body.groups_satisfied_count, 1);
    assert.equal((await decide(alice, first.body.request_id, 'approve', digest)).body.status, 'approved');
    assert.deepEqual((await t.api.get(`/v1/mpa/requests/${first.body.request_id}`)).body.groups_satisfied, [
      'Security Team',
      'Engineering Leads',
    ]);
    assert.equal((await decide(dave, second.body.request_id, 'approve', digest)).body.error.code, 'not_an_approver');
    const [createdAudit] = (await audit('mpa.created')).filter((a) => a.request_id === first.body.request_id);
    assert.deepEqual(
      { ...createdAudit.groups[1], approvers: [...createdAudit.groups[1].approvers].sort() },
      { name: 'Security Team', team: 'security', approvers: [carol.fingerprint, dave.fingerprint].sort() },
    );
    await t.api.post(`/v1/mpa/requests/${second.body.request_id}/cancel`);
    await t.api.delete('/v1/teams/security');
  });

  test('a team below its minimum size, or a quorum no longer reachable, is refused with a 400', async () => {
    await t.api.post('/v1/teams', { slug: 'pair', name: 'Pair', members: [carol.fingerprint, dave.fingerprint], min_members: 2 });
    const ok = await t.api.post('/v1/mpa/requests', request([{ name: 'Pair', team: 'pair' }]));
    assert.equal(ok.status, 201);
    await t.api.post(`/v1/mpa/requests/${ok.body.request_id}/cancel`);

    await patch('/v1/teams/pair', { min_members: 3 });
    const small = await t.api.post('/v1/mpa/requests', request([{ name: 'Pair', team: 'pair' }]));
    assert.equal(small.status, 400);
    assert.equal(small.body.error.code, 'team_below_minimum');
    assert.match(small.body.error.message, /team "pair" \(group "Pair"\) has 2 active members who can approve; it requires at least 3/);

    const mixed = await t.api.post(
      '/v1/mpa/requests',
      request(
        [
          { name: 'Eng', approvers: [alice.approver] },
          { name: 'Pair', team: 'pair' },
        ],
        { required: 1 },
      ),
    );
    assert.equal(mixed.body.error.code, 'team_below_minimum', 'a team group is checked even when other groups could reach quorum');
    await t.api.delete('/v1/teams/pair');

    const both = await t.api.post('/v1/teams', { slug: 'dup', name: 'Dup', members: [alice.fingerprint] });
    assert.equal(both.status, 201);
    const twice = await t.api.post(
      '/v1/mpa/requests',
      request([
        { name: 'Eng', approvers: [alice.approver] },
        { name: 'Dup', team: 'dup' },
      ]),
    );
    assert.equal(twice.status, 400);
    assert.match(twice.body.error.message, /is in group "Eng" and group "Dup"; a device may count for one group only/);
    const teamAndApprovers = await t.api.post('/v1/mpa/requests', request([{ name: 'X', team: 'dup', approvers: [alice.approver] }]));
    assert.match(teamAndApprovers.body.error.message, /names a team and lists approvers/);
    await t.api.delete('/v1/teams/dup');
  });

  test('a team emptied by revocation mid-request: revoked members cannot approve, and the request times out at its expiry', async () => {
    const [frank, grace] = [new TestDevice('Frank'), new TestDevice('Grace')];
    await pairDevice(t.api, t.serverId, frank);
    await pairDevice(t.api, t.serverId, grace);
    await t.api.post('/v1/teams', { slug: 'night', name: 'Night shift', members: [frank.fingerprint, grace.fingerprint] });
    const created = await t.api.post('/v1/mpa/requests', request([{ name: 'Night shift', team: 'night' }], { expires_in_seconds: 60 }));
    assert.equal(created.status, 201);
    const id = created.body.request_id;
    await t.api.delete(`/v1/devices/${frank.fingerprint}`);
    await t.api.delete(`/v1/devices/${grace.fingerprint}`);

    assert.equal((await t.api.get('/v1/teams/night')).body.active_members, 0);
    assert.deepEqual(await approversOf(id), [frank.fingerprint, grace.fingerprint].sort(), 'the frozen request keeps its members');
    const refused = await decide(frank, id, 'approve', actionDigest(created.body.action));
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'device_revoked');
    const denial = await decide(grace, id, 'deny', actionDigest(created.body.action));
    assert.equal(denial.body.error.code, 'device_revoked', 'nor can they deny');
    assert.equal((await t.api.get(`/v1/mpa/requests/${id}`)).body.status, 'pending');
    now += 61_000;
    assert.equal((await t.api.get(`/v1/mpa/requests/${id}`)).body.status, 'timeout');
    const later = await t.api.post('/v1/mpa/requests', request([{ name: 'Night shift', team: 'night' }]));
    assert.equal(later.body.error.code, 'team_below_minimum', 'a new request cannot name the emptied team');
  });

  test('the requester’s own devices are left out; a request they alone could satisfy is refused', async () => {
    for (const [d, owner] of [
      [alice, 'user-alice'],
      [bob, 'user-alice'],
      [carol, 'user-carol'],
    ] as const) {
      const linked = await t.api.request('PUT', `/v1/devices/${d.fingerprint}/owner`, { owner_id: owner });
      assert.equal(linked.status, 200);
      assert.equal(linked.body.owner_id, owner);
    }
    assert.ok((await audit('device.owner_set')).some((a) => a.fingerprint === alice.fingerprint && a.owner_id === 'user-alice'));
    assert.equal((await t.api.request('PUT', `/v1/devices/${alice.fingerprint}/owner`, { owner_id: 'has space' })).status, 400);

    // By owner id: Alice's two devices drop out of Engineering; Carol's group remains.
    const body = request(
      [
        { name: 'Engineering Leads', approvers: [alice.approver, bob.approver, dave.approver] },
        { name: 'Security Team', approvers: [carol.approver] },
      ],
      { required: 2, requested_by: { id: 'user-alice' } },
    );
    const created = await t.api.post('/v1/mpa/requests', body);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.request_id;
    assert.deepEqual(await approversOf(id), [carol, dave].map((d) => d.fingerprint).sort());
    const digest = actionDigest(created.body.action);
    const own = await decide(bob, id, 'deny', digest);
    assert.equal(own.status, 403);
    assert.equal(own.body.error.code, 'not_an_approver', "the requester's denial does not count either");
    assert.equal((await decide(dave, id, 'approve', digest)).body.status, 'pending');
    assert.equal((await decide(carol, id, 'approve', digest)).body.status, 'approved');
    const [entry] = (await audit('mpa.created')).filter((a) => a.request_id === id);
    assert.deepEqual(entry.requester, { id: 'user-alice' });
    assert.deepEqual(entry.requester_devices_excluded, [alice.fingerprint, bob.fingerprint].sort());

    // By fingerprint: Bob's device names the requester, and its owner's other device (Alice) goes too.
    const byDevice = await t.api.post(
      '/v1/mpa/requests',
      request(
        [
          { name: 'Engineering Leads', approvers: [alice.approver, bob.approver] },
          { name: 'Security Team', approvers: [carol.approver] },
        ],
        {
          required: 2,
          requested_by: { fingerprint: bob.fingerprint },
        },
      ),
    );
    assert.equal(byDevice.status, 400);
    assert.equal(byDevice.body.error.code, 'unsatisfiable_request');
    assert.match(
      byDevice.body.error.message,
      /required is 2 but only 1 of 2 groups can be satisfied: "Engineering Leads" has no one who can approve/,
    );

    // A team whose only eligible members are the requester's is below its minimum.
    await t.api.post('/v1/teams', { slug: 'leads', name: 'Leads', members: [alice.fingerprint, bob.fingerprint] });
    const team = await t.api.post('/v1/mpa/requests', request([{ name: 'Leads', team: 'leads' }], { requested_by: { id: 'user-alice' } }));
    assert.equal(team.body.error.code, 'team_below_minimum');
    assert.match(team.body.error.message, /has 0 active members who can approve \(2 of the requester's devices not counted\)/);
    await t.api.delete('/v1/teams/leads');
  });

  test('without requested_by nothing is left out: the guide’s user-initiated MPA still works', async () => {
    const created = await t.api.post(
      '/v1/mpa/requests',
      request(
        [alice, bob].map((d) => ({ name: d.name, approvers: [d.approver] })),
        { required: 2, action: { type: 'delete_account', description: 'Delete your account', params: { user_id: 'user-alice' } } },
      ),
    );
    assert.equal(created.status, 201);
    const digest = actionDigest(created.body.action);
    await decide(alice, created.body.request_id, 'approve', digest);
    assert.equal((await decide(bob, created.body.request_id, 'approve', digest)).body.status, 'approved');
  });
});
