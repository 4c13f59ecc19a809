// Attack: a paired device (of any organisation) makes the server work and hold memory for it
// faster than it takes the answers: status messages by the thousand, a socket that stops reading
// while answers pile up, or hundreds of sockets for one device key. A socket's status reads run
// one batch at a time with a bounded queue, a socket that does not read is dropped, and a device
// keeps at most MAX_SOCKETS_PER_DEVICE sockets.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { STATUS_REQUEST_MAX_IDS } from '@sigilauth/protocol';
import { pairDevice, startTestServer, type TestServer } from '../../../../test/support/api.js';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { createStore, type TestStore } from '../../../../test/support/stores.js';
import { waitFor, withTimeout } from '../../../../test/support/wait.js';
import { MAX_SOCKETS_PER_DEVICE } from '../../src/gateway/device-gateway.js';
import { DeviceSocket } from './helpers.js';

let store: TestStore;
let t: TestServer;
const device = new TestDevice('Flooder');
const requestIds: string[] = [];
let marker = '';

before(async () => {
  store = await createStore('pglite');
  t = await startTestServer(store);
  await pairDevice(t.api, t.serverId, device);
  // Requests as large as an action may be, so that every answer weighs about 8 KiB.
  const params = Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`field ${i + 1}`, 'x'.repeat(1000)]));
  for (let i = 0; i <= STATUS_REQUEST_MAX_IDS; i++) {
    const res = await t.api.post('/v1/mpa/requests', {
      required: 1,
      groups: [{ name: 'G', approvers: [device.approver] }],
      action: { type: 'flood', description: `request ${i} ${'y'.repeat(900)}`, params },
      expires_in_seconds: 900,
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    requestIds.push(res.body.request_id);
  }
  marker = requestIds.pop()!;
});
after(async () => {
  await t?.close();
  await store?.dispose();
});

const openSynced = async () => {
  const socket = await DeviceSocket.open(t.server.url, t.serverId, device);
  await socket.waitFor((f) => f.payload.type === 'sync' && f.payload.cursor === null, 'the first sync page');
  return socket;
};
const answered = (socket: DeviceSocket, id: string) =>
  socket.frames.some((f) => f.payload.type === 'request' && (f.payload.request as { request_id: string }).request_id === id);

test('a burst of status messages is read a batch at a time, and what does not fit the queue is dropped', async () => {
  const socket = await openSynced();
  try {
    const burst = 500;
    for (let i = 0; i < burst; i++) socket.send({ type: 'status', request_ids: requestIds });
    // Status reads are answered in order, so once the marker's answer is in, so is every answer
    // the burst got. The marker is sent until the queue takes it (bounded: 300 tries).
    for (let i = 0; i < 300 && !answered(socket, marker); i++) {
      socket.send({ type: 'status', request_ids: [marker] });
      await sleep(50);
    }
    assert.ok(answered(socket, marker), 'the marker was answered');
    const answers = socket.frames.filter((f) => f.payload.type === 'request').length - 1;
    assert.ok(answers >= STATUS_REQUEST_MAX_IDS, 'the burst was answered');
    assert.ok(
      answers < (burst * STATUS_REQUEST_MAX_IDS) / 5,
      `${answers} answers to ${burst} messages of ${STATUS_REQUEST_MAX_IDS} requests`,
    );
  } finally {
    await socket.close();
  }
});

test('a socket that stops reading while answers pile up is dropped', async () => {
  const socket = await openSynced();
  let closed = false;
  void socket.closed.then(() => (closed = true));
  socket.pause();
  // Each round asks for 20 requests of about 8 KiB; the server drops the socket past 4 MiB waiting.
  for (let round = 0; round < 2000 && !closed; round++) {
    socket.send({ type: 'status', request_ids: requestIds });
    await sleep(20);
  }
  assert.equal(closed, true, 'the server dropped the socket');
});

test(`a device keeps at most ${MAX_SOCKETS_PER_DEVICE} sockets: one more closes the oldest`, async () => {
  const sockets: DeviceSocket[] = [];
  try {
    for (let i = 0; i <= MAX_SOCKETS_PER_DEVICE; i++) sockets.push(await openSynced());
    assert.equal(await withTimeout(sockets[0]!.closed, 15_000, 'the oldest socket to close'), 4008);
    const connected = async () => {
      const metrics = await (await fetch(`${t.server.url}/metrics`)).text();
      return Number(/^sigil_connected_devices (\d+)$/m.exec(metrics)?.[1]);
    };
    await waitFor(async () => ((await connected()) === MAX_SOCKETS_PER_DEVICE ? true : null), 'the gauge to count the sockets left');
  } finally {
    for (const socket of sockets) await socket.close();
  }
});
