import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DomainTag, fingerprintOf, verifyPayload } from '@sigilauth/protocol';
import { signPayload } from '@sigilauth/protocol';
import {
  KEY_FILE,
  KeystoreError,
  loadOrCreateDeviceKey,
  loadServers,
  normalizeServerUrl,
  resolveHome,
  savePairing,
  selectServer,
  SERVERS_FILE,
  type PairedServer,
} from '../src/keystore.js';

const roots: string[] = [];
function tempHome(): string {
  const root = mkdtempSync(join(tmpdir(), 'sigil-device-test-'));
  roots.push(root);
  return join(root, 'home');
}
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

describe('device key', () => {
  test('is created once, 0600 in a 0700 directory, with a stable fingerprint', () => {
    const home = tempHome();
    const first = loadOrCreateDeviceKey(home);
    assert.equal(first.created, true);
    assert.equal(statSync(home).mode & 0o777, 0o700);
    assert.equal(statSync(join(home, KEY_FILE)).mode & 0o777, 0o600);
    assert.match(first.fingerprint, /^[0-9a-f]{64}$/);
    assert.equal(first.fingerprint, fingerprintOf(first.publicKey));
    assert.equal(Buffer.from(first.publicKey, 'base64').length, 33);

    const pem = readFileSync(join(home, KEY_FILE), 'utf8');
    const second = loadOrCreateDeviceKey(home);
    assert.equal(second.created, false);
    assert.equal(second.fingerprint, first.fingerprint);
    assert.equal(second.publicKey, first.publicKey);
    assert.equal(readFileSync(join(home, KEY_FILE), 'utf8'), pem, 'the key file is not rewritten');

    // The loaded key signs what the stored public key verifies.
    const sig = signPayload(DomainTag.pairing, { x: 1 }, second.privateKey);
    assert.equal(verifyPayload(DomainTag.pairing, { x: 1 }, sig, first.publicKey), true);
  });

  test('different homes have different keys', () => {
    assert.notEqual(loadOrCreateDeviceKey(tempHome()).fingerprint, loadOrCreateDeviceKey(tempHome()).fingerprint);
  });

  test('refuses a key file other users can read', () => {
    const home = tempHome();
    loadOrCreateDeviceKey(home);
    chmodSync(join(home, KEY_FILE), 0o644);
    assert.throws(
      () => loadOrCreateDeviceKey(home),
      (err: Error) => err instanceof KeystoreError && /chmod 600/.test(err.message),
    );
  });

  test('refuses a key file that is not a P-256 key', () => {
    const home = tempHome();
    loadOrCreateDeviceKey(home);
    writeFileSync(join(home, KEY_FILE), 'garbage', { mode: 0o600 });
    assert.throws(() => loadOrCreateDeviceKey(home), KeystoreError);
  });

  test('home: option, then SIGIL_DEVICE_HOME, then a per-user directory (never the working directory)', () => {
    const user = tempHome();
    assert.equal(resolveHome('/tmp/a', { SIGIL_DEVICE_HOME: '/tmp/b' }, user), '/tmp/a');
    assert.equal(resolveHome(undefined, { SIGIL_DEVICE_HOME: '/tmp/b' }, user), '/tmp/b');
    assert.equal(resolveHome(undefined, { XDG_CONFIG_HOME: '/tmp/xdg' }, user), '/tmp/xdg/sigil-device');
    assert.equal(resolveHome(undefined, { XDG_CONFIG_HOME: 'relative' }, user), join(user, '.config', 'sigil-device'));
    assert.equal(resolveHome(undefined, {}, user), join(user, '.config', 'sigil-device'));
    // A key made at the former default, ~/.sigil-device, stays in use.
    loadOrCreateDeviceKey(join(user, '.sigil-device'));
    assert.equal(resolveHome(undefined, {}, user), join(user, '.sigil-device'));
  });
});

function entry(overrides: Partial<PairedServer> = {}): PairedServer {
  return {
    url: 'https://sigil.example.com',
    server_id: 'a'.repeat(64),
    server_public_key: 'AsDVFcrPL0JRXzq9rcBU6RybSl8cARdFjEOq+PHzie/s',
    org_name: 'Acme Corp',
    tenant_id: 'tenant-1',
    device_name: 'laptop',
    pairing_id: 'p-1',
    paired_at: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
}

describe('paired servers', () => {
  test('are remembered in servers.json (0600) and replaced when re-paired', () => {
    const home = tempHome();
    assert.deepEqual(loadServers(home), []);
    savePairing(home, entry());
    assert.equal(statSync(join(home, SERVERS_FILE)).mode & 0o777, 0o600);
    savePairing(home, entry({ pairing_id: 'p-2' }));
    assert.deepEqual(
      loadServers(home).map((s) => s.pairing_id),
      ['p-2'],
    );
    savePairing(home, entry({ tenant_id: 'tenant-2', org_name: 'Other Org', pairing_id: 'p-3' }));
    assert.equal(loadServers(home).length, 2);
    // A new identity at the same URL replaces every entry for that URL.
    const replaced = savePairing(home, entry({ server_id: 'b'.repeat(64), pairing_id: 'p-4' }));
    assert.equal(replaced.length, 2);
    assert.deepEqual(
      loadServers(home).map((s) => s.pairing_id),
      ['p-4'],
    );
  });

  test('selecting a server', () => {
    const a = entry();
    const b = entry({ url: 'http://127.0.0.1:8080', server_id: 'c'.repeat(64) });
    assert.equal(selectServer([a]), a);
    assert.equal(selectServer([a, { ...a, tenant_id: 'other' }]).url, a.url, 'two organisations on one server are one server');
    assert.throws(() => selectServer([]), /not paired with any server/);
    assert.throws(() => selectServer([a, b]), /several servers; choose one with --server/);
    assert.equal(selectServer([a, b], 'http://127.0.0.1:8080/'), b);
    assert.throws(() => selectServer([a], 'https://other.example.com'), /not paired with https:\/\/other.example.com/);
  });

  test('server URLs are normalised', () => {
    assert.equal(normalizeServerUrl('https://Sigil.Example.com/'), 'https://sigil.example.com');
    assert.equal(normalizeServerUrl('http://127.0.0.1:8080/base/'), 'http://127.0.0.1:8080/base');
    assert.throws(() => normalizeServerUrl('ftp://x'), KeystoreError);
    assert.throws(() => normalizeServerUrl('https://user:pw@x'), KeystoreError);
    assert.throws(() => normalizeServerUrl('not a url'), KeystoreError);
  });

  test('a corrupt servers file is an error, not an empty list', () => {
    const home = tempHome();
    savePairing(home, entry());
    writeFileSync(join(home, SERVERS_FILE), '{"servers": [{"url": 1}]}');
    assert.throws(() => loadServers(home), KeystoreError);
  });
});
