// Attack: make the approval screen show something other than what is signed. Runs of spaces and
// no-break spaces pushed the real description off an 80x24 terminal so that a harmless padding
// line sat next to the prompt; action.type was signed but never shown; invisible characters
// (U+00AD, U+180E, U+3164, U+115F, U+FFF9-U+FFFB, tag characters) passed; two params could show
// the same label (amount / Amount).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import stringWidth from 'string-width';
import { actionDigest, approvalScreen, charClass, validateMpaRequest } from '@sigilauth/protocol';
import type { DeviceRequestView } from '@sigilauth/protocol/wire';
import { SigilAuth, SigilValidationError } from '@sigilauth/sdk';
import { fetchPendingRequests, submitDecision } from '../../packages/device/src/index.js';
import type { DeviceKey, PairedServer } from '../../packages/device/src/keystore.js';
import { Listener } from '../../packages/device/src/listen.js';
import { BUTTONS, layoutScreen } from '../../packages/device/src/screen.js';
import { pairDevice, startTestServer, type TestServer } from '../support/api.js';
import { TestDevice } from '../support/device-keys.js';
import { createStore, type TestStore } from '../support/stores.js';

const TERMINAL = { columns: 80, rows: 24 };
const squeeze = (s: string) => s.replace(/\s+/g, '');

describe('attack: an approval screen that shows something other than what is signed', () => {
  let store: TestStore;
  let t: TestServer;
  const device = new TestDevice('approver');
  const key: DeviceKey = {
    privateKey: device.privateKey,
    publicKey: device.publicKey,
    fingerprint: device.fingerprint,
    path: '(memory)',
    created: false,
  };
  let server: PairedServer;
  const body = (action: unknown) => ({
    required: 1,
    groups: [{ name: 'Ops', approvers: [device.approver] }],
    action,
    expires_in_seconds: 600,
  });

  before(async () => {
    store = await createStore('pglite');
    t = await startTestServer(store);
    await pairDevice(t.api, t.serverId, device);
    server = {
      url: t.server.url,
      server_id: t.serverId,
      server_public_key: t.server.identity.publicKey,
      org_name: 'Acme Corp',
      tenant_id: '',
      device_name: 'approver',
      pairing_id: '',
      paired_at: new Date().toISOString(),
    };
  });
  after(async () => {
    await t?.close();
    await store?.dispose();
  });

  /** Creating it fails with 400 and this message, from the server and from the SDK alike, before anything is stored. */
  async function refused(action: unknown, message: string): Promise<void> {
    const res = await t.api.post('/v1/mpa/requests', body(action));
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.deepEqual(res.body, { error: { code: 'invalid_request', message } });
    const sdk = new SigilAuth({ serviceUrl: t.server.url, apiKey: t.api.apiKey!, maxRetries: 0 });
    await assert.rejects(
      sdk.mpa.request(body(action) as never),
      (err: unknown) => err instanceof SigilValidationError && err.message === message,
    );
  }

  test('invisible and formatting characters are refused with 400, naming the character', async () => {
    const cases: Array<[string, string]> = [
      ['\u00ad', 'U+00AD'],
      ['\u180e', 'U+180E'],
      ['\u3164', 'U+3164'],
      ['\u115f', 'U+115F'],
      ['\u1160', 'U+1160'],
      ['\uffa0', 'U+FFA0'],
      ['\ufff9', 'U+FFF9'],
      ['\ufffb', 'U+FFFB'],
      ['\u{e0041}', 'U+E0041'],
      ['\u200b', 'U+200B'],
      ['\u202e', 'U+202E'],
      ['\u2028', 'U+2028'],
      ['\x1b', 'U+001B'],
    ];
    for (const [char, name] of cases) {
      await refused(
        { type: 'cold_boot', description: `Cold boot engine ENG-001${char}`, params: {} },
        `Invalid MPA request: action.description contains an invisible or formatting character (${name})`,
      );
    }
    await refused(
      { type: 'cold\u200bboot', description: 'd' },
      'Invalid MPA request: action.type contains an invisible or formatting character (U+200B)',
    );
    await refused(
      { type: 't', description: 'd', params: { engine_id: `ENG-001\u{e0001}\u{e0044}` } },
      'Invalid MPA request: action.params.engine_id contains an invisible or formatting character (U+E0001)',
    );
  });

  test('look-alike labels, and params that pass for the screen’s own lines, are refused with 400', async () => {
    await refused(
      { type: 't', description: 'Pay', params: { amount: 10, Amount: 10_000 } },
      'Invalid MPA request: action.params keys "amount" and "Amount" would look alike on the approval screen',
    );
    await refused(
      { type: 't', description: 'Boot', params: { engine_id: 'ENG-001', 'Engine ID': 'ENG-666' } },
      'Invalid MPA request: action.params keys "engine_id" and "Engine ID" would look alike on the approval screen',
    );
    await refused(
      { type: 't', description: 'Boot', params: { engine_id: 'ENG-001', 'engine-id': 'ENG-666' } },
      'Invalid MPA request: action.params keys "engine_id" and "engine-id" would look alike on the approval screen',
    );
    await refused(
      { type: 't', description: 'Pay', params: { amount: 10, аmount: 10_000 } },
      'Invalid MPA request: action.params keys "amount" and "аmount" would look alike on the approval screen',
    );
    await refused(
      { type: 't', description: 'Boot', params: { your_group: 'Security Team' } },
      `Invalid MPA request: action.params key "your_group" would look like the approval screen's own "Your group" line`,
    );
  });

  test('padding past the length limits is refused with 400', async () => {
    await refused(
      { type: 't', description: `Harmless${' '.repeat(2000)}Delete production` },
      'Invalid MPA request: action.description must be at most 1000 characters',
    );
    await refused(
      { type: 't', description: 'd', params: { note: `ok${'\u00a0'.repeat(1200)}` } },
      'Invalid MPA request: action.params.note must be at most 1000 characters',
    );
  });

  test('an accepted request, padded and long, is shown whole on an 80x24 terminal before the prompt, and its decision signs what was shown', async () => {
    const params: Record<string, string> = { reason: `Harmless${'\u00a0 '.repeat(300)}maintenance` };
    for (const k of ['alpha', 'bravo', 'charlie', 'delta', 'echo']) params[`${k}_detail`] = `${k} ${'detail '.repeat(130)}END-${k}`;
    const action = {
      type: 'drop_database',
      description: `Rotate the logs${' \u00a0\u2003'.repeat(300)}then drop the production database`,
      params,
    };
    const created = await t.api.post('/v1/mpa/requests', body(action));
    assert.equal(created.status, 201, JSON.stringify(created.body));

    const [view] = (await fetchPendingRequests(server, key)).filter((v) => v.request_id === created.body.request_id) as [DeviceRequestView];
    assert.ok(view);
    const pages = layoutScreen(view, { size: TERMINAL, header: [`--- Request ${view.request_id} ---`] });
    assert.ok(pages.length > 1, 'this action is taller than the terminal');
    const lines = pages.flat();
    for (const page of pages) assert.ok(page.length <= TERMINAL.rows - 1);
    for (const line of lines) {
      assert.ok(stringWidth(line) <= TERMINAL.columns, line);
      for (const ch of line) assert.notEqual(charClass(ch.codePointAt(0)!), 'refused');
    }
    assert.equal(lines.at(-1), BUTTONS);
    assert.ok(
      lines.includes('Rotate the logs then drop the production database'),
      'the padding is gone, the whole description is on one line',
    );
    assert.ok(lines.includes('Action type: drop_database'), 'the signed action type is shown');
    const before = squeeze(lines.slice(0, -1).join(''));
    const screen = approvalScreen(view, Date.now());
    for (const field of screen.fields) assert.ok(before.includes(squeeze(`${field.label}:${field.value}`)), field.label);
    assert.equal(screen.fields.length, 1 + Object.keys(params).length);

    // The device refuses to sign anything but the action it shows; the server accepts that signature.
    assert.equal(actionDigest(view.action), view.action_digest);
    assert.deepEqual(validateMpaRequest(body(view.action)).action, action);
    const decided = await submitDecision(server, key, view, 'deny');
    assert.equal(decided.status, 'rejected');
  });

  test('listening on an 80x24 terminal, the question is asked only after the last page of the action', async () => {
    const params: Record<string, string> = {};
    for (const k of ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot']) params[k] = `${'word '.repeat(150)}END-${k}`;
    const created = await t.api.post('/v1/mpa/requests', body({ type: 'bulk_change', description: 'Change everything', params }));
    assert.equal(created.status, 201);
    let out = '';
    const events: string[] = [];
    let answer: ((d: 'approve') => void) | undefined;
    const listener = new Listener({
      server,
      key,
      write: (text) => {
        if (text.includes(`--- Request ${created.body.request_id}`) || events.length > 0) {
          out += text;
          events.push(text.includes(BUTTONS) ? 'buttons' : 'page');
        }
      },
      warn: () => {},
      terminal: () => TERMINAL,
      mode: {
        kind: 'ask',
        more: async () => void events.push('more'),
        ask: (v) =>
          new Promise((resolve) => {
            if (v.request_id !== created.body.request_id) return resolve(null);
            events.push('ask');
            answer = resolve;
          }),
      },
    }).start();
    try {
      const deadline = Date.now() + 30_000;
      while (answer === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      assert.ok(answer, 'asked');
      const ask = events.indexOf('ask');
      assert.equal(events[ask - 1], 'buttons', events.join(' '));
      assert.ok(events.slice(0, ask).filter((e) => e === 'more').length >= 2, events.join(' '));
      for (const k of Object.keys(params)) assert.ok(out.indexOf(`END-${k}`) < out.indexOf(BUTTONS), k);
      answer!('approve');
      const until = Date.now() + 60_000;
      while ((await t.api.get(`/v1/mpa/requests/${created.body.request_id}`)).body.status === 'pending' && Date.now() < until)
        await new Promise((r) => setTimeout(r, 50));
      assert.equal((await t.api.get(`/v1/mpa/requests/${created.body.request_id}`)).body.status, 'approved');
    } finally {
      await listener.stop();
    }
  });
});
