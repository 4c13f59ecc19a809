import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pairDevice, startTestServer } from '../../../test/support/api.js';
import { COLD_BOOT_ACTION } from '../../../test/support/cold-boot.js';
import { TestDevice } from '../../../test/support/device-keys.js';
import { postgresAvailable } from '../../../test/support/postgres.js';
import { createStore } from '../../../test/support/stores.js';
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
  assert.deepEqual(await sigil.teams.delete('security'), { slug: 'security', deleted: true });
});
