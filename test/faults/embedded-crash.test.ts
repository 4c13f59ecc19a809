import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStore, type TestStore } from '../support/stores.js';
import { Cluster, FAULT_ENV, pairApprovers, playRound, Receiver, summary, tallyEvents, waitFor, type Approvers } from './harness.js';

test('fault scenario 5: the embedded store survives kill -9 under load', async (t) => {
  const store: TestStore = await createStore('pglite');
  // The default attempt timeout: the restarted server must release the killed one's leases itself.
  const cluster = await Cluster.start(store, 1, FAULT_ENV);
  const receiver = await Receiver.start();
  t.after(async () => {
    await cluster.stop();
    await receiver.close();
    await store.dispose();
  });
  const apis = () => [cluster.api(0)];
  assert.equal((await cluster.api(0).post('/v1/webhooks', { url: receiver.url })).status, 201);
  const serverId = (await cluster.api(0).get('/v1/info')).body.server_id;
  const approvers: Approvers = await pairApprovers(cluster.api(0), 4, 2);
  const stored = async (id: string) => {
    const res = await cluster.api(0).get(`/v1/audit?request_id=${id}&type=mpa.decision&limit=100`);
    return new Map<string, string>(
      res.body.data.map((e: { data: { fingerprint: string; decision: string } }) => [e.data.fingerprint, e.data.decision]),
    );
  };

  let killed = false;
  const round = await playRound(apis, serverId, approvers, stored, 10, {
    denyEvery: 3,
    label: 'embedded',
    during: async (i) => {
      if (i === 4 && !killed) {
        killed = true;
        await cluster.kill(0);
        await cluster.restart(0);
      }
    },
  });
  await waitFor(() => tallyEvents(receiver, round.expectedEvents).lost === 0, 'every webhook event', 60_000).catch(() => {});
  const tally = tallyEvents(receiver, round.expectedEvents);
  console.log(summary('scenario 5', tally));
  assert.deepEqual(
    { lost: tally.lost, duplicated: tally.duplicated, outOfOrder: tally.outOfOrder },
    { lost: 0, duplicated: 0, outOfOrder: 0 },
  );
});
