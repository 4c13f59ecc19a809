import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import {
  DomainTag,
  fingerprintOf,
  isFresh,
  STATUS_REQUEST_MAX_IDS,
  verifyPayload,
  type DeviceAuthMessage,
  type DeviceRequestView,
  type ServerMessage,
} from '@sigilauth/protocol';
import { onRequestChanged, type RequestChanged } from '../events/bus.js';
import type { ServerIdentity } from '../identity/server-identity.js';
import { deviceViews, isSyncCursor, pendingViewsPage, type DeviceRef } from '../mpa/requests.js';
import { RECONNECTED_CHANNEL, type Database } from '../storage/database.js';

const AUTH_TIMEOUT_MS = 10_000;
const HEARTBEAT_MS = 30_000;
export const DEVICE_MESSAGE_MAX_BYTES = 16 * 1024;

export interface GatewayDeps {
  db: Database;
  identity: ServerIdentity;
  clock: () => number;
  onConnectionCountChange?: (count: number) => void;
}

/** Sockets are filed under their device's organisation as well as its key. */
const socketKey = (device: DeviceRef) => `${device.tenantId}/${device.fingerprint}`;

/**
 * Devices hold one WebSocket each. The server proves itself by signing every message; the
 * device proves possession of its key by signing the server's fresh nonce, which binds the socket
 * to that device and the one organisation its key belongs to. After that the device receives
 * every pending request of that organisation that names it, and every change to one.
 */
export class DeviceGateway {
  private readonly sockets = new Map<string, Set<WebSocket>>();
  private readonly deviceOf = new WeakMap<WebSocket, DeviceRef>();
  /** Requests that changed while a socket's sync was in flight; re-read and sent after the sync. */
  private readonly changedDuringSync = new WeakMap<WebSocket, Set<string>>();
  private count = 0;
  private heartbeat: NodeJS.Timeout | null = null;
  private unsubscribe: Array<() => Promise<void>> = [];

  constructor(private readonly deps: GatewayDeps) {}

  async start(app: FastifyInstance): Promise<void> {
    this.unsubscribe.push(await onRequestChanged(this.deps.db, (change) => void this.pushRequest(change)));
    if (this.deps.db.kind === 'postgres') {
      this.unsubscribe.push(await this.deps.db.listen(RECONNECTED_CHANNEL, () => void this.resyncAll()));
    }
    this.heartbeat = setInterval(() => this.checkAlive(app), HEARTBEAT_MS);
    this.heartbeat.unref();
    app.get('/v1/device/ws', { websocket: true, schema: { hide: true } }, (socket) => this.accept(socket));
  }

  async stop(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    await Promise.all(this.unsubscribe.map((u) => u()));
    for (const set of this.sockets.values()) for (const socket of set) socket.close(1001, 'server shutting down');
  }

  get connectedDevices(): number {
    return this.count;
  }

  private send(socket: WebSocket, message: ServerMessage): void {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(this.deps.identity.signMessage(message)));
  }

  private accept(socket: WebSocket): void {
    const { identity, clock } = this.deps;
    const nonce = randomBytes(32).toString('base64');
    let device: DeviceRef | null = null;
    const alive = socket as WebSocket & { sigilAlive?: boolean };
    alive.sigilAlive = true;
    socket.on('pong', () => (alive.sigilAlive = true));
    const authTimer = setTimeout(() => socket.close(4001, 'authentication timed out'), AUTH_TIMEOUT_MS);
    this.send(socket, { purpose: 'server-message', type: 'challenge', server_id: identity.serverId, nonce, issued_at: clock() });

    let authenticating = false;
    socket.on('message', (data, isBinary) => {
      if (device !== null) return this.onSyncRequest(device, socket, isBinary ? '' : data.toString());
      // The first message is the proof; anything sent while it is checked is ignored.
      if (authenticating) return;
      authenticating = true;
      clearTimeout(authTimer);
      void this.authenticate(isBinary ? '' : data.toString(), nonce).then(
        (authenticated) => {
          // A socket that closed while its proof was checked is never counted.
          if (socket.readyState !== socket.OPEN) return;
          device = authenticated;
          this.register(authenticated, socket);
          this.send(socket, { purpose: 'server-message', type: 'ready', server_id: identity.serverId, fingerprint: authenticated.fingerprint, issued_at: clock() });
          return this.sync(authenticated, socket);
        },
        (err: Error) => {
          this.send(socket, { purpose: 'server-message', type: 'error', server_id: identity.serverId, code: 'unauthorized', message: err.message, issued_at: clock() });
          socket.close(4003, 'unauthorized');
        },
      );
    });
    socket.on('close', () => {
      clearTimeout(authTimer);
      if (device !== null) this.unregister(device, socket);
    });
    socket.on('error', () => socket.terminate());
  }

  private async authenticate(raw: string, nonce: string): Promise<DeviceRef> {
    let message: DeviceAuthMessage;
    try {
      message = JSON.parse(raw) as DeviceAuthMessage;
    } catch {
      throw new Error('expected an auth message');
    }
    const p = message?.payload;
    if (message?.type !== 'auth' || typeof p !== 'object' || p === null) throw new Error('expected an auth message');
    if (p.purpose !== 'device-session' || p.server_id !== this.deps.identity.serverId || p.nonce !== nonce) {
      throw new Error('the proof is not for this session');
    }
    if (!isFresh(p.issued_at, this.deps.clock())) throw new Error('the proof is not fresh');
    let fingerprint: string;
    try {
      fingerprint = fingerprintOf(message.device_public_key);
    } catch {
      throw new Error('device_public_key is not a compressed P-256 key');
    }
    if (fingerprint !== p.fingerprint) throw new Error('fingerprint does not match device_public_key');
    if (typeof message.signature !== 'string' || !verifyPayload(DomainTag.deviceSession, p, message.signature, message.device_public_key)) {
      throw new Error('the proof signature does not verify');
    }
    // A key belongs to one organisation (devices_one_organisation): that is the socket's.
    const [paired] = await this.deps.db.query<{ tenant_id: string }>(
      'SELECT tenant_id FROM devices WHERE fingerprint = $1 AND public_key = $2 AND revoked_at IS NULL',
      [fingerprint, message.device_public_key],
    );
    if (!paired) throw new Error('this device is not paired, or has been revoked');
    return { tenantId: paired.tenant_id, fingerprint };
  }

  private register(device: DeviceRef, socket: WebSocket): void {
    let set = this.sockets.get(socketKey(device));
    if (!set) this.sockets.set(socketKey(device), (set = new Set()));
    set.add(socket);
    this.deviceOf.set(socket, device);
    this.deps.onConnectionCountChange?.(++this.count);
  }

  private unregister(device: DeviceRef, socket: WebSocket): void {
    const set = this.sockets.get(socketKey(device));
    if (!set?.delete(socket)) return;
    if (set.size === 0) this.sockets.delete(socketKey(device));
    this.deps.onConnectionCountChange?.(--this.count);
  }

  /**
   * After authentication a device sends only `{ type: 'sync', cursor }`, for the next page of its
   * sync (one page at a time per socket), or `{ type: 'status', request_ids }`, for the current
   * view of requests it shows; anything else is ignored.
   */
  private onSyncRequest(device: DeviceRef, socket: WebSocket, raw: string): void {
    let message: { type?: unknown; cursor?: unknown; request_ids?: unknown };
    try {
      message = JSON.parse(raw) as typeof message;
    } catch {
      return;
    }
    if (message?.type === 'status') return this.onStatusRequest(device, socket, message.request_ids);
    if (message?.type !== 'sync' || !isSyncCursor(message.cursor) || this.changedDuringSync.has(socket)) return;
    void this.sync(device, socket, message.cursor).catch(() => socket.close(1011, 'sync failed'));
  }

  /** Sends the signed current view of each named request that names this device, finished or not. */
  private onStatusRequest(device: DeviceRef, socket: WebSocket, ids: unknown): void {
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > STATUS_REQUEST_MAX_IDS || !ids.every(isSyncCursor)) return;
    void deviceViews(this.deps.db, device, [...new Set(ids)], this.deps.clock()).then(
      (views) => {
        for (const view of views) this.sendRequest(socket, device.fingerprint, view);
      },
      // Storage is unreachable: the device asks again after its next reconnect.
      () => {},
    );
  }

  /** Sends one page of the device's pending requests (the first when cursor is null). */
  private async sync(device: DeviceRef, socket: WebSocket, cursor: string | null = null): Promise<void> {
    const { fingerprint } = device;
    const changed = this.changedDuringSync.get(socket) ?? new Set<string>();
    this.changedDuringSync.set(socket, changed);
    try {
      const page = await pendingViewsPage(this.deps.db, device, this.deps.clock(), cursor);
      this.send(socket, { purpose: 'server-message', type: 'sync', server_id: this.deps.identity.serverId, fingerprint, ...page, cursor, issued_at: this.deps.clock() });
    } finally {
      this.changedDuringSync.delete(socket);
    }
    if (changed.size > 0) {
      for (const request of await deviceViews(this.deps.db, device, [...changed], this.deps.clock())) this.sendRequest(socket, fingerprint, request);
    }
  }

  private sendRequest(socket: WebSocket, fingerprint: string, request: DeviceRequestView): void {
    const changed = this.changedDuringSync.get(socket);
    if (changed) changed.add(request.request_id);
    else this.send(socket, { purpose: 'server-message', type: 'request', server_id: this.deps.identity.serverId, fingerprint, request, issued_at: this.deps.clock() });
  }

  private async resyncAll(): Promise<void> {
    for (const set of this.sockets.values()) for (const socket of set) await this.sync(this.deviceOf.get(socket)!, socket).catch(() => {});
  }

  /** Sends a changed request to the sockets of its own organisation's devices that it names. */
  private async pushRequest({ tenantId, requestId }: RequestChanged): Promise<void> {
    if (this.sockets.size === 0) return;
    try {
      const approvers = await this.deps.db.query<{ fingerprint: string }>('SELECT fingerprint FROM mpa_approvers WHERE request_id = $1', [requestId]);
      for (const { fingerprint } of approvers) {
        const device = { tenantId, fingerprint };
        const set = this.sockets.get(socketKey(device));
        if (!set) continue;
        const [view] = await deviceViews(this.deps.db, device, [requestId], this.deps.clock());
        if (!view) continue;
        for (const socket of set) this.sendRequest(socket, fingerprint, view);
      }
    } catch {
      // The device catches up from storage on its next sync; a lost push costs latency only.
    }
  }

  private checkAlive(app: FastifyInstance): void {
    for (const socket of app.websocketServer.clients) {
      const s = socket as WebSocket & { sigilAlive?: boolean };
      if (s.sigilAlive === false) {
        socket.terminate();
        continue;
      }
      s.sigilAlive = false;
      socket.ping();
    }
  }
}
