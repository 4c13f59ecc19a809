import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pairDevice, startTestServer } from '../../../test/support/api.js';
import { COLD_BOOT_ACTION } from '../../../test/support/cold-boot.js';
import { TestDevice } from '../../../test/support/device-keys.js';
import { postgresAvailable } from '../../../test/support/postgres.js';
import { createStore } from '../../../test/support/stores.js';
import { actionDigest } from '@sigilauth/protocol';
import { SigilAuth, SigilValidationError, type SigilApiError } from '../src/index.js';

test('teams, owners and overrides through the Node SDK against a real server', async (t) => {
  const store = await createStore((await postgresAvailable()) ? 'postgres' : 'pglite');
  t.after(() => store.dispose());
  const server = await startTestServer(store);
  t.after(() => server.close());
  const [alice, bob, carol] = [new TestDevice('Alice'), new TestDevice('Bob'), new TestDevice('Carol')];
  for (const d of [alice, bob, carol]) await pairDevice(server.api, server.serverId, d);
  const sigil = new SigilAuth({ serviceUrl: server.server.url, apiKey: server.api.apiKey!, maxRetries: 3 });

  // Teams
  const team = await sigil.teams.create({ slug: 'security', name: 'Security Team', members: [carol.fingerprint] });
  assert.equal(team.active_members, 1);
  const grown = await sigil.teams.update('security', { add_members: [bob.fingerprint], min_members: 2 });
  assert.deepEqual(grown.members.map((m) => m.name).sort(), ['Bob', 'Carol']);
  assert.deepEqual(
    (await sigil.teams.list()).map((x) => x.slug),
    ['security'],
  );
  assert.equal((await sigil.teams.get('security')).min_members, 2);
  await assert.rejects(sigil.teams.get('Not a slug'), SigilValidationError);
  await assert.rejects(
    sigil.teams.create({ slug: 'security', name: 'Again' }),
    (err: SigilApiError) => err.code === 'team_exists' && err.status === 409,
  );

  // A request naming the team, beside inline approvers, with the requester left out.
  const owned = await sigil.devices.setOwner(bob.fingerprint, 'user-bob');
  assert.equal(owned.owner_id, 'user-bob');
  assert.equal((await sigil.devices.list()).find((d) => d.fingerprint === bob.fingerprint)?.owner_id, 'user-bob');
  const request = {
    required: 2,
    groups: [
      { name: 'Engineering Leads', approvers: [alice.approver] },
      { name: 'Security Team', team: 'security' },
    ],
    action: COLD_BOOT_ACTION,
  };
  const created = await sigil.mpa.request(request);
  assert.equal(created.groups_total, 2);
  await assert.rejects(
    sigil.mpa.request({ ...request, requested_by: { id: 'user-bob' } }),
    (err: SigilApiError) => err.code === 'team_below_minimum' && err.status === 400,
  );
  await assert.rejects(
    sigil.mpa.request({ ...request, groups: [{ name: 'X', team: 'security', approvers: [alice.approver] } as never] }),
    SigilValidationError,
  );
  await sigil.mpa.cancel(created.request_id);

  // Overrides
  assert.equal((await sigil.overrides.getSettings()).enabled, false);
  await assert.rejects(
    sigil.overrides.create({ reason: 'r', action: COLD_BOOT_ACTION }),
    (err: SigilApiError) => err.code === 'overrides_disabled',
  );
  await sigil.teams.update('security', { min_members: 1 });
  await sigil.overrides.updateSettings({
    enabled: true,
    daily_limit: 1,
    review_teams: ['security'],
    review_required: 1,
    review_expires_in_seconds: 900,
  });
  const o = await sigil.overrides.create({
    reason: 'Production down, approvers unreachable',
    action: { type: 'restart_db', description: 'Restart the primary database' },
    requested_by: { fingerprint: carol.fingerprint },
  });
  assert.equal(o.status, 'awaiting_review');
  assert.equal(o.review_request.action.type, 'emergency_override');
  assert.equal((await sigil.mpa.get(o.review_request_id)).status, 'pending');
  assert.deepEqual(
    (await sigil.overrides.list({ status: 'awaiting_review' })).map((x) => x.override_id),
    [o.override_id],
  );
  await assert.rejects(
    sigil.overrides.create({ reason: 'again', action: COLD_BOOT_ACTION }),
    (err: SigilApiError) => err.code === 'override_limit_reached' && err.status === 429 && err.attempts === 1,
  );
  await assert.rejects(sigil.teams.delete('security'), (err: SigilApiError) => err.code === 'team_in_use' && err.status === 409);
  await sigil.overrides.updateSettings({
    enabled: false,
    daily_limit: null,
    review_teams: [],
    review_required: 1,
    review_expires_in_seconds: 900,
  });
  assert.deepEqual(await sigil.teams.delete('security'), { slug: 'security', deleted: true });
});

test('anomaly flags and timing privacy through the Node SDK against a real server', async (t) => {
  const store = await createStore('pglite');
  t.after(() => store.dispose());
  const server = await startTestServer(store);
  t.after(() => server.close());
  const alice = new TestDevice('Alice');
  await pairDevice(server.api, server.serverId, alice);
  const sigil = new SigilAuth({ serviceUrl: server.server.url, apiKey: server.api.apiKey!, maxRetries: 3 });

  // An approval within the default 5 s of the request is flagged as rubber-stamped.
  const created = await sigil.mpa.request({
    required: 1,
    groups: [{ name: 'Ops', approvers: [alice.approver] }],
    action: COLD_BOOT_ACTION,
  });
  const decided = await server.api
    .withKey(null)
    .post(
      `/v1/mpa/requests/${created.request_id}/decisions`,
      alice.decisionBody(server.serverId, created.request_id, actionDigest(created.action), 'approve'),
    );
  assert.equal(decided.status, 200, JSON.stringify(decided.body));
  const flags = await sigil.governance.requestFlags(created.request_id);
  assert.deepEqual(
    flags.map((f) => [f.kind, f.fingerprint, f.group, f.decision]),
    [['rubber_stamp', alice.fingerprint, 'Ops', 'approve']],
  );
  assert.deepEqual(
    (await sigil.governance.deviceFlags(alice.fingerprint)).data.map((f) => f.request_id),
    [created.request_id],
  );
  await assert.rejects(sigil.governance.requestFlags('not-a-uuid'), SigilValidationError);

  const zoned = await sigil.governance.setDeviceTimeZone(alice.fingerprint, 'Europe/Paris');
  assert.deepEqual([zoned.time_zone, zoned.effective_time_zone], ['Europe/Paris', 'Europe/Paris']);
  await assert.rejects(
    sigil.governance.setDeviceTimeZone(alice.fingerprint, 'Mars/Olympus_Mons'),
    (err: SigilApiError) => err.status === 400,
  );

  assert.equal((await sigil.governance.getSettings()).decision_release, null);
  const batched = await sigil.governance.updateSettings({ decision_release: { batch_seconds: 30 } });
  assert.deepEqual(batched.decision_release, { batch_seconds: 30, deny_immediately: false });
  assert.equal((await sigil.governance.updateSettings({ decision_release: null })).decision_release, null);
});
