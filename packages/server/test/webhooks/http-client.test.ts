// Every server here listens on 127.0.0.1 with an ephemeral port; no traffic leaves loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { startHttpRecorder as startServer } from '../../../../test/support/http-recorder.js';
import { WEBHOOK_USER_AGENT, parseRetryAfter, postWebhook, type PostWebhookTarget } from '../../src/webhooks/http-client.js';

function loopbackTarget(url: string): PostWebhookTarget {
  return { url: new URL(url), address: '127.0.0.1', family: 4 };
}

const BODY = JSON.stringify({ type: 'request.approved', data: { id: 'req_1', note: 'naïve ✓' } });
const SIGNED = {
  'webhook-id': 'msg_1',
  'webhook-timestamp': '1700000000',
  'webhook-signature': 'v1,abc=',
};

test('a 2xx response: status, headers sent, body delivered', async () => {
  const server = await startServer((_request, response) => {
    response.writeHead(204).end();
  });
  try {
    const result = await postWebhook(loopbackTarget(`http://127.0.0.1:${server.port}/hooks/sigil?tenant=t1`), BODY, SIGNED, {
      timeoutMs: 30_000,
    });
    assert.equal(result.status, 204);
    assert.equal(result.retryAfterSeconds, null);
    assert.equal(result.error, undefined);
    assert.ok(result.latencyMs >= 0);

    assert.equal(server.requests.length, 1);
    const [received] = server.requests;
    assert.ok(received);
    assert.equal(received.method, 'POST');
    assert.equal(received.url, '/hooks/sigil?tenant=t1');
    assert.equal(received.body, BODY);
    assert.equal(received.headers['content-type'], 'application/json');
    assert.equal(received.headers['user-agent'], WEBHOOK_USER_AGENT);
    assert.equal(received.headers['user-agent'], 'Sigil-Webhooks/1');
    assert.equal(received.headers['content-length'], String(Buffer.byteLength(BODY)));
    assert.equal(received.headers['host'], `127.0.0.1:${server.port}`);
    assert.equal(received.headers['webhook-id'], 'msg_1');
    assert.equal(received.headers['webhook-timestamp'], '1700000000');
    assert.equal(received.headers['webhook-signature'], 'v1,abc=');
  } finally {
    await server.close();
  }
});

test('a 500 with Retry-After in seconds', async () => {
  const server = await startServer((_request, response) => {
    response.writeHead(500, { 'retry-after': '120', 'content-type': 'text/plain' }).end('try later');
  });
  try {
    const result = await postWebhook(loopbackTarget(`http://127.0.0.1:${server.port}/`), BODY, SIGNED, { timeoutMs: 30_000 });
    assert.equal(result.status, 500);
    assert.equal(result.retryAfterSeconds, 120);
    assert.equal(result.error, undefined);
  } finally {
    await server.close();
  }
});

test('a 503 with Retry-After as an HTTP-date', async () => {
  const server = await startServer((_request, response) => {
    response.writeHead(503, { 'retry-after': new Date(Date.now() + 90_000).toUTCString() }).end();
  });
  try {
    const result = await postWebhook(loopbackTarget(`http://127.0.0.1:${server.port}/`), BODY, SIGNED, { timeoutMs: 30_000 });
    assert.equal(result.status, 503);
    assert.ok(
      result.retryAfterSeconds !== null && result.retryAfterSeconds >= 85 && result.retryAfterSeconds <= 91,
      String(result.retryAfterSeconds),
    );
  } finally {
    await server.close();
  }
});

test('parseRetryAfter: seconds, HTTP-dates, and junk', () => {
  const now = Date.parse('2024-01-01T00:00:00Z');
  assert.equal(parseRetryAfter(undefined, now), null);
  assert.equal(parseRetryAfter('', now), null);
  assert.equal(parseRetryAfter('0', now), 0);
  assert.equal(parseRetryAfter(' 30 ', now), 30);
  assert.equal(parseRetryAfter(['45'], now), 45);
  assert.equal(parseRetryAfter('Mon, 01 Jan 2024 00:02:00 GMT', now), 120);
  assert.equal(parseRetryAfter('Monday, 01-Jan-24 00:01:00 GMT', now), 60);
  assert.equal(parseRetryAfter('Sun, 31 Dec 2023 00:00:00 GMT', now), 0); // in the past
  for (const junk of ['-5', '1.5', 'soon', 'x1', '2024-01-01', 'Foo, 01 Jan 2024 00:00:00 GMT', 'Mon, garbage', '99999999999999999999']) {
    assert.equal(parseRetryAfter(junk, now), null, junk);
  }
});

test('a 302 is a result, never followed', async () => {
  const elsewhere = await startServer((_request, response) => {
    response.writeHead(200).end();
  });
  const redirecting = await startServer((_request, response) => {
    response.writeHead(302, { location: `http://127.0.0.1:${elsewhere.port}/stolen` }).end();
  });
  try {
    const result = await postWebhook(loopbackTarget(`http://127.0.0.1:${redirecting.port}/`), BODY, SIGNED, { timeoutMs: 30_000 });
    assert.equal(result.status, 302);
    assert.equal(result.error, undefined);
    assert.equal(redirecting.requests.length, 1);
    // A request of our own reaches the target after postWebhook returned; a followed redirect
    // would have been made before it returned, so the target must have seen ours first.
    assert.equal((await fetch(`http://127.0.0.1:${elsewhere.port}/probe`)).status, 200);
    assert.deepEqual(
      elsewhere.requests.map((r) => r.url),
      ['/probe'],
    );
  } finally {
    await Promise.all([redirecting.close(), elsewhere.close()]);
  }
});

test('a server that never answers: status 0 with a timeout error', async () => {
  const server = await startServer(() => {
    // Never respond.
  });
  try {
    const started = Date.now();
    const result = await postWebhook(loopbackTarget(`http://127.0.0.1:${server.port}/`), BODY, SIGNED, { timeoutMs: 200 });
    const waited = Date.now() - started;
    assert.equal(result.status, 0);
    assert.equal(result.retryAfterSeconds, null);
    assert.match(result.error ?? '', /timed out after 200 ms/);
    assert.ok(waited >= 190, `gave up after ${waited} ms, before the timeout`);
    assert.ok(result.latencyMs >= 190, String(result.latencyMs));
    assert.equal(server.requests.length, 1);
  } finally {
    await server.close();
  }
});

test('connects to target.address while the Host header keeps the URL hostname', async () => {
  const server = await startServer((_request, response) => {
    response.writeHead(200).end('ok');
  });
  try {
    const target = loopbackTarget(`http://webhook.test:${server.port}/receive`);
    const result = await postWebhook(target, BODY, SIGNED, { timeoutMs: 30_000 });
    assert.equal(result.status, 200);
    assert.equal(result.error, undefined);
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0]?.headers['host'], `webhook.test:${server.port}`);
    assert.equal(server.requests[0]?.url, '/receive');
  } finally {
    await server.close();
  }
});

test('https: the TLS server name is the URL hostname, the connection goes to target.address', async () => {
  // A bare TCP listener that captures the TLS ClientHello (whose SNI is plain text) and hangs up.
  let clientHello: Buffer = Buffer.alloc(0);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('data', (chunk: Buffer) => {
      clientHello = chunk;
      socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    const result = await postWebhook(loopbackTarget(`https://webhook.test:${port}/`), BODY, SIGNED, { timeoutMs: 30_000 });
    assert.equal(result.status, 0);
    assert.ok(result.error, 'a failed handshake is reported');
    assert.ok(clientHello.length > 0, 'the client connected to the pinned address');
    assert.equal(clientHello[0], 0x16, 'a TLS handshake record');
    assert.ok(clientHello.includes(Buffer.from('webhook.test')), 'SNI carries the URL hostname');
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('a refused connection: status 0 with the error, no throw', async () => {
  const server = await startServer(() => undefined);
  const port = server.port;
  await server.close();
  const result = await postWebhook(loopbackTarget(`http://127.0.0.1:${port}/`), BODY, SIGNED, { timeoutMs: 30_000 });
  assert.equal(result.status, 0);
  assert.match(result.error ?? '', /ECONNREFUSED/);
});

test('a large or endless response body is cut off after maxResponseBytes', async () => {
  const endless = await startServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.write(Buffer.alloc(256 * 1024, 'a')); // and never end
  });
  try {
    // Reading on until the timeout would end with a timeout error; the cut-off ends it cleanly.
    const result = await postWebhook(loopbackTarget(`http://127.0.0.1:${endless.port}/`), BODY, SIGNED, {
      timeoutMs: 60_000,
      maxResponseBytes: 1024,
    });
    assert.equal(result.status, 200);
    assert.equal(result.error, undefined);
  } finally {
    await endless.close();
  }
});

test('a body that stalls after the headers keeps the status and reports the timeout', async () => {
  const server = await startServer((_request, response) => {
    response.writeHead(202, { 'content-length': '100' });
    response.write('partial'); // and never finish
  });
  try {
    const result = await postWebhook(loopbackTarget(`http://127.0.0.1:${server.port}/`), BODY, SIGNED, { timeoutMs: 200 });
    assert.equal(result.status, 202);
    assert.match(result.error ?? '', /timed out after 200 ms reading the response body/);
  } finally {
    await server.close();
  }
});

test('header values that cannot be sent resolve with status 0 instead of throwing', async () => {
  const server = await startServer((_request, response) => {
    response.writeHead(200).end();
  });
  try {
    const result = await postWebhook(
      loopbackTarget(`http://127.0.0.1:${server.port}/`),
      BODY,
      { ...SIGNED, 'x-bad': 'a\r\nx-injected: 1' },
      { timeoutMs: 30_000 },
    );
    assert.equal(result.status, 0);
    assert.ok(result.error);
    assert.equal(server.requests.length, 0);
  } finally {
    await server.close();
  }
});

test('an unsupported scheme or a mismatched address family resolves with status 0', async () => {
  const ftp = await postWebhook({ url: new URL('ftp://127.0.0.1/'), address: '127.0.0.1', family: 4 }, BODY, SIGNED, { timeoutMs: 1000 });
  assert.equal(ftp.status, 0);
  assert.match(ftp.error ?? '', /scheme/);
  const mismatch = await postWebhook({ url: new URL('http://127.0.0.1/'), address: '127.0.0.1', family: 6 }, BODY, SIGNED, {
    timeoutMs: 1000,
  });
  assert.equal(mismatch.status, 0);
  assert.match(mismatch.error ?? '', /IPv6/);
});
