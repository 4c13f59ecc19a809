// Real `sigil serve` processes, killed with SIGKILL between the commit of an event and its
// delivery: after a restart the event is delivered. Also `sigil webhook add` from the CLI.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { runCli, SIGIL_CLI, startSigil, type SigilProcess } from '../../../../test/support/processes.js';
import { createStore, describeEachStore, type TestStore } from '../../../../test/support/stores.js';
import { Api, freePort, oneGroupRequest, pairDevice, Receiver, waitFor } from './harness.js';

const ENV = {
  SIGIL_WEBHOOK_ALLOW_PRIVATE: 'true',
  // Test-only: fast retries, still several before the delivery would fail for good.
  SIGIL_WEBHOOK_RETRY_SCHEDULE_MS: '300,600,1000,1000,1000,1000,1000,1000,1000,1000',
  SIGIL_WEBHOOK_TIMEOUT_MS: '1000',
};

describeEachStore('webhooks survive a crash', (kind) => {
  let store: TestStore;
  const processes: SigilProcess[] = [];
  const receivers: Receiver[] = [];
  let apiKey: string;
  const device = new TestDevice('Dana');

  const start = async (env: Record<string, string> = ENV) => {
    const p = await startSigil(store, env);
    processes.push(p);
    apiKey ??= p.apiKey!;
    return { p, api: new Api(p.url, apiKey) };
  };
  const cliEnv = () => ({ ...(store.databaseUrl ? { DATABASE_URL: store.databaseUrl } : {}), ...ENV });

  before(async () => {
    store = await createStore(kind);
    const { p, api } = await start();
    const serverId = (await api.get('/v1/info')).body.server_id;
    await pairDevice(api, serverId, device);
    await p.stop();
  });
  after(async () => {
    for (const p of processes) await p.kill();
    for (const r of receivers) await r.close();
    await store?.dispose();
  });

  test('receiver down, SIGKILL, restart with the receiver up: the event is delivered', { timeout: 300_000 }, async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/hook`;
    const added = await runCli(SIGIL_CLI, ['webhook', 'add', url, '--events', 'mpa.created', '--data-dir', store.dataDir], {
      env: cliEnv(),
    });
    assert.equal(added.code, 0, added.stderr);
    const secret = added.stdout.trim().split('\n').pop()!;
    assert.match(secret, /^whsec_/);
    const webhookId = added.stdout.match(/Created webhook endpoint (\S+)/)![1]!;

    const first = await start();
    const created = await first.api.post('/v1/mpa/requests', oneGroupRequest(device));
    assert.equal(created.status, 201);
    // The event is committed; its first attempt failed (connection refused).
    await waitFor(
      async () => (await first.api.get(`/v1/webhooks/${webhookId}/deliveries`)).body.data[0]?.attempts.length >= 1,
      'a failed attempt',
    );
    await first.p.kill();

    const rx = await Receiver.start(() => ({ status: 200 }), port);
    receivers.push(rx);
    const second = await start();
    await waitFor(() => rx.accepted().size === 1, 'the delivery after restart', 60_000);
    const r = rx.received[0]!;
    const event = new Webhook(secret).verify(r.body, {
      'webhook-id': r.id,
      'webhook-timestamp': String(r.headers['webhook-timestamp']),
      'webhook-signature': String(r.headers['webhook-signature']),
    }) as { type: string; request_id: string };
    assert.equal(event.type, 'mpa.created');
    assert.equal(event.request_id, created.body.request_id);
    await second.api.request('PATCH', `/v1/webhooks/${webhookId}`, { enabled: false });
    await second.p.stop();
  });

  test('SIGKILL during an attempt: the lease expires and the delivery is attempted again', { timeout: 300_000 }, async () => {
    let hang = true;
    const rx = await Receiver.start(() => (hang ? 'hang' : { status: 200 }));
    receivers.push(rx);
    const first = await start();
    const ep = (await first.api.post('/v1/webhooks', { url: rx.url, events: ['mpa.created'] })).body;
    const created = await first.api.post('/v1/mpa/requests', oneGroupRequest(device));
    await waitFor(() => rx.received.length === 1, 'the attempt in flight');
    await first.p.kill();
    hang = false;
    const second = await start();
    const accepted = await waitFor(() => rx.accepted().get(rx.received[0]!.id), 'the redelivery after the lease expired', 60_000);
    assert.equal(JSON.parse(accepted.body).request_id, created.body.request_id);
    assert.equal(new Set(rx.received.map((x) => x.id)).size, 1, 'the same webhook-id on every attempt');
    const delivery = await waitFor(async () => {
      const d = (await second.api.get(`/v1/webhooks/${ep.id}/deliveries`)).body.data[0];
      return d?.status === 'succeeded' && d;
    }, 'the delivery to be recorded');
    assert.equal(delivery.attempts.at(-1).status_code, 200);
    await second.p.stop();
  });

  if (kind === 'pglite') {
    test('embedded store: a lease left by a killed server is released when it starts again', { timeout: 300_000 }, async () => {
      // A 60 s attempt timeout leases each attempt for 125 s: far longer than this test waits.
      const env = { ...ENV, SIGIL_WEBHOOK_TIMEOUT_MS: '60000' };
      let hang = true;
      const rx = await Receiver.start(() => (hang ? 'hang' : { status: 200 }));
      receivers.push(rx);
      const first = await start(env);
      const ep = (await first.api.post('/v1/webhooks', { url: rx.url, events: ['mpa.created'] })).body;
      const created = await first.api.post('/v1/mpa/requests', oneGroupRequest(device));
      await waitFor(() => rx.received.length === 1, 'the attempt in flight');
      await first.p.kill();
      hang = false;
      const second = await start(env);
      const accepted = await waitFor(() => rx.accepted().get(rx.received[0]!.id), 'the redelivery right after the restart', 60_000);
      assert.equal(JSON.parse(accepted.body).request_id, created.body.request_id);
      await second.api.request('PATCH', `/v1/webhooks/${ep.id}`, { enabled: false });
      await second.p.stop();
    });
  }

  test('without SIGIL_WEBHOOK_ALLOW_PRIVATE, loopback and a name resolving to it are refused', { timeout: 300_000 }, async () => {
    const { p, api } = await start({});
    for (const url of [
      'http://127.0.0.1:9/hook',
      'http://localhost:9/hook',
      'http://[::1]:9/hook',
      'http://10.0.0.1/hook',
      'http://169.254.169.254/',
    ]) {
      const res = await api.post('/v1/webhooks', { url });
      assert.equal(res.status, 400, url);
      assert.equal(res.body.error.code, 'forbidden_address', url);
    }
    await p.stop();
    const cli = await runCli(SIGIL_CLI, ['webhook', 'add', 'http://localhost:9/x', '--data-dir', store.dataDir], {
      env: store.databaseUrl ? { DATABASE_URL: store.databaseUrl } : {},
    });
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /private or reserved/);
  });
});
