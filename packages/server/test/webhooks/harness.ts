/** Shared by the webhook and audit tests: a loopback receiver, bounded waits, an in-process server. */
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { actionDigest } from '@sigilauth/protocol';
import { startServer, type ServerConfig } from '../../src/server.js';
import { Api, pairDevice } from '../../../../test/support/api.js';
import type { TestDevice } from '../../../../test/support/device-keys.js';
import type { TestStore } from '../../../../test/support/stores.js';

export interface Received {
  id: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
  /** The status this receiver answered with. */
  status: number;
}

export type Responder = (req: { id: string; body: string; attempt: number }) => { status: number; headers?: Record<string, string> } | 'hang';

/** A webhook receiver on 127.0.0.1: records every request and answers as `respond` says. */
export class Receiver {
  readonly received: Received[] = [];
  private readonly attempts = new Map<string, number>();
  private readonly hanging = new Set<http.ServerResponse>();

  private constructor(
    private readonly server: http.Server,
    public respond: Responder,
  ) {}

  static async start(respond: Responder = () => ({ status: 204 }), port = 0): Promise<Receiver> {
    const server = http.createServer();
    const receiver = new Receiver(server, respond);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const id = String(req.headers['webhook-id'] ?? '');
        const attempt = (receiver.attempts.get(id) ?? 0) + 1;
        receiver.attempts.set(id, attempt);
        const answer = receiver.respond({ id, body, attempt });
        if (answer === 'hang') {
          receiver.received.push({ id, headers: req.headers, body, at: Date.now(), status: 0 });
          receiver.hanging.add(res);
          return;
        }
        receiver.received.push({ id, headers: req.headers, body, at: Date.now(), status: answer.status });
        res.writeHead(answer.status, answer.headers ?? {});
        res.end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return receiver;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  /** Requests answered 2xx, one per webhook-id after dedup; throws if an id was accepted twice. */
  accepted(): Map<string, Received> {
    const byId = new Map<string, Received>();
    for (const r of this.received) {
      if (r.status < 200 || r.status >= 300) continue;
      if (byId.has(r.id)) throw new Error(`webhook ${r.id} was accepted twice`);
      byId.set(r.id, r);
    }
    return byId;
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A port that was free a moment ago (for a receiver that is "down" now and comes up later). */
export async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls until fn returns a truthy value, or fails after timeoutMs. */
export async function waitFor<T>(fn: () => Promise<T> | T, message: string, timeoutMs = 15_000, intervalMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${message}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface WebhookTestServer {
  server: Awaited<ReturnType<typeof startServer>>;
  api: Api;
  serverId: string;
  close(): Promise<void>;
}

/** Fast retries for tests: the schedule is 7 steps, like the real one, in milliseconds. */
export const TEST_RETRY_SCHEDULE_MS = [50, 100, 150, 200, 250, 300, 350];

/** Starts the server in this process with webhook settings for tests (loopback allowed, fast retries). */
export async function startWebhookServer(
  store: TestStore,
  overrides: Partial<ServerConfig> = {},
  apiKey: string | null = null,
): Promise<WebhookTestServer> {
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    dataDir: store.dataDir,
    databaseUrl: store.databaseUrl,
    dbPoolSize: 10,
    orgName: 'Acme Corp',
    logLevel: 'silent',
    pairingRateLimit: 100,
    audit: { intervalMs: 100, signIntervalMs: 0 },
    ...overrides,
    webhooks: { allowPrivate: true, retryScheduleMs: TEST_RETRY_SCHEDULE_MS, timeoutMs: 2_000, pollIntervalMs: 200, ...overrides.webhooks },
  });
  const key = server.firstApiKey ?? apiKey;
  if (!key) throw new Error('expected a fresh store or an API key');
  return { server, api: new Api(server.url, key), serverId: server.identity.serverId, close: () => server.close() };
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
  const decided = await api.withKey(null).post(
    `/v1/mpa/requests/${id}/decisions`,
    device.decisionBody(serverId, id, actionDigest(created.body.action), 'approve'),
  );
  if (decided.status !== 200) throw new Error(`decision failed: ${decided.status} ${JSON.stringify(decided.body)}`);
  return id;
}

export { Api, pairDevice };
