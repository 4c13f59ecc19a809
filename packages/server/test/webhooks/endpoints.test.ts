// The webhook endpoint API on both stores: CRUD, validation, tenant isolation, and the SSRF
// guard at registration and at delivery. No test sends traffic anywhere but 127.0.0.1: every
// other address is refused before a connection is made, and names resolve through a fake lookup.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateWebhookSecret } from '@sigilauth/protocol';
import type { ResolvedAddress } from '../../src/webhooks/ssrf.js';
import { createApiKey } from '../../src/tenants/api-keys.js';
import { createTenant } from '../../src/tenants/tenants.js';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { createStore, describeEachStore, type TestStore } from '../../../../test/support/stores.js';
import { Api, oneGroupRequest, pairDevice, Receiver, startWebhookServer, waitFor, type TestServer } from './harness.js';

/** Names resolve only through this table, never through DNS. */
const FAKE_DNS: Record<string, ResolvedAddress[]> = {
  'internal.example': [{ address: '10.1.2.3', family: 4 }],
  'metadata.example': [{ address: '169.254.169.254', family: 4 }],
  'mixed.example': [
    { address: '127.0.0.1', family: 4 },
    { address: '10.0.0.9', family: 4 },
  ],
  localhost: [{ address: '127.0.0.1', family: 4 }],
};
const lookup = async (hostname: string): Promise<ResolvedAddress[]> => {
  const answer = FAKE_DNS[hostname];
  if (!answer) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return answer;
};

describeEachStore('webhook endpoints API', (kind) => {
  let store: TestStore;
  let t: TestServer;

  before(async () => {
    store = await createStore(kind);
    t = await startWebhookServer(store, { webhooks: { allowPrivate: false, lookup } });
  });
  after(async () => {
    await t?.close();
    await store?.dispose();
  });

  test('SSRF: private, loopback, link-local, metadata and IPv6 loopback targets are refused at registration', async () => {
    for (const url of [
      'http://10.0.0.1/hook',
      'http://127.0.0.1:8080/hook',
      'http://169.254.169.254/latest/meta-data/',
      'http://[::1]/hook',
      'http://100.64.0.1/hook',
      'http://internal.example/hook',
      'http://mixed.example/hook',
      'http://localhost:3000/hook',
      'http://metadata.example/',
    ]) {
      const res = await t.api.post('/v1/webhooks', { url });
      assert.equal(res.status, 400, url);
      assert.equal(res.body.error.code, 'forbidden_address', url);
      assert.match(res.body.error.message, /SIGIL_WEBHOOK_ALLOW_PRIVATE/, url);
    }
    const bad: [string, string][] = [
      ['ftp://example.com/x', 'invalid_url'],
      ['http://user:pw@example.com/', 'invalid_url'],
      ['not a url', 'invalid_url'],
      ['http://nxdomain.example/', 'unresolvable'],
    ];
    for (const [url, code] of bad) {
      const res = await t.api.post('/v1/webhooks', { url });
      assert.equal(res.status, 400, url);
      assert.equal(res.body.error.code, code, url);
    }
    assert.equal((await t.api.get('/v1/webhooks')).body.data.length, 0);
  });

  test('validation: unknown fields and event types are refused; the API needs a key', async () => {
    assert.equal((await t.api.withKey(null).get('/v1/webhooks')).status, 401);
    assert.equal((await t.api.withKey(null).post('/v1/webhooks', { url: 'http://10.0.0.1/' })).status, 401);
    const unknown = await t.api.post('/v1/webhooks', { url: 'https://hooks.example.com/', secret: 'whsec_x' });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.error.message, /unknown field 'secret'/);
    const badEvent = await t.api.post('/v1/webhooks', { url: 'https://hooks.example.com/', events: ['mpa.exploded'] });
    assert.equal(badEvent.status, 400);
    const empty = await t.api.post('/v1/webhooks', { url: 'https://hooks.example.com/', events: [] });
    assert.equal(empty.status, 400);
  });

  test('SSRF at delivery: a stored URL that now points at a private address is refused, never connected to', async () => {
    // Registered under the rules, then the stored URL changed under the server's feet.
    const device = new TestDevice('Bob');
    await pairDevice(t.api, t.serverId, device);
    const root = t.server.db;
    const ids: string[] = [];
    for (const url of [
      'http://10.0.0.1/hook',
      'http://127.0.0.1:9/hook',
      'http://169.254.169.254/',
      'http://[::1]:9/',
      'http://internal.example/',
    ]) {
      const [row] = await root.query<{ id: string }>(
        `INSERT INTO webhook_endpoints (id, tenant_id, url, events, secret, created_at, updated_at)
         SELECT gen_random_uuid(), tenant_id, $1, '{mpa.created}', $2, now(), now()
           FROM api_keys LIMIT 1 RETURNING id`,
        [url, generateWebhookSecret()],
      );
      ids.push(row!.id);
    }
    await t.api.post('/v1/mpa/requests', oneGroupRequest(device));
    for (const id of ids) {
      const attempt = await waitFor(
        async () => (await t.api.get(`/v1/webhooks/${id}/deliveries`)).body.data[0]?.attempts[0],
        `an attempt for ${id}`,
      );
      assert.equal(attempt.status_code, null);
      assert.match(attempt.error, /refused by the SSRF guard: .*(private or reserved|metadata)/);
    }
    for (const id of ids) assert.equal((await t.api.delete(`/v1/webhooks/${id}`)).status, 204);
  });

  // Row locks between connections exist only on PostgreSQL: the embedded store has one connection.
  if (kind === 'postgres') {
    test('deleting an endpoint while an attempt is being recorded waits for it, and neither fails', async () => {
      const device = new TestDevice('Carol');
      await pairDevice(t.api, t.serverId, device);
      const root = t.server.db;
      const [row] = await root.query<{ id: string }>(
        `INSERT INTO webhook_endpoints (id, tenant_id, url, events, secret, created_at, updated_at)
         SELECT gen_random_uuid(), tenant_id, 'http://10.9.9.9/', '{mpa.created}', $1, now(), now() FROM api_keys LIMIT 1 RETURNING id`,
        [generateWebhookSecret()],
      );
      const id = row!.id;
      await t.api.post('/v1/mpa/requests', oneGroupRequest(device));
      await waitFor(
        async () => (await root.query('SELECT 1 FROM webhook_deliveries WHERE endpoint_id = $1', [id])).length > 0,
        'a delivery',
      );
      let deleting: ReturnType<Api['delete']> | undefined;
      // What the delivery worker does when it records an attempt: lock the delivery, then the endpoint.
      await root.transaction(async (tx) => {
        await tx.query('SELECT 1 FROM webhook_deliveries WHERE endpoint_id = $1 FOR UPDATE', [id]);
        deleting = t.api.delete(`/v1/webhooks/${id}`);
        await waitFor(
          async () =>
            (
              await root.query(
                `SELECT 1 FROM pg_stat_activity
                  WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ~ 'webhook_(deliveries|endpoints)'`,
              )
            ).length > 0,
          'the delete waiting for a row lock',
        );
        await tx.query('UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures WHERE id = $1', [id]);
      });
      assert.equal((await deleting!).status, 204);
      assert.deepEqual(await root.query('SELECT 1 FROM webhook_endpoints WHERE id = $1', [id]), []);
    });
  }

  test('CRUD, secret rotation and tenant isolation', async () => {
    // Public names are accepted (resolved through the fake table; nothing is ever sent to them here).
    FAKE_DNS['hooks.example.com'] = [{ address: '93.184.215.14', family: 4 }];
    try {
      const created = await t.api.post('/v1/webhooks', {
        url: 'https://hooks.example.com/sigil#frag',
        events: ['mpa.approved', 'mpa.approved'],
        description: 'prod',
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const ep = created.body;
      assert.equal(ep.url, 'https://hooks.example.com/sigil');
      assert.deepEqual(ep.events, ['mpa.approved']);
      assert.equal(ep.enabled, true);
      assert.equal(ep.description, 'prod');
      assert.match(ep.secret, /^whsec_/);

      const list = await t.api.get('/v1/webhooks');
      assert.equal(list.body.data.length, 1);
      assert.equal(list.body.data[0].secret, undefined);

      const patched = await t.api.request('PATCH', `/v1/webhooks/${ep.id}`, { events: null, description: null, enabled: false });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.equal(patched.body.events, null);
      assert.equal(patched.body.enabled, false);
      assert.equal(patched.body.disabled_reason, 'disabled through the API');
      const refused = await t.api.request('PATCH', `/v1/webhooks/${ep.id}`, { url: 'http://10.0.0.1/' });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.error.code, 'forbidden_address');

      const rotated = await t.api.post(`/v1/webhooks/${ep.id}/rotate-secret`);
      assert.match(rotated.body.secret, /^whsec_/);

      // Another organisation sees none of it.
      const db = t.server.db;
      const other = await createTenant(db, 'Other Org');
      const otherApi = new Api(t.server.url, (await createApiKey(db, other.id, 'other', 'live')).key);
      assert.equal((await otherApi.get('/v1/webhooks')).body.data.length, 0);
      assert.equal((await otherApi.get(`/v1/webhooks/${ep.id}`)).status, 404);
      assert.equal((await otherApi.request('PATCH', `/v1/webhooks/${ep.id}`, { enabled: true })).status, 404);
      assert.equal((await otherApi.post(`/v1/webhooks/${ep.id}/rotate-secret`)).status, 404);
      assert.equal((await otherApi.get(`/v1/webhooks/${ep.id}/deliveries`)).status, 404);
      assert.equal((await otherApi.delete(`/v1/webhooks/${ep.id}`)).status, 404);

      assert.equal((await t.api.delete(`/v1/webhooks/${ep.id}`)).status, 204);
      assert.equal((await t.api.get(`/v1/webhooks/${ep.id}`)).status, 404);

      // Every change is in the audit log, without the secret.
      const audit = (await t.api.get('/v1/audit?limit=1000')).body.data.filter((e: { type: string }) => e.type.startsWith('webhook.'));
      const mine = audit.filter((e: { data: { webhook_id: string } }) => e.data.webhook_id === ep.id).map((e: { type: string }) => e.type);
      assert.deepEqual(mine, ['webhook.created', 'webhook.updated', 'webhook.secret_rotated', 'webhook.deleted']);
      assert.ok(!JSON.stringify(audit).includes('whsec_'));
      const keyEntries = (await otherApi.get('/v1/audit?type=apikey.created')).body.data;
      assert.equal(keyEntries.length, 1);
      assert.equal(keyEntries[0].data.name, 'other');
    } finally {
      delete FAKE_DNS['hooks.example.com'];
    }
  });

  test('a URL that may carry a token is audited by its origin only', async () => {
    FAKE_DNS['hooks.example.com'] = [{ address: '93.184.215.14', family: 4 }];
    try {
      const first = 'https://hooks.example.com/catch/1234/pathtoken?token=querytoken1';
      const second = 'https://hooks.example.com/catch/1234/pathtoken?token=querytoken2';
      const created = await t.api.post('/v1/webhooks', { url: first });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.url, first, 'the organisation itself still reads it whole');
      assert.equal((await t.api.request('PATCH', `/v1/webhooks/${created.body.id}`, { url: second })).status, 200);
      assert.equal((await t.api.delete(`/v1/webhooks/${created.body.id}`)).status, 204);

      const entries = (await t.api.get('/v1/audit?limit=1000')).body.data.filter(
        (e: { data: { webhook_id?: string } }) => e.data.webhook_id === created.body.id,
      );
      assert.equal(entries.length, 3);
      assert.doesNotMatch(JSON.stringify(entries), /pathtoken|querytoken|catch/);
      const [made, changed, deleted] = entries;
      assert.equal(made.data.url, 'https://hooks.example.com/…');
      assert.deepEqual(changed.data.changes.url, { from: 'https://hooks.example.com/…', to: 'https://hooks.example.com/…' });
      assert.equal(deleted.data.url, 'https://hooks.example.com/…');
    } finally {
      delete FAKE_DNS['hooks.example.com'];
    }
  });

  test('SSRF: a redirect is never followed', async () => {
    const target = await Receiver.start(() => ({ status: 200 }));
    const redirector = await Receiver.start(() => ({ status: 302, headers: { location: target.url } }));
    // The embedded store allows one server at a time: restart with private addresses allowed.
    await t.close();
    t = await startWebhookServer(store, { webhooks: { allowPrivate: true } }, t.api.apiKey);
    const open = t;
    try {
      const device = new TestDevice('Carol');
      await pairDevice(open.api, open.serverId, device);
      const ep = (await open.api.post('/v1/webhooks', { url: redirector.url, events: ['mpa.created'] })).body;
      await open.api.post('/v1/mpa/requests', oneGroupRequest(device));
      await waitFor(() => redirector.received.length >= 2, 'two attempts at the redirecting receiver');
      assert.equal(target.received.length, 0, 'the redirect target was never contacted');
      const attempts = (await open.api.get(`/v1/webhooks/${ep.id}/deliveries`)).body.data[0].attempts;
      assert.equal(attempts[0].status_code, 302);
      assert.equal(attempts[0].error, 'HTTP 302');
      await open.api.request('PATCH', `/v1/webhooks/${ep.id}`, { enabled: false });
    } finally {
      await redirector.close();
      await target.close();
    }
  });
});
