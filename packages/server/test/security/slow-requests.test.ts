// Attack: hold connections, and routes that need no key, by sending a request slowly: headers or
// a body a byte at a time, never finishing. A request must arrive whole within its time
// (REQUEST_TIMEOUT_MS; shortened here), or it is answered 408 with the JSON error body and its
// connection is closed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startTestServer, type TestServer } from '../../../../test/support/api.js';
import { createStore, type TestStore } from '../../../../test/support/stores.js';

let store: TestStore;
let t: TestServer;

before(async () => {
  store = await createStore('pglite');
  t = await startTestServer(store, { config: { requestTimeoutMs: 1_000 } });
});
after(async () => {
  await t?.close();
  await store?.dispose();
});

/** Sends `start` and nothing more; resolves with everything the server sent once it closed the connection (15 s at most). */
function sendAndStall(start: string): Promise<string> {
  const { port } = new URL(t.server.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(start));
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the connection was still open after 15 s; received: ${JSON.stringify(received)}`));
    }, 15_000);
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.on('error', () => {});
  });
}

test('a body that never finishes is answered 408 and its connection closed', async () => {
  const answer = await sendAndStall(
    'POST /v1/pairings/complete HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"pay',
  );
  assert.match(answer, /^HTTP\/1\.1 408 /);
  assert.deepEqual(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)), {
    error: { code: 'request_timeout', message: 'the request took too long to arrive' },
  });
});

test('headers that never finish are cut off too', async () => {
  const answer = await sendAndStall('GET /v1/info HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a');
  assert.match(answer, /^HTTP\/1\.1 408 /);
});
