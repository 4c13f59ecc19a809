/** Shared by the notification tests: a server with fast retries, a push service, an SMTP server and a Slack receiver, all on loopback. */
import { actionDigest } from '@sigilauth/protocol';
import type { ServerConfig } from '../../src/server.js';
import { Api, pairDevice, type TestServer } from '../../../../test/support/api.js';
import { startLoopbackServer } from '../webhooks/harness.js';
import { PushService } from '../../../../test/support/push-service.js';
import { SmtpSink } from '../../../../test/support/smtp.js';
import { Receiver } from '../../../../test/support/webhook-receiver.js';
import type { TestDevice } from '../../../../test/support/device-keys.js';
import type { TestStore } from '../../../../test/support/stores.js';

export { Api, pairDevice, PushService, SmtpSink, Receiver, type TestServer };
export { waitFor } from '../../../../test/support/wait.js';

export const TEST_NOTIFY_RETRY_MS = [50, 100, 150, 200, 250, 300, 400, 500, 600, 800, 1000, 1000, 1000, 1000, 1000, 1000];

export interface Loopback {
  push: PushService;
  smtp: SmtpSink;
  slack: Receiver;
  close(): Promise<void>;
}

export async function startLoopback(): Promise<Loopback> {
  const push = await PushService.start();
  const smtp = await SmtpSink.start();
  const slack = await Receiver.start(() => ({ status: 200 }));
  return {
    push,
    smtp,
    slack,
    async close() {
      await push.close();
      await smtp.close();
      await slack.close();
    },
  };
}

/** `apiKey`: for a restart on the same store, the key the first start made. */
export function startNotifyServer(
  store: TestStore,
  smtpUrl: string | null,
  overrides: Partial<ServerConfig> = {},
  apiKey: string | null = null,
): Promise<TestServer> {
  return startLoopbackServer(
    store,
    {
      ...overrides,
      notifications: {
        smtpUrl,
        mailFrom: 'Sigil <sigil@example.test>',
        retryScheduleMs: TEST_NOTIFY_RETRY_MS,
        timeoutMs: 2_000,
        pollIntervalMs: 100,
        ...overrides.notifications,
      },
    },
    apiKey,
  );
}

export function requestFor(devices: TestDevice[], description = 'Deploy v2.4 to production', expiresInSeconds = 300) {
  return {
    required: 1,
    groups: [{ name: 'Release', approvers: devices.map((d) => d.approver) }],
    action: { type: 'deployment', description, params: { secret_ticket: 'INTERNAL-4242' } },
    expires_in_seconds: expiresInSeconds,
  };
}

export async function create(
  api: Api,
  devices: TestDevice[],
  description?: string,
  expiresInSeconds?: number,
): Promise<{ id: string; action: any }> {
  const res = await api.post('/v1/mpa/requests', requestFor(devices, description, expiresInSeconds));
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.request_id, action: res.body.action };
}

export async function decide(
  api: Api,
  serverId: string,
  device: TestDevice,
  request: { id: string; action: any },
  decision: 'approve' | 'deny',
) {
  const res = await api
    .withKey(null)
    .post(`/v1/mpa/requests/${request.id}/decisions`, device.decisionBody(serverId, request.id, actionDigest(request.action), decision));
  if (res.status !== 200) throw new Error(`decision failed: ${res.status} ${JSON.stringify(res.body)}`);
}

export const patchDevice = (api: Api, fingerprint: string, body: unknown) => api.request('PATCH', `/v1/devices/${fingerprint}`, body);
export const notificationLog = async (api: Api, id: string) => {
  const res = await api.get(`/v1/mpa/requests/${id}/notifications`);
  if (res.status !== 200) throw new Error(`log: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data as Array<{
    kind: string;
    channel: string;
    fingerprint: string | null;
    status: string;
    reason: string | null;
    target: string;
    attempts: any[];
  }>;
};
