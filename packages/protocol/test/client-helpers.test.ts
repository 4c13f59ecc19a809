import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, normalizeServiceUrl, ServiceUrlError } from '../src/index.js';

test('a server URL has one canonical form', () => {
  assert.equal(normalizeServiceUrl('https://Sigil.Example.com/').url, 'https://sigil.example.com');
  assert.equal(normalizeServiceUrl('http://127.0.0.1:8080/base//').url, 'http://127.0.0.1:8080/base');
  assert.equal(normalizeServiceUrl('https://sigil.example.com:443').url, 'https://sigil.example.com');
  const refused: Array<[string, ServiceUrlError['problem']]> = [
    ['not a url', 'invalid'],
    ['ftp://sigil.example.com', 'scheme'],
    ['https://user:pw@sigil.example.com', 'credentials'],
    ['https://sigil.example.com/?x=1', 'query'],
    ['https://sigil.example.com/#top', 'query'],
  ];
  for (const [input, problem] of refused) {
    assert.throws(
      () => normalizeServiceUrl(input, 'serviceUrl'),
      (err: unknown) => err instanceof ServiceUrlError && err.problem === problem && err.message.startsWith('serviceUrl '),
      input,
    );
  }
});

test('backoff: uniform up to base × 2^attempt, capped', () => {
  assert.equal(
    backoffDelay(0, 200, 5000, () => 1),
    200,
  );
  assert.equal(
    backoffDelay(3, 200, 5000, () => 1),
    1600,
  );
  assert.equal(
    backoffDelay(10, 200, 5000, () => 1),
    5000,
  );
  assert.equal(
    backoffDelay(10_000, 200, 5000, () => 1),
    5000,
    'a huge attempt count does not overflow',
  );
  assert.equal(
    backoffDelay(-1, 200, 5000, () => 1),
    200,
  );
  assert.equal(
    backoffDelay(4, 200, 5000, () => 0),
    0,
  );
  assert.equal(
    backoffDelay(2, 200, 5000, () => 0.5),
    400,
  );
});
