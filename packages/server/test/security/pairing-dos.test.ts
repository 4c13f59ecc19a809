import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Api, startTestServer, type TestServer } from '../../../../test/support/api.js';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { createStore, describePostgres, type TestStore } from '../../../../test/support/stores.js';
import { PAIRING_FAILURE_BUDGETS } from '../../src/pairing/failure-budget.js';
import { PAIRING_MAX_FAILURES, PAIRING_MAX_OPEN_PER_ORG } from '../../src/pairing/pairings.js';
import { createApiKey } from '../../src/tenants/api-keys.js';
import { createTenant } from '../../src/tenants/tenants.js';
import { assertBudgetSpent, postFrom } from './helpers.js';

/** A code that shares nothing with `code` but its first `keep` digits (the rest shifted by `n`). */
function near(code: string, keep: number, n: number): string {
  const rest = code.slice(keep);
  return code.slice(0, keep) + String((Number(rest) + n) % 10 ** rest.length).padStart(rest.length, '0');
}

/** A code whose first four digits (the pairing it names) are `code`'s shifted by `n`: somewhere a blind sweep would try. */
function elsewhere(code: string, n: number): string {
  return String((Number(code.slice(0, 4)) + n) % 10_000).padStart(4, '0') + code.slice(4);
}

async function orgApi(t: TestServer, name: string): Promise<Api> {
  const tenant = await createTenant(t.server.db, name);
  return t.api.withKey((await createApiKey(t.server.db, tenant.id, name, 'live')).key);
}

/** A server to send wrong codes to from many loopback addresses; its per-process flood guard is set high so that the budgets under test answer. */
async function guessingServer() {
  const store = await createStore('pglite');
  const t = await startTestServer(store, { config: { pairingRateLimit: 1000 } });
  const guesser = new TestDevice('Guesser');
  return {
    t,
    guess: (code: string, from: string) => postFrom(t.server.url, '/v1/pairings/complete', guesser.pairingBody(t.serverId, code), from),
    close: async () => {
      await t.close();
      await store.dispose();
    },
  };
}

describe('one organisation cannot use up pairing for everyone (real server)', () => {
  let store: TestStore;
  let t: TestServer;

  before(async () => {
    store = await createStore('pglite');
    t = await startTestServer(store);
  });
  after(async () => {
    await t?.close();
    await store?.dispose();
  });

  test('an organisation filling the server with open pairings is capped, and other organisations still pair', async () => {
    const hog = await orgApi(t, 'Hog Inc');
    const codes: string[] = [];
    for (let i = 0; i < PAIRING_MAX_OPEN_PER_ORG; i++) {
      const res = await hog.post('/v1/pairings', {});
      assert.equal(res.status, 201, `pairing ${i}: ${JSON.stringify(res.body)}`);
      codes.push(res.body.code);
    }
    const refused = await hog.post('/v1/pairings', {});
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.code, 'too_many_pairings');
    assert.match(refused.body.error.message, new RegExp(`${PAIRING_MAX_OPEN_PER_ORG} open pairing codes`));
    assert.equal(new Set(codes.map((c) => c.slice(0, 4))).size, codes.length, 'every open pairing has its own first four digits');

    const opened = await t.api.post('/v1/pairings', {});
    assert.equal(opened.status, 201, 'another organisation is not affected');
    const device = new TestDevice('Other');
    assert.equal((await t.api.withKey(null).post('/v1/pairings/complete', device.pairingBody(t.serverId, opened.body.code))).status, 200);
    // Using one of its codes makes room for one more.
    assert.equal(
      (await t.api.withKey(null).post('/v1/pairings/complete', new TestDevice('Hog device').pairingBody(t.serverId, codes[0]!))).status,
      200,
    );
    assert.equal((await hog.post('/v1/pairings', {})).status, 201);
    assert.equal((await hog.post('/v1/pairings', {})).status, 429);
  });
});

describe('wrong codes from rotating addresses (real server, clients on many loopback addresses)', () => {
  let server: Awaited<ReturnType<typeof guessingServer>>;
  let t: TestServer;
  const guess = (code: string, from: string) => server.guess(code, from);

  before(async () => {
    server = await guessingServer();
    t = server.t;
  });
  after(() => server?.close());

  test("wrong codes sharing a code's first three digits, from rotating addresses, do not burn it", async () => {
    const opened = (await t.api.post('/v1/pairings', { name: 'Victim' })).body;
    let n = 0;
    for (let shift = 1; shift <= 9; shift++) {
      // the fourth digit is wrong: these name other pairings, whatever the rest
      const prefix = near(opened.code.slice(0, 4), 3, shift);
      for (let k = 0; k < PAIRING_MAX_FAILURES + 2; k++) {
        const res = await guess(`${prefix}${String(k).padStart(4, '0')}`, `127.${100 + n}.0.1`);
        n++;
        assert.equal(res.status, 400, JSON.stringify(res.body));
      }
    }
    assert.equal((await t.api.get(`/v1/pairings/${opened.pairing_id}`)).body.status, 'pending');
    const victim = new TestDevice('Victim');
    assert.equal(
      (await postFrom(t.server.url, '/v1/pairings/complete', victim.pairingBody(t.serverId, opened.code), '127.0.0.1')).status,
      200,
    );
  });

  test('rotating addresses inside one network share its budget of wrong codes', async () => {
    const started = Date.now();
    const statuses: number[] = [];
    for (let i = 1; i <= PAIRING_FAILURE_BUDGETS.narrow.capacity + 5; i++) statuses.push((await guess('12345678', `127.7.7.${i}`)).status);
    assertBudgetSpent(statuses, PAIRING_FAILURE_BUDGETS.narrow, started);
  });
});

describe('a storm of wrong codes from many networks (real server, clients on many loopback addresses)', () => {
  let server: Awaited<ReturnType<typeof guessingServer>>;
  let t: TestServer;
  const guess = (code: string, from: string) => server.guess(code, from);

  before(async () => {
    server = await guessingServer();
    t = server.t;
  });
  after(() => server?.close());

  test('is contained by the server budget, and a person typing a right code is still heard', async () => {
    const opened = (await t.api.post('/v1/pairings', { name: 'Victim' })).body;
    // A blind sweep: three tries at each of a run of pairings (first four digits), from 99 networks
    // in turn. Burning every code this way takes 3 × 10,000 guesses; the server's budget stops it
    // long before.
    const server = PAIRING_FAILURE_BUDGETS.server;
    const started = Date.now();
    const statuses: number[] = [];
    // Until the first refusal, then a few more: every network has sent a wrong code by then.
    for (let i = 0; i < server.capacity + 100 && statuses.filter((s) => s === 429).length < 10; i++) {
      const from = `127.${1 + (i % 99)}.${1 + Math.floor(i / 99)}.1`;
      const res = await guess(elsewhere(opened.code, 1 + Math.floor(i / PAIRING_MAX_FAILURES)), from);
      statuses.push(res.status);
    }
    // Once the budget is spent, every network that has sent a wrong code waits.
    assertBudgetSpent(statuses, server, started);
    const again = await guess(elsewhere(opened.code, 5000), '127.1.200.1');
    assert.equal(again.status, 429, JSON.stringify(again.body));
    assert.match(again.body.error.message, /many wrong pairing codes/);
    assert.ok(Number(again.headers.get('retry-after')) > 0);
    // A network that has not sent a wrong code is heard, once.
    assert.equal((await guess(elsewhere(opened.code, 6000), '127.150.0.1')).status, 400);
    assert.equal((await guess(elsewhere(opened.code, 6001), '127.150.1.1')).status, 429);
    // And a person on such a network pairs.
    assert.equal((await t.api.get(`/v1/pairings/${opened.pairing_id}`)).body.status, 'pending');
    const victim = new TestDevice('Victim');
    const paired = await postFrom(t.server.url, '/v1/pairings/complete', victim.pairingBody(t.serverId, opened.code), '127.250.0.1');
    assert.equal(paired.status, 200, JSON.stringify(paired.body));
  });
});

describePostgres('pairing limits across instances on one PostgreSQL', () => {
  let store: TestStore;
  let first: TestServer;
  let second: TestServer;

  before(async () => {
    store = await createStore('postgres');
    first = await startTestServer(store, { config: { pairingRateLimit: 1000 } });
    second = await startTestServer(store, { apiKey: first.api.apiKey, config: { pairingRateLimit: 1000 } });
  });
  after(async () => {
    await second?.close();
    await first?.close();
    await store?.dispose();
  });

  test("a client alternating between instances spends one network budget; an organisation's cap counts both", async () => {
    const guesser = new TestDevice('Guesser');
    const started = Date.now();
    const statuses: number[] = [];
    for (let i = 0; i < PAIRING_FAILURE_BUDGETS.narrow.capacity + 4; i++) {
      const server = i % 2 === 0 ? first : second;
      statuses.push(
        (await postFrom(server.server.url, '/v1/pairings/complete', guesser.pairingBody(first.serverId, '12345678'), `127.9.9.${1 + i}`))
          .status,
      );
    }
    assertBudgetSpent(statuses, PAIRING_FAILURE_BUDGETS.narrow, started);

    const hog = await orgApi(first, 'Hog Inc');
    const results = await Promise.all(
      Array.from({ length: PAIRING_MAX_OPEN_PER_ORG + 10 }, (_, i) =>
        new Api((i % 2 === 0 ? first : second).server.url, hog.apiKey).served('POST', '/v1/pairings', {}),
      ),
    );
    assert.equal(results.filter((r) => r.status === 201).length, PAIRING_MAX_OPEN_PER_ORG);
    assert.equal(results.filter((r) => r.status === 429).length, 10);
  });
});
