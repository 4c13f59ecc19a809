import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  approvalScreen,
  charClass,
  GROUP_ALREADY_SATISFIED,
  displayText,
  labelSkeleton,
  MAX_COMBINING_MARKS,
  paramLabel,
  textProblem,
} from '../src/index.js';
import type { DeviceRequestView } from '../src/wire/index.js';
import { UNICODE_TABLES_VERSION } from '../src/unicode-tables.js';

const cp = (s: string) => s.codePointAt(0)!;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Characters a requester could use to hide, pad or disguise text. */
export const HOSTILE = [
  ' ',
  '  ',
  '\u00a0',
  '\u2003',
  '\u3000',
  '\u202f',
  '\t',
  '\n',
  '\r\n',
  '\u000b',
  '\u0085',
  '\u2028',
  '\u2029',
  '\u00ad',
  '\u180e',
  '\u3164',
  '\u115f',
  '\u1160',
  '\uffa0',
  '\ufff9',
  '\ufffa',
  '\ufffb',
  '\u2800',
  '\u034f',
  '\u200b',
  '\u200c',
  '\u200d',
  '\u200e',
  '\u200f',
  '\u202a',
  '\u202e',
  '\u2066',
  '\u2069',
  '\u2060',
  '\u2064',
  '\ufeff',
  '\u061c',
  '\u{e0001}',
  '\u{e0041}',
  '\u{e007f}',
  '\ufe00',
  '\ufe0e',
  '\ufe0f',
  '\u{e0100}',
  '\u{f0000}',
  '\ue000',
  '\u0378',
  '\x1b',
  '\x1b[2J',
  '\x1b[1A',
  '\x1b]0;x\x07',
  '\x00',
  '\x07',
  '\x7f',
  '\x9b',
  '\u0301',
  '\u0301\u0301\u0301\u0301\u0301',
  'e\u0301',
  'é',
  'a',
  'A',
  'Z',
  '0',
  '1',
  'I',
  'l',
  'а',
  'Α',
  'ａ',
  '𝐚',
  '東',
  '🚀',
  '❤',
  '❤\ufe0f',
  '_',
  '-',
  ':',
  '.',
  '<',
  '>',
  '&',
  '"',
  "'",
  '[Deny] [Approve]',
  '1 of 2 approvals received.',
  'Your group:',
  'Action type:',
  'x'.repeat(120),
  'word ',
];
export const hostileText = (maxLength = 30) =>
  fc.oneof(
    fc.array(fc.constantFrom(...HOSTILE), { maxLength }).map((parts) => parts.join('')),
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: 'grapheme', maxLength }),
  );

/** What the screen does to text that passed textProblem: whitespace runs become one space. */
const collapsed = (s: string) => s.replace(/[\p{Zs}\t\n\r]+/gu, ' ').trim();

describe('the frozen Unicode tables', () => {
  test(`cover every invisible, formatting, control, private-use and unassigned character this runtime knows (tables: Unicode ${UNICODE_TABLES_VERSION}, runtime: ${process.versions.unicode})`, () => {
    const invisible = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cs}\p{Default_Ignorable_Code_Point}]/u;
    const allowed = new Set([0x09, 0x0a, 0x0d, 0xfe0e, 0xfe0f]);
    const missed: string[] = [];
    for (let c = 0; c < 0x110000; c++) {
      if (allowed.has(c) || !invisible.test(String.fromCodePoint(c))) continue;
      if (charClass(c) !== 'refused') missed.push(c.toString(16));
    }
    assert.deepEqual(missed, [], 'regenerate with node scripts/generate-unicode-tables.mjs');
  });

  test('refuse the characters known to hide or pad text', () => {
    const named = [
      0x00ad,
      0x180e,
      0x3164,
      0x115f,
      0x1160,
      0xffa0,
      0xfff9,
      0xfffa,
      0xfffb,
      0x2800,
      0x034f,
      0x061c,
      0xfeff,
      0x2028,
      0x2029,
      0x0085,
      0x1b,
      0x00,
      0x7f,
      0x9b,
      ...range(0x200b, 0x200f),
      ...range(0x202a, 0x202e),
      ...range(0x2060, 0x2064),
      ...range(0x2066, 0x2069),
      ...range(0xe0000, 0xe007f),
      ...range(0xfe00, 0xfe0d),
      ...range(0xe0100, 0xe01ef),
      0xe000,
      0xf0000,
      0x10fffd,
      0x0378,
    ];
    for (const c of named) assert.equal(charClass(c), 'refused', c.toString(16));
  });

  test('whitespace of every kind is collapsible space', () => {
    for (const c of [0x20, 0x09, 0x0a, 0x0d, 0xa0, 0x1680, ...range(0x2000, 0x200a), 0x202f, 0x205f, 0x3000])
      assert.equal(charClass(c), 'space', c.toString(16));
  });

  test('letters, digits, marks and symbols of every script are shown', () => {
    for (const s of ['a', 'Z', '7', 'é', 'ж', 'Ω', '東', 'ㄱ', '한', 'ก', 'ע', 'ا']) assert.equal(charClass(cp(s)), 'alnum', s);
    for (const s of ['\u0301', '\u0e31', '\u05b4']) assert.equal(charClass(cp(s)), 'mark', s);
    for (const s of ['-', '@', '€', '🚀', '❤', '→']) assert.equal(charClass(cp(s)), 'other', s);
    assert.equal(charClass(0xfe0f), 'selector');
  });
});

describe('textProblem', () => {
  test('names the character an approver could not see', () => {
    assert.equal(textProblem('ENG\u200b-001'), 'contains an invisible or formatting character (U+200B)');
    assert.equal(textProblem('tag\u{e0041}'), 'contains an invisible or formatting character (U+E0041)');
    assert.equal(textProblem('Ａ\u3164B'), 'contains an invisible or formatting character (U+3164)');
  });
  test('a presentation selector only after a visible character; at most 4 combining marks', () => {
    assert.equal(textProblem('❤\ufe0f ok'), null);
    assert.equal(textProblem(' \ufe0f'), 'contains a presentation selector (U+FE0F) that follows no visible character');
    assert.equal(textProblem('e' + '\u0301'.repeat(MAX_COMBINING_MARKS)), null);
    assert.equal(textProblem('e' + '\u0301'.repeat(MAX_COMBINING_MARKS + 1)), 'has more than 4 combining marks on one character');
  });
  test('ordinary text of any script passes, whitespace included', () => {
    for (const s of ['Cold boot engine ENG-001', 'Café 🚀 – 東京', 'नमस्ते', 'ไทย', 'a  \u00a0\t\nb']) assert.equal(textProblem(s), null, s);
  });
});

describe('displayText', () => {
  test('collapses whitespace runs of every kind and trims', () => {
    assert.equal(displayText('  Harmless' + ' \u00a0\u2003'.repeat(300) + 'real\n\ttext '), 'Harmless real text');
  });
  test('shows what it cannot print as its code point: nothing is dropped', () => {
    assert.equal(displayText('a\u00adb\x1b[2Jc'), 'a<U+00AD>b<U+001B>[2Jc');
    assert.equal(displayText(' \ufe0f'), '<U+FE0F>');
  });

  test('property: shows no invisible character, no whitespace but single spaces, and text that passed textProblem as sent', () => {
    fc.assert(
      fc.property(hostileText(60), (s) => {
        const shown = displayText(s);
        assert.equal(shown, shown.trim());
        assert.doesNotMatch(shown, / {2}|[\t\n\r\u00a0]/);
        let previous = '';
        let marks = 0;
        for (const ch of shown) {
          const cls = charClass(cp(ch));
          assert.notEqual(cls, 'refused', JSON.stringify(shown));
          if (cls === 'space') assert.equal(ch, ' ');
          if (cls === 'selector') assert.ok(previous === 'alnum' || previous === 'other', JSON.stringify(shown));
          marks = cls === 'mark' ? marks + 1 : 0;
          assert.ok(marks <= MAX_COMBINING_MARKS);
          previous = cls;
        }
        if (textProblem(s) === null) assert.equal(shown, collapsed(s));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('labels', () => {
  test('look-alike labels have the same skeleton', () => {
    const same = [
      ['amount', 'Amount', 'AMOUNT', 'a_mount', 'аmount', 'ａｍｏｕｎｔ', '𝐚𝐦𝐨𝐮𝐧𝐭', 'amóunt', 'amo\u0301unt'],
      ['engine_id', 'engine-id', 'Engine ID', 'engine id', 'ENGINE_ID', 'engine_1d', 'engineId', 'Εngine ΙD'],
      ['ticket', 'Ticket', 'tіcket'],
      ['level', 'IeveI', 'Ievel', '1evel'],
    ];
    for (const group of same) {
      const skeletons = new Set(group.map((k) => labelSkeleton(paramLabel(k))));
      assert.equal(skeletons.size, 1, `${group.join(', ')}: ${[...skeletons].join(', ')}`);
    }
  });
  test('different labels keep different skeletons', () => {
    const keys = [
      'engine_id',
      'reason',
      'requested_by',
      'ticket',
      'estimated_downtime',
      'backup_completed',
      'amount',
      'account',
      'mount',
      'amounts',
    ];
    assert.equal(new Set(keys.map((k) => labelSkeleton(paramLabel(k)))).size, keys.length);
  });
});

function view(action: DeviceRequestView['action'], overrides: Partial<DeviceRequestView> = {}): DeviceRequestView {
  return {
    tenant_id: 't',
    org_name: 'Acme Corp',
    request_id: '6f1c2a7e-0d7b-4f7e-9a53-2b8f4c1d9e10',
    status: 'pending',
    action,
    action_digest: '0'.repeat(64),
    groups_required: 2,
    groups_total: 3,
    groups_satisfied_count: 1,
    group_name: 'Engineering Leads',
    my_decision: null,
    expires_at: '2026-01-01T12:09:58.000Z',
    created_at: '2026-01-01T11:59:58.000Z',
    completed_at: null,
    ...overrides,
  };
}

describe('approvalScreen: the one screen model every approver client renders', () => {
  const NOW = Date.parse('2026-01-01T12:00:00.000Z');
  test('the guide example, with the action type', () => {
    const screen = approvalScreen(
      view({
        type: 'cold_boot',
        description: 'Cold boot engine ENG-001',
        params: { engine_id: 'ENG-001', reason: 'Scheduled maintenance', requested_by: 'alice@example.com', ticket: 'MAINT-1234' },
      }),
      NOW,
    );
    assert.deepEqual(screen, {
      heading: 'Acme Corp is requesting approval',
      description: 'Cold boot engine ENG-001',
      fields: [
        { label: 'Action type', value: 'cold_boot' },
        { label: 'Engine ID', value: 'ENG-001' },
        { label: 'Reason', value: 'Scheduled maintenance' },
        { label: 'Requested by', value: 'alice@example.com' },
        { label: 'Ticket', value: 'MAINT-1234' },
      ],
      quorum: '1 of 2 approvals received. Waiting for one more.',
      timeLeft: 'Expires in 9m 58s',
      group: 'Your group: Engineering Leads',
      note: null,
      state: { kind: 'decide' },
    });
  });

  test('once the request has ended, nothing says it is still requesting or waiting', () => {
    const action = { type: 't', description: 'd', params: {} };
    for (const status of ['approved', 'rejected', 'timeout', 'cancelled'] as const) {
      const ended = approvalScreen(
        view(action, { status, groups_required: 1, groups_satisfied_count: status === 'approved' ? 1 : 0 }),
        NOW,
      );
      assert.equal(ended.heading, 'Acme Corp requested approval', status);
      assert.doesNotMatch(ended.quorum, /Waiting/, status);
      assert.match(ended.quorum, /^[01] of 1 approval received\.$/, status);
    }
    assert.equal(
      approvalScreen(view(action, { groups_required: 1, groups_satisfied_count: 0 }), NOW).quorum,
      '0 of 1 approval received. Waiting for one more.',
    );
  });

  test('an approver whose group already approved is told so while they can decide, and only then', () => {
    const action = { type: 't', description: 'd', params: {} };
    assert.equal(approvalScreen(view(action, { my_group_satisfied: true }), NOW).note, GROUP_ALREADY_SATISFIED);
    assert.equal(approvalScreen(view(action, { my_group_satisfied: false }), NOW).note, null);
    assert.equal(approvalScreen(view(action), NOW).note, null, 'an older server says nothing');
    assert.equal(approvalScreen(view(action, { my_group_satisfied: true, my_decision: 'approve' }), NOW).note, null);
    assert.equal(approvalScreen(view(action, { my_group_satisfied: true, status: 'approved' }), NOW).note, null);
  });

  test('after deciding, and once finished', () => {
    assert.deepEqual(approvalScreen(view({ type: 't', description: 'd', params: {} }, { my_decision: 'approve' }), NOW).state, {
      kind: 'approved',
      lines: ['Approved. Waiting for other approvers.', "You'll be notified when the action completes or times out."],
    });
    assert.deepEqual(approvalScreen(view({ type: 't', description: 'd', params: {} }, { my_decision: 'deny' }), NOW).state, {
      kind: 'denied',
      lines: ['Denied.'],
    });
    const done = approvalScreen(view({ type: 't', description: 'd', params: {} }, { status: 'rejected' }), NOW);
    assert.deepEqual(done.state, { kind: 'finished', status: 'rejected', lines: ['MPA request denied'] });
    assert.equal(done.timeLeft, null);
  });

  test('property: every part of any action is in the model, made printable', () => {
    fc.assert(
      fc.property(
        hostileText(),
        hostileText(),
        fc.dictionary(hostileText(12), fc.oneof(hostileText(), fc.double(), fc.boolean()), { maxKeys: 6 }),
        (type, description, params) => {
          const screen = approvalScreen(view({ type, description, params }), NOW);
          assert.equal(screen.description, displayText(description));
          assert.deepEqual(screen.fields[0], { label: 'Action type', value: displayText(type) });
          assert.equal(screen.fields.length, Object.keys(params).length + 1);
          for (const text of [screen.heading, screen.description, screen.group, ...screen.fields.flatMap((f) => [f.label, f.value])]) {
            assert.equal(text, displayText(text), 'already printable');
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
