// `sigil governance`: the settings are changed straight in the store, checked as the API checks
// them, with an audit entry; a refused value changes nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, SIGIL_CLI } from '../../../../test/support/processes.js';
import { createStore, type TestStore } from '../../../../test/support/stores.js';

let store: TestStore;
const sigil = (...args: string[]) => runCli(SIGIL_CLI, [...args, '--data-dir', store.dataDir]);

before(async () => {
  store = await createStore('pglite');
  const created = await sigil('apikey', 'create', '--name', 'first', '--new-org', 'Acme');
  assert.equal(created.code, 0, created.stderr);
});
after(async () => {
  await store?.dispose();
});

test('sigil governance set and show; bad values are refused and change nothing', async () => {
  const set = await sigil(
    'governance',
    'set',
    '--time-zone',
    'Europe/Berlin',
    '--rubber-stamp-seconds',
    '12',
    '--require-extra-group',
    'on',
    '--batch-seconds',
    '30',
    '--deny-immediately',
    'on',
  );
  assert.equal(set.code, 0, set.stderr);
  const shown = await sigil('governance', 'show');
  assert.equal(shown.code, 0, shown.stderr);
  const settings = JSON.parse(shown.stdout);
  assert.equal(settings.time_zone, 'Europe/Berlin');
  assert.equal(settings.anomaly_flags.rubber_stamp_seconds, 12);
  assert.equal(settings.anomaly_flags.flagged_approval_requires_extra_group, true);
  assert.equal(settings.anomaly_flags.burst_requests, 5);
  assert.deepEqual(settings.decision_release, { batch_seconds: 30, deny_immediately: true });

  for (const args of [
    ['--time-zone', 'Not/AZone'],
    ['--require-extra-group', 'maybe'],
    ['--batch-seconds', '901'],
  ]) {
    const refused = await sigil('governance', 'set', ...args);
    assert.notEqual(refused.code, 0, args.join(' '));
    assert.match(refused.stderr, /time_zone|on or off|batch_seconds/);
  }
  assert.deepEqual(JSON.parse((await sigil('governance', 'show')).stdout), settings);
});
