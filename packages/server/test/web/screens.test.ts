// The approval screen in each state a request goes through, and the console's device page, as a
// person sees them in a browser; each is saved as a screenshot (see screenshotPath) to look at.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { actionDigest } from '@sigilauth/protocol';
import { coldBootRequest, type Api } from '../../../../test/support/api.js';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { browserUnavailable, BrowserRig, newApprover, screenshotPath, type Approver } from './helpers.js';

const skip = browserUnavailable();

describe('approval screens and the console device page, in a browser', { skip: skip ?? false }, () => {
  let rig: BrowserRig;
  let origin: string;
  let api: Api;
  let serverId: string;
  let alice: Approver;
  let aliceId: { fingerprint: string; device_public_key: string };
  const bob = new TestDevice('Bob');
  const carol = new TestDevice('Carol');
  const shots: string[] = [];
  const shoot = async (page: Page, name: string) => {
    const path = screenshotPath(name);
    await page.screenshot({ path, fullPage: true });
    shots.push(path);
  };

  before(async () => {
    rig = await BrowserRig.start({ SIGIL_PAIRING_RATE_LIMIT: '200' });
    ({ origin, api, serverId } = rig);
    for (const device of [bob, carol]) await rig.pair(device);
    alice = await newApprover(rig.browser, { width: 1000, height: 900 });
  });
  after(async () => {
    await rig?.close();
    if (shots.length > 0) console.log(`screenshots: ${shots.join(' ')}`);
  });

  test('a passkey paired without a name takes the name the administrator gave the pairing', async () => {
    const opened = await api.post('/v1/pairings', { name: 'Alice (engineering)' });
    const { page } = alice;
    await page.goto(`${origin}/approve/pair?code=${opened.body.code}`);
    assert.equal(await page.getByLabel('Name for this device').inputValue(), '', 'nothing is filled in for the approver');
    await page.getByLabel('The console shows the same pictogram').check();
    await page.getByRole('button', { name: 'Create passkey' }).click();
    await page
      .locator('#main')
      .getByText('Paired with Acme Corp as "Alice (engineering)"')
      .waitFor()
      .catch(async (err: Error) => {
        throw new Error(`${err.message}\n${await page.locator('main').textContent()}`);
      });
    const devices = (await api.get('/v1/devices')).body.data as Array<{ name: string; fingerprint: string; device_public_key: string }>;
    const device = devices.find((d) => d.name === 'Alice (engineering)');
    assert.ok(device, JSON.stringify(devices.map((d) => d.name)));
    aliceId = { fingerprint: device.fingerprint, device_public_key: device.device_public_key };
  });

  test('pending, pending with the group already satisfied, then approved: the screen says where the request stands', async () => {
    const created = (
      await api.post('/v1/mpa/requests', {
        ...coldBootRequest({ engineering: [], security: [], operations: [] }),
        required: 2,
        groups: [
          { name: 'Engineering Leads', approvers: [aliceId, bob.approver] },
          { name: 'Security Team', approvers: [carol.approver] },
        ],
      })
    ).body;
    const { page } = alice;
    await page.goto(`${origin}/approve/requests/${created.request_id}`);
    const screen = page.locator('article.screen');
    await screen.getByRole('heading', { name: 'Acme Corp is requesting approval' }).waitFor();
    await screen.getByText('0 of 2 approvals received. Waiting for 2 more.', { exact: true }).waitFor();
    await screen.getByRole('button', { name: 'Approve with passkey' }).waitFor();
    assert.equal(await screen.locator('.screen-note').isVisible(), false);
    await shoot(page, 'approval-pending');

    const digest = actionDigest(created.action);
    assert.equal(
      (
        await api
          .withKey(null)
          .post(`/v1/mpa/requests/${created.request_id}/decisions`, bob.decisionBody(serverId, created.request_id, digest, 'approve'))
      ).status,
      200,
    );
    await screen.getByText('1 of 2 approvals received. Waiting for one more.', { exact: true }).waitFor();
    await screen.getByText('Your group has already approved', { exact: false }).waitFor();
    await screen.getByRole('button', { name: 'Approve with passkey' }).waitFor();
    await shoot(page, 'approval-pending-group-satisfied');

    assert.equal(
      (
        await api
          .withKey(null)
          .post(`/v1/mpa/requests/${created.request_id}/decisions`, carol.decisionBody(serverId, created.request_id, digest, 'approve'))
      ).status,
      200,
    );
    await screen.getByText('MPA request approved', { exact: true }).waitFor();
    await screen.getByRole('heading', { name: 'Acme Corp requested approval' }).waitFor();
    await screen.getByText('2 of 2 approvals received.', { exact: true }).waitFor();
    const text = (await screen.textContent()) ?? '';
    assert.doesNotMatch(text, /is requesting approval|Waiting for|Your group has already approved/);
    assert.equal(await screen.getByRole('button', { name: 'Approve with passkey' }).isVisible(), false);
    await shoot(page, 'approval-approved');
  });

  test('denied: no "Waiting for one more" beside the outcome', async () => {
    const created = (
      await api.post('/v1/mpa/requests', {
        ...coldBootRequest({ engineering: [], security: [], operations: [] }),
        required: 1,
        groups: [
          { name: 'Engineering Leads', approvers: [aliceId] },
          { name: 'Security Team', approvers: [carol.approver] },
        ],
      })
    ).body;
    const { page } = alice;
    await page.goto(`${origin}/approve/requests/${created.request_id}`);
    const screen = page.locator('article.screen');
    await screen.getByText('0 of 1 approval received. Waiting for one more.', { exact: true }).waitFor();
    const digest = actionDigest(created.action);
    assert.equal(
      (
        await api
          .withKey(null)
          .post(`/v1/mpa/requests/${created.request_id}/decisions`, carol.decisionBody(serverId, created.request_id, digest, 'deny'))
      ).status,
      200,
    );
    await screen.getByText('MPA request denied', { exact: true }).waitFor();
    await screen.getByRole('heading', { name: 'Acme Corp requested approval' }).waitFor();
    await screen.getByText('0 of 1 approval received.', { exact: true }).waitFor();
    assert.doesNotMatch((await screen.textContent()) ?? '', /Waiting for|is requesting approval/);
    await shoot(page, 'approval-denied');
  });

  test('the console device page shows each fingerprint and public key in full, and copies them', async () => {
    const page = await rig.consolePage({ width: 1280, height: 900 });
    const context = page.context();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    try {
      await page.goto(`${origin}/`);
      await page.waitForURL(`${origin}/console`);
      await rig.signInToConsole(page);
      await page.getByText('2 of 2 approved (2 groups)').waitFor();
      assert.equal((await page.getByText(/\(\d+ groups\)$/).count()) >= 1, true);
      assert.equal(await page.getByText(/of 1 \(1 groups\)/).count(), 0);

      await page.getByRole('link', { name: 'Devices' }).click();
      await page.getByRole('heading', { name: 'Devices', exact: true }).waitFor();
      const row = page.locator('tbody tr').filter({ hasText: 'Alice (engineering)' });
      await row.getByText(aliceId.fingerprint, { exact: true }).waitFor();
      await row.getByText(aliceId.device_public_key, { exact: true }).waitFor();
      await row.getByRole('button', { name: "Copy Alice (engineering)'s fingerprint" }).click();
      await row.getByRole('button', { name: "Copy Alice (engineering)'s fingerprint" }).filter({ hasText: 'Copied' }).waitFor();
      assert.equal(await page.evaluate('navigator.clipboard.readText()'), aliceId.fingerprint);
      await row.getByRole('button', { name: "Copy Alice (engineering)'s device_public_key" }).click();
      assert.equal(await page.evaluate('navigator.clipboard.readText()'), aliceId.device_public_key);
      await row.getByRole('button', { name: 'Copy Alice (engineering) as an approver' }).click();
      assert.deepEqual(JSON.parse((await page.evaluate('navigator.clipboard.readText()')) as string), aliceId);
      await page.getByText('GET /v1/devices', { exact: false }).waitFor();
      await shoot(page, 'console-device-page');
      const fits = await page.evaluate(
        `(() => { const wrap = document.querySelector('#main .table-wrap'); return wrap.scrollWidth <= wrap.clientWidth; })()`,
      );
      assert.equal(fits, true, 'the device list, a passkey among them, fits a 1280-pixel window without scrolling sideways');

      const favicon = await page.evaluate(`fetch('/favicon.ico').then((r) => r.headers.get('content-type'))`);
      assert.equal(favicon, 'image/svg+xml');
    } finally {
      await context.close();
    }
  });
});
