import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pairDevice, startTestServer } from '../../../../test/support/api.js';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { postgresAvailable } from '../../../../test/support/postgres.js';
import { runCli, SIGIL_CLI } from '../../../../test/support/processes.js';
import { createStore, type TestStore } from '../../../../test/support/stores.js';

test('sigil team and sigil device owner manage teams and owners in the store', async (t) => {
  const store: TestStore = await createStore((await postgresAvailable()) ? 'postgres' : 'pglite');
  t.after(() => store.dispose());
  const sigil = (...args: string[]) =>
    runCli(SIGIL_CLI, [...args, '--data-dir', store.dataDir], { env: store.databaseUrl ? { DATABASE_URL: store.databaseUrl } : {} });
  const [alice, bob] = [new TestDevice('Alice'), new TestDevice('Bob')];
  const server = await startTestServer(store);
  await pairDevice(server.api, server.serverId, alice);
  await pairDevice(server.api, server.serverId, bob);
  await server.close();

  const created = await sigil('team', 'create', 'security', '--name', 'Security Team', '--member', alice.fingerprint, '--min-members', '1');
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /security {2}"Security Team" {2}1 active of 1, at least 1 required/);
  assert.equal((await sigil('team', 'add', 'security', bob.fingerprint)).code, 0);
  const owner = await sigil('device', 'owner', alice.fingerprint, 'user-alice');
  assert.equal(owner.code, 0, owner.stderr);

  const listed = await sigil('team', 'list', '--json');
  assert.equal(listed.code, 0, listed.stderr);
  const [team] = JSON.parse(listed.stdout).data;
  assert.deepEqual(
    team.members.map((m: { fingerprint: string; owner_id: string | null }) => [m.fingerprint, m.owner_id]),
    [
      [alice.fingerprint, 'user-alice'],
      [bob.fingerprint, null],
    ],
  );

  const bad = await sigil('team', 'create', 'Not A Slug', '--name', 'x');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /is not a team slug/);
  const stranger = await sigil('team', 'add', 'security', 'f'.repeat(64));
  assert.equal(stranger.code, 1);
  assert.match(stranger.stderr, /is not paired with this organisation/);

  assert.equal((await sigil('team', 'delete', 'security')).code, 0);
  assert.match((await sigil('team', 'list')).stdout, /^0 teams of Acme Corp/);
});
