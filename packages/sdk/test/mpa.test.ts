import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { MpaValidationError } from '@sigilauth/protocol';
import { AwaitTimeoutError, SigilApiError, SigilAuth, SigilError, SigilValidationError, type MpaRequestInput } from '../src/index.js';
import { guideRequest } from './keys.js';
import { REQUEST_ID, sendError, sendJson, startFakeServer, view, type Handler } from './fake-server.js';
import { virtualTime } from './virtual-time.js';

async function setup(handler: Handler) {
  const server = await startFakeServer(handler);
  after(() => server.close());
  return { server, sigil: new SigilAuth({ serviceUrl: server.url, apiKey: 'sgk_test_key' }) };
}

function isValidationError(message: string) {
  return (err: unknown) => {
    assert.ok(err instanceof SigilValidationError);
    assert.ok(err instanceof SigilError);
    assert.equal(err.name, 'SigilValidationError');
    assert.equal(err.code, 'invalid_request');
    assert.equal(err.status, undefined);
    assert.equal(err.message, message);
    assert.ok(err.cause instanceof MpaValidationError);
    return true;
  };
}

describe('mpa.request', { timeout: 300_000 }, () => {
  test("invalid requests throw the guide's messages before any HTTP call", async () => {
    const { server, sigil } = await setup((_req, res) => sendJson(res, 201, view()));
    await assert.rejects(
      sigil.mpa.request({ ...guideRequest(), required: 4 }),
      isValidationError('Invalid MPA request: required cannot exceed number of groups'),
    );
    for (const expires_in_seconds of [59, 30, 901, 3600, 60.5]) {
      await assert.rejects(
        sigil.mpa.request({ ...guideRequest(), expires_in_seconds }),
        isValidationError('Invalid expires_in_seconds: must be between 60 and 900'),
      );
    }
    const noAction = { required: 1, groups: guideRequest().groups } as unknown as MpaRequestInput;
    await assert.rejects(sigil.mpa.request(noAction), isValidationError('Invalid MPA request: action is required'));
    const badFingerprint = guideRequest();
    badFingerprint.groups = [{ name: 'Security Team', approvers: [{ fingerprint: 'abc123...', device_public_key: 'Ag8xYz...' }] }];
    badFingerprint.required = 1;
    await assert.rejects(
      sigil.mpa.request(badFingerprint),
      isValidationError('Invalid MPA request: groups[0].approvers[0].fingerprint must be 64 lower-case hex characters'),
    );
    assert.equal(server.requests.length, 0);
  });

  test('required may equal the number of groups, and expires_in_seconds 60 and 900 are accepted', async () => {
    const { server, sigil } = await setup((_req, res) => sendJson(res, 201, view()));
    await sigil.mpa.request({ ...guideRequest(), required: 3, expires_in_seconds: 60 });
    await sigil.mpa.request({ ...guideRequest(), expires_in_seconds: 900 });
    assert.equal(server.requests.length, 2);
  });

  test('POSTs the body as given and returns the created request', async () => {
    const created = view({ groups_required: 2, groups_total: 3 });
    const { server, sigil } = await setup((_req, res) => sendJson(res, 201, created));
    const body = guideRequest();
    const result = await sigil.mpa.request(body);
    assert.deepEqual(result, created);
    assert.equal(result.groups_required, 2);
    assert.equal(result.groups_total, 3);
    assert.deepEqual(server.requests[0]!.json, body);
  });
});

describe('mpa.get, list and cancel', { timeout: 300_000 }, () => {
  test('get encodes the id; list sends its filters', async () => {
    const { server, sigil } = await setup((req, res) =>
      req.url.startsWith('/v1/mpa/requests?') ? sendJson(res, 200, { data: [view()], next_cursor: 'abc' }) : sendJson(res, 200, view()),
    );
    await sigil.mpa.get('a/b?c');
    assert.equal(server.requests[0]!.url, '/v1/mpa/requests/a%2Fb%3Fc');
    const page = await sigil.mpa.list({ status: 'pending', limit: 10, cursor: 'xyz' });
    assert.equal(page.next_cursor, 'abc');
    assert.equal(page.data[0]!.request_id, REQUEST_ID);
    assert.equal(server.requests[1]!.url, '/v1/mpa/requests?status=pending&limit=10&cursor=xyz');
    await sigil.mpa.list();
    assert.equal(server.requests[2]!.url, '/v1/mpa/requests');
    await assert.rejects(sigil.mpa.list({ limit: 101 }), SigilValidationError);
    await assert.rejects(sigil.mpa.get(''), SigilValidationError);
    assert.equal(server.requests.length, 3);
  });

  test('cancel POSTs to /cancel and returns the cancelled request', async () => {
    const { server, sigil } = await setup((_req, res) => sendJson(res, 200, view({ status: 'cancelled' })));
    const cancelled = await sigil.mpa.cancel(REQUEST_ID);
    assert.equal(cancelled.status, 'cancelled');
    assert.equal(server.requests[0]!.method, 'POST');
    assert.equal(server.requests[0]!.url, `/v1/mpa/requests/${REQUEST_ID}/cancel`);
  });

  test('cancelling a finished request throws the 409 at once', async () => {
    const { server, sigil } = await setup((_req, res) =>
      sendError(res, 409, 'request_completed', 'MPA request is already cancelled', { status: 'cancelled' }),
    );
    await assert.rejects(sigil.mpa.cancel(REQUEST_ID), (err: unknown) => {
      assert.ok(err instanceof SigilApiError);
      assert.equal(err.status, 409);
      assert.equal(err.code, 'request_completed');
      assert.deepEqual(err.details, { status: 'cancelled' });
      return true;
    });
    assert.equal(server.requests.length, 1);
  });

  test('a retried cancel that meets 409 cancelled succeeds by fetching the request', async () => {
    let cancelled = false;
    const { server, sigil } = await setup((req, res) => {
      if (req.method === 'GET') return sendJson(res, 200, view({ status: cancelled ? 'cancelled' : 'pending' }));
      if (!cancelled) {
        cancelled = true; // the cancel takes effect, but its response is lost
        return void res.socket?.destroy();
      }
      sendError(res, 409, 'request_completed', 'MPA request is already cancelled', { status: 'cancelled' });
    });
    const result = await sigil.mpa.cancel(REQUEST_ID);
    assert.equal(result.status, 'cancelled');
    assert.deepEqual(
      server.requests.map((r) => r.method),
      ['POST', 'POST', 'GET'],
    );
  });

  test('a retried cancel that meets 409 approved still throws', async () => {
    const { sigil } = await setup((_req, res, i) =>
      i === 0
        ? sendError(res, 503, 'unavailable', 'x', undefined, { 'retry-after': '0' })
        : sendError(res, 409, 'request_completed', 'MPA request is already approved', { status: 'approved' }),
    );
    await assert.rejects(
      sigil.mpa.cancel(REQUEST_ID),
      (err: unknown) => err instanceof SigilApiError && err.status === 409 && err.details?.status === 'approved',
    );
  });
});

describe('mpa.awaitResult', { timeout: 300_000 }, () => {
  test('polls until the request is no longer pending', async () => {
    const { server, sigil } = await setup((_req, res, i) =>
      sendJson(res, 200, i < 3 ? view() : view({ status: 'approved', groups_satisfied: ['Engineering Leads', 'Security Team'] })),
    );
    const result = await sigil.mpa.awaitResult(REQUEST_ID, { pollInterval: 20 });
    assert.equal(result.status, 'approved');
    assert.deepEqual(result.groups_satisfied, ['Engineering Leads', 'Security Team']);
    assert.equal(server.requests.length, 4);
  });

  test('resolves with rejected, timeout and cancelled results too', async () => {
    for (const status of ['rejected', 'timeout', 'cancelled'] as const) {
      const { server, sigil } = await setup((_req, res, i) => sendJson(res, 200, view(i === 0 ? {} : { status })));
      const result = await sigil.mpa.awaitResult(REQUEST_ID, { pollInterval: 10, timeout: 5000 });
      assert.equal(result.status, status);
      assert.equal(server.requests.length, 2);
    }
  });

  test('works with no options', async () => {
    const { sigil } = await setup((_req, res) => sendJson(res, 200, view({ status: 'approved' })));
    const result = await sigil.mpa.awaitResult(REQUEST_ID);
    assert.equal(result.status, 'approved');
  });

  // The timing tests run on virtual time (virtual-time.ts): exact, and indifferent to load.
  const onVirtualTime = async (answer: Parameters<typeof virtualTime>[0], call: (sigil: SigilAuth) => Promise<unknown>) => {
    const vt = virtualTime(answer);
    try {
      const sigil = new SigilAuth({ serviceUrl: 'http://127.0.0.1:9', apiKey: 'sgk_test_key', fetch: vt.fetch });
      return { ...(await vt.run(() => call(sigil))), polls: vt.requests.map((r) => r.at) };
    } finally {
      vt.dispose();
    }
  };
  const pending = (overrides: Record<string, unknown> = {}) => ({
    status: 200,
    body: view({ expires_at: '2026-04-24T11:00:00.000Z', ...overrides }),
  });

  test('throws AwaitTimeoutError when its own timeout passes first: polls every interval, the last at the deadline', async () => {
    const { error, elapsed, polls } = await onVirtualTime(
      () => pending(),
      (sigil) => sigil.mpa.awaitResult(REQUEST_ID, { pollInterval: 30, timeout: 200 }),
    );
    assert.ok(error instanceof AwaitTimeoutError);
    assert.ok(error instanceof SigilError);
    assert.equal(error.code, 'await_timeout');
    assert.equal(error.requestId, REQUEST_ID);
    assert.equal(error.lastSeen?.status, 'pending');
    assert.equal(elapsed, 200);
    assert.deepEqual(polls, [0, 30, 60, 90, 120, 150, 180, 200]);
  });

  test('never sleeps past its timeout', async () => {
    const { error, elapsed, polls } = await onVirtualTime(
      () => pending(),
      (sigil) => sigil.mpa.awaitResult(REQUEST_ID, { pollInterval: 60_000, timeout: 150 }),
    );
    assert.ok(error instanceof AwaitTimeoutError);
    assert.equal(elapsed, 150);
    assert.deepEqual(polls, [0, 150], 'one poll at the start, one at the deadline');
  });

  test("polls just after the request's expires_at instead of waiting out the interval", async () => {
    // expires_at is 300 ms after the virtual clock starts.
    const expiresAt = '2026-04-24T10:00:00.300Z';
    const { value, polls } = await onVirtualTime(
      ({ at }) => pending({ expires_at: expiresAt, status: at >= 300 ? 'timeout' : 'pending' }),
      (sigil) => sigil.mpa.awaitResult(REQUEST_ID, { pollInterval: 60_000 }),
    );
    assert.equal((value as { status: string }).status, 'timeout');
    assert.deepEqual(polls, [0, 400], 'the second poll 100 ms after expires_at');
  });

  test('a server that stays unavailable past the timeout gives AwaitTimeoutError, with the error as cause', async () => {
    const { error, elapsed, polls } = await onVirtualTime(
      (_req, i) =>
        i === 0
          ? pending()
          : { status: 503, body: { error: { code: 'unavailable', message: 'storage is unavailable' } }, headers: { 'retry-after': '1' } },
      (sigil) => sigil.mpa.awaitResult(REQUEST_ID, { pollInterval: 50, timeout: 300 }),
    );
    assert.ok(error instanceof AwaitTimeoutError);
    assert.ok(error.cause instanceof SigilApiError && error.cause.status === 503);
    assert.equal(error.lastSeen?.status, 'pending');
    assert.equal(elapsed, 300, 'gave up at the deadline: the 1 s Retry-After would have passed it');
    assert.deepEqual(polls, [0, 50]);
  });

  test('a persistent server error ends the wait with that error', async () => {
    const { sigil } = await setup((_req, res) => sendError(res, 404, 'not_found', 'MPA request not found'));
    await assert.rejects(
      sigil.mpa.awaitResult(REQUEST_ID, { pollInterval: 10 }),
      (err: unknown) => err instanceof SigilApiError && err.code === 'not_found',
    );
  });

  test('can be aborted with a signal', async () => {
    const { sigil } = await setup((_req, res) => sendJson(res, 200, view()));
    await assert.rejects(sigil.mpa.awaitResult(REQUEST_ID, { pollInterval: 10, signal: AbortSignal.timeout(100) }), {
      name: 'TimeoutError',
    });
  });

  test('rejects nonsensical options', async () => {
    const { server, sigil } = await setup((_req, res) => sendJson(res, 200, view()));
    await assert.rejects(sigil.mpa.awaitResult(REQUEST_ID, { pollInterval: 0 }), SigilError);
    await assert.rejects(sigil.mpa.awaitResult(REQUEST_ID, { timeout: -1 }), SigilError);
    assert.equal(server.requests.length, 0);
  });
});
