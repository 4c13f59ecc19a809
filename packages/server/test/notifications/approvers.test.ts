// The "done": a request with three approvers (a passkey device subscribed to push, a
// device with an email address, a terminal device) reaches all three (a push shown by the
// approver's service worker, an email, the terminal screen); the console shows each
// notification's state; a denial reaches all three again. Real `sigil serve`, headless
// Chromium, a loopback push service and SMTP server, `sigil-device listen`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CDPSession, Page } from 'playwright-core';
import { actionDigest } from '@sigilauth/protocol';
import type { Api } from '../../../../test/support/api.js';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { PushService } from '../../../../test/support/push-service.js';
import { DEVICE_CLI, runCli, spawnCli, type Spawned } from '../../../../test/support/processes.js';
import { SmtpSink } from '../../../../test/support/smtp.js';
import { waitFor } from '../../../../test/support/wait.js';
import { browserUnavailable, BrowserRig, newApprover, pairInBrowser, screenshotPath, type Approver } from '../web/helpers.js';

const skip = browserUnavailable();

describe('three approvers: push, email, terminal (real sigil serve, headless Chromium)', { skip: skip ?? false }, () => {
  let rig: BrowserRig;
  let origin: string;
  let api: Api;
  let serverId: string;
  let alice: Approver;
  let swCdp: CDPSession;
  let registrationId = '';
  let alicePrint = '';
  let push: PushService;
  let smtp: SmtpSink;
  let carolHome: string;
  let carolPrint = '';
  let listen: Spawned;
  const bob = new TestDevice('Bob laptop');

  /** Hands a message the push service received to the browser's service worker, as the browser's push client would. */
  const deliverToBrowser = async (payload: unknown) => {
    await swCdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId, data: JSON.stringify(payload) });
  };
  const shownNotifications = (page: Page) =>
    page.evaluate(
      `navigator.serviceWorker.getRegistration('/approve/').then((r) => r.getNotifications()).then((ns) => ns.map((n) => ({ title: n.title, body: n.body, tag: n.tag, url: n.data && n.data.url })))`,
    ) as Promise<Array<{ title: string; body: string; tag: string; url: string }>>;

  before(async () => {
    push = await PushService.start();
    smtp = await SmtpSink.start();
    rig = await BrowserRig.start({
      SIGIL_PAIRING_RATE_LIMIT: '200',
      SIGIL_SMTP_URL: smtp.url,
      SIGIL_MAIL_FROM: 'Sigil <sigil@acme.test>',
      SIGIL_WEBHOOK_ALLOW_PRIVATE: 'true',
    });
    ({ origin, api, serverId } = rig);
    alice = await newApprover(rig.browser);
    await alice.context.grantPermissions(['notifications'], { origin });

    // Alice: a passkey paired in the browser.
    const opened = await api.post('/v1/pairings', { name: "Alice's phone" });
    await pairInBrowser(alice.page, origin, opened.body.code, "Alice's phone");
    await alice.page.getByRole('heading', { name: 'Requests' }).waitFor();
    alicePrint = (await api.get(`/v1/pairings/${opened.body.pairing_id}`)).body.fingerprint;

    // Bob: a device reached by email.
    await rig.pair(bob);
    assert.equal((await api.request('PATCH', `/v1/devices/${bob.fingerprint}`, { email: 'bob@acme.test' })).status, 200);

    // Carol: sigil-device in a terminal.
    carolHome = mkdtempSync(join(tmpdir(), 'sigil-notify-carol-'));
    const carolCode = (await api.post('/v1/pairings', {})).body.code;
    const paired = await runCli(
      DEVICE_CLI,
      ['pair', '--server', origin, '--code', carolCode, '--name', 'Carol terminal', '--yes', '--home', carolHome],
      { timeoutMs: 20_000 },
    );
    assert.equal(paired.code, 0, paired.stderr);
    carolPrint = paired.stdout.match(/^fingerprint: ([0-9a-f]{64})$/m)![1]!;
    // A desktop with notify-send: a stand-in that records what it was asked to show.
    const bin = join(carolHome, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'notify-send'), `#!/bin/sh\nprintf '%s|%s\\n' "$3" "$4" >> '${join(carolHome, 'desktop')}'\n`);
    chmodSync(join(bin, 'notify-send'), 0o755);
    listen = spawnCli(DEVICE_CLI, ['listen', '--server', origin, '--home', carolHome, '--desktop-notify'], {
      PATH: `${bin}:${process.env.PATH}`,
    });
    await listen.waitFor('Waiting for approval requests', { timeoutMs: 20_000 });
  });

  after(async () => {
    await listen?.stop();
    await rig?.close();
    await push?.close();
    await smtp?.close();
    if (carolHome) rmSync(carolHome, { recursive: true, force: true });
  });

  test('the approver page is installable: manifest named after the organisation, icons, a service worker for /approve', async () => {
    const { page } = alice;
    const manifestUrl = await page.locator('link[rel="manifest"]').getAttribute('href');
    const manifest = (await api.get(manifestUrl!)).body;
    assert.equal(manifest.name, 'Acme Corp approvals');
    assert.equal(manifest.display, 'standalone');
    assert.equal(manifest.start_url, '/approve');
    for (const icon of manifest.icons) {
      const res = await fetch(`${origin}${icon.src}`);
      assert.equal(res.headers.get('content-type'), 'image/png');
      const bytes = Buffer.from(await res.arrayBuffer());
      assert.equal(bytes.subarray(1, 4).toString(), 'PNG');
      assert.equal(bytes.readUInt32BE(16), Number(icon.sizes.split('x')[0]));
    }
    const scope = await waitFor(
      () => page.evaluate(`navigator.serviceWorker.getRegistration('/approve/').then((r) => r && r.active ? r.scope : null)`),
      'the service worker active',
    );
    assert.equal(scope, `${origin}/approve`);
    swCdp = await alice.context.newCDPSession(page);
    swCdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
      const mine = registrations.find((r) => r.scopeURL === `${origin}/approve` && !r.isDeleted);
      if (mine) registrationId = mine.registrationId;
    });
    await swCdp.send('ServiceWorker.enable');
    await waitFor(() => registrationId, 'the registration id');

    // The shell works offline once the worker has it.
    await alice.context.setOffline(true);
    try {
      await page.goto(`${origin}/approve/`);
      await page.locator('header .brand').waitFor();
    } finally {
      await alice.context.setOffline(false);
    }
    await page.goto(`${origin}/approve`);
    await page.getByRole('heading', { name: 'Requests' }).waitFor();
  });

  test('turning notifications on asks the browser for a push subscription with the server key (no public push service here)', async () => {
    const { page } = alice;
    await page.getByRole('heading', { name: 'Notifications' }).waitFor();
    await page.evaluate(`(() => {
      window.__subscribeCalls = [];
      const original = PushManager.prototype.subscribe;
      PushManager.prototype.subscribe = function (options) {
        const key = new Uint8Array(options.applicationServerKey);
        window.__subscribeCalls.push({ userVisibleOnly: options.userVisibleOnly, key: btoa(String.fromCharCode(...key)).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '') });
        return original.call(this, options);
      };
    })()`);
    await page.getByRole('button', { name: 'Turn on notifications' }).click();
    const calls = await waitFor(async () => {
      const c = (await page.evaluate('window.__subscribeCalls')) as Array<{ userVisibleOnly: boolean; key: string }>;
      return c.length > 0 ? c : null;
    }, 'the subscribe call');
    const settings = (await page.evaluate(`fetch('/approve/api/notifications').then((r) => r.json())`)) as { vapid_public_key: string };
    assert.equal(calls[0]!.userVisibleOnly, true);
    assert.equal(calls[0]!.key, settings.vapid_public_key);
    // Headless Chromium has no push service to reach: the page says so and stores nothing.
    await page.getByText(/push service refused|could not start/).waitFor();
    assert.equal((await api.get(`/v1/devices/${alicePrint}/notifications`)).body.notifications.push, null);
  });

  test('a request with three approvers: a push shown by the service worker, an email, the terminal screen; the console shows each; a denial reaches all three', async () => {
    // Alice's browser subscription, made as the browser makes one, at the loopback push service.
    const subscription = push.subscribe();
    assert.equal((await api.request('PATCH', `/v1/devices/${alicePrint}`, { push_subscription: subscription })).status, 200);
    const aliceView = (await api.get('/v1/devices')).body.data.find((d: { fingerprint: string }) => d.fingerprint === alicePrint);
    const created = await api.post('/v1/mpa/requests', {
      required: 3,
      groups: [
        { name: 'Engineering', approvers: [{ fingerprint: alicePrint, device_public_key: aliceView.device_public_key }] },
        { name: 'Security', approvers: [bob.approver] },
        {
          name: 'Operations',
          approvers: [
            {
              fingerprint: carolPrint,
              device_public_key: (await api.get('/v1/devices')).body.data.find((d: { fingerprint: string }) => d.fingerprint === carolPrint)
                .device_public_key,
            },
          ],
        },
      ],
      action: { type: 'deployment', description: 'Deploy billing v7 to production', params: { ticket: 'CHG-991' } },
      expires_in_seconds: 600,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id: string = created.body.request_id;
    const link = `${origin}/approve/requests/${id}`;

    // Push: the service decrypts it; the browser's service worker shows it.
    const pushed = await waitFor(() => push.messages.find((m) => m.payload.request_id === id), 'the push');
    assert.deepEqual(push.rejected, []);
    assert.equal(pushed.payload.url, link);
    await deliverToBrowser(pushed.payload);
    const shown = await waitFor(async () => (await shownNotifications(alice.page)).find((n) => n.tag === id), 'the notification shown');
    assert.equal(shown.title, 'Acme Corp is requesting approval');
    assert.equal(shown.body, 'Deploy billing v7 to production');
    assert.equal(shown.url, link);

    // Email.
    const mail = await waitFor(() => smtp.mails.find((m) => m.text.includes(id)), 'the email');
    assert.deepEqual(mail.to, ['bob@acme.test']);
    assert.equal(mail.headers.get('subject'), 'Acme Corp is requesting approval');
    assert.ok(mail.html.includes(`href="${link}"`));

    // Terminal.
    await listen.waitFor(`--- Request ${id} ---`);
    await listen.waitFor('Deploy billing v7 to production');

    // Tapping the notification opens the request's approval screen; deciding still needs the passkey.
    const sw = alice.context.serviceWorkers().find((w) => w.url().startsWith(`${origin}/approve/sw.js`));
    assert.ok(sw, 'the service worker');
    await sw.evaluate(
      `self.registration.getNotifications({ tag: ${JSON.stringify(id)} }).then(([n]) => self.dispatchEvent(new NotificationEvent('notificationclick', { notification: n })))`,
    );
    await alice.page.waitForURL(link);
    await alice.page.getByRole('heading', { name: 'Acme Corp is requesting approval' }).waitFor();
    await alice.page.getByRole('button', { name: 'Approve with passkey' }).waitFor();
    assert.equal((await api.get(`/v1/mpa/requests/${id}`)).body.status, 'pending', 'opening the screen decided nothing');

    // The console's request page: each notification's state.
    const consolePage = await alice.context.newPage();
    await rig.signInToConsole(consolePage);
    await consolePage.goto(`${origin}/console#/requests/${id}`);
    await consolePage.getByRole('heading', { name: 'Notifications' }).waitFor();
    const table = consolePage.locator('table', { has: consolePage.locator('caption', { hasText: 'Notifications of this request' }) });
    await table.locator('tr', { hasText: "Alice's phone" }).filter({ hasText: 'Push' }).filter({ hasText: 'delivered' }).waitFor();
    await table
      .locator('tr', { hasText: 'Bob laptop' })
      .filter({ hasText: 'Email' })
      .filter({ hasText: 'sent' })
      .filter({ hasText: 'bob@acme.test' })
      .waitFor();
    await consolePage.screenshot({ path: screenshotPath('console-notifications'), fullPage: true });

    // Bob denies: all three hear of it.
    const denied = await api
      .withKey(null)
      .post(`/v1/mpa/requests/${id}/decisions`, bob.decisionBody(serverId, id, actionDigest(created.body.action), 'deny'));
    assert.equal(denied.status, 200, JSON.stringify(denied.body));
    const outcome = await waitFor(
      () => push.messages.find((m) => m.payload.request_id === id && m.payload.kind === 'rejected'),
      'the denial push',
    );
    await deliverToBrowser(outcome.payload);
    await waitFor(
      async () => (await shownNotifications(alice.page)).find((n) => n.tag === id && n.title === 'MPA request denied'),
      'the denial shown, replacing the request',
    );
    assert.equal((await shownNotifications(alice.page)).filter((n) => n.tag === id).length, 1);
    await waitFor(
      () => smtp.mails.find((m) => m.text.includes(id) && m.headers.get('subject') === 'MPA request denied'),
      'the denial email',
    );
    await listen.waitFor(`MPA request denied (request ${id})`);
    const desktop = join(carolHome, 'desktop');
    await waitFor(
      () => existsSync(desktop) && readFileSync(desktop, 'utf8').includes('MPA request denied|Deploy billing v7 to production'),
      'the desktop notification of the denial',
    );
    assert.ok(readFileSync(desktop, 'utf8').includes('Acme Corp is requesting approval|Deploy billing v7 to production'));
    await table.locator('tr', { hasText: 'Denied' }).filter({ hasText: 'Push' }).filter({ hasText: 'delivered' }).waitFor();
    await table.locator('tr', { hasText: 'Denied' }).filter({ hasText: 'Email' }).filter({ hasText: 'sent' }).waitFor();
    assert.equal(push.messages.filter((m) => m.payload.request_id === id).length, 2);
    assert.equal(smtp.mails.filter((m) => m.text.includes(id)).length, 2);
  });

  test('the console sets where a device is notified', async () => {
    const page = await alice.context.newPage();
    await rig.signInToConsole(page);
    await page.goto(`${origin}/console#/devices`);
    await page.getByRole('heading', { name: 'Devices' }).first().waitFor();
    const row = page.locator('tr', { hasText: 'Carol terminal' });
    // The current settings are held back: until they are shown, nothing can be typed over them.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route(`**/v1/devices/${carolPrint}/notifications`, async (route) => {
      await held;
      await route.continue();
    });
    await row.getByText('Notifications').click();
    assert.equal(await row.getByLabel('Email for Carol terminal').isDisabled(), true);
    assert.equal(await row.getByRole('button', { name: 'Save', exact: true }).isDisabled(), true);
    release();
    await row.getByLabel('Email for Carol terminal').fill('carol@acme.test');
    await row.getByRole('button', { name: 'Save', exact: true }).click();
    await row.getByText(/Saved\./).waitFor();
    assert.equal((await api.get(`/v1/devices/${carolPrint}/notifications`)).body.notifications.email, 'carol@acme.test');
    await row.getByLabel('Email for Carol terminal').fill('carol@localhost');
    await row.getByRole('button', { name: 'Save', exact: true }).click();
    await row.getByText('email must be one address such as alice@example.com').waitFor();
    assert.equal((await api.get(`/v1/devices/${carolPrint}/notifications`)).body.notifications.email, 'carol@acme.test');
  });
});
