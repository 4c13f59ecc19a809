import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { actionDigest } from '@sigilauth/protocol';
import type { DeviceRequestView } from '@sigilauth/protocol/wire';
import { Api } from '../../../test/support/api.js';
import {
  DEVICE_CLI,
  freePort,
  runCli,
  spawnCli,
  startSigil,
  type RunResult,
  type SigilProcess,
  type Spawned,
} from '../../../test/support/processes.js';
import { createStore, describeEachStore, type StoreKind, type TestStore } from '../../../test/support/stores.js';
import { DecisionError, fetchPendingRequests, submitDecision } from '../src/index.js';
import { loadOrCreateDeviceKey, loadServers, selectServer } from '../src/keystore.js';
import { COLD_BOOT_ACTION } from '../../../test/support/cold-boot.js';
import { runInTerminal } from '../../../test/support/terminal.js';
import { waitFor, withTimeout } from '../../../test/support/wait.js';

const GUIDE_ACTION = COLD_BOOT_ACTION;

interface Approver {
  fingerprint: string;
  device_public_key: string;
}

function identityFrom(stdout: string): Approver {
  const fingerprint = stdout.match(/^fingerprint: ([0-9a-f]{64})$/m)?.[1];
  const device_public_key = stdout.match(/^public_key: ([A-Za-z0-9+/]{44})$/m)?.[1];
  assert.ok(fingerprint && device_public_key, `no identity in:\n${stdout}`);
  return { fingerprint, device_public_key };
}

/** One Sigil server on a store, with helpers to drive it as an integrator and run the device CLI. */
function suite(kind: StoreKind) {
  let store: TestStore | undefined;
  let sigil: SigilProcess | undefined;
  let apiKey = '';
  let root = '';
  const spawned: Spawned[] = [];
  const ctx = {
    get url() {
      return sigil!.url;
    },
    home: (name: string) => join(root, name),
    device(home: string, ...args: string[]): Promise<RunResult> {
      return runCli(DEVICE_CLI, [...args, '--home', home], { timeoutMs: 120_000 });
    },
    listen(home: string, ...args: string[]): Spawned {
      const child = spawnCli(DEVICE_CLI, ['listen', '--home', home, ...args]);
      spawned.push(child);
      return child;
    },
    api<T = any>(method: string, path: string, body?: unknown) {
      return new Api(sigil!.url, apiKey).request<T>(method, path, body);
    },
    async newPairing(name?: string): Promise<{ pairing_id: string; code: string; pictogram: { text: string; names: string[] } }> {
      const res = await ctx.api('POST', '/v1/pairings', name ? { name } : {});
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body;
    },
    async createRequest(required: number, groups: Array<{ name: string; approvers: Approver[] }>, action = GUIDE_ACTION): Promise<string> {
      const res = await ctx.api('POST', '/v1/mpa/requests', { required, groups, action, expires_in_seconds: 600 });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body.request_id;
    },
    async getRequest(id: string) {
      const res = await ctx.api('GET', `/v1/mpa/requests/${id}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body as { status: string; groups_satisfied: string[] };
    },
  };

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'sigil-device-e2e-'));
    store = await createStore(kind);
    sigil = await startSigil(store, { SIGIL_ORG_NAME: 'Acme Corp' });
    assert.ok(sigil.apiKey, 'the fresh server printed its first API key');
    apiKey = sigil.apiKey;
  });
  after(async () => {
    await Promise.all(spawned.map((s) => s.stop()));
    await sigil?.stop();
    await store?.dispose();
    if (root) rmSync(root, { recursive: true, force: true });
  });
  return ctx;
}

describeEachStore('sigil-device end to end', (kind) => {
  const s = suite(kind);
  let alice: Approver;
  let bob: Approver;
  const eng = () => ({ name: 'Engineering Leads', approvers: [alice] });
  const sec = () => ({ name: 'Security Team', approvers: [bob] });

  test('pair shows the organisation and pictogram, then completes the pairing', async () => {
    const pairing = await s.newPairing();
    const r = await s.device(s.home('alice'), 'pair', '--server', s.url, '--code', pairing.code, '--name', "Alice's laptop", '--yes');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Server: Acme Corp at http:\/\/127\.0\.0\.1:\d+/m);
    assert.ok(r.stdout.includes(`Server pictogram: ${pairing.pictogram.text}  (${pairing.pictogram.names.join(', ')})`), r.stdout);
    assert.match(r.stdout, /Paired with Acme Corp as "Alice's laptop"\./);
    alice = identityFrom(r.stdout);

    const status = await s.api('GET', `/v1/pairings/${pairing.pairing_id}`);
    assert.equal(status.body.status, 'completed');
    assert.equal(status.body.fingerprint, alice.fingerprint);
    assert.equal(status.body.device_public_key, alice.device_public_key);
    assert.equal(status.body.name, "Alice's laptop");
  });

  test('whoami shows the same identity and the paired server', async () => {
    const r = await s.device(s.home('alice'), 'whoami');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(identityFrom(r.stdout), alice);
    assert.match(
      r.stdout,
      new RegExp(`^  Acme Corp  ${s.url.replace(/\./g, '\\.')}  \\(server [0-9a-f]{16}…, device "Alice's laptop"`, 'm'),
    );
    const devices = await s.api('GET', '/v1/devices');
    assert.ok(JSON.stringify(devices.body).includes(alice.fingerprint));
  });

  test('without a terminal, pair refuses before pairing unless --yes says the pictogram was compared', async () => {
    const pairing = await s.newPairing('Frank');
    const home = s.home('frank');
    const refused = await s.device(home, 'pair', '--server', s.url, '--code', pairing.code);
    assert.notEqual(refused.code, 0);
    assert.ok(refused.stdout.includes(`Server pictogram: ${pairing.pictogram.text}`), 'the pictogram is shown before refusing');
    assert.match(refused.stderr, /not a terminal: compare the pictogram above .* then run the same command with --yes/);
    assert.equal((await s.api('GET', `/v1/pairings/${pairing.pairing_id}`)).body.status, 'pending', 'nothing was paired');
    assert.equal(existsSync(home), false, 'no device key was made');

    // Without --name, the device takes the name the administrator gave the pairing.
    const paired = await s.device(home, 'pair', '--server', s.url, '--code', pairing.code, '--yes');
    assert.equal(paired.code, 0, paired.stderr);
    assert.match(paired.stdout, /Paired with Acme Corp as "Frank"\./);
    assert.equal((await s.api('GET', `/v1/pairings/${pairing.pairing_id}`)).body.name, 'Frank');
  });

  test('on a terminal, listen takes a single key (no Enter), and ignores keys that answer nothing', async () => {
    const pairing = await s.newPairing('Gina');
    const home = s.home('gina');
    const paired = await s.device(home, 'pair', '--server', s.url, '--code', pairing.code, '--yes');
    assert.equal(paired.code, 0, paired.stderr);
    const gina = identityFrom(paired.stdout);
    const terminal = runInTerminal([process.execPath, DEVICE_CLI, 'listen', '--home', home]);
    try {
      await terminal.waitFor('Waiting for approval requests.', 'the listener to connect');
      const id = await s.createRequest(1, [{ name: 'On-Call Rotation', approvers: [gina] }]);
      await terminal.waitFor('[d] Deny  [a] Approve > ', 'the question');
      // Typed together, as fast typing or a slow machine delivers them: 'x' answers nothing, 'a' approves.
      terminal.type('xa');
      await waitFor(async () => (await s.getRequest(id)).status === 'approved', 'the single key to approve');
      await terminal.waitFor(`MPA request approved (request ${id})`, 'the outcome');
      terminal.type('\u0003');
      assert.equal(await withTimeout(terminal.exited, 15_000, 'listen after Ctrl-C'), 0);
      assert.match(terminal.output(), /Stopped listening\./);
    } finally {
      await terminal.stop();
    }
  });

  test('a wrong pairing code fails with the server message', async () => {
    const pairing = await s.newPairing();
    const last = Number(pairing.code.at(-1));
    const wrong = `${pairing.code.slice(0, 7)}${(last + 1) % 10}`;
    const home = s.home('mallory');
    const r = await s.device(home, 'pair', '--server', s.url, '--code', wrong, '--yes');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /pairing failed: the pairing code is wrong, expired or already used \(invalid_code\)/);
    assert.equal((await s.api('GET', `/v1/pairings/${pairing.pairing_id}`)).body.status, 'pending');

    const short = await s.device(home, 'pair', '--server', s.url, '--code', '1234', '--yes');
    assert.notEqual(short.code, 0);
    assert.match(short.stderr, /the pairing code must be 8 digits/);
    assert.doesNotMatch(short.stdout, /Server pictogram/, 'a malformed code fails before the pictogram is compared');

    const who = await s.device(home, 'whoami');
    assert.match(who.stdout, /paired with: no servers/);
    const listen = await s.device(home, 'listen');
    assert.notEqual(listen.code, 0);
    assert.match(listen.stderr, /not paired with any server/);
  });

  test('a code typed with spaces and dashes pairs a second device', async () => {
    const pairing = await s.newPairing('Bob phone');
    const c = pairing.code;
    const r = await s.device(
      s.home('bob'),
      'pair',
      '--server',
      `${s.url}/`,
      '--code',
      `${c.slice(0, 3)} ${c.slice(3, 5)}-${c.slice(5)}`,
      '--name',
      'Bob',
      '--yes',
    );
    assert.equal(r.code, 0, r.stderr);
    bob = identityFrom(r.stdout);
    assert.notEqual(bob.fingerprint, alice.fingerprint);
    assert.equal((await s.api('GET', `/v1/pairings/${pairing.pairing_id}`)).body.fingerprint, bob.fingerprint);
  });

  test('inbox lists pending requests, as text and JSON', async () => {
    const empty = await s.device(s.home('bob'), 'inbox');
    assert.equal(empty.code, 0, empty.stderr);
    assert.match(empty.stdout, /No pending requests on Acme Corp/);

    const id = await s.createRequest(1, [sec()]);
    const text = await s.device(s.home('bob'), 'inbox');
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^1 pending request on Acme Corp/m);
    assert.match(
      text.stdout,
      new RegExp(
        `^${id}  \\|  Cold boot engine ENG-001  \\|  expires in (9m|10m) \\d+s  \\|  0 of 1 approvals  \\|  group: Security Team$`,
        'm',
      ),
    );

    const json = await s.device(s.home('bob'), 'inbox', '--json');
    assert.equal(json.code, 0, json.stderr);
    const views = JSON.parse(json.stdout) as DeviceRequestView[];
    assert.equal(views.length, 1);
    assert.equal(views[0]!.request_id, id);
    assert.equal(views[0]!.status, 'pending');
    assert.equal(views[0]!.group_name, 'Security Team');
    assert.equal(views[0]!.action_digest, actionDigest(GUIDE_ACTION));

    // Alice is not named: her inbox stays empty.
    assert.match((await s.device(s.home('alice'), 'inbox')).stdout, /No pending requests/);

    assert.equal((await s.api('POST', `/v1/mpa/requests/${id}/cancel`)).status, 200);
    assert.match((await s.device(s.home('bob'), 'inbox')).stdout, /No pending requests/);
    const late = await s.device(s.home('bob'), 'respond', id, '--approve');
    assert.notEqual(late.code, 0);
    assert.match(late.stderr, /is not pending for this device/);
  });

  test('respond --deny rejects a request', async () => {
    const id = await s.createRequest(1, [sec()]);
    const r = await s.device(s.home('bob'), 'respond', id, '--deny');
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /Acme Corp is requesting approval\n\nCold boot engine ENG-001\n\nAction type: cold_boot\nEngine ID: ENG-001\nReason: Scheduled maintenance\nRequested by: alice@example.com\nTicket: MAINT-1234\n/,
    );
    assert.match(r.stdout, new RegExp(`MPA request denied \\(request ${id}\\)`));
    const after = await s.getRequest(id);
    assert.equal(after.status, 'rejected');
    assert.deepEqual(after.groups_satisfied, []);

    const again = await s.device(s.home('bob'), 'respond', id, '--approve');
    assert.notEqual(again.code, 0);
    const neither = await s.device(s.home('bob'), 'respond', id);
    assert.notEqual(neither.code, 0);
    assert.match(neither.stderr, /exactly one of --approve and --deny/);
  });

  test('a decision on a request that finished meanwhile says so (409)', async () => {
    const id = await s.createRequest(2, [eng(), sec()]);
    const aliceKey = loadOrCreateDeviceKey(s.home('alice'));
    const bobKey = loadOrCreateDeviceKey(s.home('bob'));
    const aliceServer = selectServer(loadServers(s.home('alice')));
    const bobServer = selectServer(loadServers(s.home('bob')));
    const aliceView = (await withTimeout(fetchPendingRequests(aliceServer, aliceKey), 60_000, 'inbox')).find((v) => v.request_id === id);
    const bobView = (await withTimeout(fetchPendingRequests(bobServer, bobKey), 60_000, 'inbox')).find((v) => v.request_id === id);
    assert.ok(aliceView && bobView);
    assert.equal(aliceView.group_name, 'Engineering Leads');

    const denied = await submitDecision(aliceServer, aliceKey, aliceView, 'deny');
    assert.equal(denied.status, 'rejected');
    assert.equal(denied.my_decision, 'deny');
    await assert.rejects(
      submitDecision(bobServer, bobKey, bobView, 'approve'),
      (e: Error) => e instanceof DecisionError && e.message === 'Request already rejected' && e.status === 409,
    );
    // The same view, tampered with locally, is refused before anything is sent.
    await assert.rejects(
      submitDecision(bobServer, bobKey, { ...bobView, action: { ...bobView.action, description: 'Something else' } }, 'approve'),
      (e: Error) => e instanceof DecisionError && e.code === 'action_mismatch',
    );
    assert.equal((await s.getRequest(id)).status, 'rejected');
  });

  test('listen --auto approve catches up, shows progress, and announces the outcome', async () => {
    // Created before the listener starts: it arrives in the sync.
    const early = await s.createRequest(1, [eng()]);
    const listener = s.listen(s.home('alice'), '--auto', 'approve');
    await listener.waitFor(`MPA request approved (request ${early})`);
    assert.match(listener.stdout(), /^Connected to http:\/\/127\.0\.0\.1:\d+ as [0-9a-f]{64}\. Waiting for approval requests\.$/m);
    const earlyResult = await s.getRequest(early);
    assert.equal(earlyResult.status, 'approved');
    assert.deepEqual(earlyResult.groups_satisfied, ['Engineering Leads']);

    // Created while listening: pushed, approved by Alice, then completed by Bob.
    const mark = listener.stdout().length;
    const id = await s.createRequest(2, [eng(), sec()]);
    await listener.waitFor(`--- Request ${id} (updated) ---`, { from: mark });
    const shown = listener.stdout().slice(mark);
    assert.match(
      shown,
      new RegExp(
        `--- Request ${id} ---\\nAcme Corp is requesting approval\\n\\nCold boot engine ENG-001\\n\\nAction type: cold_boot\\nEngine ID: ENG-001\\nReason: Scheduled maintenance\\n` +
          `Requested by: alice@example.com\\nTicket: MAINT-1234\\n\\n0 of 2 approvals received\\. Waiting for 2 more\\.\\nExpires in \\d+m \\d+s\\nYour group: Engineering Leads\\n`,
      ),
    );
    await listener.waitFor(
      /1 of 2 approvals received\. Waiting for one more\.\nExpires in \d+m \d+s\nYour group: Engineering Leads\n\nApproved\. Waiting for other approvers\.\nYou'll be notified when the action completes or times out\.\n/,
      { from: mark },
    );
    const halfway = await s.getRequest(id);
    assert.equal(halfway.status, 'pending');
    assert.deepEqual(halfway.groups_satisfied, ['Engineering Leads']);

    const bobApproves = await s.device(s.home('bob'), 'respond', id, '--approve');
    assert.equal(bobApproves.code, 0, bobApproves.stderr);
    assert.match(bobApproves.stdout, new RegExp(`MPA request approved \\(request ${id}\\)`));
    await listener.waitFor(`MPA request approved (request ${id})`, { from: mark });
    const done = await s.getRequest(id);
    assert.equal(done.status, 'approved');
    assert.deepEqual(done.groups_satisfied, ['Engineering Leads', 'Security Team']);
    assert.equal(listener.stderr(), '');
  });

  test('listen announces denials and cancellations, and exits cleanly on SIGTERM', async () => {
    const listener = s.listen(s.home('alice'), '--auto', 'approve');
    await listener.waitFor('Waiting for approval requests.');
    const mark = listener.stdout().length;

    const denied = await s.createRequest(2, [eng(), sec()]);
    await listener.waitFor(/Approved\. Waiting for other approvers\./, { from: mark });
    const bobDenies = await s.device(s.home('bob'), 'respond', denied, '--deny');
    assert.equal(bobDenies.code, 0, bobDenies.stderr);
    await listener.waitFor(`MPA request denied (request ${denied})`, { from: mark });

    const cancelled = await s.createRequest(2, [eng(), sec()]);
    await listener.waitFor(`--- Request ${cancelled} (updated) ---`, { from: mark });
    assert.equal((await s.api('POST', `/v1/mpa/requests/${cancelled}/cancel`)).status, 200);
    await listener.waitFor(`MPA request cancelled (request ${cancelled})`, { from: mark });
    assert.equal((await s.getRequest(cancelled)).status, 'cancelled');

    const code = await withTimeout(listener.stop(), 60_000, 'listener exit');
    assert.equal(code, 0);
    assert.match(listener.stdout(), /Stopped listening\.\n$/);
  });

  test('a listening device is told at once when it is revoked, and is refused after', async () => {
    const listener = s.listen(s.home('bob'), '--auto', 'approve');
    await listener.waitFor('Waiting for approval requests.');
    const exited = new Promise<number | null>((resolve) => listener.child.once('exit', resolve));
    assert.equal((await s.api('DELETE', `/v1/devices/${bob.fingerprint}`)).status, 200);
    assert.equal(await withTimeout(exited, 60_000, 'listen after the revocation'), 1);
    assert.match(listener.stderr(), /the server refused this device: this device has been revoked/);

    const r = await s.device(s.home('bob'), 'inbox');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /refused this device: this device is not paired, or has been revoked/);
    const listen = await s.device(s.home('bob'), 'listen', '--auto', 'approve');
    assert.notEqual(listen.code, 0);
    assert.match(listen.stderr, /the server refused this device/);
  });
});

describe('sigil-device listen survives a server restart [pglite]', () => {
  let store: TestStore | undefined;
  let server: SigilProcess | undefined;
  let listener: Spawned | undefined;
  let root = '';
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'sigil-device-restart-'));
    store = await createStore('pglite');
  });
  after(async () => {
    await listener?.stop();
    await server?.stop();
    await store?.dispose();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test('reconnects with backoff, re-authenticates and picks up new requests', async () => {
    const port = await freePort();
    server = await startSigil(store!, { SIGIL_ORG_NAME: 'Acme Corp' }, { port });
    const apiKey = server.apiKey!;
    const url = server.url;
    const home = join(root, 'carol');
    const pairing = await new Api(url, apiKey).request('POST', '/v1/pairings', {});
    const paired = await runCli(DEVICE_CLI, ['pair', '--server', url, '--code', pairing.body.code, '--yes', '--home', home], {
      timeoutMs: 120_000,
    });
    assert.equal(paired.code, 0, paired.stderr);
    const carol = identityFrom(paired.stdout);

    listener = spawnCli(DEVICE_CLI, ['listen', '--auto', 'approve', '--home', home]);
    await listener.waitFor('Waiting for approval requests.');
    await server.stop();
    server = undefined;
    await waitFor(() => /Disconnected: /.test(listener!.stderr()), 'the listener to notice the server is gone');
    assert.match(listener.stderr(), /Disconnected: .*Reconnecting in \d+\.\d s\./);

    server = await startSigil(store!, { SIGIL_ORG_NAME: 'Acme Corp' }, { port });
    await listener.waitFor('Reconnected to', { timeoutMs: 120_000 });
    const created = await new Api(url, apiKey).request('POST', '/v1/mpa/requests', {
      required: 1,
      groups: [{ name: 'On-Call Rotation', approvers: [carol] }],
      action: { type: 'pause', description: 'Emergency pause', params: { dry_run: false } },
      expires_in_seconds: 120,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await listener.waitFor(`MPA request approved (request ${created.body.request_id})`);
    assert.match(listener.stdout(), /Dry run: no/);
    const result = await new Api(url, apiKey).request('GET', `/v1/mpa/requests/${created.body.request_id}`);
    assert.equal(result.body.status, 'approved');
    assert.deepEqual(result.body.groups_satisfied, ['On-Call Rotation']);
  });
});
