import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { queryStore } from '../support/sql.js';
import type { Received } from '../support/webhook-receiver.js';
import { createStore, describePostgres, type TestStore } from '../support/stores.js';
import {
  assertDelivered,
  playRound,
  POSTGRES_FAULT_ENV,
  startFaultRig,
  startListener,
  tallyEvents,
  waitFor,
  type Approvers,
  type Cluster,
  type Listener,
  type Receiver,
  type StoredDecisions,
} from './harness.js';

const query = queryStore;

describePostgres('fault scenarios on PostgreSQL with three instances', () => {
  let store: TestStore;
  let cluster: Cluster;
  let receiver: Receiver;
  let approvers: Approvers;
  let serverId: string;
  let live: boolean[];
  const apis = () => cluster.ports.map((_, i) => cluster.api(i)).filter((_, i) => live[i]);
  const stored: StoredDecisions = async (id) =>
    new Map(
      (
        await query<{ fingerprint: string; decision: string }>(
          store,
          'SELECT fingerprint, decision FROM mpa_decisions WHERE request_id = $1',
          [id],
        )
      ).map((r) => [r.fingerprint, r.decision]),
    );
  const auditedDecisions = async (id: string) =>
    (await query<{ n: string }>(store, `SELECT count(*) AS n FROM audit_entries WHERE request_id = $1 AND type = 'mpa.decision'`, [id]))[0]!
      .n;

  before(async () => {
    store = await createStore('postgres');
    ({ cluster, receiver, serverId, approvers } = await startFaultRig(store, 3, POSTGRES_FAULT_ENV, {
      groups: 4,
      perGroup: 3,
      pairThrough: 1,
    }));
    live = [true, true, true];
  });
  const listeners: Listener[] = [];
  after(async () => {
    for (const l of listeners) await l.stop();
    await cluster?.stop();
    await receiver?.close();
    await store?.dispose();
  });

  test('scenario 1: three instances, approvals racing denials through random instances', async () => {
    const round = await playRound(apis, serverId, approvers, stored, 24, { denyEvery: 3, label: 'race' });
    await assertDelivered(receiver, 'scenario 1', round.expectedEvents, 30_000);
    for (const id of round.requestIds)
      assert.equal(Number(await auditedDecisions(id)), (await stored(id)).size, 'one audit entry per decision');
  });

  test('scenario 2: kill -9 an instance under load and bring it back', async () => {
    const listener = await startListener(cluster, 1);
    listeners.push(listener);
    const openBefore = await cluster.api(0).post('/v1/mpa/requests', {
      required: 4,
      groups: approvers.groups,
      action: { type: 'fault_test', description: 'left open to expire' },
      expires_in_seconds: 60,
    });
    assert.equal(openBefore.status, 201);
    let killed = false;
    const round = await playRound(apis, serverId, approvers, stored, 24, {
      denyEvery: 4,
      label: 'kill',
      during: async (i) => {
        if (i === 8 && !killed) {
          killed = true;
          await cluster.kill(1);
          live[1] = false;
        }
      },
    });
    const missed = await cluster.api(0).post('/v1/mpa/requests', {
      required: 1,
      groups: [{ name: 'Listener', approvers: [listener.approver] }],
      action: { type: 'fault_test', description: 'created while the device was cut off' },
    });
    assert.equal(missed.status, 201);
    await cluster.restart(1);
    live[1] = true;
    await waitFor(() => listener.output().includes(missed.body.request_id), 'the device to reconnect and receive what it missed', 45_000);
    await assertDelivered(receiver, 'scenario 2', round.expectedEvents, 30_000);
    for (const id of round.requestIds)
      assert.equal(Number(await auditedDecisions(id)), (await stored(id)).size, 'one audit entry per decision');
    const expiresAt = Date.parse(openBefore.body.expires_at);
    await waitFor(
      async () => (await cluster.api(1).get(`/v1/mpa/requests/${openBefore.body.request_id}`)).body.status === 'timeout',
      'the open request to time out',
      expiresAt - Date.now() + 60_000,
    );
    await waitFor(
      () => tallyEvents(receiver, [{ requestId: openBefore.body.request_id, type: 'mpa.timeout' }]).lost === 0,
      'its timeout webhook',
      60_000,
    );
    const timedOut = await query(store, `SELECT 1 FROM mpa_requests WHERE id = $1 AND status = 'timeout' AND completed_at = expires_at`, [
      openBefore.body.request_id,
    ]);
    assert.equal(timedOut.length, 1, 'timed out at expires_at');
  });

  test('scenario 4: the webhook receiver is down for a while, then everything arrives in order', async () => {
    const from = receiver.received.length;
    const event = (r: Received) => JSON.parse(r.body) as { type: string; request_id?: string };
    receiver.respond = () => ({ status: 503 });
    const round = await playRound(apis, serverId, approvers, stored, 10, { denyEvery: 2, label: 'receiver-down' });
    // Down until every request's first event has been refused at least once.
    await waitFor(
      () => {
        const refused = new Set(
          receiver.received
            .slice(from)
            .filter((r) => r.status === 503)
            .map((r) => event(r).request_id),
        );
        return round.requestIds.every((id) => refused.has(id));
      },
      'an attempt for every request to be refused while the receiver is down',
      60_000,
    );
    receiver.respond = () => ({ status: 204 });
    await assertDelivered(receiver, 'scenario 4', round.expectedEvents, 30_000);

    // In order: per request, nothing of its outcome was sent before mpa.created was accepted;
    // per event, every attempt came before the one accepted (none after it).
    const mineOnly = new Set(round.requestIds);
    const attempts = receiver.received.slice(from).filter((r) => mineOnly.has(event(r).request_id ?? ''));
    for (const id of round.requestIds) {
      const mine = attempts.filter((r) => event(r).request_id === id);
      const createdAccepted = mine.findIndex((r) => event(r).type === 'mpa.created' && r.status >= 200 && r.status < 300);
      const firstOutcome = mine.findIndex((r) => event(r).type !== 'mpa.created');
      assert.ok(
        createdAccepted >= 0 && firstOutcome > createdAccepted,
        `${id}: ${mine.map((r) => `${event(r).type} ${r.status}`).join(', ')}`,
      );
      assert.ok(
        mine.some((r) => event(r).type === 'mpa.created' && r.status === 503),
        `${id}: mpa.created was refused while the receiver was down`,
      );
    }
    const ids = new Set(attempts.map((r) => r.id));
    for (const webhookId of ids) {
      const statuses = attempts.filter((r) => r.id === webhookId).map((r) => r.status);
      const accepted = statuses.findIndex((s) => s >= 200 && s < 300);
      assert.equal(accepted, statuses.length - 1, `${webhookId}: attempts ${statuses.join(', ')}`);
    }
  });
});
