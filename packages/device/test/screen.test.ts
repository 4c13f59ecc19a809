import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GROUP_ALREADY_SATISFIED } from '@sigilauth/protocol';
import type { DeviceRequestView } from '@sigilauth/protocol/wire';
import {
  formatDuration,
  formatParamValue,
  outcomeLine,
  paramLabel,
  quorumLine,
  renderScreen,
  sanitizeText,
  summaryLine,
  timeLeftLine,
} from '../src/screen.js';
import { COLD_BOOT_ACTION } from '../../../test/support/cold-boot.js';

const NOW = Date.parse('2026-01-01T12:00:00.000Z');

function guideView(overrides: Partial<DeviceRequestView> = {}): DeviceRequestView {
  return {
    tenant_id: 't-1',
    org_name: 'Acme Corp',
    request_id: '6f1c2a7e-0d7b-4f7e-9a53-2b8f4c1d9e10',
    status: 'pending',
    action: structuredClone(COLD_BOOT_ACTION),
    action_digest: '0'.repeat(64),
    groups_required: 2,
    groups_total: 3,
    groups_satisfied_count: 1,
    group_name: 'Engineering Leads',
    my_decision: null,
    expires_at: new Date(NOW + 9 * 60_000 + 58_000).toISOString(),
    created_at: new Date(NOW - 2_000).toISOString(),
    completed_at: null,
    ...overrides,
  };
}

describe('param labels', () => {
  const cases: Array<[string, string]> = [
    ['engine_id', 'Engine ID'],
    ['requested_by', 'Requested by'],
    ['ticket', 'Ticket'],
    ['estimated_downtime', 'Estimated downtime'],
    ['reason', 'Reason'],
    ['url', 'URL'],
    ['callback_url', 'Callback URL'],
    ['ip', 'IP'],
    ['source_ip', 'Source IP'],
    ['api', 'API'],
    ['api_key_id', 'API key ID'],
    ['id', 'ID'],
    ['user_ids', 'User IDs'],
    ['dry-run', 'Dry run'],
    ['AWS_region', 'AWS region'],
    ['__weird__key__', 'Weird key'],
  ];
  for (const [key, label] of cases) test(`${key} → ${label}`, () => assert.equal(paramLabel(key), label));

  test('a key made only of separators still gets a label', () => assert.equal(paramLabel('___'), '(unnamed)'));
  test('control characters in keys are shown as code points, never obeyed', () =>
    assert.equal(paramLabel('engine\x1b[2J_id'), 'engine<U+001B>[2J ID'));
});

describe('param values', () => {
  test('booleans are yes / no', () => {
    assert.equal(formatParamValue(true), 'yes');
    assert.equal(formatParamValue(false), 'no');
  });
  test('numbers and strings as they are', () => {
    assert.equal(formatParamValue(42), '42');
    assert.equal(formatParamValue(1.5), '1.5');
    assert.equal(formatParamValue('ENG-001'), 'ENG-001');
  });
});

describe('quorum line', () => {
  test('none yet', () => assert.equal(quorumLine(0, 2), '0 of 2 approvals received. Waiting for 2 more.'));
  test('one missing', () => assert.equal(quorumLine(1, 2), '1 of 2 approvals received. Waiting for one more.'));
  test('complete', () => assert.equal(quorumLine(2, 2), '2 of 2 approvals received.'));
  test('three missing', () => assert.equal(quorumLine(0, 3), '0 of 3 approvals received. Waiting for 3 more.'));
  test('never more than required', () => assert.equal(quorumLine(5, 2), '2 of 2 approvals received.'));
});

describe('time left', () => {
  test('durations', () => {
    assert.equal(formatDuration(598_000), '9m 58s');
    assert.equal(formatDuration(598_999), '9m 58s');
    assert.equal(formatDuration(45_000), '45s');
    assert.equal(formatDuration(60_000), '1m 0s');
    assert.equal(formatDuration(3_723_000), '1h 2m 3s');
    assert.equal(formatDuration(-5), '0s');
  });
  test('expiry line', () => {
    assert.equal(timeLeftLine(new Date(NOW + 598_000).toISOString(), NOW), 'Expires in 9m 58s');
    assert.equal(timeLeftLine(new Date(NOW - 1).toISOString(), NOW), 'Expired');
    assert.equal(timeLeftLine('not a date', NOW), 'Expiry unknown');
  });
});

describe('outcomes', () => {
  test('announcement per terminal status', () => {
    assert.equal(outcomeLine('approved'), 'MPA request approved');
    assert.equal(outcomeLine('rejected'), 'MPA request denied');
    assert.equal(outcomeLine('timeout'), 'MPA request timed out');
    assert.equal(outcomeLine('cancelled'), 'MPA request cancelled');
    assert.equal(outcomeLine('pending'), null);
  });
});

describe('sanitizeText: nothing from the server is obeyed or hidden', () => {
  test('escape sequences are shown, not run', () => {
    assert.equal(sanitizeText('a\x1b[31mred\x1b[0m b'), 'a<U+001B>[31mred<U+001B>[0m b');
    assert.equal(sanitizeText('x\x1b]0;owned\x07y'), 'x<U+001B>]0;owned<U+0007>y');
    assert.equal(sanitizeText('\x1b[2J\x1b[H\x1b[1A\rfake'), '<U+001B>[2J<U+001B>[H<U+001B>[1A fake');
  });
  test('line breaks and runs of any whitespace become one space so a value cannot fake extra lines or push text away', () => {
    assert.equal(sanitizeText('ok\n2 of 2 approvals received.'), 'ok 2 of 2 approvals received.');
    assert.equal(sanitizeText('a\r\nb\u3000\u00a0 c'), 'a b c');
  });
  test('C0, DEL, C1, bidi, zero-width and line-separator characters are shown as code points', () => {
    assert.equal(sanitizeText('a\x00b\x7fe\x9bf'), 'a<U+0000>b<U+007F>e<U+009B>f');
    assert.equal(sanitizeText('evil\u202egnp.exe'), 'evil<U+202E>gnp.exe');
    assert.equal(sanitizeText('zero\u200bwidth\u2028x'), 'zero<U+200B>width<U+2028>x');
  });
  test('keeps ordinary text, including non-Latin letters and emoji', () => {
    assert.equal(sanitizeText('Café 🚀 Ünïcödé – 東京'), 'Café 🚀 Ünïcödé – 東京');
  });
});

describe('approval screen', () => {
  test('renders the guide example', () => {
    assert.deepEqual(renderScreen(guideView(), { now: NOW }), [
      'Acme Corp is requesting approval',
      '',
      'Cold boot engine ENG-001',
      '',
      'Action type: cold_boot',
      'Engine ID: ENG-001',
      'Reason: Scheduled maintenance',
      'Requested by: alice@example.com',
      'Ticket: MAINT-1234',
      '',
      '1 of 2 approvals received. Waiting for one more.',
      'Expires in 9m 58s',
      'Your group: Engineering Leads',
      '',
      '[Deny] [Approve]',
    ]);
  });

  test('after this device approved', () => {
    const lines = renderScreen(guideView({ my_decision: 'approve' }), { now: NOW });
    assert.deepEqual(lines.slice(-2), [
      'Approved. Waiting for other approvers.',
      "You'll be notified when the action completes or times out.",
    ]);
    assert.ok(!lines.includes('[Deny] [Approve]'));
  });

  test('a custom prompt replaces the buttons', () => {
    const lines = renderScreen(guideView(), { now: NOW, prompt: ['[d] Deny  [a] Approve'] });
    assert.equal(lines.at(-1), '[d] Deny  [a] Approve');
  });

  for (const [status, line] of [
    ['approved', 'MPA request approved'],
    ['rejected', 'MPA request denied'],
    ['timeout', 'MPA request timed out'],
    ['cancelled', 'MPA request cancelled'],
  ] as const) {
    test(`terminal state ${status}`, () => {
      const lines = renderScreen(guideView({ status, groups_satisfied_count: status === 'approved' ? 2 : 1 }), { now: NOW });
      assert.equal(lines.at(-1), line);
      assert.ok(!lines.some((l) => l.startsWith('Expires in')));
      assert.ok(!lines.includes('[Deny] [Approve]'));
      assert.equal(lines[0], 'Acme Corp requested approval', 'the heading no longer says it is requesting');
      assert.ok(!lines.some((l) => l.includes('Waiting for')), 'nothing is waited for once it ended');
    });
  }

  test('a note above the buttons when the group has already approved', () => {
    const lines = renderScreen(guideView({ my_group_satisfied: true }), { now: NOW });
    const note = lines.indexOf(GROUP_ALREADY_SATISFIED);
    assert.ok(note > lines.indexOf('Your group: Engineering Leads') && note < lines.indexOf('[Deny] [Approve]'), lines.join('\n'));
    assert.ok(
      !renderScreen(guideView({ my_group_satisfied: true, my_decision: 'approve' }), { now: NOW }).includes(GROUP_ALREADY_SATISFIED),
    );
  });

  test('no params: the action type alone', () => {
    const lines = renderScreen(guideView({ action: { type: 'rotate_keys', description: 'Rotate keys', params: {} } }), { now: NOW });
    assert.deepEqual(lines.slice(0, 7), [
      'Acme Corp is requesting approval',
      '',
      'Rotate keys',
      '',
      'Action type: rotate_keys',
      '',
      '1 of 2 approvals received. Waiting for one more.',
    ]);
  });

  test('booleans and numbers in params', () => {
    const lines = renderScreen(
      guideView({ action: { type: 't', description: 'd', params: { dry_run: false, amount: 12000, notify: true } } }),
      { now: NOW },
    );
    assert.ok(lines.includes('Dry run: no'));
    assert.ok(lines.includes('Notify: yes'));
    assert.ok(lines.includes('Amount: 12000'));
  });

  test('server text cannot inject escapes or lines', () => {
    const view = guideView({
      org_name: 'Acme\x1b]0;pwned\x07 Corp',
      group_name: 'Ops\x1b[2K',
      action: {
        type: 't',
        description: 'Harmless\n\n2 of 2 approvals received.\x1b[1A\x1b[2K',
        params: { 'note\nfake': 'x\x1b[31my\u202e', ok: 'fine' },
      },
    });
    const lines = renderScreen(view, { now: NOW });
    for (const line of lines) {
      assert.doesNotMatch(line, /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/, JSON.stringify(line));
    }
    assert.equal(lines[0], 'Acme<U+001B>]0;pwned<U+0007> Corp is requesting approval');
    assert.equal(lines[2], 'Harmless 2 of 2 approvals received.<U+001B>[1A<U+001B>[2K');
    assert.ok(lines.includes('Note fake: x<U+001B>[31my<U+202E>'));
    assert.ok(lines.includes('Your group: Ops<U+001B>[2K'));
    // The injected text stays inside its own line; the real quorum line is still there once.
    assert.equal(lines.filter((l) => l.startsWith('1 of 2 approvals received.')).length, 1);
  });

  test('never names other approvers: only counts, whatever else a view carries', () => {
    // Identities a server might add to a view (or a bug might): none of them may reach the screen.
    const identities = [
      'Bob Builder',
      'b0b'.repeat(21) + 'b',
      'Carol Denier',
      'c4c'.repeat(21) + 'c',
      'BKf3Zx9dQ2eYh+0u5v1w7rT8sA4mN6pL3kJ2hG1fE0c=',
      'pairing-7d1f',
    ];
    const view = {
      ...guideView({ groups_satisfied_count: 1 }),
      approvals: [{ name: identities[0], fingerprint: identities[1], device_public_key: identities[4], decision: 'approve' }],
      denied_by: { name: identities[2], fingerprint: identities[3], pairing_id: identities[5] },
      groups: [{ name: 'Engineering Leads', approvers: [{ fingerprint: identities[1], device_public_key: identities[4] }] }],
    } as DeviceRequestView;
    const shown = [...renderScreen(view, { now: NOW }), summaryLine(view, NOW)].join('\n');
    for (const identity of identities) assert.ok(!shown.includes(identity), `the screen shows ${identity}:\n${shown}`);
    assert.doesNotMatch(shown, /approved by|denied by|fingerprint/i);
    assert.match(shown, /^1 of 2 approvals received\. Waiting for one more\.$/m);
  });

  test('summary line for the inbox', () => {
    const line = summaryLine(guideView({ my_decision: 'approve' }), NOW);
    assert.equal(
      line,
      '6f1c2a7e-0d7b-4f7e-9a53-2b8f4c1d9e10  |  Cold boot engine ENG-001  |  expires in 9m 58s  |  1 of 2 approvals  |  group: Engineering Leads  |  you approved',
    );
  });
});

describe('param order', () => {
  test('params appear in the order the integrator sent them', () => {
    const view = guideView({ action: { type: 't', description: 'd', params: { zone: 'eu-1', amount: 10, approved_by_finance: true } } });
    const lines = renderScreen(view, { now: NOW });
    const zone = lines.indexOf('Zone: eu-1');
    const amount = lines.indexOf('Amount: 10');
    const finance = lines.indexOf('Approved by finance: yes');
    assert.ok(zone > 0 && zone < amount && amount < finance, lines.join('\n'));
  });
});
