import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SigilAuth } from '@sigilauth/sdk';
import { PrivatePostgres } from '../support/private-postgres.js';
import { describePostgres, type TestStore } from '../support/stores.js';
import {
  assertDelivered,
  auditLogDecisions,
  playRound,
  POSTGRES_FAULT_ENV,
  startFaultRig,
  startListener,
  waitFor,
  type Approvers,
  type Cluster,
  type Receiver,
} from './harness.js';

describePostgres('fault scenario 3: PostgreSQL restarts under load', () => {
  let postgres: PrivatePostgres;
  let cluster: Cluster;
  let receiver: Receiver;
  let approvers: Approvers;
  let serverId: string;
  const dataDir = mkdtempSync(join(tmpdir(), 'sigil-s3-'));

  before(async () => {
    postgres = await PrivatePostgres.start();
    const store: TestStore = { kind: 'postgres', dataDir, databaseUrl: postgres.url, dispose: async () => {} };
    ({ cluster, receiver, serverId, approvers } = await startFaultRig(store, 2, POSTGRES_FAULT_ENV, { groups: 4, perGroup: 2 }));
  });
  after(async () => {
    await cluster?.stop();
    await receiver?.close();
    postgres?.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('servers go not-ready and refuse writes with 503 while it is down, then recover by themselves', { timeout: 300_000 }, async () => {
    const apis = () => [cluster.api(0), cluster.api(1)];
    // What the SDK's creation attempts were answered: a status, or a network error.
    const answers: Array<number | 'network error'> = [];
    const recording: typeof fetch = async (input, init) => {
      try {
        const res = await fetch(input, init);
        answers.push(res.status);
        return res;
      } catch (err) {
        answers.push('network error');
        throw err;
      }
    };
    const sigil = new SigilAuth({ serviceUrl: cluster.url(0), apiKey: cluster.apiKey, maxRetries: 10, fetch: recording });
    const stored = auditLogDecisions(cluster.api(0));

    const before = await playRound(apis, serverId, approvers, stored, 6, { denyEvery: 3, label: 'before' });

    postgres.stop();
    const ready = await fetch(`${cluster.url(1)}/readyz`);
    assert.equal(ready.status, 503, 'not ready while storage is down');
    // Answered while PostgreSQL is still down (it comes back only after), not held until it returns.
    const write = await cluster.api(1).post('/v1/pairings', { name: 'during outage' });
    assert.equal(write.status, 503, JSON.stringify(write.body));
    assert.equal(write.body.error.code, 'unavailable');

    const duringOutage = sigil.mpa.request({
      required: 1,
      groups: approvers.groups.slice(0, 1),
      action: { type: 'fault_test', description: 'sent while PostgreSQL was down' },
    });
    await waitFor(() => answers.includes(503), 'the SDK to be refused while PostgreSQL is down', 60_000);
    postgres.start();
    const created = await duringOutage;
    assert.equal(created.status, 'pending');
    assert.equal(answers[0], 503, `the first attempt was refused: ${answers.join(', ')}`);
    assert.equal(answers.at(-1), 201, `the SDK retried the creation through the outage: ${answers.join(', ')}`);

    await waitFor(
      async () => {
        const states = await Promise.all([0, 1].map((i) => fetch(`${cluster.url(i)}/readyz`).then((r) => r.status)));
        return states.every((s) => s === 200);
      },
      'both instances ready again',
      30_000,
    );
    const after = await playRound(apis, serverId, approvers, stored, 6, { denyEvery: 3, label: 'after' });

    const expected = [...before.expectedEvents, ...after.expectedEvents, { requestId: created.request_id, type: 'mpa.created' }];
    await assertDelivered(receiver, 'scenario 3', expected);
  });
  test('restarted four times under load, no instance exits; LISTEN reconnects and devices catch up', { timeout: 300_000 }, async (t) => {
    const listener = await startListener(cluster, 1);
    const alive = () => cluster.processes.map((p) => p !== null && p.child.exitCode === null && p.child.signalCode === null);
    const answers = new Map<string, number>();
    const count = (what: string) => answers.set(what, (answers.get(what) ?? 0) + 1);
    let loading = true;
    // About as many calls a second as the machine allows: pairing creations, listings and request
    // creations (each a transaction) through both instances, so restarts find connections busy.
    const worker = async (w: number) => {
      for (let n = 0; loading; n++) {
        const api = cluster.api(n % 2);
        try {
          const res =
            n % 3 === 0
              ? await api.post('/v1/pairings', { name: `load ${w}-${n}` })
              : n % 3 === 1
                ? await api.get('/v1/mpa/requests?limit=20')
                : await api.post(
                    '/v1/mpa/requests',
                    { required: 1, groups: approvers.groups.slice(0, 1), action: { type: 'load', description: `load ${w}-${n}` } },
                    { 'idempotency-key': `load-${w}-${n}` },
                  );
          count(String(res.status));
          if (res.status >= 500 && res.status !== 503) throw new Error(`answered ${res.status}: ${JSON.stringify(res.body)}`);
          if (res.status === 503) {
            assert.equal(res.body.error.code, 'unavailable');
            assert.ok(Number(res.headers.get('retry-after')) > 0, 'a 503 says when to retry');
          }
        } catch (err) {
          if (!(err instanceof TypeError)) throw err;
          count('network error');
          await sleep(50);
        }
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => worker(w));
    t.after(() => listener.stop());
    try {
      await waitFor(() => (answers.get('201') ?? 0) >= 20, 'the load to be under way', 60_000);
      for (let restart = 1; restart <= 4; restart++) {
        await postgres.restart();
        await sleep(1500);
        assert.deepEqual(
          alive(),
          [true, true],
          `both instances alive after restart ${restart}: ${cluster.processes.map((p) => p?.output().slice(-2000)).join('\n---\n')}`,
        );
      }
      // Listings (200) as well as creations (201): on a fast machine the load reaches the per-organisation
      // caps on open pairing codes and pending requests, after which creations are rightly refused with 429.
      const ok = () => (answers.get('200') ?? 0) + (answers.get('201') ?? 0);
      const served = ok();
      await waitFor(() => ok() >= served + 20, 'both instances serving again', 60_000);
    } finally {
      loading = false;
      await Promise.all(workers);
    }
    console.log(`load through 4 restarts: ${[...answers].map(([k, v]) => `${k}: ${v}`).join(', ')}`);
    assert.deepEqual(alive(), [true, true], 'no instance exited');

    // The device's instance lost its LISTEN connection at every restart: a request created on
    // the other instance still reaches it.
    const created = await cluster.api(0).post('/v1/mpa/requests', {
      required: 1,
      groups: [{ name: 'solo', approvers: [listener.approver] }],
      action: { type: 'after_restarts', description: 'after four restarts' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await waitFor(() => listener.output().includes(created.body.request_id), 'the device to be told of the new request', 60_000);
  });
});
