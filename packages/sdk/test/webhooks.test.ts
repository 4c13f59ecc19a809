import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { generateWebhookSecret, webhookHeaders } from '@sigilauth/protocol';
import { SigilAuth, WebhookVerificationError, type AnomalyFlagKind, type WebhookEvent } from '../src/index.js';

const sigil = new SigilAuth({ serviceUrl: 'https://sigil.example.com', apiKey: 'sgk_test_key' });
const now = () => Math.floor(Date.now() / 1000);

const approved = {
  type: 'mpa.approved',
  request_id: '7c3e5f9a-2b4d-4a1e-8f6c-9d2a1b3c4e5f',
  status: 'approved',
  groups_satisfied: ['Engineering Leads', 'Security Team'],
  groups_required: 2,
  groups_total: 3,
  action: { type: 'cold_boot', description: 'Cold boot engine ENG-001', params: { engine_id: 'ENG-001' } },
  timestamp: '2026-04-24T10:35:42Z',
};

function signed(event: unknown, secrets = [generateWebhookSecret()], at = now()) {
  const body = JSON.stringify(event);
  return { body, secret: secrets[0]!, headers: webhookHeaders(secrets, 'evt_0123456789abcdef', at, body) };
}

describe('webhooks.verify', { timeout: 300_000 }, () => {
  test('returns the typed event for a correctly signed delivery', () => {
    const { body, secret, headers } = signed(approved);
    const event: WebhookEvent = sigil.webhooks.verify(body, headers, secret);
    assert.deepEqual(event, approved);
    if (event.type === 'mpa.approved') {
      const names: string[] = event.groups_satisfied;
      assert.deepEqual(names, ['Engineering Leads', 'Security Team']);
    } else {
      assert.fail('expected mpa.approved');
    }
  });

  test('accepts Buffer bodies, Node-style headers of any case, and fetch Headers', () => {
    const { body, secret, headers } = signed(approved);
    const upper = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    assert.deepEqual(sigil.webhooks.verify(Buffer.from(body), upper, secret), approved);
    assert.deepEqual(sigil.webhooks.verify(new TextEncoder().encode(body), new Headers(headers), secret), approved);
  });

  test('mpa.flagged narrows to the flag kinds and the group, with no status', () => {
    const flagged = {
      type: 'mpa.flagged',
      request_id: approved.request_id,
      group: 'Security Team',
      flags: ['rubber_stamp', 'new_network'],
      extra_group_required: true,
      groups_required: 3,
      groups_total: 3,
      timestamp: '2026-04-24T10:35:40Z',
    };
    const { body, secret, headers } = signed(flagged);
    const event: WebhookEvent = sigil.webhooks.verify(body, headers, secret);
    assert.deepEqual(event, flagged);
    if (event.type !== 'mpa.flagged') return assert.fail('expected mpa.flagged');
    const kinds: AnomalyFlagKind[] = event.flags;
    assert.deepEqual([kinds, event.group, event.extra_group_required], [['rubber_stamp', 'new_network'], 'Security Team', true]);
  });

  test('device events verify too', () => {
    const paired = {
      type: 'device.paired',
      fingerprint: 'f'.repeat(64),
      device_public_key: 'A'.repeat(43) + '=',
      name: 'Alice phone',
      pairing_id: 'p',
      timestamp: '2026-04-24T10:35:42Z',
    };
    const { body, secret, headers } = signed(paired);
    const event = sigil.webhooks.verify(body, headers, secret);
    assert.equal(event.type, 'device.paired');
  });

  test('during a secret rotation either secret verifies', () => {
    const [oldSecret, newSecret] = [generateWebhookSecret(), generateWebhookSecret()];
    const { body, headers } = signed(approved, [oldSecret, newSecret]);
    assert.deepEqual(sigil.webhooks.verify(body, headers, oldSecret), approved);
    assert.deepEqual(sigil.webhooks.verify(body, headers, newSecret), approved);
  });

  test('a tampered body, a wrong secret or a tampered signature is refused', () => {
    const { body, secret, headers } = signed(approved);
    const invalidSignature = (err: unknown) => err instanceof WebhookVerificationError && err.code === 'invalid_signature';
    assert.throws(() => sigil.webhooks.verify(body.replace('approved', 'rejected'), headers, secret), invalidSignature);
    assert.throws(() => sigil.webhooks.verify(body, headers, generateWebhookSecret()), invalidSignature);
    const sig = headers['webhook-signature'];
    const flipped = sig.slice(0, -2) + (sig.at(-2) === 'A' ? 'B' : 'A') + sig.at(-1);
    assert.throws(() => sigil.webhooks.verify(body, { ...headers, 'webhook-signature': flipped }, secret), invalidSignature);
    assert.throws(() => sigil.webhooks.verify(body, { ...headers, 'webhook-id': 'evt_other' }, secret), invalidSignature);
  });

  test('missing headers, stale timestamps and bad secrets have their own codes', () => {
    const { body, secret, headers } = signed(approved, undefined, now() - 600);
    const code = (c: string) => (err: unknown) => err instanceof WebhookVerificationError && err.code === c;
    assert.throws(() => sigil.webhooks.verify(body, headers, secret), code('timestamp_out_of_tolerance'));
    assert.deepEqual(sigil.webhooks.verify(body, headers, secret, { toleranceSeconds: 900 }), approved);
    assert.throws(() => sigil.webhooks.verify(body, { 'webhook-id': headers['webhook-id'] }, secret), code('missing_headers'));
    assert.throws(() => sigil.webhooks.verify(body, headers, 'not-a-secret!'), code('invalid_secret'));
  });

  test('a signed body that is not an event object is refused', () => {
    for (const value of [[1, 2], 'mpa.approved', { no_type: true }]) {
      const { body, secret, headers } = signed(value);
      assert.throws(
        () => sigil.webhooks.verify(body, headers, secret),
        (err: unknown) => err instanceof WebhookVerificationError && err.code === 'invalid_body',
      );
    }
  });

  test('parsed JSON instead of the raw body is a clear programming error', () => {
    const { secret, headers } = signed(approved);
    assert.throws(() => sigil.webhooks.verify(approved as unknown as string, headers, secret), /raw request body/);
  });
});
