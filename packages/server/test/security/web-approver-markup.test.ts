// Attack: a requester (or an organisation or device name) carries HTML, hoping the web approver
// renders it: an element that hides or fakes a line of the approval screen, or script that
// decides with the approver's passkey. The page builds its DOM from text nodes only, so every
// piece of it must be shown as the characters sent, and no element of it may exist.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { Api } from '../../../../test/support/api.js';
import { freePort, startSigil, type SigilProcess } from '../../../../test/support/processes.js';
import { createStore, type TestStore } from '../../../../test/support/stores.js';
import { browserUnavailable, launchChromium, newApprover, pairInBrowser, type Approver } from '../web/helpers.js';

const skip = browserUnavailable();

/** Every injected element carries data-injected, so one query finds any that was created. */
const ORG = 'Acme <u data-injected>Corp</u>';
const DEVICE_NAME = '<b data-injected>Alice</b> phone';
const GROUP = '<i data-injected>Ops</i> leads';
const ACTION = {
  type: 'restart<script data-injected>window.sigilInjected = 2</script>',
  description: 'Restart <img src="x" data-injected onerror="window.sigilInjected = 1"> engine ENG-7',
  params: { '<em data-injected>ticket</em>': '<a data-injected href="javascript:window.sigilInjected = 3">MAINT-1</a>' },
};

describe('markup in a request, shown by the web approver (real sigil serve, headless Chromium)', { skip: skip ?? false }, () => {
  let store: TestStore;
  let sigil: SigilProcess;
  let origin: string;
  let api: Api;
  let browser: Browser;
  let approver: Approver;

  before(async () => {
    store = await createStore('pglite');
    const port = await freePort();
    origin = `http://localhost:${port}`;
    sigil = await startSigil(store, { SIGIL_ORG_NAME: ORG, SIGIL_PUBLIC_URL: origin }, { port });
    assert.ok(sigil.apiKey);
    api = new Api(origin, sigil.apiKey);
    browser = await launchChromium();
    approver = await newApprover(browser);
  });
  after(async () => {
    await browser?.close();
    await sigil?.stop();
    await store?.dispose();
  });

  test('markup in a request is shown as text by the web approver, and nothing in it runs', async () => {
    const { page } = approver;
    const code = (await api.post('/v1/pairings', {})).body.code as string;
    await pairInBrowser(page, origin, code, DEVICE_NAME);
    await page.getByRole('heading', { name: 'Requests' }).waitFor();
    const [device] = (await api.get('/v1/devices')).body.data as Array<{ fingerprint: string; device_public_key: string; name: string }>;
    assert.equal(device?.name, DEVICE_NAME, 'the device name is stored as typed');

    await page.goto(`${origin}/approve`);
    await page.getByText('Live: new requests appear here as they arrive.').waitFor();
    const created = await api.post('/v1/mpa/requests', {
      required: 1,
      groups: [{ name: GROUP, approvers: [{ fingerprint: device.fingerprint, device_public_key: device.device_public_key }] }],
      action: ACTION,
      expires_in_seconds: 600,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));

    // The request arrives live; its entry in the list shows the description's markup as text.
    const entry = page.locator('#inbox a.inbox-item');
    await entry.waitFor();
    const listed = await entry.innerText();
    assert.ok(listed.includes(ACTION.description), `the inbox shows the description as sent:\n${listed}`);
    await entry.click();
    const screen = page.locator('article.screen');
    await screen.getByRole('button', { name: 'Approve with passkey' }).waitFor();

    const shown = await page.locator('body').innerText();
    for (const text of [
      `${ORG} is requesting approval`,
      ACTION.description,
      `Action type: ${ACTION.type}`,
      ACTION.params['<em data-injected>ticket</em>'],
      `Your group: ${GROUP}`,
      DEVICE_NAME,
    ]) {
      assert.ok(shown.includes(text), `the page shows ${JSON.stringify(text)} as text:\n${shown}`);
    }
    assert.equal(await page.locator('[data-injected]').count(), 0, 'no element of the markup exists');
    assert.equal(await page.evaluate('window.sigilInjected'), undefined, 'no script of the markup ran');
  });
});
