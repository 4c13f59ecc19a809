import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { actionDigest, decisionChallenge, fingerprintOf } from '@sigilauth/protocol';
import { coldBootRequest, type Api } from '../../../../test/support/api.js';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { DEVICE_CLI, runCli } from '../../../../test/support/processes.js';
import { browserUnavailable, BrowserRig, newApprover, pairInBrowser, screenshotPath, type Approver } from './helpers.js';
import type { DecisionPayload } from '@sigilauth/protocol/wire';

const skip = browserUnavailable();

interface Identity {
  fingerprint: string;
  device_public_key: string;
}

/** Runs in the page (as source text, so nothing of the test's compiled module leaks in): one assertion over a challenge. */
const ASSERT_IN_PAGE = `async ({ challenge, credentialId }) => {
  const b64u = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  const fromB64u = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4)), (c) => c.charCodeAt(0));
  const credential = await navigator.credentials.get({
    publicKey: { challenge: fromB64u(challenge), rpId: 'localhost', allowCredentials: [{ type: 'public-key', id: fromB64u(credentialId) }], userVerification: 'required' },
  });
  return {
    credential_id: b64u(credential.rawId),
    authenticator_data: b64u(credential.response.authenticatorData),
    client_data_json: b64u(credential.response.clientDataJSON),
    signature: b64u(credential.response.signature),
  };
}`;

/** The assertion the page's passkey makes over a challenge, in the decision endpoint's `webauthn` form. */
async function assertInPage(
  page: Page,
  challenge: Buffer,
  credentialId: string,
): Promise<Record<'credential_id' | 'authenticator_data' | 'client_data_json' | 'signature', string>> {
  const args = JSON.stringify({ challenge: challenge.toString('base64url'), credentialId });
  return page.evaluate(`(${ASSERT_IN_PAGE})(${args})`);
}

function flipByte(b64u: string, index: number): string {
  const bytes = Buffer.from(b64u, 'base64url');
  assert.ok(index < bytes.length, `byte ${index} of ${bytes.length}`);
  bytes[index] = bytes[index]! ^ 0x01;
  return bytes.toString('base64url');
}

describe('web approver with passkeys (real sigil serve, headless Chromium, virtual authenticator)', { skip: skip ?? false }, () => {
  let rig: BrowserRig;
  let origin: string;
  let api: Api;
  let serverId: string;
  let alice: Approver;
  let aliceId: Identity;
  let aliceCredential: string;
  let bobHome: string;
  let bob: Identity;
  const carol = new TestDevice('Carol (operations)');
  const decisionBodies: Array<{ url: string; body: { payload: DecisionPayload; webauthn: Record<string, string> } }> = [];

  const createRequest = async (body: unknown = coldBootRequest({ engineering: [], security: [], operations: [] })) => {
    const res = await api.post('/v1/mpa/requests', body);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { request_id: string; action: unknown };
  };
  /** The guide's cold-boot request: Alice's passkey for Engineering Leads, Bob's sigil-device for Security, Carol for Operations. */
  const guideRequest = () =>
    createRequest({
      ...coldBootRequest({ engineering: [], security: [], operations: [carol] }),
      groups: [
        { name: 'Engineering Leads', approvers: [aliceId] },
        { name: 'Security Team', approvers: [bob] },
        { name: 'Operations', approvers: [carol.approver] },
      ],
    });
  const bobResponds = async (requestId: string, decision: 'approve' | 'deny') => {
    const res = await runCli(DEVICE_CLI, ['respond', requestId, `--${decision}`, '--home', bobHome, '--server', origin], {
      timeoutMs: 120_000,
    });
    assert.equal(res.code, 0, `sigil-device respond failed:\n${res.stdout}\n${res.stderr}`);
  };
  const status = async (id: string) => (await api.get(`/v1/mpa/requests/${id}`)).body as { status: string; groups_satisfied: string[] };
  const openRequest = async (page: Page, description: RegExp | string) => {
    await page.getByRole('link', { name: description }).first().click();
    await page.getByRole('heading', { name: 'Acme Corp is requesting approval' }).waitFor();
  };

  before(async () => {
    rig = await BrowserRig.start({ SIGIL_PAIRING_RATE_LIMIT: '200' });
    ({ origin, api, serverId } = rig);
    alice = await newApprover(rig.browser);
    alice.page.on('request', (request) => {
      if (request.method() === 'POST' && /\/v1\/mpa\/requests\/[^/]+\/decisions$/.test(request.url())) {
        decisionBodies.push({ url: new URL(request.url()).pathname, body: JSON.parse(request.postData() ?? '{}') });
      }
    });

    bobHome = mkdtempSync(join(tmpdir(), 'sigil-web-bob-'));
    const bobCode = (await api.post('/v1/pairings', { name: 'Bob' })).body.code;
    const paired = await runCli(
      DEVICE_CLI,
      ['pair', '--server', origin, '--code', bobCode, '--name', 'Bob (security)', '--yes', '--home', bobHome],
      { timeoutMs: 120_000 },
    );
    assert.equal(paired.code, 0, paired.stderr);
    bob = {
      fingerprint: paired.stdout.match(/^fingerprint: ([0-9a-f]{64})$/m)![1]!,
      device_public_key: paired.stdout.match(/^public_key: (\S{44})$/m)![1]!,
    };
    await rig.pair(carol);
  });

  after(async () => {
    await rig?.close();
    if (bobHome) rmSync(bobHome, { recursive: true, force: true });
  });

  test('pairing a passkey: the code, the pictogram, a passkey with user verification, a device like any other', async () => {
    const opened = await api.post('/v1/pairings', { name: "Alice's phone" });
    assert.equal(opened.status, 201);
    const { page } = alice;
    await page.goto(`${origin}/approve/pair?code=${opened.body.code}`);
    // The pictogram the console shows is on the page before any passkey exists.
    await page.getByText(opened.body.pictogram.names.join(', ')).waitFor();
    await pairInBrowser(page, origin, opened.body.code, "Alice's phone");
    // In the page, not the screen reader's announcement of the same words.
    await page.locator('#main').getByText('Paired with Acme Corp as "Alice\'s phone"').waitFor();
    await page.getByRole('heading', { name: 'Requests' }).waitFor();

    const devices = (await api.get('/v1/devices')).body.data as Array<Identity & { name: string; attestation: Record<string, unknown> }>;
    const device = devices.find((d) => d.name === "Alice's phone");
    assert.ok(device, JSON.stringify(devices));
    assert.equal(device.fingerprint, fingerprintOf(device.device_public_key));
    assert.match(device.device_public_key, /^A[A-Za-z0-9+/]{43}$/);
    // Attestation off: allowed, and marked unattested.
    assert.equal(device.attestation.format, 'none');
    assert.equal(device.attestation.verified, false);
    assert.deepEqual(devices.find((d) => d.fingerprint === bob.fingerprint)?.attestation, { format: 'software', verified: false });
    aliceId = { fingerprint: device.fingerprint, device_public_key: device.device_public_key };
    const pairing = await api.get(`/v1/pairings/${opened.body.pairing_id}`);
    assert.equal(pairing.body.status, 'completed');
    assert.equal(pairing.body.fingerprint, device.fingerprint);

    // The virtual authenticator holds exactly this credential, with user verification.
    const { credentials } = await alice.cdp.send('WebAuthn.getCredentials', { authenticatorId: alice.authenticatorId });
    assert.equal(credentials.length, 1);
    aliceCredential = Buffer.from(credentials[0]!.credentialId, 'base64').toString('base64url');
    assert.equal(credentials[0]!.rpId, 'localhost');

    // The session cookie: HttpOnly, SameSite=Strict, scoped to /approve.
    const cookie = (await alice.context.cookies(`${origin}/approve`)).find((c) => c.name === 'sigil_approver');
    assert.ok(cookie);
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal(cookie.path, '/approve');

    // The code is used up: a second browser cannot pair with it.
    const again = await api.withKey(null).post('/approve/api/pair/options', { code: opened.body.code });
    assert.equal(again.status, 400);
    assert.equal(again.body.error.code, 'invalid_code');
  });

  test("the guide's cold-boot request arrives live; a sigil-device approves for Security, the passkey for Engineering: approved", async () => {
    const { page } = alice;
    await page.goto(`${origin}/approve`);
    await page.getByText('Live: new requests appear here as they arrive.').waitFor();
    const { request_id } = await guideRequest();
    // No reload: the request appears through the page's event stream.
    await page.getByRole('link', { name: /Cold boot engine ENG-001/ }).waitFor({ timeout: 60_000 });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: screenshotPath('inbox-phone'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 800 });
    await openRequest(page, /Cold boot engine ENG-001/);
    const screen = page.locator('article.screen');
    for (const line of [
      'Cold boot engine ENG-001',
      'Action type: cold_boot',
      'Engine ID: ENG-001',
      'Reason: Scheduled maintenance',
      'Requested by: alice@example.com',
      'Ticket: MAINT-1234',
      '0 of 2 approvals received. Waiting for 2 more.',
      'Your group: Engineering Leads',
    ]) {
      await screen.getByText(line, { exact: true }).waitFor();
    }
    await screen.getByText(/^Expires in (9m|10m)/).waitFor();
    await page.getByRole('button', { name: 'Deny' }).waitFor();

    await bobResponds(request_id, 'approve');
    // The quorum line updates live once Security has approved.
    await screen.getByText('1 of 2 approvals received. Waiting for one more.', { exact: true }).waitFor();

    // Nothing scrolls sideways down to a small phone's width.
    await page.setViewportSize({ width: 360, height: 740 });
    assert.ok(Number(await page.evaluate('document.documentElement.scrollWidth')) <= 360, 'no horizontal scrolling at 360 px');
    // The guide's approval screen, at a phone's width and a desktop's.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: screenshotPath('approval-screen-phone'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.screenshot({ path: screenshotPath('approval-screen-desktop'), fullPage: true });

    await page.getByRole('button', { name: 'Approve with passkey' }).click();
    await screen.getByText('MPA request approved').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Approve with passkey' }).isVisible(), false);
    const final = await status(request_id);
    assert.equal(final.status, 'approved');
    assert.deepEqual([...final.groups_satisfied].sort(), ['Engineering Leads', 'Security Team']);
  });

  test('approving first, by keyboard: "Approved. Waiting for other approvers." until the sigil-device completes it', async () => {
    const { page } = alice;
    await page.goto(`${origin}/approve`);
    const { request_id } = await guideRequest();
    await openRequest(page, /Cold boot engine ENG-001/);
    // By keyboard: the screen's heading has focus; Tab reaches Deny, then Approve with passkey.
    assert.equal(await page.evaluate('document.activeElement.id'), 'screen-title');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement.textContent'), 'Deny');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement.textContent'), 'Approve with passkey');
    await page.keyboard.press('Enter');
    const screen = page.locator('article.screen');
    await screen.getByText('Approved. Waiting for other approvers.', { exact: true }).waitFor();
    await screen.getByText("You'll be notified when the action completes or times out.", { exact: true }).waitFor();
    await screen.getByText('1 of 2 approvals received. Waiting for one more.', { exact: true }).waitFor();
    await page.screenshot({ path: screenshotPath('approved-waiting-desktop'), fullPage: true });
    assert.equal((await status(request_id)).status, 'pending');
    await bobResponds(request_id, 'approve');
    await screen.getByText('MPA request approved').waitFor();
    assert.equal((await status(request_id)).status, 'approved');
  });

  test('a denial by anyone shows "MPA request denied"; denying with the passkey too', async () => {
    const { page } = alice;
    await page.goto(`${origin}/approve`);
    const first = await guideRequest();
    await openRequest(page, /Cold boot engine ENG-001/);
    await bobResponds(first.request_id, 'deny');
    await page.locator('article.screen').getByText('MPA request denied').waitFor();
    await page.screenshot({ path: screenshotPath('denied-desktop'), fullPage: true });
    assert.equal((await status(first.request_id)).status, 'rejected');

    await page.goto(`${origin}/approve`);
    const second = await guideRequest();
    await openRequest(page, /Cold boot engine ENG-001/);
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.locator('article.screen').getByText('MPA request denied').waitFor();
    assert.equal((await status(second.request_id)).status, 'rejected');
  });

  test('an outcome missed while the event stream was cut is shown after the reconnect, even if the server first answers 503', async () => {
    const { page } = alice;
    await page.goto(`${origin}/approve`);
    const { request_id } = await guideRequest();
    await openRequest(page, /Cold boot engine ENG-001/);
    // The server dies and comes back; the page's reconnections are held off meanwhile, so it
    // misses the denial made in between.
    await page.route('**/approve/events', (route) => route.abort());
    await rig.restart();
    await bobResponds(request_id, 'deny');
    // Its first questions about the request find the server's storage unavailable.
    let refused = 0;
    await page.route(`**/approve/api/requests/${request_id}`, (route) =>
      refused++ < 2
        ? route.fulfill({
            status: 503,
            contentType: 'application/json',
            headers: { 'retry-after': '1' },
            body: JSON.stringify({ error: { code: 'unavailable', message: 'storage is unavailable; retry shortly' } }),
          })
        : route.continue(),
    );
    assert.equal(await page.locator('article.screen').getByText('MPA request denied').count(), 0, 'not shown before the reconnect');
    await page.unroute('**/approve/events');
    await page.locator('article.screen').getByText('MPA request denied').waitFor({ timeout: 60_000 });
    assert.ok(refused >= 3, `asked again after the 503s (${refused} questions)`);
    await page.unroute(`**/approve/api/requests/${request_id}`);
  });

  test('pending requests are listed on return, after signing in again with the passkey', async () => {
    const { request_id } = await guideRequest();
    const { page } = alice;
    await alice.context.clearCookies();
    await page.goto(`${origin}/approve`);
    await page.getByRole('heading', { name: 'Approve requests with a passkey' }).waitFor();
    await page.getByRole('button', { name: 'Sign in with passkey' }).click();
    await page.getByRole('heading', { name: 'Requests' }).waitFor();
    await page
      .getByRole('link', { name: /Cold boot engine ENG-001/ })
      .first()
      .waitFor();
    assert.equal((await status(request_id)).status, 'pending');
    await api.post(`/v1/mpa/requests/${request_id}/cancel`);
  });

  test('a replayed or altered assertion is refused', async () => {
    const accepted = decisionBodies.find((d) => d.body.payload.decision === 'approve');
    assert.ok(accepted, 'the page posted a passkey decision');
    const anon = api.withKey(null);

    // The same body again: the decision is recorded once.
    const replay = await anon.post(accepted.url, accepted.body);
    assert.equal(replay.status, 409);
    assert.equal(replay.body.error.code, 'already_decided');

    // Against another request: refused whether the payload is kept or changed to match.
    const other = await guideRequest();
    const elsewhere = await anon.post(`/v1/mpa/requests/${other.request_id}/decisions`, accepted.body);
    assert.equal(elsewhere.status, 400);
    assert.equal(elsewhere.body.error.code, 'invalid_request');
    const retargeted = await anon.post(`/v1/mpa/requests/${other.request_id}/decisions`, {
      payload: { ...accepted.body.payload, request_id: other.request_id, issued_at: Date.now() },
      webauthn: accepted.body.webauthn,
    });
    assert.equal(retargeted.status, 401);
    assert.equal(retargeted.body.error.code, 'invalid_signature');

    // A fresh assertion for the other request, altered in each part, then sent intact.
    const view = (await api.get(`/v1/mpa/requests/${other.request_id}`)).body;
    const payload: DecisionPayload = {
      purpose: 'mpa-decision',
      server_id: serverId,
      request_id: other.request_id,
      fingerprint: aliceId.fingerprint,
      decision: 'approve',
      action_digest: actionDigest(view.action),
      issued_at: Date.now(),
    };
    const assertion = await assertInPage(alice.page, decisionChallenge(payload), aliceCredential);
    const url = `/v1/mpa/requests/${other.request_id}/decisions`;
    const clientData = JSON.parse(Buffer.from(assertion.client_data_json, 'base64url').toString());
    const altered = [
      { payload, webauthn: { ...assertion, authenticator_data: flipByte(assertion.authenticator_data, 5) } }, // RP ID hash
      { payload, webauthn: { ...assertion, authenticator_data: flipByte(assertion.authenticator_data, 36) } }, // counter
      {
        payload,
        webauthn: {
          ...assertion,
          client_data_json: Buffer.from(JSON.stringify({ ...clientData, origin: 'https://sigil.example' })).toString('base64url'),
        },
      },
      { payload, webauthn: { ...assertion, signature: flipByte(assertion.signature, 20) } },
      { payload: { ...payload, decision: 'deny' }, webauthn: assertion },
      { payload: { ...payload, issued_at: payload.issued_at + 1 }, webauthn: assertion },
    ];
    for (const body of altered) {
      const res = await anon.post(url, body);
      assert.equal(res.status, 401, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'invalid_signature');
    }
    // The user-verification flag cleared (byte 32 bit 2): refused even though nothing else changed.
    const flags = Buffer.from(assertion.authenticator_data, 'base64url');
    flags[32] = flags[32]! & ~0x04;
    const noUv = await anon.post(url, { payload, webauthn: { ...assertion, authenticator_data: flags.toString('base64url') } });
    assert.equal(noUv.status, 401);
    const intact = await anon.post(url, { payload, webauthn: assertion });
    assert.equal(intact.status, 200, JSON.stringify(intact.body));
    assert.equal(intact.body.my_decision, 'approve');
  });

  test("an older assertion after a newer one is refused: the authenticator's counter must increase", async () => {
    const a = await guideRequest();
    const b = await guideRequest();
    const digest = actionDigest((await api.get(`/v1/mpa/requests/${a.request_id}`)).body.action);
    const payloadFor = (request_id: string): DecisionPayload => ({
      purpose: 'mpa-decision',
      server_id: serverId,
      request_id,
      fingerprint: aliceId.fingerprint,
      decision: 'approve',
      action_digest: digest,
      issued_at: Date.now(),
    });
    const pa = payloadFor(a.request_id);
    const older = await assertInPage(alice.page, decisionChallenge(pa), aliceCredential);
    const pb = payloadFor(b.request_id);
    const newer = await assertInPage(alice.page, decisionChallenge(pb), aliceCredential);
    const anon = api.withKey(null);
    assert.equal((await anon.post(`/v1/mpa/requests/${b.request_id}/decisions`, { payload: pb, webauthn: newer })).status, 200);
    const stale = await anon.post(`/v1/mpa/requests/${a.request_id}/decisions`, { payload: pa, webauthn: older });
    assert.equal(stale.status, 401);
    assert.match(stale.body.error.message, /counter/);
    assert.equal((await status(a.request_id)).status, 'pending');
  });

  test('a passkey used from another origin is refused', async () => {
    // A look-alike page on another localhost port: the same RP ID, so the browser lets it use the passkey.
    const evil: Server = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>Totally Sigil</title>'),
    );
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    try {
      const evilOrigin = `http://localhost:${(evil.address() as { port: number }).port}`;
      const { request_id } = await guideRequest();
      const payload: DecisionPayload = {
        purpose: 'mpa-decision',
        server_id: serverId,
        request_id,
        fingerprint: aliceId.fingerprint,
        decision: 'approve',
        action_digest: decisionBodies[0]!.body.payload.action_digest,
        issued_at: Date.now(),
      };
      await alice.page.goto(evilOrigin);
      const assertion = await assertInPage(alice.page, decisionChallenge(payload), aliceCredential);
      const clientData = JSON.parse(Buffer.from(assertion.client_data_json, 'base64url').toString());
      assert.equal(clientData.origin, evilOrigin);
      const res = await api.withKey(null).post(`/v1/mpa/requests/${request_id}/decisions`, { payload, webauthn: assertion });
      assert.equal(res.status, 401);
      assert.equal(res.body.error.code, 'invalid_signature');
      assert.match(res.body.error.message, new RegExp(`made on "${evilOrigin}"`));
      assert.equal((await status(request_id)).status, 'pending');
      // And a session cannot be opened from there either.
      const options = (await api.withKey(null).post('/approve/api/session/options')).body;
      const login = await assertInPage(alice.page, Buffer.from(options.options.challenge, 'base64url'), aliceCredential);
      const session = await api.withKey(null).post('/approve/api/session', { challenge_id: options.challenge_id, webauthn: login });
      assert.equal(session.status, 401);
    } finally {
      await new Promise((resolve) => evil.close(resolve));
      await alice.page.goto(`${origin}/approve`);
    }
  });

  test('revoking a passkey while its page is open takes the page back to sign-in, saying why', async () => {
    const dave = await newApprover(rig.browser, { width: 390, height: 844 });
    try {
      const { code } = (await api.post('/v1/pairings', { name: "Dave's phone" })).body;
      await pairInBrowser(dave.page, origin, code, "Dave's phone");
      await dave.page.getByRole('heading', { name: 'Requests' }).waitFor();
      await dave.page.getByText('Live: new requests appear here as they arrive.').waitFor();
      const devices = (await api.get('/v1/devices')).body.data as Array<{ name: string; fingerprint: string }>;
      const fingerprint = devices.find((d) => d.name === "Dave's phone")!.fingerprint;
      assert.equal((await api.request('DELETE', `/v1/devices/${fingerprint}`)).status, 200);
      await dave.page.getByRole('heading', { name: 'Approve requests with a passkey' }).waitFor();
      await dave.page.locator('#main').getByText('Acme Corp has revoked this device: it can no longer approve or deny requests.').waitFor();
      assert.equal(await dave.page.title(), 'Sigil approver');
      await dave.page.screenshot({ path: screenshotPath('revoked-phone'), fullPage: true });
    } finally {
      await dave.context.close();
    }
  });

  test('pages carry a strict CSP and no inline script; the approver API needs a session', async () => {
    const page = await fetch(`${origin}/approve`);
    assert.equal(page.status, 200);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
    const html = await page.text();
    for (const tag of html.match(/<script\b[^>]*>/g) ?? []) assert.match(tag, /\ssrc="\/web\//);
    assert.doesNotMatch(html, /\sstyle=|\son[a-z]+=/);
    const consolePage = await fetch(`${origin}/console`);
    assert.match(consolePage.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    const js = await fetch(`${origin}/web/approve.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    assert.ok(
      Number(js.headers.get('content-length') ?? (await js.arrayBuffer()).byteLength) < 64 * 1024,
      'the approver bundle stays small',
    );
    for (const path of ['/approve/api/me', '/approve/api/requests', '/approve/events']) {
      const res = await fetch(`${origin}${path}`);
      assert.equal(res.status, 401, path);
    }
    const forged = await fetch(`${origin}/approve/api/me`, { headers: { cookie: `sigil_approver=${'A'.repeat(43)}` } });
    assert.equal(forged.status, 401);
  });
});
