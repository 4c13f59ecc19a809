import { randomBytes, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  actionDigest,
  DomainTag,
  encodePublicKey,
  fingerprintOf,
  generateP256KeyPair,
  signPayload,
  verifyPayload,
} from '@sigilauth/protocol';
import type { DecisionPayload, DeviceRequestView, ServerMessage } from '@sigilauth/protocol/wire';
import type { PairedServer } from '../src/keystore.js';
import { COLD_BOOT_ACTION } from '../../../test/support/cold-boot.js';

const TENANT_ID = '5d2f7c1e-8a4b-4c3d-9e6f-0a1b2c3d4e5f';

type Payload = Record<string, unknown> & { type: ServerMessage['type'] };

/**
 * An in-process stand-in for the server's device side (WebSocket + decisions), signing with its
 * own P-256 key, with switches to misbehave: tamper with messages, refuse devices, drop sockets.
 */
export class FakeSigil {
  readonly privateKey: KeyObject;
  readonly publicKey: string;
  /** Public so a test can make an impostor claim another server's ID. */
  serverId: string;
  url = '';
  authCount = 0;
  challengesSent = 0;
  readonly authedFingerprints: string[] = [];
  readonly decisions: DecisionPayload[] = [];
  httpRequests = 0;
  /** Views sent in each sync, in pages of syncPageSize. */
  views: DeviceRequestView[] = [];
  syncPageSize = 20;
  /** The cursors devices asked for pages with. */
  readonly pageRequests: string[] = [];
  /** The request IDs of each status request devices sent; answered from `views`. */
  readonly statusRequests: string[][] = [];
  /** Rewrites each outgoing signed message (after signing): tampering. */
  transform: ((message: { payload: Payload; signature: string }) => unknown) | null = null;
  /** Answer auth with a signed error. */
  refuseDevices = false;
  /** Cut every new WebSocket connection at once: the server is unreachable. */
  offline = false;
  /** Reply to POST decisions with this status and body instead of accepting. */
  decisionReply: { status: number; body: unknown } | null = null;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<WebSocket>();
  private readonly nonces = new WeakMap<WebSocket, string>();

  constructor() {
    const pair = generateP256KeyPair();
    this.privateKey = pair.privateKey;
    this.publicKey = encodePublicKey(pair.publicKey);
    this.serverId = fingerprintOf(this.publicKey);
    this.http = createServer((req, res) => void this.onHttp(req, res));
    this.wss = new WebSocketServer({ server: this.http, path: '/v1/device/ws' });
    this.wss.on('connection', (ws, req) => this.onConnection(ws, new URL(req.url ?? '/', 'http://fake').searchParams.get('nonce')));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.http.listen(0, '127.0.0.1', resolve));
    const address = this.http.address();
    this.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    this.wss.close();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  /** What a device stores after pairing with this server. */
  paired(): PairedServer {
    return {
      url: this.url,
      server_id: this.serverId,
      server_public_key: this.publicKey,
      org_name: 'Acme Corp',
      tenant_id: TENANT_ID,
      device_name: 'test device',
      pairing_id: 'pairing-1',
      paired_at: new Date().toISOString(),
    };
  }

  sign(payload: Payload): { payload: Payload; signature: string } {
    return { payload, signature: signPayload(DomainTag.serverMessage, payload, this.privateKey) };
  }

  /** Signs and sends a message; every one after the challenge carries its connection's nonce, as the server's do. */
  send(ws: WebSocket, body: Record<string, unknown> & { type: ServerMessage['type'] }): void {
    const nonce = body.type === 'challenge' ? {} : { nonce: this.nonces.get(ws) };
    const signed = this.sign({ purpose: 'server-message', server_id: this.serverId, issued_at: Date.now(), ...nonce, ...body });
    ws.send(JSON.stringify(this.transform ? this.transform(signed) : signed));
  }

  /** Pushes a `request` message to every authenticated socket. */
  push(view: DeviceRequestView): void {
    for (const ws of this.sockets) {
      const fp = (ws as WebSocket & { fingerprint?: string }).fingerprint;
      if (fp) this.send(ws, { type: 'request', fingerprint: fp, request: view });
    }
  }

  /** Drops every connection (like a network failure). */
  dropAll(): void {
    for (const ws of this.sockets) ws.terminate();
  }

  get openSockets(): number {
    return this.sockets.size;
  }

  private onConnection(ws: WebSocket, deviceNonce: string | null): void {
    if (this.offline) {
      ws.terminate();
      return;
    }
    this.sockets.add(ws);
    ws.on('close', () => this.sockets.delete(ws));
    const nonce = randomBytes(32).toString('base64');
    this.nonces.set(ws, nonce);
    this.challengesSent++;
    this.send(ws, { type: 'challenge', nonce, ...(deviceNonce === null ? {} : { device_nonce: deviceNonce }) });
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as {
        type: string;
        payload: Record<string, unknown>;
        device_public_key: string;
        signature: string;
        cursor?: string;
        request_ids?: string[];
      };
      const authed = (ws as WebSocket & { fingerprint?: string }).fingerprint;
      if (authed !== undefined) {
        if (msg.type === 'sync' && typeof msg.cursor === 'string') {
          this.pageRequests.push(msg.cursor);
          this.sendPage(ws, authed, msg.cursor);
        }
        if (msg.type === 'status' && Array.isArray(msg.request_ids)) {
          this.statusRequests.push(msg.request_ids);
          for (const view of this.views)
            if (msg.request_ids.includes(view.request_id)) this.send(ws, { type: 'request', fingerprint: authed, request: view });
        }
        return;
      }
      const p = msg.payload;
      const ok =
        msg.type === 'auth' &&
        p.purpose === 'device-session' &&
        p.server_id === this.serverId &&
        p.nonce === nonce &&
        p.fingerprint === fingerprintOf(msg.device_public_key) &&
        verifyPayload(DomainTag.deviceSession, p, msg.signature, msg.device_public_key);
      if (!ok || this.refuseDevices) {
        this.send(ws, {
          type: 'error',
          code: 'unauthorized',
          message: 'this device is not paired, or has been revoked',
          // Only a proof that verified is named, as the server does.
          ...(ok ? { proof_signature: msg.signature } : {}),
        });
        ws.close(4003, 'unauthorized');
        return;
      }
      this.authCount++;
      const fingerprint = p.fingerprint as string;
      this.authedFingerprints.push(fingerprint);
      (ws as WebSocket & { fingerprint?: string }).fingerprint = fingerprint;
      this.send(ws, { type: 'ready', fingerprint });
      this.sendPage(ws, fingerprint, null);
    });
  }

  /** A page of the sync: the views after the one named by the cursor (the cursor is a request ID). */
  private sendPage(ws: WebSocket, fingerprint: string, cursor: string | null): void {
    const from = cursor === null ? 0 : this.views.findIndex((v) => v.request_id === cursor) + 1;
    const requests = from === 0 && cursor !== null ? [] : this.views.slice(from, from + this.syncPageSize);
    const next = from + this.syncPageSize < this.views.length && requests.length > 0 ? requests[requests.length - 1]!.request_id : null;
    this.send(ws, { type: 'sync', fingerprint, requests, cursor, next_cursor: next });
  }

  private async onHttp(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    this.httpRequests++;
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const match = req.url?.match(/^\/v1\/mpa\/requests\/([^/]+)\/decisions$/);
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || !match) return reply(404, { error: { code: 'not_found', message: 'no route' } });
    if (this.decisionReply) return reply(this.decisionReply.status, this.decisionReply.body);
    const { payload } = JSON.parse(raw) as { payload: DecisionPayload; signature: string };
    const view = this.views.find((v) => v.request_id === match[1]);
    if (!view) return reply(404, { error: { code: 'not_found', message: 'MPA request not found' } });
    if (payload.action_digest !== actionDigest(view.action)) return reply(400, { error: { code: 'action_mismatch', message: 'digest' } });
    this.decisions.push(payload);
    const updated: DeviceRequestView = {
      ...view,
      my_decision: payload.decision,
      status: payload.decision === 'deny' ? 'rejected' : view.groups_satisfied_count + 1 >= view.groups_required ? 'approved' : 'pending',
      groups_satisfied_count: payload.decision === 'approve' ? view.groups_satisfied_count + 1 : view.groups_satisfied_count,
    };
    // Stored, as a real server would: what a status request answers from now on.
    this.views = this.views.map((v) => (v.request_id === updated.request_id ? updated : v));
    return reply(200, updated);
  }
}

export function makeView(overrides: Partial<DeviceRequestView> = {}): DeviceRequestView {
  const action = overrides.action ?? structuredClone(COLD_BOOT_ACTION);
  return {
    tenant_id: TENANT_ID,
    org_name: 'Acme Corp',
    request_id: '0b6a3c52-3d0e-4a55-8f0a-6b1f6e2c9d01',
    status: 'pending',
    action,
    action_digest: actionDigest(action),
    groups_required: 2,
    groups_total: 2,
    groups_satisfied_count: 0,
    group_name: 'Engineering Leads',
    my_decision: null,
    expires_at: new Date(Date.now() + 600_000).toISOString(),
    created_at: new Date().toISOString(),
    completed_at: null,
    ...overrides,
  };
}
