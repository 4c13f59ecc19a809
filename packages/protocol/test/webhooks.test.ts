import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import {
  WebhookVerificationError,
  generateWebhookSecret,
  signWebhook,
  verifyWebhook,
  webhookHeaders,
  type WebhookVerificationErrorCode,
} from '../src/webhooks.js';

// The published Standard Webhooks example vector.
const SPEC_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const SPEC_ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const SPEC_TIMESTAMP = 1614265330;
const SPEC_BODY = '{"test": 2432232314}';
const SPEC_SIGNATURE = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';

const BODY = JSON.stringify({ type: 'request.approved', data: { id: 'req_1', note: 'naïve ✓' } });
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

function rejectsWith(code: WebhookVerificationErrorCode, run: () => unknown): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof WebhookVerificationError, `expected WebhookVerificationError, got ${String(error)}`);
    assert.ok(error instanceof Error);
    assert.equal(error.code, code);
    return true;
  });
}

test('known answer: the Standard Webhooks example vector', () => {
  assert.equal(signWebhook(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY), SPEC_SIGNATURE);
  const headers = webhookHeaders([SPEC_SECRET], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY);
  assert.deepEqual(headers, {
    'webhook-id': SPEC_ID,
    'webhook-timestamp': '1614265330',
    'webhook-signature': SPEC_SIGNATURE,
  });
  assert.deepEqual(verifyWebhook(SPEC_BODY, headers, SPEC_SECRET, { now: SPEC_TIMESTAMP }), {
    test: 2432232314,
  });
});

test('generated secrets are whsec_ + base64 of 32 random bytes', () => {
  const a = generateWebhookSecret();
  const b = generateWebhookSecret();
  assert.notEqual(a, b);
  for (const secret of [a, b]) {
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(Buffer.from(secret.slice('whsec_'.length), 'base64').length, 32);
  }
});

test('interop: the standardwebhooks package verifies our headers', () => {
  const secret = generateWebhookSecret();
  const headers = webhookHeaders([secret], 'msg_interop_1', nowSeconds(), BODY);
  assert.deepEqual(new Webhook(secret).verify(BODY, { ...headers }), JSON.parse(BODY));
});

test('interop: our verifyWebhook accepts what the standardwebhooks package signs', () => {
  const secret = generateWebhookSecret();
  const timestamp = new Date();
  const signature = new Webhook(secret).sign('msg_interop_2', timestamp, BODY);
  const headers = {
    'webhook-id': 'msg_interop_2',
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': signature,
  };
  assert.deepEqual(verifyWebhook(BODY, headers, secret), JSON.parse(BODY));
});

test('interop: both sides agree on the spec vector', () => {
  assert.equal(new Webhook(SPEC_SECRET).sign(SPEC_ID, new Date(SPEC_TIMESTAMP * 1000), SPEC_BODY), SPEC_SIGNATURE);
});

test('rotation: headers signed with old and new secrets verify under either', () => {
  const oldSecret = generateWebhookSecret();
  const newSecret = generateWebhookSecret();
  const timestamp = nowSeconds();
  const headers = webhookHeaders([oldSecret, newSecret], 'msg_rotate', timestamp, BODY);
  const signatures = headers['webhook-signature'].split(' ');
  assert.equal(signatures.length, 2);
  assert.equal(signatures[0], signWebhook(oldSecret, 'msg_rotate', timestamp, BODY));
  assert.equal(signatures[1], signWebhook(newSecret, 'msg_rotate', timestamp, BODY));

  for (const secret of [oldSecret, newSecret]) {
    assert.deepEqual(verifyWebhook(BODY, headers, secret), JSON.parse(BODY));
    assert.deepEqual(new Webhook(secret).verify(BODY, { ...headers }), JSON.parse(BODY));
  }
  rejectsWith('invalid_signature', () => verifyWebhook(BODY, headers, generateWebhookSecret()));
});

test('unknown signature versions are skipped, a matching v1 among them is enough', () => {
  const secret = generateWebhookSecret();
  const timestamp = nowSeconds();
  const v1 = signWebhook(secret, 'msg_versions', timestamp, BODY);
  const headers = {
    'webhook-id': 'msg_versions',
    'webhook-timestamp': String(timestamp),
    'webhook-signature': `v1a,${v1.slice(3)} v2,${v1.slice(3)} v1,bm9wZQ== ${v1}`,
  };
  assert.deepEqual(verifyWebhook(BODY, headers, secret), JSON.parse(BODY));
  headers['webhook-signature'] = `v1a,${v1.slice(3)} v2,${v1.slice(3)}`;
  rejectsWith('invalid_signature', () => verifyWebhook(BODY, headers, secret));
});

test('header names are matched without regard to case, and arrays are accepted', () => {
  const secret = generateWebhookSecret();
  const headers = webhookHeaders([secret], 'msg_case', nowSeconds(), BODY);
  const shouty = {
    'Webhook-Id': headers['webhook-id'],
    'WEBHOOK-TIMESTAMP': [headers['webhook-timestamp']],
    'Webhook-Signature': headers['webhook-signature'],
  };
  assert.deepEqual(verifyWebhook(BODY, shouty, secret), JSON.parse(BODY));
});

test('a tampered body is rejected', () => {
  const secret = generateWebhookSecret();
  const headers = webhookHeaders([secret], 'msg_tamper', nowSeconds(), BODY);
  const tampered = BODY.replace('approved', 'rejected');
  assert.notEqual(tampered, BODY);
  rejectsWith('invalid_signature', () => verifyWebhook(tampered, headers, secret));
  rejectsWith('invalid_signature', () => verifyWebhook(`${BODY} `, headers, secret));
});

test('a tampered id or timestamp is rejected', () => {
  const secret = generateWebhookSecret();
  const timestamp = nowSeconds();
  const headers = webhookHeaders([secret], 'msg_original', timestamp, BODY);
  rejectsWith('invalid_signature', () => verifyWebhook(BODY, { ...headers, 'webhook-id': 'msg_other' }, secret));
  rejectsWith('invalid_signature', () => verifyWebhook(BODY, { ...headers, 'webhook-timestamp': String(timestamp - 1) }, secret));
});

test('the wrong secret is rejected', () => {
  const headers = webhookHeaders([generateWebhookSecret()], 'msg_wrong', nowSeconds(), BODY);
  rejectsWith('invalid_signature', () => verifyWebhook(BODY, headers, generateWebhookSecret()));
});

test('timestamps outside the tolerance are rejected, both old and future', () => {
  const secret = generateWebhookSecret();
  const now = 1_700_000_000;
  const at = (timestamp: number) => webhookHeaders([secret], 'msg_time', timestamp, BODY);

  assert.deepEqual(verifyWebhook(BODY, at(now - 300), secret, { now }), JSON.parse(BODY));
  assert.deepEqual(verifyWebhook(BODY, at(now + 300), secret, { now }), JSON.parse(BODY));
  rejectsWith('timestamp_out_of_tolerance', () => verifyWebhook(BODY, at(now - 301), secret, { now }));
  rejectsWith('timestamp_out_of_tolerance', () => verifyWebhook(BODY, at(now + 301), secret, { now }));
  rejectsWith('timestamp_out_of_tolerance', () => verifyWebhook(BODY, at(now - 60), secret, { now, toleranceSeconds: 30 }));
  assert.deepEqual(verifyWebhook(BODY, at(now - 3600), secret, { now, toleranceSeconds: 3600 }), JSON.parse(BODY));
  // Against the real clock: an hour-old message is stale, one an hour ahead is too new.
  rejectsWith('timestamp_out_of_tolerance', () => verifyWebhook(BODY, at(nowSeconds() - 3600), secret));
  rejectsWith('timestamp_out_of_tolerance', () => verifyWebhook(BODY, at(nowSeconds() + 3600), secret));
});

test('a malformed timestamp is rejected', () => {
  const secret = generateWebhookSecret();
  const headers = webhookHeaders([secret], 'msg_ts', nowSeconds(), BODY);
  for (const bad of ['soon', '1.7e9', '-5', '0x65000000', `${headers['webhook-timestamp']}.5`]) {
    rejectsWith('invalid_timestamp', () => verifyWebhook(BODY, { ...headers, 'webhook-timestamp': bad }, secret));
  }
});

test('missing headers are rejected', () => {
  const secret = generateWebhookSecret();
  const headers = webhookHeaders([secret], 'msg_missing', nowSeconds(), BODY);
  for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const) {
    const without: Record<string, string | undefined> = { ...headers };
    delete without[name];
    rejectsWith('missing_headers', () => verifyWebhook(BODY, without, secret));
    rejectsWith('missing_headers', () => verifyWebhook(BODY, { ...headers, [name]: '' }, secret));
    rejectsWith('missing_headers', () => verifyWebhook(BODY, { ...headers, [name]: undefined }, secret));
  }
  rejectsWith('missing_headers', () => verifyWebhook(BODY, {}, secret));
});

test('a malformed secret is rejected as invalid_secret', () => {
  const headers = webhookHeaders([generateWebhookSecret()], 'msg_secret', nowSeconds(), BODY);
  for (const bad of ['', 'whsec_', 'whsec_not base64!', 'whsec_abc']) {
    rejectsWith('invalid_secret', () => verifyWebhook(BODY, headers, bad));
    assert.throws(() => signWebhook(bad, 'msg_secret', nowSeconds(), BODY), TypeError);
  }
});

test('a correctly signed body that is not JSON is rejected as invalid_body', () => {
  const secret = generateWebhookSecret();
  const body = 'not json';
  const headers = webhookHeaders([secret], 'msg_body', nowSeconds(), body);
  rejectsWith('invalid_body', () => verifyWebhook(body, headers, secret));
});

test('signing refuses ids and timestamps that cannot go into headers', () => {
  const secret = generateWebhookSecret();
  assert.throws(() => signWebhook(secret, '', 1, BODY), TypeError);
  assert.throws(() => signWebhook(secret, 'msg\r\nx-injected: 1', 1, BODY), TypeError);
  assert.throws(() => signWebhook(secret, 'msg_1', 1.5, BODY), TypeError);
  assert.throws(() => signWebhook(secret, 'msg_1', -1, BODY), TypeError);
  assert.throws(() => webhookHeaders([], 'msg_1', 1, BODY), TypeError);
});
