/** A scripted HTTP server on 127.0.0.1 for SDK tests: records every request it gets. */
import type { ServerResponse } from 'node:http';
import { startHttpRecorder, type HttpRecorder, type RecordedRequest, type RecordingHandler } from '../../../test/support/http-recorder.js';

export type { RecordedRequest };
export type Handler = RecordingHandler;
export type FakeServer = HttpRecorder;

export const startFakeServer = (handler: Handler): Promise<FakeServer> => startHttpRecorder(handler);

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export function sendError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  details?: Record<string, unknown>,
  headers: Record<string, string> = {},
): void {
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
