// SIGIL_ATTESTATION_REQUIRED=true end to end, with real certificates: a test CA, named in a FIDO
// metadata statement, issues the attestation certificate of a software authenticator. A passkey
// whose packed attestation chains to that CA pairs, is listed as verified, and decides; every
// attestation short of such a chain is refused, and the pairing code stays usable.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { actionDigest, decisionChallenge } from '@sigilauth/protocol';
import { startTestServer, type TestServer } from '../../../../test/support/api.js';
import { createStore, type TestStore } from '../../../../test/support/stores.js';
import {
  attestationCertificate,
  metadataStatement,
  pairPasskey,
  sessionCookie,
  SoftwarePasskey,
  testCa,
  type Attestation,
  type Certificate,
} from '../../../../test/support/webauthn.js';
import type { DecisionPayload } from '@sigilauth/protocol/wire';

const AAGUID = '5a1e0001-7e57-4c0d-9d3f-0123456789ab';
const AAGUID_WITHOUT_ROOTS = '5a1e0002-7e57-4c0d-9d3f-0123456789ab';
const AAGUID_UNKNOWN = '5a1e0003-7e57-4c0d-9d3f-0123456789ab';

let store: TestStore;
let t: TestServer;
let dir: string;
let ca: Certificate;
let leaf: Certificate;

before(async () => {
  ca = await testCa();
  leaf = await attestationCertificate(ca);
  dir = mkdtempSync(join(tmpdir(), 'sigil-attestation-'));
  const metadataFile = join(dir, 'metadata.json');
  writeFileSync(
    metadataFile,
    JSON.stringify([
      metadataStatement(AAGUID, 'Sigil Test Security Key', [ca]),
      metadataStatement(AAGUID_WITHOUT_ROOTS, 'Key With No Roots', []),
    ]),
  );
  store = await createStore('pglite');
  t = await startTestServer(store, { config: { pairingRateLimit: 200, webAuthn: { attestationRequired: true, metadataFile } } });
});
after(async () => {
  await t?.close();
  await store?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const origin = () => t.server.publicOrigin!;
/**
 * Pairs the passkey with the attestation given, through the whole ceremony (its proof of
 * possession included), having checked that the server asked for a direct attestation.
 */
async function pair(code: string, passkey: SoftwarePasskey, attestation: Attestation) {
  const paired = await pairPasskey(t.api, code, passkey, { name: 'Security key', attestation });
  assert.equal(paired.options.status, 200, JSON.stringify(paired.options.body));
  assert.equal(paired.options.body.options.attestation, 'direct');
  return paired.complete!;
}

test('a passkey whose packed attestation chains to a root of its metadata statement pairs, is listed as verified, and decides', async () => {
  const opened = (await t.api.post('/v1/pairings', { name: 'Security key' })).body;
  const passkey = SoftwarePasskey.create(origin(), { aaguid: AAGUID });
  const paired = await pair(opened.code, passkey, { format: 'packed', x5c: [leaf.der], signer: leaf.privateKey });
  assert.equal(paired.status, 200, JSON.stringify(paired.body));
  assert.deepEqual(paired.body.attestation, { format: 'packed', aaguid: AAGUID, model: 'Sigil Test Security Key', verified: true });
  const device = (await t.api.get('/v1/devices')).body.data.find((d: { fingerprint: string }) => d.fingerprint === paired.body.fingerprint);
  assert.deepEqual(device.attestation, paired.body.attestation);

  const created = await t.api.post('/v1/mpa/requests', {
    required: 1,
    groups: [{ name: 'Security', approvers: [{ fingerprint: device.fingerprint, device_public_key: device.device_public_key }] }],
    action: { type: 'key_rotation', description: 'Rotate the signing key' },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const payload: DecisionPayload = {
    purpose: 'mpa-decision',
    server_id: t.serverId,
    request_id: created.body.request_id,
    fingerprint: device.fingerprint,
    decision: 'approve',
    action_digest: actionDigest(created.body.action),
    issued_at: Date.now(),
  };
  const decided = await t.api
    .withKey(null)
    .post(`/v1/mpa/requests/${created.body.request_id}/decisions`, { payload, webauthn: passkey.assert(decisionChallenge(payload)) });
  assert.equal(decided.status, 200, JSON.stringify(decided.body));
  assert.equal(decided.body.status, 'approved');
});

test('every attestation short of a chain to a trusted root is refused, and the code stays usable', async () => {
  const opened = (await t.api.post('/v1/pairings', { name: 'Security key' })).body;
  const rogueCa = await testCa('CN=Rogue Root, O=Not The Vendor, C=NL');
  const rogueLeaf = await attestationCertificate(rogueCa);
  const expired = await attestationCertificate(ca, {
    notBefore: new Date(Date.now() - 30 * 86_400_000),
    notAfter: new Date(Date.now() - 86_400_000),
  });
  // Each with a valid proof of possession, so that only the attestation is wrong: a statement or
  // certificate that does not verify makes an invalid registration (400), and one that verifies
  // without a trusted root to anchor it is refused by the attestation policy (403).
  const unanchored = [403, 'attestation_required'] as const;
  const unverifiable = [400, 'invalid_registration'] as const;
  const cases: Array<[string, string, Attestation, readonly [number, string], RegExp]> = [
    ['no attestation', AAGUID, { format: 'none' }, unanchored, /no attestation \("none"\)/],
    ['self attestation', AAGUID, { format: 'self' }, unanchored, /"packed" attestation does not chain to a trusted root/],
    [
      'a chain to another root than the statement names',
      AAGUID,
      { format: 'packed', x5c: [rogueLeaf.der], signer: rogueLeaf.privateKey },
      unverifiable,
      /does not verify: x5c could not be chained to any specified trust anchor/,
    ],
    [
      'the root certificate itself as the attestation certificate',
      AAGUID,
      { format: 'packed', x5c: [ca.der], signer: ca.privateKey },
      unverifiable,
      /does not verify: Certificate OU was not "Authenticator Attestation"/,
    ],
    [
      'a chain under a statement without root certificates',
      AAGUID_WITHOUT_ROOTS,
      { format: 'packed', x5c: [leaf.der], signer: leaf.privateKey },
      unanchored,
      /"packed" attestation does not chain to a trusted root/,
    ],
    [
      'a chain for an authenticator without a statement',
      AAGUID_UNKNOWN,
      { format: 'packed', x5c: [leaf.der], signer: leaf.privateKey },
      unanchored,
      /"packed" attestation does not chain to a trusted root/,
    ],
    [
      'an expired attestation certificate',
      AAGUID,
      { format: 'packed', x5c: [expired.der], signer: expired.privateKey },
      unverifiable,
      /does not verify: Certificate not good after/,
    ],
    [
      'a statement not signed by the certificate',
      AAGUID,
      { format: 'packed', x5c: [leaf.der], signer: rogueLeaf.privateKey },
      unverifiable,
      /attestation statement does not verify/,
    ],
    [
      'a zero-filled certificate',
      AAGUID,
      { format: 'packed', x5c: [Buffer.alloc(300)], signer: leaf.privateKey },
      unverifiable,
      /does not verify: .*Certificate ASN1 schema/,
    ],
  ];
  for (const [what, aaguid, attestation, [status, code], message] of cases) {
    const res = await pair(opened.code, SoftwarePasskey.create(origin(), { aaguid }), attestation);
    assert.equal(res.status, status, `${what}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error.code, code, what);
    assert.match(res.body.error.message, message, what);
    assert.equal(sessionCookie(res), null, what);
  }
  assert.equal((await t.api.get(`/v1/pairings/${opened.pairing_id}`)).body.status, 'pending');
  assert.equal((await t.api.get('/v1/devices')).body.data.length, 1, 'only the passkey of the first test');
  const good = await pair(opened.code, SoftwarePasskey.create(origin(), { aaguid: AAGUID }), {
    format: 'packed',
    x5c: [leaf.der],
    signer: leaf.privateKey,
  });
  assert.equal(good.status, 200, JSON.stringify(good.body));
});
