/** Shared by the webhook and audit tests: an in-process server with fast webhook retries. */
import { actionDigest } from '@sigilauth/protocol';
import type { ServerConfig } from '../../src/server.js';
import { Api, pairDevice, startTestServer, type TestServer } from '../../../../test/support/api.js';

export { Api, pairDevice, type TestServer };
export { freePort } from '../../../../test/support/processes.js';
import type { TestDevice } from '../../../../test/support/device-keys.js';
import { createStore, type StoreKind, type TestStore } from '../../../../test/support/stores.js';
import { Receiver } from '../../../../test/support/webhook-receiver.js';

export { Receiver };
export type { Received, Responder } from '../../../../test/support/webhook-receiver.js';
export { waitFor } from '../../../../test/support/wait.js';

/** Fast retries for tests: the schedule is 7 steps, like the real one, in milliseconds. */
export const TEST_RETRY_SCHEDULE_MS = [50, 100, 150, 200, 250, 300, 350];

/**
 * Starts the server in this process for tests whose deliveries go to loopback receivers: private
 * addresses allowed, pairing not throttled, the webhook outbox polled often; `overrides` on top.
 */
export function startLoopbackServer(
  store: TestStore,
  overrides: Partial<ServerConfig> = {},
  apiKey: string | null = null,
): Promise<TestServer> {
  return startTestServer(store, {
    apiKey,
    config: {
      pairingRateLimit: 100,
      ...overrides,
      webhooks: { allowPrivate: true, pollIntervalMs: 200, ...overrides.webhooks },
    },
  });
}

/** Starts the server in this process with webhook settings for tests (loopback allowed, fast retries). */
export function startWebhookServer(
  store: TestStore,
  overrides: Partial<ServerConfig> = {},
  apiKey: string | null = null,
): Promise<TestServer> {
  return startLoopbackServer(
    store,
    {
      audit: { intervalMs: 100, signIntervalMs: 0 },
      ...overrides,
      webhooks: { retryScheduleMs: TEST_RETRY_SCHEDULE_MS, timeoutMs: 2_000, ...overrides.webhooks },
    },
    apiKey,
  );
}

/** A fresh store of `kind` and the webhook test server on it, with `device` paired. */
export async function startWithDevice(kind: StoreKind, device: TestDevice): Promise<{ store: TestStore; t: TestServer }> {
  const store = await createStore(kind);
  try {
    const t = await startWebhookServer(store);
    await pairDevice(t.api, t.serverId, device);
    return { store, t };
  } catch (err) {
    await store.dispose();
    throw err;
  }
}

/** The loopback receivers a test file starts, closed together at its end. */
export class Receivers {
  readonly #open: Receiver[] = [];

  async start(...args: Parameters<typeof Receiver.start>): Promise<Receiver> {
    const receiver = await Receiver.start(...args);
    this.#open.push(receiver);
    return receiver;
  }

  async close(): Promise<void> {
    for (const receiver of this.#open.splice(0)) await receiver.close();
  }
}

export function oneGroupRequest(device: TestDevice, description = 'Rotate the signing key') {
  return {
    required: 1,
    groups: [{ name: 'Security', approvers: [device.approver] }],
    action: { type: 'key_rotation', description, params: { requested_by: 'alice@example.com', key_id: 'k-1' } },
    expires_in_seconds: 300,
  };
}

/** Creates a one-approver request and approves it: events mpa.created then mpa.approved. Returns the request id. */
export async function createAndApprove(api: Api, serverId: string, device: TestDevice, description?: string): Promise<string> {
  const created = await api.post('/v1/mpa/requests', oneGroupRequest(device, description));
  if (created.status !== 201) throw new Error(`create failed: ${created.status} ${JSON.stringify(created.body)}`);
  const id: string = created.body.request_id;
  const decided = await api
    .withKey(null)
    .post(`/v1/mpa/requests/${id}/decisions`, device.decisionBody(serverId, id, actionDigest(created.body.action), 'approve'));
  if (decided.status !== 200) throw new Error(`decision failed: ${decided.status} ${JSON.stringify(decided.body)}`);
  return id;
}
