import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import { MetadataService } from '@simplewebauthn/server';
import type { Browser } from 'playwright-core';
import { Api } from '../../../../test/support/api.js';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { DEVICE_CLI, freePort, runCli, startSigil, type SigilProcess } from '../../../../test/support/processes.js';
import { createStore, type TestStore } from '../../../../test/support/stores.js';
import { attestationCertificate, metadataStatement, testCa, type Certificate } from '../../../../test/support/webauthn.js';
import { describeAttestation } from '../../src/webauthn/attestation.js';
import { relyingPartyOf, WebAuthnSettings } from '../../src/webauthn/settings.js';
import { browserUnavailable, launchChromium, newApprover, pairInBrowser, screenshotPath } from './helpers.js';

const skip = browserUnavailable();
const AAGUID = 'cb69481e-8ff7-4039-93ec-0a2729a154a8';
const OTHER_AAGUID = 'cb69481e-8ff7-4039-93ec-0a2729a154a9';

/** An attestation object with the given format and statement (only attStmt matters to describeAttestation). */
function attestationObject(fmt: string, attStmt: Map<string, unknown>): Uint8Array {
  return isoCBOR.encode(
    new Map<string, unknown>([
      ['fmt', fmt],
      ['attStmt', attStmt],
      ['authData', new Uint8Array(37)],
    ]) as never,
  );
}
let ca: Certificate;
let leaf: Certificate;
const withChain = (alg = -7) =>
  new Map<string, unknown>([
    ['alg', alg],
    ['sig', new Uint8Array(70)],
    ['x5c', [leaf.der]],
  ]);
const selfAttested = () =>
  new Map<string, unknown>([
    ['alg', -7],
    ['sig', new Uint8Array(70)],
  ]);

// describeAttestation runs after SimpleWebAuthn has verified the registration: it says whether
// that verification checked the chain against a trust anchor. Acceptance and refusal of real
// registrations are in attestation-chain.test.ts.
describe('what an attestation proves', () => {
  before(async () => {
    ca = await testCa();
    leaf = await attestationCertificate(ca);
  });

  test('none, self attestation, chains checked against no anchor and other formats prove nothing; apple and android-key chains were checked against the bundled roots', async () => {
    assert.deepEqual(await describeAttestation('none', '00000000-0000-0000-0000-000000000000', attestationObject('none', new Map())), {
      format: 'none',
      aaguid: '00000000-0000-0000-0000-000000000000',
      verified: false,
    });
    assert.equal((await describeAttestation('packed', AAGUID, attestationObject('packed', selfAttested()))).verified, false);
    // A packed or TPM chain checked against no trust anchor (no metadata statement) proves nothing.
    assert.equal((await describeAttestation('packed', AAGUID, attestationObject('packed', withChain()))).verified, false);
    assert.equal((await describeAttestation('tpm', AAGUID, attestationObject('tpm', withChain()))).verified, false);
    assert.equal((await describeAttestation('fido-u2f', AAGUID, attestationObject('fido-u2f', withChain()))).verified, false);
    // SimpleWebAuthn checked these chains against its bundled Apple and Google roots before we are asked.
    assert.equal((await describeAttestation('apple', AAGUID, attestationObject('apple', withChain()))).verified, true);
    assert.equal((await describeAttestation('android-key', AAGUID, attestationObject('android-key', withChain()))).verified, true);
    // A well-known passkey provider is named, still unverified.
    const icloud = await describeAttestation('none', 'fbfc3007-154e-4ecc-8c0b-6e020557d7bd', attestationObject('none', new Map()));
    assert.deepEqual(icloud, { format: 'none', aaguid: 'fbfc3007-154e-4ecc-8c0b-6e020557d7bd', model: 'iCloud Keychain', verified: false });
  });

  test("with a vendor's metadata statement, its packed chains are anchored by the statement's roots, and the model is named", async () => {
    await MetadataService.initialize({
      mdsServers: [],
      verificationMode: 'permissive',
      statements: [
        metadataStatement(AAGUID, 'Security Key by Example', [ca]) as never,
        metadataStatement(OTHER_AAGUID, 'Security Key Without Roots', []) as never,
      ],
    });
    try {
      assert.deepEqual(await describeAttestation('packed', AAGUID, attestationObject('packed', withChain())), {
        format: 'packed',
        aaguid: AAGUID,
        model: 'Security Key by Example',
        verified: true,
      });
      assert.equal((await describeAttestation('packed', AAGUID, attestationObject('packed', selfAttested()))).verified, false);
      // A statement without root certificates: SimpleWebAuthn checked the chain against nothing.
      assert.deepEqual(await describeAttestation('packed', OTHER_AAGUID, attestationObject('packed', withChain())), {
        format: 'packed',
        aaguid: OTHER_AAGUID,
        model: 'Security Key Without Roots',
        verified: false,
      });
    } finally {
      await MetadataService.initialize({ mdsServers: [], statements: [], verificationMode: 'permissive' });
    }
  });
});

describe('relying party settings', () => {
  test('the public URL gives the origin and RP ID; plain http only on localhost; the RP ID must cover the host', () => {
    assert.deepEqual(relyingPartyOf('https://sigil.example.com/'), { rpId: 'sigil.example.com', origin: 'https://sigil.example.com' });
    assert.deepEqual(relyingPartyOf('https://sigil.example.com:8443', 'example.com'), {
      rpId: 'example.com',
      origin: 'https://sigil.example.com:8443',
    });
    assert.deepEqual(relyingPartyOf('http://localhost:8080'), { rpId: 'localhost', origin: 'http://localhost:8080' });
    assert.throws(() => relyingPartyOf('http://sigil.example.com'), /https/);
    assert.throws(() => relyingPartyOf('https://sigil.example.com', 'other.com'), /parent domain/);
    assert.throws(() => relyingPartyOf('https://10.0.0.1'), /IP address/);
    assert.throws(() => relyingPartyOf('not a url'), /not a URL/);
    const loopback = new WebAuthnSettings({ attestationRequired: false });
    assert.equal(loopback.relyingParty(), null);
    loopback.listening('http', '127.0.0.1', 4321);
    assert.deepEqual(loopback.relyingParty(), { rpId: 'localhost', origin: 'http://localhost:4321' });
    const exposed = new WebAuthnSettings({ attestationRequired: false });
    exposed.listening('http', '0.0.0.0', 4321);
    assert.equal(exposed.relyingParty(), null);
  });
});

describe('SIGIL_ATTESTATION_REQUIRED=true (real sigil serve, headless Chromium)', { skip: skip ?? false }, () => {
  let store: TestStore;
  let sigil: SigilProcess;
  let origin: string;
  let api: Api;
  let browser: Browser;
  let home: string;

  before(async () => {
    store = await createStore('pglite');
    const port = await freePort();
    origin = `http://localhost:${port}`;
    sigil = await startSigil(
      store,
      { SIGIL_ORG_NAME: 'Acme Corp', SIGIL_PUBLIC_URL: origin, SIGIL_ATTESTATION_REQUIRED: 'true' },
      { port },
    );
    api = new Api(origin, sigil.apiKey);
    browser = await launchChromium();
    home = mkdtempSync(join(tmpdir(), 'sigil-web-attest-'));
  });

  after(async () => {
    await browser?.close();
    await sigil?.stop();
    await store?.dispose();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  test("the virtual authenticator's self-signed attestation is refused with a clear error, and the code stays usable", async () => {
    const opened = (await api.post('/v1/pairings', { name: 'Virtual phone' })).body;
    const { page, context } = await newApprover(browser, { width: 390, height: 844 });
    try {
      await pairInBrowser(page, origin, opened.code, 'Virtual phone');
      const error = page.locator('#pair-error');
      await error.getByText(/^Not paired: this server accepts only passkeys whose hardware it can verify/).waitFor();
      await error.getByText(/For your administrator: .*accepts only devices with verified hardware attestation/).waitFor();
      assert.match((await error.textContent()) ?? '', /"packed" attestation does not chain to a trusted root/);
      await page.screenshot({ path: screenshotPath('pairing-refused-phone'), fullPage: true });
      assert.equal((await api.get(`/v1/pairings/${opened.pairing_id}`)).body.status, 'pending');
      assert.deepEqual((await api.get('/v1/devices')).body.data, []);

      // The browser asked for direct attestation; a client that sends `none` anyway is refused too.
      await page.route('**/approve/api/pair/options', async (route) => {
        const response = await route.fetch();
        const body = await response.json();
        body.options.attestation = 'none';
        await route.fulfill({ response, json: body });
      });
      await page.getByRole('button', { name: 'Create passkey' }).click();
      await error.getByText(/no attestation \("none"\)/).waitFor();
      assert.deepEqual((await api.get('/v1/devices')).body.data, []);
    } finally {
      await context.close();
    }
  });

  test('a software key is refused: sigil-device pairing and the raw API both get 403 attestation_required', async () => {
    const opened = (await api.post('/v1/pairings', { name: 'Terminal' })).body;
    const res = await runCli(DEVICE_CLI, ['pair', '--server', origin, '--code', opened.code, '--yes', '--home', home], {
      timeoutMs: 120_000,
    });
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /verified hardware attestation/);
    assert.match(res.stderr, /attestation_required/);
    const device = new TestDevice('Raw');
    const serverId = (await api.get('/v1/info')).body.server_id;
    const raw = await api.withKey(null).post('/v1/pairings/complete', device.pairingBody(serverId, opened.code));
    assert.equal(raw.status, 403);
    assert.equal(raw.body.error.code, 'attestation_required');
    assert.deepEqual((await api.get('/v1/devices')).body.data, []);
  });
});
