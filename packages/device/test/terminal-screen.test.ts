import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import stringWidth from 'string-width';
import {
  approvalScreen,
  charClass,
  encodePublicKey,
  fingerprintOf,
  generateP256KeyPair,
  MpaValidationError,
  validateMpaRequest,
} from '@sigilauth/protocol';
import type { DeviceRequestView } from '@sigilauth/protocol/wire';
import { Listener } from '../src/listen.js';
import { BUTTONS, layoutScreen, wrapLine, type TerminalSize } from '../src/screen.js';
import type { DeviceKey } from '../src/keystore.js';
import { FakeSigil, makeView } from './fake-server.js';

function newKey(): DeviceKey {
  const { privateKey, publicKey } = generateP256KeyPair();
  const encoded = encodePublicKey(publicKey);
  return { privateKey, publicKey: encoded, fingerprint: fingerprintOf(encoded), path: '(memory)', created: true };
}

const NOW = Date.parse('2026-01-01T12:00:00.000Z');
const device = encodePublicKey(generateP256KeyPair().publicKey);
const approver = { fingerprint: fingerprintOf(device), device_public_key: device };

/** Text a server accepts, chosen to stress the layout: padding, wide and combining characters, fake screen lines, long words. */
const ALLOWED = [
  ' ',
  '   ',
  '\u00a0',
  '\u2003',
  '\u3000',
  '\t',
  '\n',
  '\r\n',
  'a',
  'A',
  'Z',
  '0',
  '1',
  'I',
  'l',
  'é',
  'e\u0301',
  'а',
  '東京',
  '🚀',
  '❤\ufe0f',
  '_',
  '-',
  ':',
  '[Deny] [Approve]',
  '1 of 2 approvals received.',
  'Your group:',
  'Expires in 9m',
  'x'.repeat(90),
  'word ',
  'ENG-001',
  'w'.repeat(300),
];
/** Pieces a requester could use to hide or disguise what the approver sees. */
const INVISIBLE = [
  '\u00ad',
  '\u180e',
  '\u3164',
  '\u115f',
  '\u1160',
  '\uffa0',
  '\ufff9',
  '\ufffb',
  '\u{e0041}',
  ' \ufe0f',
  '\ufe00',
  '\u200b',
  '\u200d',
  '\u202e',
  '\u2066',
  '\u2028',
  '\x1b[2J',
  '\x1b[1A',
  '\x07',
  'e\u0301\u0301\u0301\u0301\u0301',
  '\u{f0000}',
];
const hostile = (maxLength: number) =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .array(fc.oneof({ weight: 30, arbitrary: fc.constantFrom(...ALLOWED) }, { weight: 1, arbitrary: fc.constantFrom(...INVISIBLE) }), {
          maxLength,
        })
        .map((parts) => parts.join('')),
    },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: maxLength * 4 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: maxLength * 2 }) },
  );
const PARAM_KEYS = [
  'engine_id',
  'Engine ID',
  'reason',
  'ticket',
  'amount',
  'Amount',
  'аmount',
  'note',
  'requested_by',
  'your_group',
  'a',
  'b',
  'c',
  'd',
  'e',
  'f',
  'g',
];
const sizes = fc.record({ columns: fc.integer({ min: 20, max: 200 }), rows: fc.integer({ min: 5, max: 60 }) });

/** The view a device gets for an action the server accepted. */
function viewOf(action: DeviceRequestView['action']): DeviceRequestView {
  return makeView({ action, expires_at: new Date(NOW + 598_000).toISOString() });
}

const squeeze = (s: string) => s.replace(/\s+/g, '');

/**
 * Checks a laid-out screen: every line fits, every page leaves a row for the question, nothing
 * invisible is printed, the whole action is there in order, and the buttons come last.
 */
function assertShownWholeBeforePrompt(view: DeviceRequestView, pages: string[][], size: TerminalSize): void {
  const lines = pages.flat();
  for (const page of pages) assert.ok(page.length <= size.rows - 1, `a page of ${page.length} lines on ${size.rows} rows`);
  for (const line of lines) {
    assert.ok(stringWidth(line) <= size.columns, `a line of ${stringWidth(line)} columns on ${size.columns}: ${JSON.stringify(line)}`);
    for (const ch of line) {
      const cls = charClass(ch.codePointAt(0)!);
      assert.notEqual(cls, 'refused', `printed ${JSON.stringify(ch)} in ${JSON.stringify(line)}`);
      if (cls === 'space') assert.equal(ch, ' ');
    }
  }
  assert.equal(lines.at(-1), BUTTONS, 'the prompt ends the last page');
  const lastPage = pages.at(-1)!;
  assert.equal(lastPage.filter((l) => l === BUTTONS).length >= 1, true);
  // Everything before the prompt, with the wrapping undone, holds the whole action in order.
  const shown = squeeze(lines.slice(0, -1).join(' '));
  const screen = approvalScreen(view, NOW);
  let at = 0;
  for (const part of [
    screen.heading,
    screen.description,
    ...screen.fields.map((f) => `${f.label}:${f.value}`),
    screen.quorum,
    screen.group,
  ]) {
    const found = shown.indexOf(squeeze(part), at);
    assert.ok(found >= at, `${JSON.stringify(part)} is not shown in order before the prompt`);
    at = found + squeeze(part).length;
  }
}

describe('the approval screen on a terminal', () => {
  test('the guide example fits an 80x24 terminal on one page, the prompt last', () => {
    const pages = layoutScreen(makeView(), { now: NOW, size: { columns: 80, rows: 24 }, header: ['--- Request x ---'] });
    assert.equal(pages.length, 1);
    assert.deepEqual(pages[0]!.slice(0, 7), [
      '--- Request x ---',
      'Acme Corp is requesting approval',
      '',
      'Cold boot engine ENG-001',
      '',
      'Action type: cold_boot',
      'Engine ID: ENG-001',
    ]);
    assert.equal(pages[0]!.at(-1), BUTTONS);
  });

  test('padding cannot push the description out of view: whitespace runs show as one space', () => {
    const action = {
      type: 'cold_boot',
      description: `Cold boot engine ENG-001${'\u00a0 '.repeat(480)}ENG-002 too`,
      params: { ticket: 'MAINT-1234' },
    };
    validateMpaRequest({ required: 1, groups: [{ name: 'Ops', approvers: [approver] }], action });
    const pages = layoutScreen(viewOf(action), { now: NOW, size: { columns: 80, rows: 24 } });
    assert.equal(pages.length, 1);
    assert.ok(pages[0]!.includes('Cold boot engine ENG-001 ENG-002 too'));
  });

  test('long lines wrap, never cut; a screen taller than the terminal is paged and the prompt comes after the last line', () => {
    const params: Record<string, string> = {};
    for (let i = 0; i < 7; i++) params[`detail_${String.fromCharCode(97 + i)}`] = `${'word '.repeat(150)}END${i}`;
    const action = { type: 'bulk_change', description: `${'describe '.repeat(100)}LAST`, params };
    validateMpaRequest({ required: 1, groups: [{ name: 'Ops', approvers: [approver] }], action });
    const size = { columns: 80, rows: 24 };
    const pages = layoutScreen(viewOf(action), { now: NOW, size });
    assert.ok(pages.length > 3, `${pages.length} pages`);
    assertShownWholeBeforePrompt(viewOf(action), pages, size);
    for (let i = 0; i < 7; i++) assert.ok(pages.flat().some((l) => l.endsWith(`END${i}`)));
    assert.ok(!pages.slice(0, -1).flat().includes(BUTTONS), 'no page but the last shows the buttons');
  });

  test('wrapping breaks at spaces, splits only words wider than the line, and indents continuations', () => {
    assert.deepEqual(wrapLine('Reason: one two three', 12, 2), ['Reason: one', '  two three']);
    assert.deepEqual(wrapLine('x'.repeat(25), 10), ['x'.repeat(10), 'x'.repeat(10), 'x'.repeat(5)]);
    assert.deepEqual(wrapLine('東京東京東京', 5), ['東京', '東京', '東京']);
  });

  test('property: whatever a requester sends is refused, or laid out whole, visible, within the terminal, before the prompt', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(
        hostile(3),
        hostile(30),
        fc.array(
          fc.tuple(
            fc.tuple(fc.constantFrom(...PARAM_KEYS), hostile(1)).map(([k, s]) => k + s),
            fc.oneof(hostile(12), fc.integer(), fc.boolean()),
          ),
          { maxLength: 8 },
        ),
        hostile(3),
        sizes,
        (type, description, entries, group, size) => {
          const action = { type, description, params: Object.fromEntries(entries) };
          let policy;
          try {
            policy = validateMpaRequest({ required: 1, groups: [{ name: group, approvers: [approver] }], action });
          } catch (err) {
            assert.ok(err instanceof MpaValidationError, String(err));
            refused++;
            return;
          }
          accepted++;
          const view = { ...viewOf(policy.action), group_name: policy.groups[0]!.name };
          assertShownWholeBeforePrompt(view, layoutScreen(view, { now: NOW, size, header: ['--- Request ---'] }), size);
        },
      ),
      { numRuns: 1500 },
    );
    // About 6 % of random screens are accepted: 20 of each is far from chance, and still shows both paths ran.
    assert.ok(accepted >= 20 && refused >= 20, `accepted ${accepted}, refused ${refused}: both kinds must be exercised`);
  });

  test('property: a screen from a server that skipped validation still prints nothing invisible and keeps the prompt last', () => {
    fc.assert(
      fc.property(
        hostile(10),
        hostile(40),
        fc.dictionary(hostile(4), hostile(20), { maxKeys: 6 }),
        sizes,
        (type, description, params, size) => {
          const view = viewOf({ type, description, params });
          assertShownWholeBeforePrompt(view, layoutScreen(view, { now: NOW, size }), size);
        },
      ),
      { numRuns: 800 },
    );
  });
});

describe('listening on a terminal: the question comes only after every page', () => {
  let fake: FakeSigil;
  const key = newKey();
  before(async () => {
    fake = await new FakeSigil().start();
  });
  after(async () => fake.stop());

  test('an action taller than an 80x24 terminal is paged; nothing typed before the last page decides', async () => {
    const params: Record<string, string> = {};
    for (let i = 0; i < 6; i++) params[`detail_${String.fromCharCode(97 + i)}`] = `${'word '.repeat(120)}END${i}`;
    const view = makeView({ action: { type: 'bulk_change', description: 'Change many things', params } });
    fake.views = [view];
    let out = '';
    const events: string[] = [];
    let answer: ((d: 'approve') => void) | null = null;
    const listener = new Listener({
      server: fake.paired(),
      key,
      write: (t) => {
        out += t;
        events.push(`write:${t.includes(BUTTONS) ? 'buttons' : 'page'}`);
      },
      warn: () => {},
      terminal: () => ({ columns: 80, rows: 24 }),
      mode: {
        kind: 'ask',
        more: async () => void events.push('more'),
        ask: () =>
          new Promise((resolve) => {
            events.push('ask');
            answer = resolve;
          }),
      },
    }).start();
    try {
      const deadline = Date.now() + 60_000;
      while (!events.includes('ask') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(events.includes('ask'), 'asked');
      const pagesShown = events.filter((e) => e.startsWith('write:') && e !== 'write:buttons').length;
      assert.ok(events.filter((e) => e === 'more').length >= 2, events.join(' '));
      // every page but the last was followed by "more", and the question came right after the buttons
      assert.equal(events[events.indexOf('ask') - 1], 'write:buttons', events.join(' '));
      assert.ok(pagesShown >= 2);
      for (let i = 0; i < 6; i++) assert.ok(out.indexOf(`END${i}`) < out.indexOf(BUTTONS));
      for (const line of out.slice(out.indexOf('--- Request')).split('\n')) assert.ok(stringWidth(line) <= 80, line);
      answer!('approve');
      const until = Date.now() + 60_000;
      while (fake.decisions.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      assert.equal(fake.decisions.length, 1);
    } finally {
      await listener.stop();
    }
  });
});
