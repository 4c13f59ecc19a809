/** A scripted HTTP server on 127.0.0.1 for SDK tests: records every request it gets. */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  json: unknown;
}

export type Handler = (req: RecordedRequest, res: ServerResponse, index: number) => void | Promise<void>;

export interface FakeServer {
  url: string;
  port: number;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startFakeServer(handler: Handler): Promise<FakeServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = body === '' ? undefined : JSON.parse(body);
      } catch {
        json = undefined;
      }
      const recorded: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, json };
      requests.push(recorded);
      Promise.resolve(handler(recorded, res, requests.length - 1)).catch((err: unknown) => {
        res.statusCode = 599;
        res.end(String(err));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export function sendError(res: ServerResponse, status: number, code: string, message: string, details?: Record<string, unknown>, headers: Record<string, string> = {}): void {
  sendJson(res, status, { error: { code, message, ...(details ? { details } : {}) } }, headers);
}

export const REQUEST_ID = '7c3e5f9a-2b4d-4a1e-8f6c-9d2a1b3c4e5f';

/** A server-shaped MPA request view. */
export function view(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Date.now();
  return {
    request_id: REQUEST_ID,
    status: 'pending',
    groups_required: 2,
    groups_total: 3,
    groups_satisfied: [],
    expires_at: new Date(now + 600_000).toISOString(),
    created_at: new Date(now).toISOString(),
    action: { type: 'cold_boot', description: 'Cold boot engine ENG-001', params: { engine_id: 'ENG-001' } },
    ...overrides,
  };
}
