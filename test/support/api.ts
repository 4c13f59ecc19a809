import { startServer, type RunningServer, type ServerConfig } from '../../packages/server/src/server.js';
import { TEST_POOL_SIZE } from './processes.js';
import type { TestDevice } from './device-keys.js';
import type { TestStore } from './stores.js';

export { coldBootRequest } from './cold-boot.js';

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** A tiny JSON client for tests: never throws on HTTP errors, returns status and parsed body. */
export class Api {
  constructor(
    readonly baseUrl: string,
    readonly apiKey: string | null,
  ) {}

  withKey(apiKey: string | null): Api {
    return new Api(this.baseUrl, apiKey);
  }

  async request<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: leave as text
    }
    return { status: res.status, headers: res.headers, body: parsed as T };
  }

  /**
   * As `request`, sent again while the server answers 503 (busy or its database away), after the
   * Retry-After it gives, as a real client does: for tests whose subject is not the 503 itself.
   */
  async served<T = any>(method: string, path: string, body?: unknown, attempts = 30): Promise<ApiResponse<T>> {
    for (let i = 1; ; i++) {
      const res = await this.request<T>(method, path, body);
      if (res.status !== 503 || i >= attempts) return res;
      const wait = Number(res.headers.get('retry-after'));
      await new Promise((r) => setTimeout(r, Number.isFinite(wait) && wait > 0 ? Math.min(wait, 5) * 1000 : 500));
    }
  }

  get = <T = any>(path: string) => this.request<T>('GET', path);
  post = <T = any>(path: string, body?: unknown, headers?: Record<string, string>) => this.request<T>('POST', path, body ?? {}, headers);
  delete = <T = any>(path: string) => this.request<T>('DELETE', path);
}

export interface TestServer {
  server: RunningServer;
  api: Api;
  serverId: string;
  close(): Promise<void>;
}

/** Runs the server in this process on an ephemeral port, with an optional controllable clock. */
export async function startTestServer(
  store: TestStore,
  options: {
    clock?: () => number;
    orgName?: string;
    /** for a restart: the key the first start printed */
    apiKey?: string | null;
    config?: Partial<ServerConfig>;
  } = {},
): Promise<TestServer> {
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    dataDir: store.dataDir,
    databaseUrl: store.databaseUrl,
    dbPoolSize: TEST_POOL_SIZE,
    orgName: options.orgName ?? 'Acme Corp',
    logLevel: 'silent',
    pairingRateLimit: 25,
    ...(options.clock ? { clock: options.clock } : {}),
    ...options.config,
  });
  const apiKey = server.firstApiKey ?? options.apiKey;
  if (!apiKey) throw new Error('expected a fresh store, or the apiKey of an earlier start');
  return { server, api: new Api(server.url, apiKey), serverId: server.identity.serverId, close: () => server.close() };
}

/** Pairs a test device with the API key's organisation through the public API. */
export async function pairDevice(api: Api, serverId: string, device: TestDevice): Promise<void> {
  const opened = await api.post('/v1/pairings', { name: device.name });
  if (opened.status !== 201) throw new Error(`pairing failed: ${JSON.stringify(opened.body)}`);
  const done = await api.withKey(null).post('/v1/pairings/complete', device.pairingBody(serverId, opened.body.code));
  if (done.status !== 200) throw new Error(`pairing completion failed: ${JSON.stringify(done.body)}`);
}
