// Attacks on /metrics: anyone who can reach the API port reads operational data, and a scraper
// hammering it makes the database count rows on every scrape. Defences: a bearer token
// (SIGIL_METRICS_TOKEN), a separate listener (--metrics-port, /metrics then off the API port),
// and storage gauges read by a background loop, never by a scrape. Also: a device socket that
// authenticates twice was counted twice in sigil_connected_devices, and never uncounted on close.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { DomainTag, signPayload } from '@sigilauth/protocol';
import { Api, pairDevice, startTestServer, type TestServer } from '../../../../test/support/api.js';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { startSigil } from '../../../../test/support/processes.js';
import { createStore, describeEachStore, type TestStore } from '../../../../test/support/stores.js';
import { waitFor } from '../../../../test/support/wait.js';

const TOKEN = 'metrics-token-7c1f0a9e5b2d4c38';

const scrape = (url: string, token?: string) =>
  fetch(`${url}/metrics`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });

/** The value of one sample in Prometheus text, or null. */
function sample(text: string, name: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : null;
}

describeEachStore('metrics exposure', (kind) => {
  let store: TestStore;
  let t: TestServer;
  const device = new TestDevice('Ada');

  before(async () => {
    store = await createStore(kind);
    // The storage gauges are refreshed once at start and then not for an hour: any change a scrape shows, a scrape computed.
    t = await startTestServer(store, { config: { metrics: { token: TOKEN, refreshIntervalMs: 3_600_000 } } });
    await pairDevice(t.api, t.serverId, device);
  });
  after(async () => {
    await t?.close();
    await store?.dispose();
  });

  test('a scraper without the metrics token is refused', async () => {
    for (const token of [undefined, '', 'wrong', `${TOKEN}x`, TOKEN.slice(0, -1), t.api.apiKey!]) {
      const res = await scrape(t.server.url, token);
      assert.equal(res.status, 401, `token ${token}`);
      assert.equal(((await res.json()) as any).error.code, 'unauthorized');
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
    }
    const ok = await scrape(t.server.url, TOKEN);
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /^sigil_http_requests_total\{/m);
  });

  test('a scrape never queries the database: storage gauges come from the background refresh', async () => {
    const first = await waitFor(async () => {
      const text = await (await scrape(t.server.url, TOKEN)).text();
      return sample(text, 'sigil_storage_gauges_refreshed_timestamp_seconds') ? text : null;
    }, 'the refresh at start');
    const refreshedAt = sample(first, 'sigil_storage_gauges_refreshed_timestamp_seconds');
    const pending = sample(first, 'sigil_mpa_requests{status="pending"}');
    const created = await t.api.post('/v1/mpa/requests', {
      required: 1,
      groups: [{ name: 'Ops', approvers: [device.approver] }],
      action: { type: 'restart', description: 'Restart the API' },
    });
    assert.equal(created.status, 201);
    assert.equal((await t.api.get(`/v1/mpa/requests?status=pending`)).body.data.length, (pending ?? 0) + 1, 'the request is in storage');
    for (let i = 0; i < 20; i++) {
      const text = await (await scrape(t.server.url, TOKEN)).text();
      assert.equal(sample(text, 'sigil_mpa_requests{status="pending"}'), pending, 'a scrape counted the requests itself');
      assert.equal(sample(text, 'sigil_storage_gauges_refreshed_timestamp_seconds'), refreshedAt);
    }
  });
});

describeEachStore('storage gauges refresh in the background', (kind) => {
  let store: TestStore;
  let t: TestServer;
  const device = new TestDevice('Ada');

  before(async () => {
    store = await createStore(kind);
    t = await startTestServer(store, { config: { metrics: { refreshIntervalMs: 200 } } });
    await pairDevice(t.api, t.serverId, device);
  });
  after(async () => {
    await t?.close();
    await store?.dispose();
  });

  test('every status is exported, and a new request shows up after a refresh', async () => {
    const text = await (await scrape(t.server.url)).text();
    for (const status of ['pending', 'approved', 'rejected', 'timeout', 'cancelled'])
      assert.notEqual(sample(text, `sigil_mpa_requests{status="${status}"}`), null, status);
    const before = sample(text, 'sigil_mpa_requests{status="pending"}')!;
    const created = await t.api.post('/v1/mpa/requests', {
      required: 1,
      groups: [{ name: 'Ops', approvers: [device.approver] }],
      action: { type: 'r', description: 'Restart' },
    });
    assert.equal(created.status, 201);
    await waitFor(
      async () => sample(await (await scrape(t.server.url)).text(), 'sigil_mpa_requests{status="pending"}') === before + 1,
      'the gauge to count the new request',
    );
  });

  test('a device socket that authenticates twice is counted once, and uncounted when it closes', async () => {
    const connected = async () => sample(await (await scrape(t.server.url)).text(), 'sigil_connected_devices');
    const sockets: WebSocket[] = [];
    const open = async (authentications: number) => {
      const socket = new WebSocket(`${t.server.url.replace('http', 'ws')}/v1/device/ws`);
      sockets.push(socket);
      const messages: any[] = [];
      socket.on('message', (data) => messages.push(JSON.parse(data.toString())));
      const challenge = await waitFor(() => messages.find((m) => m.payload?.type === 'challenge'), 'the challenge');
      const payload = {
        purpose: 'device-session' as const,
        server_id: t.serverId,
        fingerprint: device.fingerprint,
        nonce: challenge.payload.nonce,
        issued_at: Date.now(),
      };
      const auth = JSON.stringify({
        type: 'auth',
        payload,
        device_public_key: device.publicKey,
        signature: signPayload(DomainTag.deviceSession, payload, device.privateKey),
      });
      // The proofs arrive together, before the server has finished checking the first.
      for (let i = 0; i < authentications; i++) socket.send(auth);
      await waitFor(() => messages.some((m) => m.payload?.type === 'sync'), 'the sync after authentication');
      return socket;
    };
    const closed = (socket: WebSocket) =>
      new Promise<void>((resolve) => (socket.readyState === WebSocket.CLOSED ? resolve() : socket.once('close', () => resolve())));

    try {
      const first = await open(3);
      await waitFor(async () => (await connected()) === 1, 'one connected device');
      const second = await open(2);
      await waitFor(async () => (await connected()) === 2, 'two connected devices');
      first.close();
      await closed(first);
      await waitFor(async () => (await connected()) === 1, 'the closed socket to be uncounted');
      second.terminate();
      await closed(second);
      await waitFor(async () => (await connected()) === 0, 'no connected device after every socket closed');
    } finally {
      for (const s of sockets) s.terminate();
    }
  });
});

describeEachStore('a separate metrics listener', (kind) => {
  let store: TestStore;

  before(async () => {
    store = await createStore(kind);
  });
  after(async () => {
    await store?.dispose();
  });

  test('with --metrics-port, /metrics is served there (with the token) and no longer on the API port', async () => {
    const sigil = await startSigil(store, { SIGIL_METRICS_TOKEN: TOKEN }, { args: ['--metrics-port', '0'] });
    try {
      const metricsUrl = /^Metrics: (http:\/\/127\.0\.0\.1:\d+)\/metrics$/m.exec(sigil.output())?.[1];
      assert.ok(metricsUrl, sigil.output());
      assert.notEqual(metricsUrl, sigil.url);
      const onApi = await scrape(sigil.url, TOKEN);
      assert.equal(onApi.status, 404, 'the API port does not serve /metrics');
      assert.equal(((await onApi.json()) as any).error.code, 'not_found');
      assert.equal((await scrape(metricsUrl)).status, 401);
      const ok = await scrape(metricsUrl, TOKEN);
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /^sigil_connected_devices 0$/m);
      assert.equal((await fetch(`${metricsUrl}/v1/devices`)).status, 404, 'the metrics listener serves nothing else');
      assert.equal((await new Api(sigil.url, sigil.apiKey).get('/v1/devices')).status, 200, 'the API port still serves the API');
    } finally {
      await sigil.stop();
    }
  });

  test('a short metrics token is refused at start', async () => {
    const started = await startSigil(store, { SIGIL_METRICS_TOKEN: 'short' }, { timeoutMs: 120_000 }).catch((err: Error) => err);
    if (!(started instanceof Error)) {
      await started.stop();
      assert.fail('the server started with a 5-character metrics token');
    }
    assert.match(started.message, /SIGIL_METRICS_TOKEN must be at least 16 characters/);
  });
});
