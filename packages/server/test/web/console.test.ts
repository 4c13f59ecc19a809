import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { actionDigest } from '@sigilauth/protocol';
import { coldBootRequest, type Api } from '../../../../test/support/api.js';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { waitFor } from '../../../../test/support/wait.js';
import { browserUnavailable, BrowserRig, screenshotPath } from './helpers.js';

const skip = browserUnavailable();

describe('operator console (real sigil serve, headless Chromium)', { skip: skip ?? false }, () => {
  let rig: BrowserRig;
  let origin: string;
  let api: Api;
  let serverId: string;
  let page: Page;
  const alice = new TestDevice('Alice');
  const bob = new TestDevice('Bob');
  const carol = new TestDevice('Carol');

  before(async () => {
    rig = await BrowserRig.start();
    ({ origin, api, serverId } = rig);
    for (const d of [alice, bob, carol]) await rig.pair(d);
    page = await rig.consolePage();
  });

  after(async () => {
    await rig?.close();
  });

  test('signs in with an API key kept in sessionStorage; a wrong key is refused', async () => {
    await page.goto(`${origin}/console`);
    await page.getByLabel('API key').fill('sgk_live_' + '0'.repeat(64));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('That API key is not valid.').waitFor();
    await page.getByLabel('API key').fill(rig.apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Requests' }).waitFor();
    assert.equal(await page.evaluate('sessionStorage.getItem("sigil.console.apiKey")'), rig.apiKey);
    assert.equal(await page.evaluate('localStorage.length'), 0);
  });

  test('requests appear live, filter by status, and one request shows its timeline', async () => {
    const created = (await api.post('/v1/mpa/requests', coldBootRequest({ engineering: [alice], security: [bob], operations: [carol] })))
      .body;
    await page.getByRole('link', { name: 'Cold boot engine ENG-001' }).waitFor();
    await page.getByLabel('Status').selectOption('approved');
    await page.waitForURL(/#\/requests\?status=approved$/);
    await page.getByText('Nothing yet.').waitFor();
    await page.getByLabel('Status').selectOption('pending');
    await page.getByRole('link', { name: 'Cold boot engine ENG-001' }).click();
    await page.getByRole('heading', { name: 'Cold boot engine ENG-001' }).waitFor();
    await page.getByText('Engine ID').waitFor();
    const timeline = page.locator('ol.timeline');
    await timeline.getByText('Created').waitFor();

    const digest = actionDigest(created.action);
    for (const device of [alice, bob]) {
      const res = await api
        .withKey(null)
        .post(`/v1/mpa/requests/${created.request_id}/decisions`, device.decisionBody(serverId, created.request_id, digest, 'approve'));
      assert.equal(res.status, 200);
    }
    // The page refreshes itself while the request is pending, then shows the outcome.
    await timeline.getByText('Decision:').waitFor();
    await timeline.getByText('approved', { exact: true }).first().waitFor();
    await timeline.getByText('Engineering Leads').first().waitFor();
    await timeline.getByText('Group satisfied: Security Team').waitFor();
    // Group-level only: the console never names the devices that decided, anywhere on the page.
    const shown = (await page.locator('main').textContent()) ?? '';
    for (const device of [alice, bob]) {
      for (const trace of [device.name, device.fingerprint, device.fingerprint.slice(0, 12), device.publicKey]) {
        assert.ok(!shown.includes(trace), `the request page shows ${trace}`);
      }
    }
    await page.screenshot({ path: screenshotPath('console-request-timeline'), fullPage: true });
  });

  test('a request cancelled from its page says so on the page', async () => {
    const created = await api.post('/v1/mpa/requests', {
      ...coldBootRequest({ engineering: [alice], security: [bob], operations: [carol] }),
      action: { type: 'restart_service', description: 'Restart the billing service' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await page.goto(`${origin}/console#/requests/${created.body.request_id}`);
    await page.getByRole('heading', { name: 'Restart the billing service' }).waitFor();
    await page.getByRole('button', { name: 'Cancel request' }).click();
    await page.locator('#main').getByRole('status').filter({ hasText: 'Request cancelled' }).waitFor();
    assert.equal((await api.get(`/v1/mpa/requests/${created.body.request_id}`)).body.status, 'cancelled');
  });

  test('a page whose load finishes after the user has moved on does not draw over the next page', async () => {
    const created = await api.post('/v1/mpa/requests', {
      ...coldBootRequest({ engineering: [alice], security: [bob], operations: [carol] }),
      action: { type: 'restart_service', description: 'Restart the search service' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const path = `/v1/mpa/requests/${created.body.request_id}`;
    // The request's answer is held until the Devices page is on screen.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let answered!: () => void;
    const lateAnswer = new Promise<void>((resolve) => (answered = resolve));
    await page.route(`**${path}`, async (route) => {
      await released;
      await route.continue();
      answered();
    });
    // The late load goes on to read more, one read after another: it is over once no read has been
    // in flight across two frames.
    const inFlight = new Set<unknown>();
    const track = (r: unknown) => inFlight.add(r);
    const untrack = (r: unknown) => inFlight.delete(r);
    const settled = async () => {
      if (inFlight.size > 0) return false;
      await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
      return inFlight.size === 0;
    };
    try {
      await page.goto(`${origin}/console#/requests/${created.body.request_id}`);
      await page.getByRole('link', { name: 'Devices' }).click();
      await page.getByRole('heading', { name: 'Devices', exact: true }).waitFor();
      page.on('request', track);
      page.on('requestfinished', untrack);
      page.on('requestfailed', untrack);
      const response = page.waitForResponse((r) => new URL(r.url()).pathname === path);
      release();
      await lateAnswer;
      await response;
      await waitFor(settled, "the request page's late load to finish");
      assert.equal(await page.getByRole('heading', { name: 'Restart the search service' }).count(), 0);
      assert.equal(await page.getByRole('heading', { name: 'Devices', exact: true }).count(), 1);
    } finally {
      page.off('request', track);
      page.off('requestfinished', untrack);
      page.off('requestfailed', untrack);
      await page.unroute(`**${path}`);
    }
  });

  test('devices: pair with a code, see attestation, revoke', async () => {
    await page.getByRole('link', { name: 'Devices' }).click();
    await page.getByRole('heading', { name: 'Devices', exact: true }).waitFor();
    const rows = page.locator('tbody tr');
    await rows.filter({ hasText: 'Alice' }).getByText('software key').waitFor();
    await page.getByLabel('Device name (optional)').fill('Dave');
    await page.getByRole('button', { name: 'Create pairing code' }).click();
    const code = (await page.locator('#pairing-code').textContent())!.trim();
    assert.match(code, /^\d{8}$/);
    await page.getByRole('link', { name: `${origin}/approve/pair?code=${code}` }).waitFor();
    const dave = new TestDevice('Dave');
    assert.equal((await api.withKey(null).post('/v1/pairings/complete', dave.pairingBody(serverId, code))).status, 200);
    await page.getByText('Paired: Dave.').waitFor();
    await rows.filter({ hasText: 'Dave' }).waitFor();
    await page.screenshot({ path: screenshotPath('console-devices'), fullPage: true });
    await page.getByRole('button', { name: 'Revoke Dave' }).click();
    await rows
      .filter({ hasText: 'Dave' })
      .getByText(/^revoked/)
      .waitFor();
    await page.locator('#main').getByRole('status').filter({ hasText: 'Dave revoked' }).waitFor();
    const listed = (await api.get('/v1/devices')).body.data.find((d: { name: string }) => d.name === 'Dave');
    assert.equal(listed.status, 'revoked');
  });

  test('devices: an owner the server refuses is shown as refused, in red, and a good one as saved', async () => {
    await page.getByRole('textbox', { name: 'Owner of Alice' }).fill('Zoë');
    await page.getByRole('button', { name: 'Save owner of Alice' }).click();
    const refusal = page
      .locator('#main')
      .getByRole('alert')
      .filter({ hasText: 'owner_id must be 1-200 printable ASCII characters without spaces' });
    await refusal.waitFor();
    assert.equal(await refusal.getAttribute('class'), 'error');
    await page.screenshot({ path: screenshotPath('console-device-owner-refused'), fullPage: true });
    // Badges and disclosures stay on one line: a wrapped pill turns into an oval, a wrapped summary leaves its marker alone.
    const wrapped = await page.evaluate(
      `[...document.querySelectorAll('#main td .badge, #main td summary')]
        .filter((el) => el.getBoundingClientRect().height > 2.2 * parseFloat(getComputedStyle(el).fontSize))
        .map((el) => el.textContent)`,
    );
    assert.deepEqual(wrapped, []);
    assert.equal((await api.get('/v1/devices')).body.data.find((d: { name: string }) => d.name === 'Alice').owner_id, null);
    await page.getByRole('textbox', { name: 'Owner of Alice' }).fill('user-42');
    await page.getByRole('button', { name: 'Save owner of Alice' }).click();
    await page.locator('#main').getByRole('status').filter({ hasText: 'Owner of Alice saved' }).waitFor();
    assert.equal((await api.get('/v1/devices')).body.data.find((d: { name: string }) => d.name === 'Alice').owner_id, 'user-42');
  });

  test('webhooks and the audit log, with its verification', async () => {
    await page.reload();
    await page.getByRole('heading', { name: 'Devices', exact: true }).waitFor();
    const nav = page.getByRole('navigation', { name: 'Main' });
    assert.equal(await nav.getByRole('link', { name: 'Audit log' }).count(), 1);
    assert.equal(await nav.getByRole('link', { name: 'Webhooks' }).count(), 1);
    await nav.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
    await page.getByRole('table').waitFor();
    await nav.getByRole('link', { name: 'Audit log' }).click();
    const verification = page.locator('#audit-verification');
    await verification.getByText('valid: signed by this server').waitFor();
    await verification.getByText('recomputed from the entries: matches').waitFor();
    await page.getByRole('cell', { name: 'mpa.decision' }).first().waitFor();
    await page.screenshot({ path: screenshotPath('console-audit'), fullPage: true });
  });

  test('signing out forgets the key', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    assert.equal(await page.evaluate('sessionStorage.length'), 0);
  });
});
