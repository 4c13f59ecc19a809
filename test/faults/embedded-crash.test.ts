import { test } from 'node:test';
import { createStore, type TestStore } from '../support/stores.js';
import { assertDelivered, auditLogDecisions, FAULT_ENV, playRound, startFaultRig } from './harness.js';

test('fault scenario 5: the embedded store survives kill -9 under load', async (t) => {
  const store: TestStore = await createStore('pglite');
  // The default attempt timeout: the restarted server must release the killed one's leases itself.
  const { cluster, receiver, serverId, approvers } = await startFaultRig(store, 1, FAULT_ENV, { groups: 4, perGroup: 2 }).catch(
    async (err: unknown) => {
      await store.dispose();
      throw err;
    },
  );
  t.after(async () => {
    await cluster.stop();
    await receiver.close();
    await store.dispose();
  });
  const apis = () => [cluster.api(0)];
  const stored = auditLogDecisions(cluster.api(0));

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
  await assertDelivered(receiver, 'scenario 5', round.expectedEvents);
});
