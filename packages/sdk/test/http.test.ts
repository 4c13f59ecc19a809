import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { SigilApiError, SigilAuth, SigilError, SigilNetworkError } from '../src/index.js';
import { backoff, parseRetryAfter } from '../src/http.js';
import { guideRequest } from './keys.js';
import { REQUEST_ID, sendError, sendJson, startFakeServer, view, type Handler } from './fake-server.js';
import { virtualTime } from './virtual-time.js';

const KEY = 'sgk_test_key';

async function setup(handler: Handler, options: { maxRetries?: number; timeoutMs?: number } = {}) {
  const server = await startFakeServer(handler);
  after(() => server.close());
  return { server, sigil: new SigilAuth({ serviceUrl: server.url, apiKey: KEY, ...options }) };
}

describe('retries', { timeout: 300_000 }, () => {
  test('503 twice, then success: three attempts', async () => {
    const { server, sigil } = await setup((_req, res, i) =>
      i < 2 ? sendError(res, 503, 'unavailable', 'storage is unavailable; retry shortly') : sendJson(res, 200, view()),
    );
    const got = await sigil.mpa.get(REQUEST_ID);
    assert.equal(got.request_id, REQUEST_ID);
    assert.equal(server.requests.length, 3);
    assert.ok(server.requests.every((r) => r.method === 'GET' && r.url === `/v1/mpa/requests/${REQUEST_ID}`));
  });

  test('gives up after maxRetries and throws the last API error', async () => {
    const { server, sigil } = await setup((_req, res) => sendError(res, 502, 'bad_gateway', 'upstream down'), { maxRetries: 2 });
    await assert.rejects(sigil.mpa.get(REQUEST_ID), (err: unknown) => {
      assert.ok(err instanceof SigilApiError);
      assert.equal(err.status, 502);
      assert.equal(err.code, 'bad_gateway');
      assert.equal(err.attempts, 3);
      return true;
    });
    assert.equal(server.requests.length, 3);
  });

  // The SDK's own backoff before a first retry is at most 200 ms: a retry that comes a second or
  // more later is the server's Retry-After being honoured (a lower bound, safe on a busy machine).
  test('Retry-After in seconds is honoured', async () => {
    const { server, sigil } = await setup((_req, res, i) =>
      i === 0 ? sendError(res, 429, 'rate_limited', 'slow down', undefined, { 'retry-after': '2' }) : sendJson(res, 200, view()),
    );
    await sigil.mpa.get(REQUEST_ID);
    assert.equal(server.requests.length, 2);
    const waited = server.requests[1]!.at - server.requests[0]!.at;
    assert.ok(waited >= 1990, `retried ${waited} ms after a Retry-After of 2 s`);
  });

  test('Retry-After: 0 retries at once; a Retry-After beyond 60 s is not waited for', async () => {
    // On virtual time (virtual-time.ts) the retry must come with no time passed at all; the SDK's
    // own backoff would have waited.
    const vt = virtualTime((_req, i) =>
      i === 0
        ? { status: 503, body: { error: { code: 'unavailable', message: 'x' } }, headers: { 'retry-after': '0' } }
        : { status: 200, body: view() },
    );
    try {
      const sigil = new SigilAuth({ serviceUrl: 'http://127.0.0.1:9', apiKey: KEY, fetch: vt.fetch });
      const { value, elapsed } = await vt.run(() => sigil.mpa.get(REQUEST_ID));
      assert.equal(value?.request_id, REQUEST_ID);
      assert.equal(elapsed, 0);
      assert.deepEqual(
        vt.requests.map((r) => r.at),
        [0, 0],
      );
    } finally {
      vt.dispose();
    }
    const { server, sigil } = await setup((_req, res) =>
      sendError(res, 429, 'rate_limited', 'come back in an hour', undefined, { 'retry-after': '3600' }),
    );
    await assert.rejects(sigil.mpa.get('hour'), (err: unknown) => {
      assert.ok(err instanceof SigilApiError);
      assert.equal(err.status, 429);
      assert.equal(err.retryAfterMs, 3_600_000);
      assert.equal(err.attempts, 1);
      return true;
    });
    assert.equal(server.requests.length, 1);
  });

  test('parseRetryAfter reads seconds and HTTP-dates', () => {
    const now = Date.parse('2026-04-24T10:00:00Z');
    assert.equal(parseRetryAfter('2', now), 2000);
    assert.equal(parseRetryAfter(' 0 ', now), 0);
    assert.equal(parseRetryAfter('Fri, 24 Apr 2026 10:00:03 GMT', now), 3000);
    assert.equal(parseRetryAfter('Fri, 24 Apr 2026 09:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter('-1', now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
  });

  test('an HTTP-date Retry-After is honoured', async () => {
    let retryAt = 0;
    const { server, sigil } = await setup((_req, res, i) => {
      if (i > 0) return sendJson(res, 200, view());
      // Whole seconds: at least 2 s from now.
      retryAt = (Math.floor(Date.now() / 1000) + 3) * 1000;
      sendError(res, 503, 'unavailable', 'x', undefined, { 'retry-after': new Date(retryAt).toUTCString() });
    });
    await sigil.mpa.get(REQUEST_ID);
    assert.equal(server.requests.length, 2);
    assert.ok(server.requests[1]!.at >= retryAt - 10, `retried ${retryAt - server.requests[1]!.at} ms before the date it was given`);
  });

  test('backoff is full jitter under an exponential cap of 5 s', () => {
    for (let attempt = 1; attempt <= 10; attempt++) {
      const cap = Math.min(5000, 200 * 2 ** (attempt - 1));
      for (let i = 0; i < 50; i++) {
        const d = backoff(attempt);
        assert.ok(d >= 0 && d <= cap, `attempt ${attempt}: ${d}`);
      }
    }
  });

  test('400 is not retried and carries the server error', async () => {
    const { server, sigil } = await setup((_req, res) =>
      sendError(res, 400, 'invalid_request', 'Invalid MPA request: device abc is not paired with this organisation', { field: 'groups' }),
    );
    await assert.rejects(sigil.mpa.request(guideRequest()), (err: unknown) => {
      assert.ok(err instanceof SigilApiError);
      assert.ok(err instanceof SigilError);
      assert.equal(err.name, 'SigilApiError');
      assert.equal(err.status, 400);
      assert.equal(err.code, 'invalid_request');
      assert.equal(err.message, 'Invalid MPA request: device abc is not paired with this organisation');
      assert.deepEqual(err.details, { field: 'groups' });
      assert.equal(err.attempts, 1);
      return true;
    });
    assert.equal(server.requests.length, 1);
  });

  test('other 4xx (401, 404, 409) are not retried', async () => {
    for (const [status, code] of [
      [401, 'unauthorized'],
      [404, 'not_found'],
      [409, 'request_completed'],
    ] as const) {
      const { server, sigil } = await setup((_req, res) => sendError(res, status, code, 'no'));
      await assert.rejects(
        sigil.mpa.get(REQUEST_ID),
        (err: unknown) => err instanceof SigilApiError && err.status === status && err.code === code,
      );
      assert.equal(server.requests.length, 1);
    }
  });

  test('a non-JSON error body still gives a SigilApiError', async () => {
    const { sigil } = await setup(
      (_req, res) => {
        res.writeHead(500, { 'content-type': 'text/html' });
        res.end('<html>oops</html>');
      },
      { maxRetries: 0 },
    );
    await assert.rejects(
      sigil.mpa.get(REQUEST_ID),
      (err: unknown) => err instanceof SigilApiError && err.status === 500 && err.code === 'http_500',
    );
  });

  test('redirects are not followed', async () => {
    const { server, sigil } = await setup((_req, res) => {
      res.writeHead(301, { location: 'https://elsewhere.example/v1/devices' });
      res.end();
    });
    await assert.rejects(
      sigil.devices.list(),
      (err: unknown) => err instanceof SigilApiError && err.code === 'unexpected_redirect' && err.status === 301,
    );
    assert.equal(server.requests.length, 1);
  });
});

describe('idempotency', { timeout: 300_000 }, () => {
  test('one create keeps its Idempotency-Key across retries; each create gets a new one', async () => {
    let calls = 0;
    const { server, sigil } = await setup((_req, res) => {
      calls++;
      // The first create fails twice (the second time as a dropped connection), the second succeeds at once.
      if (calls === 1) return sendError(res, 503, 'unavailable', 'retry');
      if (calls === 2) return void res.socket?.destroy();
      sendJson(res, 201, view());
    });
    const body = guideRequest();
    const created = await sigil.mpa.request(body);
    assert.equal(created.status, 'pending');
    await sigil.mpa.request(body);
    assert.equal(server.requests.length, 4);
    const keys = server.requests.map((r) => r.headers['idempotency-key']);
    assert.match(keys[0] as string, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(keys[1], keys[0]);
    assert.equal(keys[2], keys[0]);
    assert.notEqual(keys[3], keys[0]);
    for (const r of server.requests) {
      assert.equal(r.method, 'POST');
      assert.equal(r.url, '/v1/mpa/requests');
      assert.equal(r.headers['content-type'], 'application/json');
      assert.deepEqual(r.json, body);
    }
  });

  test('a caller-chosen Idempotency-Key is sent as is', async () => {
    const { server, sigil } = await setup((_req, res) => sendJson(res, 201, view()));
    await sigil.mpa.request(guideRequest(), { idempotencyKey: 'cold-boot-ENG-001-MAINT-1234' });
    assert.equal(server.requests[0]!.headers['idempotency-key'], 'cold-boot-ENG-001-MAINT-1234');
  });

  test('a POST without an idempotency key (pairing) is retried on 429 but not on 503', async () => {
    const { server, sigil } = await setup((_req, res, i) =>
      i === 0
        ? sendError(res, 429, 'rate_limited', 'x', undefined, { 'retry-after': '0' })
        : sendError(res, 503, 'pairing_capacity', 'too many pairings'),
    );
    await assert.rejects(
      sigil.pairings.create(),
      (err: unknown) => err instanceof SigilApiError && err.code === 'pairing_capacity' && err.attempts === 2,
    );
    assert.equal(server.requests.length, 2);
  });
});

describe('network failures', { timeout: 300_000 }, () => {
  test('dropped connections become a SigilNetworkError after all retries', async () => {
    const { server, sigil } = await setup((_req, res) => void res.socket?.destroy(), { maxRetries: 2 });
    await assert.rejects(sigil.mpa.get(REQUEST_ID), (err: unknown) => {
      assert.ok(err instanceof SigilNetworkError);
      assert.ok(err instanceof SigilError);
      assert.equal(err.code, 'network_error');
      assert.equal(err.status, undefined);
      assert.equal(err.attempts, 3);
      return true;
    });
    assert.equal(server.requests.length, 3);
  });

  test('a refused connection is a SigilNetworkError too', async () => {
    const server = await startFakeServer((_req, res) => sendJson(res, 200, {}));
    await server.close();
    const sigil = new SigilAuth({ serviceUrl: server.url, apiKey: KEY, maxRetries: 1 });
    await assert.rejects(
      sigil.pairings.create({ name: 'x' }),
      (err: unknown) => err instanceof SigilNetworkError && err.attempts === 2 && /ECONNREFUSED/.test(err.message),
    );
  });

  test('the per-request timeout aborts a hung request, which is retried', async () => {
    // Long enough for each attempt to reach the server on a busy machine before it is aborted.
    const { server, sigil } = await setup(() => undefined, { maxRetries: 1, timeoutMs: 1_000 });
    await assert.rejects(
      sigil.mpa.get(REQUEST_ID),
      (err: unknown) => err instanceof SigilNetworkError && err.code === 'timeout' && err.attempts === 2,
    );
    assert.equal(server.requests.length, 2);
  });

  test("the caller's AbortSignal stops the call and its retries", async () => {
    const controller = new AbortController();
    // Aborted once the first attempt has been answered, while the client waits out Retry-After.
    const { server, sigil } = await setup((_req, res) => {
      res.on('finish', () => controller.abort(new Error('stop')));
      sendError(res, 503, 'unavailable', 'x', undefined, { 'retry-after': '5' });
    });
    await assert.rejects(sigil.mpa.get(REQUEST_ID, { signal: controller.signal }), /stop/);
    assert.equal(server.requests.length, 1);
  });
});
