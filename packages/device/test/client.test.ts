import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { actionDigest, DomainTag, encodePublicKey, generateP256KeyPair, signPayload, verifyPayload } from '@sigilauth/protocol';
import type { DeviceRequestView } from '@sigilauth/protocol/wire';
import {
  backoffDelay,
  ConnectionError,
  DecisionError,
  DeviceSession,
  fetchPendingRequests,
  isDeviceRequestView,
  mergeViews,
  normalizePairingCode,
  ServerMessageError,
  SessionRejectedError,
  signDecision,
  submitDecision,
  verifyServerMessage,
  webSocketUrl,
} from '../src/index.js';
import { loadOrCreateDeviceKey, type DeviceKey } from '../src/keystore.js';
import { Listener } from '../src/listen.js';
import { FakeSigil, makeView } from './fake-server.js';
import { waitFor, withTimeout } from '../../../test/support/wait.js';

const roots: string[] = [];
function newKey(): DeviceKey {
  const root = mkdtempSync(join(tmpdir(), 'sigil-device-client-'));
  roots.push(root);
  return loadOrCreateDeviceKey(join(root, 'home'));
}
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

describe('verifyServerMessage (tampered or foreign server messages are rejected)', () => {
  const key = newKey();
  const { privateKey, publicKey } = generateP256KeyPair();
  const server = { server_public_key: encodePublicKey(publicKey), server_id: 'f'.repeat(64) };
  const payload = () => ({
    purpose: 'server-message',
    type: 'sync',
    server_id: server.server_id,
    fingerprint: key.fingerprint,
    requests: [makeView()],
    cursor: null,
    next_cursor: null,
    issued_at: Date.now(),
  });
  const signed = (p: Record<string, unknown>, tag: DomainTag = DomainTag.serverMessage, k = privateKey) => ({
    payload: p,
    signature: signPayload(tag, p, k),
  });
  const opts = () => ({ fingerprint: key.fingerprint, now: Date.now() });

  test("a message naming another connection's nonce is refused; a challenge names its own", () => {
    const nonce = randomBytes(32).toString('base64');
    const bound = signed({ ...payload(), nonce });
    assert.equal(verifyServerMessage(bound, server, { ...opts(), nonce }).type, 'sync');
    assert.throws(() => verifyServerMessage(bound, server, { ...opts(), nonce: 'another' }), /another connection/);
    assert.throws(() => verifyServerMessage(signed(payload()), server, { ...opts(), nonce }), /another connection/);
    const challenge = signed({
      purpose: 'server-message',
      type: 'challenge',
      server_id: server.server_id,
      nonce: 'fresh',
      issued_at: Date.now(),
    });
    assert.equal(verifyServerMessage(challenge, server, { ...opts(), nonce: '' }).type, 'challenge');
  });

  test('a genuine message verifies (as a string, a Buffer or an object)', () => {
    const message = signed(payload());
    assert.equal(verifyServerMessage(JSON.stringify(message), server, opts()).type, 'sync');
    assert.equal(verifyServerMessage(Buffer.from(JSON.stringify(message)), server, opts()).type, 'sync');
    const result = verifyServerMessage(message, server, opts());
    assert.ok(result.type === 'sync' && result.requests[0]?.action.description === 'Cold boot engine ENG-001');
  });

  test('a modified payload is rejected', () => {
    const message = signed(payload());
    const tampered = structuredClone(message);
    (tampered.payload.requests as DeviceRequestView[])[0]!.action.description = 'Delete the production database';
    assert.throws(
      () => verifyServerMessage(JSON.stringify(tampered), server, opts()),
      (e: Error) => e instanceof ServerMessageError && /signature/.test(e.message),
    );
    const tampered2 = structuredClone(message);
    (tampered2.payload.requests as DeviceRequestView[])[0]!.groups_satisfied_count = 1;
    assert.throws(() => verifyServerMessage(tampered2, server, opts()), ServerMessageError);
  });

  test('a modified signature is rejected', () => {
    const message = signed(payload());
    const sig = Buffer.from(message.signature, 'base64');
    sig[10]! ^= 0x01;
    assert.throws(() => verifyServerMessage({ ...message, signature: sig.toString('base64') }, server, opts()), ServerMessageError);
    assert.throws(() => verifyServerMessage({ payload: message.payload }, server, opts()), ServerMessageError);
  });

  test('a message signed by another key is rejected', () => {
    const other = generateP256KeyPair().privateKey;
    assert.throws(() => verifyServerMessage(signed(payload(), DomainTag.serverMessage, other), server, opts()), ServerMessageError);
  });

  test('a signature made for another purpose is rejected', () => {
    assert.throws(() => verifyServerMessage(signed(payload(), DomainTag.pairing), server, opts()), ServerMessageError);
    assert.throws(() => verifyServerMessage(signed({ ...payload(), purpose: 'pairing' }), server, opts()), /wrong purpose/);
  });

  test('a genuine message for another server or another device is rejected', () => {
    assert.throws(() => verifyServerMessage(signed({ ...payload(), server_id: 'e'.repeat(64) }), server, opts()), /another server/);
    assert.throws(() => verifyServerMessage(signed({ ...payload(), fingerprint: 'd'.repeat(64) }), server, opts()), /another device/);
  });

  test('a stale message is rejected (replay)', () => {
    const old = signed({ ...payload(), issued_at: Date.now() - 10 * 60_000 });
    assert.throws(() => verifyServerMessage(old, server, opts()), /not fresh/);
    assert.equal(verifyServerMessage(old, server, { ...opts(), checkFreshness: false }).type, 'sync');
  });

  test('signed but malformed messages are rejected', () => {
    const badView = { ...makeView(), action: { type: 't', description: 'd', params: { nested: { a: 1 } } } };
    assert.throws(() => verifyServerMessage(signed({ ...payload(), requests: [badView] }), server, opts()), /malformed/);
    assert.throws(() => verifyServerMessage(signed({ ...payload(), type: 'surprise' }), server, opts()), /unknown server message type/);
    assert.throws(() => verifyServerMessage('not json', server, opts()), /not JSON/);
    assert.throws(() => verifyServerMessage(signed({ ...payload(), next_cursor: 5 }), server, opts()), /malformed cursor/);
  });

  test('views from a newer server with extra fields are accepted; wrong-typed fields are refused', () => {
    const newer = { ...makeView(), risk_score: 7, action: { ...makeView().action, category: 'hardware' } };
    assert.equal(isDeviceRequestView(newer), true);
    const message = verifyServerMessage(signed({ ...payload(), type: 'request', request: newer }), server, opts());
    assert.equal(message.type, 'request');

    const wrong: Array<Record<string, unknown>> = [
      { groups_total: '2' },
      { groups_required: -1 },
      { my_decision: 'maybe' },
      { tenant_id: 'tenant-1' },
      { expires_at: 'tomorrow' },
      { action_digest: 'not-hex' },
    ];
    for (const field of wrong) {
      const view = { ...makeView(), ...field };
      assert.equal(isDeviceRequestView(view), false, JSON.stringify(field));
      assert.throws(
        () => verifyServerMessage(signed({ ...payload(), type: 'request', request: view }), server, opts()),
        /malformed request/,
      );
    }
    const { group_name: _dropped, ...missing } = makeView();
    assert.equal(isDeviceRequestView(missing), false, 'a required field is missing');
  });
});

describe('decisions', () => {
  const key = newKey();
  const server = {
    url: 'http://127.0.0.1:9',
    server_id: 'a'.repeat(64),
    server_public_key: '',
    org_name: 'Acme Corp',
    tenant_id: 't',
    device_name: 'd',
    pairing_id: 'p',
    paired_at: '',
  };

  test('a decision is signed over the action digest of the displayed action', () => {
    const view = makeView();
    const { payload, signature } = signDecision(server, key, view, 'approve', 1234);
    assert.deepEqual(payload, {
      purpose: 'mpa-decision',
      server_id: server.server_id,
      request_id: view.request_id,
      fingerprint: key.fingerprint,
      decision: 'approve',
      action_digest: actionDigest(view.action),
      issued_at: 1234,
    });
    assert.equal(verifyPayload(DomainTag.mpaDecision, payload, signature, key.publicKey), true);
    assert.equal(verifyPayload(DomainTag.mpaDecision, { ...payload, decision: 'deny' }, signature, key.publicKey), false);
  });

  test('refuses to sign when the shown action does not match the digest', () => {
    const view = makeView();
    const shown = { ...view, action: { ...view.action, description: 'Something else entirely' } };
    assert.throws(
      () => signDecision(server, key, shown, 'approve'),
      (e: Error) => e instanceof DecisionError && e.code === 'action_mismatch',
    );
    const changedParam = { ...view, action: { ...view.action, params: { ...view.action.params, engine_id: 'ENG-999' } } };
    assert.throws(() => signDecision(server, key, changedParam, 'approve'), DecisionError);
  });

  test('refuses when the digest covers something that is not shown', () => {
    const hidden = { type: 'cold_boot', description: 'Cold boot', params: {}, hidden_extra: 'wipe disks' };
    const view = makeView({ action: hidden as DeviceRequestView['action'], action_digest: actionDigest(hidden as never) });
    assert.throws(() => signDecision(server, key, view, 'approve'), DecisionError);
  });

  test('nothing is sent when the digest does not match', async () => {
    const fake = await new FakeSigil().start();
    try {
      const view = makeView();
      fake.views = [view];
      const paired = { ...fake.paired() };
      const shown = { ...view, action: { ...view.action, description: 'Other' } };
      await assert.rejects(
        submitDecision(paired, key, shown, 'approve'),
        (e: Error) => e instanceof DecisionError && e.code === 'action_mismatch',
      );
      assert.equal(fake.httpRequests, 0);
      // The genuine view goes through.
      const result = await submitDecision(paired, key, view, 'approve');
      assert.equal(result.my_decision, 'approve');
      assert.equal(fake.httpRequests, 1);
      assert.equal(fake.decisions[0]?.fingerprint, key.fingerprint);
    } finally {
      await fake.stop();
    }
  });

  test('server refusals become readable errors', async () => {
    const fake = await new FakeSigil().start();
    try {
      const view = makeView();
      fake.views = [view];
      const cases: Array<[number, unknown, RegExp]> = [
        [
          409,
          { error: { code: 'request_completed', message: 'MPA request is already rejected', details: { status: 'rejected' } } },
          /^Request already rejected$/,
        ],
        [
          409,
          { error: { code: 'request_completed', message: 'MPA request is already timeout', details: { status: 'timeout' } } },
          /^Request already timed out$/,
        ],
        [409, { error: { code: 'already_decided', message: 'x' } }, /already decided/],
        [403, { error: { code: 'not_an_approver', message: 'x' } }, /not an approver/],
        [
          401,
          { error: { code: 'invalid_signature', message: 'the decision signature does not verify\x1b[2J' } },
          /^The server refused the decision: the decision signature does not verify<U\+001B>\[2J \(invalid_signature\)$/,
        ],
      ];
      for (const [status, body, pattern] of cases) {
        fake.decisionReply = { status, body };
        await assert.rejects(
          submitDecision(fake.paired(), key, view, 'approve'),
          (e: Error) => e instanceof DecisionError && pattern.test(e.message),
        );
      }
    } finally {
      await fake.stop();
    }
  });

  test('no decision on a finished or already decided request', async () => {
    await assert.rejects(submitDecision(server, key, makeView({ status: 'rejected' }), 'approve'), /Request already rejected/);
    await assert.rejects(submitDecision(server, key, makeView({ my_decision: 'approve' }), 'deny'), /already approved/);
  });
});

describe('helpers', () => {
  test('backoff doubles from 0.5 s to 30 s with full jitter', () => {
    assert.equal(
      backoffDelay(0, 500, 30_000, () => 0),
      0,
    );
    assert.equal(
      backoffDelay(0, 500, 30_000, () => 1),
      500,
    );
    assert.equal(
      backoffDelay(1, 500, 30_000, () => 1),
      1000,
    );
    assert.equal(
      backoffDelay(3, 500, 30_000, () => 1),
      4000,
    );
    assert.equal(
      backoffDelay(20, 500, 30_000, () => 1),
      30_000,
    );
    assert.equal(
      backoffDelay(1000, 500, 30_000, () => 0.5),
      15_000,
    );
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(2);
      assert.ok(d >= 0 && d <= 2000, String(d));
    }
  });

  test('pairing codes as typed', () => {
    assert.equal(normalizePairingCode('12345678'), '12345678');
    assert.equal(normalizePairingCode('123 45-678'), '12345678');
    assert.equal(normalizePairingCode(' 1234-5678 '), '12345678');
    assert.equal(normalizePairingCode('1234567'), null);
    assert.equal(normalizePairingCode('1234567a'), null);
  });

  test('WebSocket URL follows the server URL', () => {
    assert.equal(webSocketUrl('http://127.0.0.1:8080'), 'ws://127.0.0.1:8080/v1/device/ws');
    assert.equal(webSocketUrl('https://sigil.example.com/base/'), 'wss://sigil.example.com/base/v1/device/ws');
  });

  test('views merge monotonically', () => {
    const pending = makeView({ groups_satisfied_count: 1, my_decision: 'approve' });
    assert.equal(mergeViews(pending, makeView({ groups_satisfied_count: 0, my_decision: null })).groups_satisfied_count, 1);
    assert.equal(mergeViews(pending, makeView({ my_decision: null })).my_decision, 'approve');
    const done = makeView({ status: 'approved' });
    assert.equal(mergeViews(done, makeView()).status, 'approved');
    assert.equal(mergeViews(pending, makeView({ status: 'rejected' })).status, 'rejected');
  });

  test('a view naming another action keeps the action already shown, and its digest', () => {
    const shown = makeView();
    const swapped = { type: 'db_export', description: 'Export the customer database', params: { to: 's3://elsewhere' } };
    const merged = mergeViews(shown, makeView({ action: swapped, action_digest: actionDigest(swapped), groups_satisfied_count: 1 }));
    assert.deepEqual(merged.action, shown.action);
    assert.equal(merged.action_digest, shown.action_digest);
    assert.equal(merged.groups_satisfied_count, 1, 'the rest of the view is taken');
    assert.equal(
      signDecision({ server_id: 'ab'.repeat(32) }, newKey(), merged, 'approve').payload.action_digest,
      actionDigest(shown.action),
    );
  });
});

describe('device session against a fake server', () => {
  let fake: FakeSigil;
  const key = newKey();
  const sessions: DeviceSession[] = [];
  before(async () => {
    fake = await new FakeSigil().start();
  });
  after(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await fake.stop();
  });
  const open = (handlers: Partial<ConstructorParameters<typeof DeviceSession>[0]> = {}, server = fake.paired()) => {
    const session = new DeviceSession({ server, key, minBackoffMs: 20, maxBackoffMs: 100, ...handlers }).start();
    sessions.push(session);
    return session;
  };

  test('authenticates with the device key, then receives the sync and pushed changes', async () => {
    fake.views = [makeView()];
    const synced: DeviceRequestView[][] = [];
    const pushed: DeviceRequestView[] = [];
    const session = open({ onSync: (v) => synced.push(v), onRequest: (v) => pushed.push(v) });
    await waitFor(() => synced.length === 1, 'sync');
    assert.equal(fake.authedFingerprints.at(-1), key.fingerprint);
    assert.equal(synced[0]![0]!.request_id, fake.views[0]!.request_id);
    fake.push(makeView({ groups_satisfied_count: 1 }));
    await waitFor(() => pushed.length === 1, 'push');
    assert.equal(pushed[0]!.groups_satisfied_count, 1);
    await session.close();
    await waitFor(() => fake.openSockets === 0, 'server sees the close');
  });

  test('reconnects after a drop, re-authenticates and syncs again', async () => {
    const auths = fake.authCount;
    let syncs = 0;
    const ready: boolean[] = [];
    const disconnects: Array<number | null> = [];
    const session = open({
      onSync: () => syncs++,
      onReady: (r) => ready.push(r.reconnected),
      onDisconnect: (d) => disconnects.push(d.retryInMs),
    });
    await waitFor(() => syncs === 1, 'first sync');
    fake.dropAll();
    await waitFor(() => syncs === 2, 'sync after reconnecting');
    assert.equal(fake.authCount, auths + 2);
    assert.deepEqual(ready, [false, true]);
    assert.equal(disconnects.length, 1);
    assert.ok(disconnects[0]! >= 0 && disconnects[0]! <= 20, String(disconnects[0]));
    await session.close();
  });

  test('a tampered message is dropped, the connection aborted, and never delivered', async () => {
    fake.views = [makeView()];
    fake.transform = (m) => {
      if (m.payload.type !== 'sync') return m;
      const copy = structuredClone(m);
      (copy.payload.requests as DeviceRequestView[])[0]!.action.description = 'Wire $1M to the attacker';
      return copy;
    };
    const synced: DeviceRequestView[][] = [];
    const invalid: string[] = [];
    const disconnects: string[] = [];
    const session = open({
      onSync: (v) => synced.push(v),
      onInvalidMessage: (e) => invalid.push(e.message),
      onDisconnect: (d) => disconnects.push(d.reason),
    });
    try {
      await waitFor(() => invalid.length >= 1 && disconnects.length >= 1, 'rejection');
      assert.equal(synced.length, 0);
      assert.match(invalid[0]!, /signature does not verify/);
      // Once the server behaves again, the session recovers by itself.
      fake.transform = null;
      await waitFor(() => synced.length === 1, 'sync after recovery');
      assert.equal(synced[0]![0]!.action.description, 'Cold boot engine ENG-001');
    } finally {
      fake.transform = null;
      await session.close();
    }
  });

  test('an impostor server never gets the challenge signed', async () => {
    const impostor = await new FakeSigil().start();
    impostor.serverId = fake.serverId;
    try {
      const invalid: string[] = [];
      // Paired with `fake`, but the network leads to `impostor`, which claims fake's server ID.
      const server = { ...fake.paired(), url: impostor.url };
      const session = open({ onInvalidMessage: (e) => invalid.push(e.message) }, server);
      await waitFor(() => invalid.length >= 2, 'rejections');
      assert.equal(impostor.authCount, 0);
      assert.ok(impostor.challengesSent >= 2, 'the device kept retrying with backoff');
      await session.close();
    } finally {
      await impostor.stop();
    }
  });

  test('a device the server refuses stops for good', async () => {
    fake.refuseDevices = true;
    try {
      const fatal: Error[] = [];
      const before = fake.challengesSent;
      const session = open({ onFatal: (e) => fatal.push(e) });
      await waitFor(() => fatal.length === 1, 'fatal');
      assert.ok(fatal[0] instanceof SessionRejectedError);
      assert.match(fatal[0].message, /not paired, or has been revoked/);
      // Stopped: the connection is gone and no reconnection is scheduled, so none can follow.
      await waitFor(() => session.stopped, 'the session to stop for good');
      assert.equal(fake.challengesSent, before + 1, 'no reconnection');
    } finally {
      fake.refuseDevices = false;
    }
  });

  /**
   * Opens a session with the first frame of `type` replaced by `forged(frame)` (an on-path
   * attacker's), waits for the sync of the connection after, and tells what the session reported.
   */
  async function afterForgedFrame(type: string, forged: (frame: { payload: Record<string, unknown> }) => unknown) {
    let forgedOnce = false;
    fake.transform = (m) => {
      if (m.payload.type !== type || forgedOnce) return m;
      forgedOnce = true;
      return forged(m);
    };
    const fatal: Error[] = [];
    const invalid: string[] = [];
    let syncs = 0;
    const session = open({ onFatal: (e) => fatal.push(e), onInvalidMessage: (e) => invalid.push(e.message), onSync: () => syncs++ });
    try {
      await waitFor(() => syncs === 1, 'a sync on the connection after the forged one');
      return { fatal, invalid };
    } finally {
      fake.transform = null;
      await session.close();
    }
  }

  test('a signed revocation recorded on another connection is refused, and the device reconnects', async () => {
    // Genuinely signed by the server, for a connection long gone: an on-path attacker's replay.
    const replayed = fake.sign({
      purpose: 'server-message',
      type: 'error',
      server_id: fake.serverId,
      nonce: randomBytes(32).toString('base64'),
      code: 'device_revoked',
      message: 'this device has been revoked',
      issued_at: Date.now(),
    });
    const { fatal, invalid } = await afterForgedFrame('ready', () => replayed);
    assert.deepEqual(invalid, ['a server message belongs to another connection']);
    assert.deepEqual(fatal, [], 'the session did not stop');
  });

  test('a challenge recorded on another connection is refused, so no refusal recorded with it can follow', async () => {
    // An attacker takes a challenge on its own connection (then sends a bad proof there, to have
    // a signed refusal with the same nonce) and plays the challenge to the device.
    const recordedChallenge = fake.sign({
      purpose: 'server-message',
      type: 'challenge',
      server_id: fake.serverId,
      nonce: randomBytes(32).toString('base64'),
      issued_at: Date.now(),
    });
    const { fatal, invalid } = await afterForgedFrame('challenge', () => recordedChallenge);
    assert.deepEqual(invalid, ['a challenge answers another connection']);
    assert.deepEqual(fatal, [], 'the session did not stop');
  });

  test("a refusal of another proof or another device on this connection is not this device's", async () => {
    // On-path: the challenge is relayed, but the server is sent another proof (and refuses it), or
    // another device's proof (and that device is then revoked).
    for (const refusal of [
      { code: 'unauthorized', message: 'the proof signature does not verify', proof_signature: 'A'.repeat(86) + '==' },
      { code: 'device_revoked', message: 'this device has been revoked', fingerprint: 'e'.repeat(64) },
    ]) {
      const { fatal, invalid } = await afterForgedFrame('ready', (ready) =>
        fake.sign({
          purpose: 'server-message',
          type: 'error',
          server_id: fake.serverId,
          nonce: ready.payload.nonce,
          ...refusal,
          issued_at: Date.now(),
        }),
      );
      assert.deepEqual(invalid, ['a server error names neither this device nor its proof'], refusal.code);
      assert.deepEqual(fatal, [], refusal.code);
    }
  });

  test('reads a sync page by page, and counts a request pushed meanwhile as pending', async () => {
    const id = (i: number) => `${String(i).padStart(8, '0')}-3d0e-4a55-8f0a-6b1f6e2c9d01`;
    fake.views = Array.from({ length: 45 }, (_, i) => makeView({ request_id: id(i) }));
    fake.syncPageSize = 20;
    fake.pageRequests.length = 0;
    const pushedDuringSync = makeView({ request_id: id(99) });
    const synced: DeviceRequestView[][] = [];
    let pushedOnce = false;
    open({
      onRequest: () => {},
      onSync: (v) => synced.push(v),
      onReady: () => {
        if (pushedOnce) return;
        pushedOnce = true;
        // pushed before the first page: not in any page, still pending
        setImmediate(() => fake.push(pushedDuringSync));
      },
    });
    try {
      await waitFor(() => synced.length === 1, 'the whole sync');
      assert.deepEqual(fake.pageRequests, [id(19), id(39)]);
      assert.equal(synced[0]!.length, 46);
      assert.deepEqual(new Set(synced[0]!.map((v) => v.request_id)), new Set([...fake.views.map((v) => v.request_id), id(99)]));
    } finally {
      fake.syncPageSize = 20;
    }
  });

  test('fetchPendingRequests returns the sync, and fails cleanly when the server is down', async () => {
    fake.views = [makeView(), makeView({ request_id: '1b6a3c52-3d0e-4a55-8f0a-6b1f6e2c9d02' })];
    const views = await withTimeout(fetchPendingRequests(fake.paired(), key), 60_000, 'inbox');
    assert.deepEqual(
      views.map((v) => v.request_id),
      fake.views.map((v) => v.request_id),
    );
    const down = { ...fake.paired(), url: 'http://127.0.0.1:9' };
    await assert.rejects(
      withTimeout(fetchPendingRequests(down, key), 60_000, 'inbox'),
      (e: Error) => e instanceof ConnectionError && /ECONNREFUSED/.test(e.message),
    );
  });
});

describe('listener against a fake server', () => {
  let fake: FakeSigil;
  const key = newKey();
  before(async () => {
    fake = await new FakeSigil().start();
  });
  after(async () => fake.stop());

  /**
   * Pushes a finished request the listener has not seen and waits for its announcement: messages
   * are handled in order, so everything pushed before it has been handled too.
   */
  async function handledEverythingBefore(out: () => string, outcome: Pick<DeviceRequestView, 'status'>) {
    const marker = makeView({ request_id: randomUUID(), ...outcome });
    fake.push(marker);
    await waitFor(() => out().includes(`(request ${marker.request_id})`), 'the listener to handle a later message');
  }

  function listen(mode: ConstructorParameters<typeof Listener>[0]['mode'], extra: Partial<ConstructorParameters<typeof Listener>[0]> = {}) {
    let out = '';
    let err = '';
    const listener = new Listener({
      server: fake.paired(),
      key,
      mode,
      write: (t) => (out += t),
      warn: (t) => (err += t),
      session: { minBackoffMs: 20, maxBackoffMs: 100 },
      ...extra,
    }).start();
    return { listener, out: () => out, err: () => err };
  }

  test('--auto approve: approves, shows progress, announces the outcome once', async () => {
    const view = makeView();
    fake.views = [view];
    fake.decisions.length = 0;
    const l = listen({ kind: 'auto', decision: 'approve' });
    try {
      await waitFor(() => l.out().includes('Approved. Waiting for other approvers.'), 'approval');
      // The progress comes from the server's signed view, asked for after the decision.
      await waitFor(() => l.out().includes('1 of 2 approvals received'), 'the signed progress');
      assert.equal(fake.decisions.length, 1);
      assert.equal(fake.decisions[0]!.decision, 'approve');
      assert.equal(fake.decisions[0]!.action_digest, view.action_digest);
      assert.match(
        l.out(),
        /--- Request 0b6a3c52-3d0e-4a55-8f0a-6b1f6e2c9d01 ---\nAcme Corp is requesting approval\n\nCold boot engine ENG-001\n/,
      );
      assert.match(l.out(), /1 of 2 approvals received\. Waiting for one more\./);
      assert.match(l.out(), /You'll be notified when the action completes or times out\./);
      fake.push({ ...view, my_decision: 'approve', groups_satisfied_count: 2, status: 'approved' });
      fake.push({ ...view, my_decision: 'approve', groups_satisfied_count: 2, status: 'approved' });
      await waitFor(() => l.out().includes(`MPA request approved (request ${view.request_id})`), 'announcement');
      await handledEverythingBefore(l.out, { status: 'cancelled' });
      assert.equal(l.out().split(`MPA request approved (request ${view.request_id})`).length - 1, 1, 'announced once');
    } finally {
      await l.listener.stop();
    }
  });

  test("an outcome in the decision's unsigned HTTP answer is never shown: the signed view is asked for", async () => {
    const view = makeView();
    fake.views = [view];
    fake.statusRequests.length = 0;
    // An on-path forgery: this device's approval turned into a denial, and every group satisfied.
    fake.decisionReply = { status: 200, body: { ...view, my_decision: 'deny', groups_satisfied_count: 2 } };
    const l = listen({ kind: 'auto', decision: 'approve' });
    try {
      await waitFor(() => l.out().includes('Approved. Waiting for other approvers.'), 'the approval shown as sent');
      await waitFor(() => fake.statusRequests.some((ids) => ids.includes(view.request_id)), 'the signed view asked for');
      await handledEverythingBefore(l.out, { status: 'cancelled' });
      assert.doesNotMatch(l.out(), /denied|2 of 2/i);
    } finally {
      fake.decisionReply = null;
      await l.listener.stop();
    }
  });

  test('display only: shows how to respond, and announces denial and cancellation', async () => {
    const a = makeView();
    const b = makeView({ request_id: '2b6a3c52-3d0e-4a55-8f0a-6b1f6e2c9d03' });
    fake.views = [a, b];
    fake.decisions.length = 0;
    const l = listen({ kind: 'none' });
    try {
      await waitFor(() => l.out().includes('2 pending requests.'), 'sync');
      assert.match(l.out(), new RegExp(`To decide, run: sigil-device respond ${a.request_id} --approve \\(or --deny\\)`));
      fake.push({ ...a, groups_satisfied_count: 1 });
      await waitFor(() => l.out().includes(`--- Request ${a.request_id} (updated) ---`), 'live update');
      fake.push({ ...a, status: 'rejected' });
      fake.push({ ...b, status: 'cancelled' });
      await waitFor(() => l.out().includes(`MPA request denied (request ${a.request_id})`), 'denied');
      await waitFor(() => l.out().includes(`MPA request cancelled (request ${b.request_id})`), 'cancelled');
      assert.equal(fake.decisions.length, 0, 'display-only mode never decides');
    } finally {
      await l.listener.stop();
    }
  });

  test('a request past its expiry is announced from the server, never guessed', async () => {
    const view = makeView({ expires_at: new Date(Date.now() + 150).toISOString() });
    fake.views = [view];
    const l = listen({ kind: 'none' }, { expiryGraceMs: 50 });
    try {
      await waitFor(() => l.out().includes(`Request ${view.request_id} has expired; asking the server for its outcome.`), 'the expiry');
      await waitFor(() => fake.statusRequests.some((ids) => ids.includes(view.request_id)), 'the status request');
      assert.doesNotMatch(l.out(), /timed out/, 'no outcome before the server says one');
      // The server answers (from its views): it timed out.
      fake.views = [{ ...view, status: 'timeout' }];
      fake.dropAll(); // the reconnect asks again
      await waitFor(() => l.out().includes(`MPA request timed out (request ${view.request_id})`), 'the timeout, from the server');
      fake.push({ ...view, status: 'timeout' });
      await handledEverythingBefore(l.out, { status: 'cancelled' });
      assert.equal(l.out().split(`MPA request timed out (request ${view.request_id})`).length - 1, 1, 'announced once');
    } finally {
      await l.listener.stop();
    }
  });

  test('approved just before the expiry on a cut connection: shown approved after the reconnect, never timed out', async () => {
    // Far enough ahead for a slow first sync on a busy machine; the server is unreachable until it has passed.
    const view = makeView({ request_id: randomUUID(), expires_at: new Date(Date.now() + 3_000).toISOString() });
    fake.views = [view];
    const l = listen({ kind: 'none' }, { expiryGraceMs: 50 });
    try {
      await waitFor(() => l.out().includes('1 pending request.'), 'sync');
      // The connection is cut; meanwhile the request is approved, then expires.
      fake.views = [{ ...view, status: 'approved', groups_satisfied_count: 2 }];
      fake.offline = true;
      fake.dropAll();
      await waitFor(
        () => l.out().includes(`Request ${view.request_id} has expired; asking the server for its outcome.`),
        'the expiry while disconnected',
      );
      fake.offline = false;
      await waitFor(() => l.out().includes(`MPA request approved (request ${view.request_id})`), 'the outcome after the reconnect', 30_000);
      await handledEverythingBefore(l.out, { status: 'cancelled' });
      assert.doesNotMatch(l.out(), new RegExp(`timed out \\(request ${view.request_id}\\)`), 'never shown as timed out');
      assert.equal(l.out().split(`MPA request approved (request ${view.request_id})`).length - 1, 1, 'announced once');
    } finally {
      await l.listener.stop();
    }
  });

  test('interactive mode asks, and re-asks when the request changes', async () => {
    const view = makeView();
    fake.views = [view];
    fake.decisions.length = 0;
    const asked: number[] = [];
    let release: ((d: 'deny') => void) | null = null;
    const l = listen({
      kind: 'ask',
      ask: (v, signal) =>
        new Promise((resolve, reject) => {
          asked.push(v.groups_satisfied_count);
          release = resolve;
          signal.addEventListener('abort', () => reject(new Error('aborted')));
        }),
    });
    try {
      await waitFor(() => asked.length === 1, 'first question');
      fake.push({ ...view, groups_satisfied_count: 1 });
      await waitFor(() => asked.length === 2, 'question again after the update');
      assert.deepEqual(asked, [0, 1]);
      release!('deny');
      await waitFor(() => fake.decisions.length === 1, 'decision');
      assert.equal(fake.decisions[0]!.decision, 'deny');
      await waitFor(() => l.out().includes(`MPA request denied (request ${view.request_id})`), 'outcome');
    } finally {
      await l.listener.stop();
    }
  });

  test('done rejects when the server refuses the device', async () => {
    fake.refuseDevices = true;
    try {
      const l = listen({ kind: 'none' });
      await assert.rejects(withTimeout(l.listener.done, 60_000, 'listener'), SessionRejectedError);
    } finally {
      fake.refuseDevices = false;
    }
  });
});
