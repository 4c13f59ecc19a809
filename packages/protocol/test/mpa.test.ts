import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  type ApprovalGroup,
  actionDigest,
  canonicalize,
  encodePublicKey,
  fingerprintOf,
  generateP256KeyPair,
  MPA_LIMITS,
  MpaValidationError,
  validateMpaRequest,
  type Approver,
} from '../src/index.js';
import { coldBootRequest } from '../../../test/support/cold-boot.js';
import { keyVector, keyVectors } from './vectors.js';

const [alice, bob, carol, dave, eve] = ['alice', 'bob', 'carol', 'dave', 'eve'].map((label) => {
  const k = keyVector(label);
  return { fingerprint: k.fingerprint, device_public_key: k.public_key };
}) as [Approver, Approver, Approver, Approver, Approver];

const freshApprovers: Approver[] = Array.from({ length: 70 }, () => {
  const device_public_key = encodePublicKey(generateP256KeyPair().publicKey);
  return { fingerprint: fingerprintOf(device_public_key), device_public_key };
});

function guideRequest(): any {
  return coldBootRequest({ engineering: [alice, bob], security: [carol], operations: [dave, eve] });
}

function withChange(change: (body: any) => void): any {
  const body = guideRequest();
  change(body);
  return body;
}

function rejects(body: unknown, message: string): void {
  assert.throws(
    () => validateMpaRequest(body),
    (err: unknown) => {
      assert.ok(err instanceof MpaValidationError);
      assert.equal(err.name, 'MpaValidationError');
      assert.equal(err.code, 'invalid_request');
      assert.equal(err.message, message);
      return true;
    },
  );
}

const invalid = (detail: string) => `Invalid MPA request: ${detail}`;
const EXPIRES = 'Invalid expires_in_seconds: must be between 60 and 900';

/** An action of exactly totalBytes (counting each unit as its UTF-8 bytes), spread over params of at most 1000 characters. */
function sizedAction(totalBytes: number, unit = 'x') {
  const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'j'];
  const params: Record<string, string> = Object.fromEntries(keys.map((k) => [k, '']));
  let room = totalBytes - Buffer.byteLength(JSON.stringify({ description: 'd', params, type: 't' }));
  const unitBytes = Buffer.byteLength(unit);
  for (const k of keys) {
    const n = Math.min(MPA_LIMITS.maxParamValueLength, Math.floor(room / unitBytes));
    params[k] = unit.repeat(n);
    room -= n * unitBytes;
  }
  for (const k of keys) {
    const n = Math.min(room, MPA_LIMITS.maxParamValueLength - params[k]!.length);
    params[k] += 'x'.repeat(n);
    room -= n;
  }
  return { type: 't', description: 'd', params };
}

describe('validateMpaRequest: the product guide example', () => {
  test('3 groups, 2 required, returns the policy unchanged', () => {
    const policy = validateMpaRequest(guideRequest());
    assert.deepEqual(policy, guideRequest());
    assert.equal(policy.groups.length, 3);
    assert.equal(policy.required, 2);
  });

  test('expires_in_seconds defaults to 300 and params to {}', () => {
    const policy = validateMpaRequest(
      withChange((b) => {
        delete b.expires_in_seconds;
        delete b.action.params;
      }),
    );
    assert.equal(policy.expires_in_seconds, MPA_LIMITS.defaultExpiresInSeconds);
    assert.equal(policy.expires_in_seconds, 300);
    assert.deepEqual(policy.action.params, {});
  });

  test('expires_in_seconds accepts the bounds 60 and 900', () => {
    for (const seconds of [60, 300, 900]) {
      assert.equal(validateMpaRequest(withChange((b) => (b.expires_in_seconds = seconds))).expires_in_seconds, seconds);
    }
  });

  test('required may equal the number of groups, and single-group requests work', () => {
    assert.equal(validateMpaRequest(withChange((b) => (b.required = 3))).required, 3);
    const one = validateMpaRequest({
      required: 1,
      groups: [{ name: 'On call', approvers: [alice] }],
      action: { type: 't', description: 'd' },
    });
    assert.equal(one.groups[0]!.name, 'On call');
  });

  test('limits: 20 groups, 50 approvers, 100-char names, 8192-byte action', () => {
    const twenty = freshApprovers.slice(0, 20).map((a, i) => ({ name: `g${i}`, approvers: [a] }));
    assert.equal(validateMpaRequest({ required: 20, groups: twenty, action: { type: 't', description: 'd' } }).groups.length, 20);
    const fifty = freshApprovers.slice(20, 70);
    assert.equal((validateMpaRequest(withChange((b) => (b.groups[1].approvers = fifty))).groups[1] as ApprovalGroup).approvers.length, 50);
    const name = 'n'.repeat(100);
    assert.equal(validateMpaRequest(withChange((b) => (b.groups[0].name = name))).groups[0]!.name, name);
    const action = sizedAction(8192);
    assert.equal(Buffer.byteLength(canonicalize(action)), 8192);
    assert.deepEqual(validateMpaRequest(withChange((b) => (b.action = action))).action, action);
    const text = { type: 'y'.repeat(100), description: 'z'.repeat(1000) };
    assert.deepEqual(validateMpaRequest(withChange((b) => (b.action = text))).action, { ...text, params: {} });
  });
});

describe('validateMpaRequest: request body', () => {
  test('body must be an object', () => {
    for (const body of [null, undefined, [], 'body', 42]) rejects(body, invalid('body must be a JSON object'));
  });

  test('required must be an integer of at least 1', () => {
    for (const required of [undefined, 0, -1, 1.5, '2', null, NaN, true]) {
      rejects(
        withChange((b) => (b.required = required)),
        invalid('required must be an integer of at least 1'),
      );
    }
  });

  test('groups must be a non-empty array', () => {
    for (const groups of [undefined, [], {}, 'groups', null]) {
      rejects(
        withChange((b) => (b.groups = groups)),
        invalid('groups must be a non-empty array'),
      );
    }
  });

  test('more than 20 groups', () => {
    const groups = Array.from({ length: 21 }, (_, i) => ({ name: `g${i}`, approvers: [] }));
    rejects(
      withChange((b) => (b.groups = groups)),
      invalid('at most 20 groups are allowed'),
    );
  });

  test('required cannot exceed the number of groups', () => {
    rejects(
      withChange((b) => (b.required = 4)),
      'Invalid MPA request: required cannot exceed number of groups',
    );
  });

  test('expires_in_seconds out of range, fractional or not a number', () => {
    for (const seconds of [59, 901, 60.5, 0, -300, '300', '60', true, [300], Infinity]) {
      rejects(
        withChange((b) => (b.expires_in_seconds = seconds)),
        EXPIRES,
      );
    }
  });

  test('unknown top-level fields', () => {
    rejects(
      withChange((b) => (b.callback_url = 'https://x')),
      invalid('unknown field callback_url'),
    );
    rejects(
      withChange((b) => (b.Required = 2)),
      invalid('unknown field Required'),
    );
  });

  test('checks run in order: body fields before groups before action', () => {
    rejects(
      withChange((b) => Object.assign(b, { required: 0, groups: [], extra: 1 })),
      invalid('unknown field extra'),
    );
    rejects(
      withChange((b) => Object.assign(b, { required: 0, groups: [] })),
      invalid('required must be an integer of at least 1'),
    );
    rejects(
      withChange((b) => Object.assign(b, { expires_in_seconds: 1, action: null })),
      EXPIRES,
    );
    rejects(
      withChange((b) => Object.assign(b, { action: null, groups: [{ name: '', approvers: [] }], required: 1 })),
      invalid('groups[0].name is required'),
    );
  });
});

describe('validateMpaRequest: groups and approvers', () => {
  test('group must be an object', () => {
    for (const group of [null, [], 'Security Team', 7]) {
      rejects(
        withChange((b) => (b.groups[1] = group)),
        invalid('groups[1] must be an object'),
      );
    }
  });

  test('unknown group and approver fields', () => {
    rejects(
      withChange((b) => (b.groups[1].required = 1)),
      invalid('unknown field groups[1].required'),
    );
    rejects(
      withChange((b) => (b.groups[2].approvers[1].name = 'Eve')),
      invalid('unknown field groups[2].approvers[1].name'),
    );
  });

  test('group name missing, blank, too long or not valid Unicode', () => {
    for (const name of [undefined, '', '   ', 5, null]) {
      rejects(
        withChange((b) => (b.groups[1].name = name)),
        invalid('groups[1].name is required'),
      );
    }
    rejects(
      withChange((b) => (b.groups[1].name = 'n'.repeat(101))),
      invalid('groups[1].name must be at most 100 characters'),
    );
    rejects(
      withChange((b) => (b.groups[1].name = 'Team \ud800')),
      invalid('groups[1].name is not valid Unicode'),
    );
  });

  test('duplicate group names', () => {
    rejects(
      withChange((b) => (b.groups[2].name = 'Engineering Leads')),
      invalid('duplicate group name "Engineering Leads"'),
    );
  });

  test('group with no approvers', () => {
    for (const approvers of [undefined, [], {}, null]) {
      rejects(
        withChange((b) => (b.groups[1].approvers = approvers)),
        invalid('group "Security Team" has no approvers'),
      );
    }
  });

  test('more than 50 approvers', () => {
    const approvers = Array.from({ length: 51 }, () => ({ ...carol }));
    rejects(
      withChange((b) => (b.groups[1].approvers = approvers)),
      invalid('group "Security Team" has more than 50 approvers'),
    );
  });

  test('approver must be an object', () => {
    for (const approver of [null, 'carol', [carol]]) {
      rejects(
        withChange((b) => (b.groups[1].approvers[0] = approver)),
        invalid('groups[1].approvers[0] must be an object'),
      );
    }
  });

  test('fingerprint format', () => {
    for (const fingerprint of [
      undefined,
      'abc123...',
      alice.fingerprint.toUpperCase(),
      alice.fingerprint.slice(1),
      `${alice.fingerprint}0`,
      42,
    ]) {
      rejects(
        withChange((b) => (b.groups[0].approvers[0].fingerprint = fingerprint)),
        invalid('groups[0].approvers[0].fingerprint must be 64 lower-case hex characters'),
      );
    }
  });

  test('device_public_key missing or not a string', () => {
    for (const key of [undefined, null, 42, { x: 1 }]) {
      rejects(
        withChange((b) => (b.groups[0].approvers[1].device_public_key = key)),
        invalid('groups[0].approvers[1].device_public_key is required'),
      );
    }
  });

  test('device_public_key that is not a compressed P-256 point', () => {
    rejects(
      withChange((b) => (b.groups[0].approvers[1].device_public_key = 'Ag8xYz...')),
      invalid('groups[0].approvers[1].device_public_key must be a 33-byte compressed P-256 point in standard base64'),
    );
    for (const bad of keyVectors.invalid) {
      rejects(
        withChange((b) => (b.groups[0].approvers[1].device_public_key = bad.public_key)),
        invalid(`groups[0].approvers[1].${bad.error}`),
      );
    }
  });

  test('fingerprint that does not match the key', () => {
    rejects(
      withChange((b) => (b.groups[0].approvers[1].fingerprint = alice.fingerprint)),
      invalid(`fingerprint ${alice.fingerprint} does not match its device_public_key`),
    );
    const zeros = '0'.repeat(64);
    rejects(
      withChange((b) => (b.groups[1].approvers[0].fingerprint = zeros)),
      invalid(`fingerprint ${zeros} does not match its device_public_key`),
    );
  });

  test('same device in two groups', () => {
    rejects(
      withChange((b) => b.groups[2].approvers.push({ ...alice })),
      invalid(`device ${alice.fingerprint} appears in more than one group ("Engineering Leads" and "Operations")`),
    );
  });

  test('same device twice in one group', () => {
    rejects(
      withChange((b) => b.groups[0].approvers.push({ ...alice })),
      invalid(`device ${alice.fingerprint} appears twice in group "Engineering Leads"`),
    );
  });
});

describe('validateMpaRequest: action', () => {
  test('action must be an object', () => {
    for (const action of [undefined, null, [], 'cold_boot'])
      rejects(
        withChange((b) => (b.action = action)),
        invalid('action is required'),
      );
  });

  test('unknown action fields', () => {
    rejects(
      withChange((b) => (b.action.priority = 'high')),
      invalid('unknown field action.priority'),
    );
  });

  test('type and description are required, bounded and valid Unicode', () => {
    for (const [field, max] of [
      ['type', 100],
      ['description', 1000],
    ] as const) {
      for (const value of [undefined, '', ' \n ', 1, null]) {
        rejects(
          withChange((b) => (b.action[field] = value)),
          invalid(`action.${field} is required`),
        );
      }
      rejects(
        withChange((b) => (b.action[field] = 'a'.repeat(max + 1))),
        invalid(`action.${field} must be at most ${max} characters`),
      );
      rejects(
        withChange((b) => (b.action[field] = 'a\udc00')),
        invalid(`action.${field} is not valid Unicode`),
      );
    }
  });

  test('params must be an object', () => {
    for (const params of [[], 'engine_id=ENG-001', 5, true]) {
      rejects(
        withChange((b) => (b.action.params = params)),
        invalid('action.params must be an object'),
      );
    }
  });

  test('params must be flat strings, numbers and booleans', () => {
    for (const value of [{ nested: 'x' }, {}, ['ENG-001'], [], null, undefined, Infinity, NaN]) {
      rejects(
        withChange((b) => (b.action.params.engine = value)),
        invalid('action.params.engine must be a string, number or boolean'),
      );
    }
    const ok = validateMpaRequest(withChange((b) => Object.assign(b.action.params, { n: -1.5, zero: 0, yes: true, no: false, empty: '' })));
    assert.deepEqual(ok.action.params, { ...guideRequest().action.params, n: -1.5, zero: 0, yes: true, no: false, empty: '' });
  });

  test('params keys and string values must be valid Unicode', () => {
    rejects(
      withChange((b) => (b.action.params.note = 'x\ud83d')),
      invalid('action.params.note is not valid Unicode'),
    );
    rejects(
      withChange((b) => (b.action.params['k\ud800'] = 'v')),
      invalid('action.params keys must be valid Unicode'),
    );
  });

  test('action over 8192 bytes of canonical JSON', () => {
    const message = invalid('action must be at most 8192 bytes as JSON');
    const over = sizedAction(8193);
    assert.equal(Buffer.byteLength(canonicalize(over)), 8193);
    rejects(
      withChange((b) => (b.action = over)),
      message,
    );
    const euros = sizedAction(8193, '€');
    assert.ok(canonicalize(euros).length < 8192);
    rejects(
      withChange((b) => (b.action = euros)),
      message,
    );
    const quotes = sizedAction(8193, '"');
    assert.ok(canonicalize(quotes).length > 8192);
    rejects(
      withChange((b) => (b.action = quotes)),
      message,
    );
  });
});

describe('validateMpaRequest: only what an approver can see is accepted', () => {
  test('invisible and formatting characters are refused in every field shown, naming the character', () => {
    const cases: Array<[(b: any, text: string) => void, string]> = [
      [(b, t) => (b.action.description = `Cold boot${t} engine`), 'action.description'],
      [(b, t) => (b.action.type = `cold${t}boot`), 'action.type'],
      [(b, t) => (b.action.params.reason = `Scheduled${t}`), 'action.params.reason'],
      [(b, t) => (b.action.params[`note${t}`] = 'x'), `action.params key "note\u200b"`],
      [(b, t) => (b.groups[0].name = `Leads${t}`), 'groups[0].name'],
    ];
    for (const [change, field] of cases) {
      rejects(
        withChange((b) => change(b, '\u200b')),
        invalid(`${field} contains an invisible or formatting character (U+200B)`),
      );
    }
    for (const c of [
      '\u00ad',
      '\u180e',
      '\u3164',
      '\u115f',
      '\u1160',
      '\uffa0',
      '\ufff9',
      '\ufffb',
      '\u{e0041}',
      '\u202e',
      '\u2028',
      '\x1b',
      '\x00',
      '\ufe00',
    ]) {
      const name = `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
      rejects(
        withChange((b) => (b.action.description = `a${c}b`)),
        invalid(`action.description contains an invisible or formatting character (${name})`),
      );
    }
  });

  test('whitespace padding is accepted as sent (the screen collapses it)', () => {
    const padded = 'Harmless' + '\u00a0 '.repeat(400) + 'real';
    assert.equal(validateMpaRequest(withChange((b) => (b.action.description = padded))).action.description, padded);
  });

  test('params: at most 50, keys of at most 100 characters, values of at most 1000', () => {
    const many = Object.fromEntries(
      Array.from({ length: 51 }, (_, i) => [`k${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}`, i]),
    );
    rejects(
      withChange((b) => (b.action.params = many)),
      invalid('action.params may have at most 50 entries'),
    );
    rejects(
      withChange((b) => (b.action.params['k'.repeat(101)] = 1)),
      invalid('action.params keys must be at most 100 characters'),
    );
    rejects(
      withChange((b) => (b.action.params.reason = 'r'.repeat(1001))),
      invalid('action.params.reason must be at most 1000 characters'),
    );
    assert.ok(validateMpaRequest(withChange((b) => ((b.action.params.reason = 'r'.repeat(1000)), (b.action.params['k'.repeat(100)] = 1)))));
  });

  test('two params that would look alike on the screen are refused', () => {
    for (const [a, b2] of [
      ['amount', 'Amount'],
      ['engine_id', 'engine-id'],
      ['engine_id', 'Engine ID'],
      ['amount', 'аmount'],
      ['ticket', 'ＴＩＣＫＥＴ'],
    ]) {
      rejects(
        withChange((b) => (b.action.params = { [a!]: 1, [b2!]: 2 })),
        invalid(`action.params keys "${a}" and "${b2}" would look alike on the approval screen`),
      );
    }
  });

  test("a param cannot pass for the screen's own lines, and needs a letter or digit", () => {
    rejects(
      withChange((b) => (b.action.params.action_type = 'x')),
      invalid(`action.params key "action_type" would look like the approval screen's own "Action type" line`),
    );
    rejects(
      withChange((b) => (b.action.params['Your group'] = 'x')),
      invalid(`action.params key "Your group" would look like the approval screen's own "Your group" line`),
    );
    rejects(
      withChange((b) => (b.action.params['__'] = 'x')),
      invalid('action.params key "__" has no letter or digit to label it with'),
    );
  });
});

describe('actionDigest', () => {
  const params = fc.dictionary(
    fc.string({ unit: 'grapheme', maxLength: 10 }),
    fc.oneof(fc.string({ unit: 'grapheme' }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean()),
  );

  test('is the hex SHA-256 of the canonical action', () => {
    const { action } = validateMpaRequest(guideRequest());
    assert.equal(actionDigest(action), createHash('sha256').update(canonicalize(action)).digest('hex'));
    assert.match(actionDigest(action), /^[0-9a-f]{64}$/);
  });

  test('is stable under reordering of params and of the action members', () => {
    fc.assert(
      fc.property(params, fc.nat(), (p, rotate) => {
        const entries = Object.entries(p);
        const k = entries.length === 0 ? 0 : rotate % entries.length;
        const reordered = Object.fromEntries([...entries.slice(k), ...entries.slice(0, k)].reverse());
        const a = { type: 'deploy', description: 'Deploy', params: p };
        const b = { params: reordered, description: 'Deploy', type: 'deploy' };
        assert.equal(actionDigest(b), actionDigest(a));
      }),
      { numRuns: 300 },
    );
  });

  test('changes when any param value changes', () => {
    fc.assert(
      fc.property(
        params.filter((p) => Object.keys(p).length > 0),
        fc.nat(),
        (p, pick) => {
          const keys = Object.keys(p);
          const key = keys[pick % keys.length]!;
          const value = p[key]!;
          const changed = {
            ...p,
            [key]:
              typeof value === 'string' ? `${value}!` : typeof value === 'boolean' ? !value : value + 1 === value ? -value - 1 : value + 1,
          };
          assert.notEqual(
            actionDigest({ type: 't', description: 'd', params: changed }),
            actionDigest({ type: 't', description: 'd', params: p }),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  test('the validated guide action digests the same as its reordered input', () => {
    const { action } = validateMpaRequest(guideRequest());
    const reordered = {
      params: Object.fromEntries(Object.entries(action.params).reverse()),
      description: action.description,
      type: action.type,
    };
    assert.equal(actionDigest(reordered), actionDigest(action));
  });
});
