import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Api } from '../../../../test/support/api.js';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { startSigil, type SigilProcess } from '../../../../test/support/processes.js';
import { createStore, type TestStore } from '../../../../test/support/stores.js';
import Fastify from 'fastify';
import { fastifyTrustProxy, parseTrustProxy } from '../../src/http/trust-proxy.js';
import { clientNetworks } from '../../src/pairing/client-network.js';
import { PAIRING_FAILURE_BUDGETS } from '../../src/pairing/failure-budget.js';
import { assertBudgetSpent } from './helpers.js';

/**
 * Behind a proxy, the client address is what the trusted proxies say, never what the client
 * writes: nginx appends the address it sees to whatever X-Forwarded-For the client sent.
 */
for (const [setting, label] of [
  ['1', 'one proxy hop'],
  ['127.0.0.1', "the proxy's address"],
] as const) {
  describe(`SIGIL_TRUST_PROXY=${setting} (${label}; real sigil serve)`, () => {
    let store: TestStore;
    let sigil: SigilProcess;
    let api: Api;
    let serverId: string;

    before(async () => {
      store = await createStore('pglite');
      sigil = await startSigil(store, { SIGIL_TRUST_PROXY: setting, SIGIL_PAIRING_RATE_LIMIT: '1000' });
      api = new Api(sigil.url, sigil.apiKey);
      serverId = (await api.get('/v1/info')).body.server_id;
    });
    after(async () => {
      await sigil?.stop();
      await store?.dispose();
    });

    test('spoofed X-Forwarded-For entries do not buy a client fresh pairing budgets', async () => {
      const device = new TestDevice('Guesser');
      /** A wrong code through nginx: the client's own X-Forwarded-For, then the address nginx saw. */
      const guess = (spoofed: string, client: string) =>
        api
          .withKey(null)
          .post('/v1/pairings/complete', device.pairingBody(serverId, '99999999'), { 'x-forwarded-for': `${spoofed}, ${client}` });
      const started = Date.now();
      const statuses: number[] = [];
      for (let i = 0; i < PAIRING_FAILURE_BUDGETS.narrow.capacity + 3; i++) {
        statuses.push((await guess(`10.${i}.${i}.${i}`, '203.0.113.7')).status);
      }
      assertBudgetSpent(statuses, PAIRING_FAILURE_BUDGETS.narrow, started);
      const refused = await guess('10.99.99.99', '203.0.113.7');
      assert.equal(refused.body.error.code, 'rate_limited');
      assert.ok(Number(refused.headers.get('retry-after')) > 0);
      // Another client behind the same proxy is still heard: the limit is the client's, not the proxy's.
      assert.equal((await guess('10.0.0.1', '198.51.100.9')).status, 400);
    });
  });
}

test('SIGIL_TRUST_PROXY=true, which believes the client, is refused at start with what to set instead', async () => {
  const store = await createStore('pglite');
  try {
    await assert.rejects(
      startSigil(store, { SIGIL_TRUST_PROXY: 'true' }, { timeoutMs: 60_000 }),
      /SIGIL_TRUST_PROXY=true would believe every X-Forwarded-For entry.*number of proxies/s,
    );
  } finally {
    await store.dispose();
  }
});

test('trusted proxy settings: hop counts, addresses and CIDR ranges, nothing else', () => {
  assert.equal(parseTrustProxy(undefined), false);
  assert.equal(parseTrustProxy(''), false);
  assert.equal(parseTrustProxy('false'), false);
  assert.equal(parseTrustProxy('0'), false);
  assert.equal(parseTrustProxy('2'), 2);
  assert.equal(parseTrustProxy('10.0.0.5, 10.0.1.0/24,::1,fd00::/8'), '10.0.0.5,10.0.1.0/24,::1,fd00::/8');
  for (const bad of ['true', 'yes', 'nginx', '10.0.0.0/33', '10.0.0.1/8/1', '::1/129', '99'])
    assert.throws(() => parseTrustProxy(bad), /SIGIL_TRUST_PROXY/, bad);
});

test('the client address is the entry the first trusted proxy appended, never one to its left', async () => {
  const seen = async (setting: ReturnType<typeof parseTrustProxy>, forwardedFor: string, peer = '10.0.0.5') => {
    const app = Fastify({ trustProxy: fastifyTrustProxy(setting) });
    app.get('/', async (request) => request.ip);
    const res = await app.inject({ url: '/', remoteAddress: peer, headers: { 'x-forwarded-for': forwardedFor } });
    await app.close();
    return res.body;
  };
  // The client wrote "6.6.6.6"; the first proxy appended 203.0.113.7; a second proxy appended the first's 10.0.0.4.
  assert.equal(await seen(false, '6.6.6.6, 203.0.113.7'), '10.0.0.5');
  assert.equal(await seen(1, '6.6.6.6, 203.0.113.7'), '203.0.113.7');
  assert.equal(await seen(2, '6.6.6.6, 203.0.113.7, 10.0.0.4'), '203.0.113.7');
  assert.equal(await seen('10.0.0.0/24', '6.6.6.6, 203.0.113.7, 10.0.0.4'), '203.0.113.7');
  // A list of proxies does not believe a client that connects directly.
  assert.equal(await seen('10.0.0.0/24', '6.6.6.6', '198.51.100.9'), '198.51.100.9');
});

test('limits key on networks, so rotating addresses inside one does not escape them', () => {
  assert.deepEqual(clientNetworks('203.0.113.7'), { client: '203.0.113.7/32', narrow: '203.0.113.0/24', wide: '203.0.0.0/16' });
  assert.deepEqual(clientNetworks('::ffff:203.0.113.7'), clientNetworks('203.0.113.7'));
  assert.deepEqual(clientNetworks('2001:db8:1:2:3:4:5:6'), {
    client: '2001:db8:1:2::/64',
    narrow: '2001:db8:1:2::/64',
    wide: '2001:db8:1::/48',
  });
  // every address of a /64 is one client; the compressed and expanded forms agree
  assert.deepEqual(clientNetworks('2001:db8:1:2::ffff'), clientNetworks('2001:0db8:0001:0002:ffff:ffff:ffff:ffff'));
  assert.deepEqual(clientNetworks('2001:db8::1'), { client: '2001:db8:0:0::/64', narrow: '2001:db8:0:0::/64', wide: '2001:db8:0::/48' });
  assert.deepEqual(clientNetworks('::1'), { client: '0:0:0:0::/64', narrow: '0:0:0:0::/64', wide: '0:0:0::/48' });
  assert.deepEqual(clientNetworks('fe80::1%eth0').narrow, 'fe80:0:0:0::/64');
  assert.notDeepEqual(clientNetworks('2001:db8:1:2::1').narrow, clientNetworks('2001:db8:1:3::1').narrow);
  assert.equal(clientNetworks('2001:db8:1:2::1').wide, clientNetworks('2001:db8:1:3::1').wide);
});
