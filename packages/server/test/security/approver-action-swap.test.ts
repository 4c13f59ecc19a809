// Attack: an insider who can write to the database swaps a pending request's action, and its
// digest so that the two agree, after an approver has opened it, hoping that the approver's click
// signs the new action while the screen still shows the old one. A request's action never
// changes, so the web approver refuses to sign once it sees another: it signs only what it shows.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { actionDigest } from '@sigilauth/protocol';
import { pairDevice, startTestServer, type TestServer } from '../../../../test/support/api.js';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { createStore, type TestStore } from '../../../../test/support/stores.js';
import { browserUnavailable, launchChromium, newApprover, pairInBrowser } from '../web/helpers.js';

const skip = browserUnavailable();

const SHOWN = { type: 'rotate_cert', description: 'Rotate the staging TLS certificate', params: { env: 'staging' } };
const SWAPPED = { type: 'db_export', description: 'Export the production customer database', params: { to: 's3://elsewhere' } };

describe('an action swapped in storage under an open approval screen (headless Chromium)', { skip: skip ?? false }, () => {
  let store: TestStore;
  let t: TestServer;
  let browser: Browser;

  before(async () => {
    store = await createStore('pglite');
    t = await startTestServer(store);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
    await store?.dispose();
  });

  test('the screen refuses to sign, and says why; nothing of the approver is recorded', async () => {
    const origin = t.server.publicOrigin!;
    const { page } = await newApprover(browser);
    await pairInBrowser(page, origin, (await t.api.post('/v1/pairings', { name: 'Alice' })).body.code, 'Alice');
    await page.getByText('Live: new requests appear here as they arrive.').waitFor();
    const alice = (await t.api.get('/v1/devices')).body.data.find((d: { name: string }) => d.name === 'Alice');
    const bob = new TestDevice('Bob');
    await pairDevice(t.api, t.serverId, bob);

    const created = await t.api.post('/v1/mpa/requests', {
      required: 2,
      groups: [
        { name: 'Engineering', approvers: [{ fingerprint: alice.fingerprint, device_public_key: alice.device_public_key }] },
        { name: 'Security', approvers: [bob.approver] },
      ],
      action: SHOWN,
      expires_in_seconds: 600,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.request_id as string;
    await page.locator('#inbox a.inbox-item').click();
    const screen = page.locator('article.screen');
    await screen.getByText(SHOWN.description).waitFor();
    await screen.getByRole('button', { name: 'Approve with passkey' }).waitFor();

    // The insider's write, then a legitimate decision that sends the request's new view to the screen.
    await t.server.db.query('UPDATE mpa_requests SET action = $2, action_digest = $3 WHERE id = $1', [
      id,
      JSON.stringify(SWAPPED),
      actionDigest(SWAPPED),
    ]);
    const decided = await t.api
      .withKey(null)
      .post(`/v1/mpa/requests/${id}/decisions`, bob.decisionBody(t.serverId, id, actionDigest(SWAPPED), 'approve'));
    assert.equal(decided.status, 200, JSON.stringify(decided.body));

    await screen
      .getByRole('alert')
      .getByText(/^Not signed: this request's action changed after it was shown/)
      .waitFor();
    assert.equal(await screen.getByRole('button', { name: 'Approve with passkey' }).isVisible(), false, 'nothing is left to click');
    assert.ok((await screen.innerText()).includes(SHOWN.description), 'the screen still shows what it showed');

    const request = (await t.api.get(`/v1/mpa/requests/${id}`)).body;
    assert.equal(request.status, 'pending');
    assert.deepEqual(request.groups_satisfied, ['Security'], "only Bob's decision counts; the approver signed nothing");
  });
});
