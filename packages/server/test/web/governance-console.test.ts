import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { actionDigest } from '@sigilauth/protocol';
import type { Api } from '../../../../test/support/api.js';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { waitFor } from '../../../../test/support/wait.js';
import { browserUnavailable, BrowserRig, screenshotPath } from './helpers.js';

const skip = browserUnavailable();

describe('console: teams, device owners and overrides (real sigil serve, headless Chromium)', { skip: skip ?? false }, () => {
  let rig: BrowserRig;
  let origin: string;
  let api: Api;
  let serverId: string;
  let page: Page;
  const [alice, bob] = [new TestDevice('Alice'), new TestDevice('Bob')];

  before(async () => {
    rig = await BrowserRig.start();
    ({ origin, api, serverId } = rig);
    for (const d of [alice, bob]) await rig.pair(d);
    page = await rig.consolePage({ width: 1280, height: 900 });
    await rig.signInToConsole(page);
  });
  after(async () => {
    await rig?.close();
  });

  test('a team is created, given members and a minimum, from the console', async () => {
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Teams' }).click();
    await page.getByRole('heading', { name: 'Teams', exact: true }).waitFor();
    await page.getByLabel('Slug (what requests name)').fill('security');
    await page.getByLabel('Team name').fill('Security Team');
    await page.getByRole('button', { name: 'Create team' }).click();
    await page.getByText('Created team Security Team').waitFor();
    for (const name of ['Alice', 'Bob']) {
      await page.getByLabel('Device to add to Security Team').selectOption({ label: name });
      await page.getByRole('button', { name: 'Add member' }).click();
      await page.getByRole('button', { name: `Remove ${name} from Security Team` }).waitFor();
    }
    await page.getByLabel('Minimum members of Security Team').fill('2');
    await page.getByRole('button', { name: 'Set minimum' }).click();
    await page.locator('tbody tr').filter({ hasText: 'Security Team' }).getByText('2 of at least 2').waitFor();
    const team = (await api.get('/v1/teams/security')).body;
    assert.deepEqual([team.min_members, team.members.map((m: { name: string }) => m.name)], [2, ['Alice', 'Bob']]);
    await page.screenshot({ path: screenshotPath('console-teams'), fullPage: true });
  });

  test("a device's owner is set on the devices page", async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Devices' }).click();
    await page.getByRole('textbox', { name: 'Owner of Alice' }).fill('user-alice');
    await page.getByRole('button', { name: 'Save owner of Alice' }).click();
    await waitFor(
      async () =>
        (await api.get('/v1/devices')).body.data.find((d: { name: string }) => d.name === 'Alice').owner_id === 'user-alice' || null,
      'the owner to be saved',
    );
  });

  test('overrides: settings saved in the console, an override listed until its review request ends', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overrides' }).click();
    await page.getByRole('heading', { name: 'Overrides', exact: true }).waitFor();
    await page.getByLabel('Allow emergency overrides').check();
    await page.getByLabel('Security Team').check();
    await page.getByLabel('Most overrides in any 24 hours (empty: no limit)').fill('5');
    await page.getByRole('button', { name: 'Save override settings' }).click();
    await page.getByRole('heading', { name: 'Settings on' }).waitFor();
    assert.deepEqual((await api.get('/v1/overrides/settings')).body.review_teams, ['security']);

    const created = await api.post('/v1/overrides', {
      reason: 'Payments stuck; approvers asleep',
      action: { type: 'restart_payments', description: 'Restart the payment worker' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const awaiting = page.locator('table').first();
    await awaiting.getByText('Restart the payment worker').waitFor();
    await awaiting.getByText('Payments stuck; approvers asleep').waitFor();
    await page.screenshot({ path: screenshotPath('console-overrides'), fullPage: true });

    const review = created.body.review_request;
    const res = await api
      .withKey(null)
      .post(
        `/v1/mpa/requests/${review.request_id}/decisions`,
        bob.decisionBody(serverId, review.request_id, actionDigest(review.action), 'approve'),
      );
    assert.equal(res.status, 200);
    // The list refreshes itself: the override leaves "Awaiting review" for "Reviewed".
    await awaiting.getByText('Nothing yet.').waitFor();
    await page.locator('table').nth(1).getByText('Restart the payment worker').waitFor();
  });

  test('deleting a team that reviews overrides is refused in the console, saying why', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Teams' }).click();
    await page.getByRole('heading', { name: 'Teams', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Delete team Security Team' }).click();
    await page.locator('#main').getByRole('alert').getByText('team "security" reviews emergency overrides').waitFor();
    assert.equal((await api.get('/v1/teams/security')).status, 200);
    await page.locator('tbody tr').filter({ hasText: 'Security Team' }).waitFor();
    await page.screenshot({ path: screenshotPath('console-team-in-use'), fullPage: true });
  });

  test('an approval flagged as rubber-stamped is shown on its request, and timing privacy is turned on from the governance page', async () => {
    const created = await api.post('/v1/mpa/requests', {
      required: 1,
      groups: [{ name: 'Ops', approvers: [alice.approver] }],
      action: { type: 'rotate_keys', description: 'Rotate the signing keys' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.request_id;
    const decided = await api
      .withKey(null)
      .post(`/v1/mpa/requests/${id}/decisions`, alice.decisionBody(serverId, id, actionDigest(created.body.action), 'approve'));
    assert.equal(decided.status, 200, JSON.stringify(decided.body));
    await page.goto(`${origin}/console#/requests/${id}`);
    const flags = page.getByRole('table', { name: 'Anomaly flags' });
    await flags.getByText('Approved within seconds of the request').waitFor();
    await flags.getByText('Ops').waitFor();
    // Group-level, like the rest of the request page: the device that decided is not named.
    const shown = (await page.locator('main').textContent()) ?? '';
    for (const trace of [alice.name, alice.fingerprint.slice(0, 12)]) assert.ok(!shown.includes(trace), `the request page shows ${trace}`);
    await page.screenshot({ path: screenshotPath('console-request-flags'), fullPage: true });

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Governance' }).click();
    await page.getByRole('heading', { name: 'Governance', exact: true }).waitFor();
    await page.getByLabel('Release decisions in batches (timing privacy)').check();
    await page.getByLabel('Batch length in seconds').fill('30');
    await page.getByRole('button', { name: 'Save' }).click();
    // The form's own status, word for word: the page-wide announcer may still hold the overrides
    // page's "Override settings saved", which a looser match would take before this save ends.
    await page.locator('form').getByRole('status').getByText('Settings saved', { exact: true }).waitFor();
    assert.deepEqual((await api.get('/v1/governance/settings')).body.decision_release, { batch_seconds: 30, deny_immediately: false });
    await page.screenshot({ path: screenshotPath('console-governance'), fullPage: true });
  });
});
