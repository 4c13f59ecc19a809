import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { DomainTag, fingerprintOf, isFresh, STATUS_REQUEST_MAX_IDS, verifyPayload } from '@sigilauth/protocol';
import {
  DeviceSocketQuerySchema,
  type DeviceRequestView,
  type DeviceAuthMessage,
  type DeviceSocketQuery,
  type ServerMessage,
} from '@sigilauth/protocol/wire';
import { pairedDeviceTenant } from '../devices/devices.js';
import { channelKey, RequestFanout, type Channel } from '../fanout/request-fanout.js';
import type { ServerIdentity } from '../identity/server-identity.js';
import { isSyncCursor } from '../mpa/request-queries.js';
import type { DeviceRef } from '../mpa/requests.js';
import type { Database } from '../storage/database.js';

const AUTH_TIMEOUT_MS = 10_000;
const HEARTBEAT_MS = 30_000;
/** A socket whose device does not read what it is sent is dropped once this much waits to go out. */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** Request IDs a socket may have waiting for a status read; more are ignored (the device asks again after reconnecting). */
export const MAX_QUEUED_STATUS_IDS = 5 * STATUS_REQUEST_MAX_IDS;
/** Authenticated sockets of one device; one more closes the oldest. */
export const MAX_SOCKETS_PER_DEVICE = 5;
export const DEVICE_MESSAGE_MAX_BYTES = 16 * 1024;

export interface GatewayDeps {
  db: Database;
  identity: ServerIdentity;
  clock: () => number;
  onConnectionCountChange?: (count: number) => void;
}

/**
 * Devices hold one WebSocket each. The server proves itself by signing every message; the
 * device proves possession of its key by signing the server's fresh nonce, which binds the socket
 * to that device and the one organisation its key belongs to. After that the device receives
 * every pending request of that organisation that names it, and every change to one, through
 * the request fan-out (each socket is one of its channels).
 */
export class DeviceGateway {
  private readonly fanout: RequestFanout;
  private count = 0;
  private heartbeat: NodeJS.Timeout | null = null;
  /** Each device's authenticated sockets, oldest first. */
  private readonly socketsByDevice = new Map<string, Set<WebSocket>>();
  /** Per socket: the request IDs waiting for a status read, read one batch at a time. */
  private readonly statusQueues = new WeakMap<Channel, { ids: string[]; reading: boolean }>();

  constructor(private readonly deps: GatewayDeps) {
    this.fanout = new RequestFanout({ db: deps.db, clock: deps.clock });
  }

  /** Adds the socket route; the fan-out subscribes once the app is ready (the store may still be opening before). */
  start(app: FastifyInstance): void {
    app.addHook('onReady', () => this.fanout.start());
    this.heartbeat = setInterval(() => this.checkAlive(app), HEARTBEAT_MS);
    this.heartbeat.unref();
    app.get<{ Querystring: DeviceSocketQuery }>(
      '/v1/device/ws',
      { websocket: true, schema: { hide: true, querystring: DeviceSocketQuerySchema } },
      (socket, request) => this.accept(socket, request.query.nonce),
    );
  }

  async stop(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    await this.fanout.stop();
  }

  get connectedDevices(): number {
    return this.count;
  }

  private send(socket: WebSocket, message: ServerMessage): void {
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > MAX_BUFFERED_BYTES) return void socket.terminate();
    socket.send(JSON.stringify(this.deps.identity.signMessage(message)));
  }

  /** `deviceNonce`: the device's own, from the socket's URL, which the challenge repeats. */
  private accept(socket: WebSocket, deviceNonce: string | undefined): void {
    const { identity, clock } = this.deps;
    const nonce = randomBytes(32).toString('base64');
    let channel: Channel | null = null;
    const alive = socket as WebSocket & { sigilAlive?: boolean };
    alive.sigilAlive = true;
    socket.on('pong', () => (alive.sigilAlive = true));
    const authTimer = setTimeout(() => socket.close(4001, 'authentication timed out'), AUTH_TIMEOUT_MS);
    this.send(socket, {
      purpose: 'server-message',
      type: 'challenge',
      server_id: identity.serverId,
      nonce,
      ...(deviceNonce === undefined ? {} : { device_nonce: deviceNonce }),
      issued_at: clock(),
    });

    let authenticating = false;
    socket.on('message', (data, isBinary) => {
      if (channel !== null) return this.onSyncRequest(channel, isBinary ? '' : data.toString());
      // The first message is the proof; anything sent while it is checked is ignored.
      if (authenticating) return;
      authenticating = true;
      clearTimeout(authTimer);
      void this.authenticate(isBinary ? '' : data.toString(), nonce).then(
        (authenticated) => {
          // A socket that closed while its proof was checked is never counted.
          if (socket.readyState !== socket.OPEN) return;
          const joined = this.channel(authenticated, socket, nonce);
          // Not added when its device was revoked while its proof was checked: it has been refused.
          if (!this.fanout.add(joined)) return;
          channel = joined;
          this.deps.onConnectionCountChange?.(++this.count);
          this.holdSocket(channelKey(authenticated), socket);
          this.send(socket, {
            purpose: 'server-message',
            type: 'ready',
            server_id: identity.serverId,
            nonce,
            fingerprint: authenticated.fingerprint,
            issued_at: clock(),
          });
          return this.sync(channel);
        },
        (err: Error) => {
          this.send(socket, {
            purpose: 'server-message',
            type: 'error',
            server_id: identity.serverId,
            nonce,
            code: 'unauthorized',
            message: err.message,
            ...(err instanceof RefusedProof ? { proof_signature: err.signature } : {}),
            issued_at: clock(),
          });
          socket.close(4003, 'unauthorized');
        },
      );
    });
    socket.on('close', () => {
      clearTimeout(authTimer);
      if (channel !== null && this.fanout.remove(channel)) this.deps.onConnectionCountChange?.(--this.count);
      if (channel !== null) this.releaseSocket(channelKey(channel.device), socket);
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
    // From here the proof is the device's own, as it signed it: a refusal names it.
    if (!isFresh(p.issued_at, this.deps.clock())) throw new RefusedProof('the proof is not fresh', message.signature);
    // A key belongs to one organisation (devices_one_organisation): that is the socket's.
    const tenantId = await pairedDeviceTenant(this.deps.db, fingerprint, message.device_public_key);
    if (tenantId === null) throw new RefusedProof('this device is not paired, or has been revoked', message.signature);
    return { tenantId, fingerprint };
  }

  /** The socket as a channel of the fan-out: every message signed, in the device protocol's shapes. */
  private channel(device: DeviceRef, socket: WebSocket, nonce: string): Channel {
    const { identity, clock } = this.deps;
    const base = { purpose: 'server-message', server_id: identity.serverId, nonce, fingerprint: device.fingerprint } as const;
    return {
      device,
      sendSync: (page, cursor) => this.send(socket, { ...base, type: 'sync', ...page, cursor, issued_at: clock() }),
      sendRequest: (request: DeviceRequestView) => this.send(socket, { ...base, type: 'request', request, issued_at: clock() }),
      syncFailed: () => socket.close(1011, 'sync failed'),
      revoked: () => {
        this.send(socket, {
          purpose: 'server-message',
          type: 'error',
          server_id: identity.serverId,
          nonce,
          fingerprint: device.fingerprint,
          code: 'device_revoked',
          message: 'this device has been revoked',
          issued_at: clock(),
        });
        socket.close(4003, 'device revoked');
      },
      close: () => socket.close(1001, 'server shutting down'),
    };
  }

  private sync(channel: Channel, cursor: string | null = null): Promise<void> {
    return this.fanout.sync(channel, cursor).catch(() => channel.syncFailed());
  }

  /**
   * After authentication a device sends only `{ type: 'sync', cursor }`, for the next page of its
   * sync (one page at a time per socket), or `{ type: 'status', request_ids }`, for the current
   * view of requests it shows; anything else is ignored.
   */
  private onSyncRequest(channel: Channel, raw: string): void {
    let message: { type?: unknown; cursor?: unknown; request_ids?: unknown };
    try {
      message = JSON.parse(raw) as typeof message;
    } catch {
      return;
    }
    if (message?.type === 'status') return this.onStatusRequest(channel, message.request_ids);
    if (message?.type !== 'sync' || !isSyncCursor(message.cursor) || this.fanout.syncing(channel)) return;
    void this.sync(channel, message.cursor);
  }

  /**
   * Sends the signed current view of each named request that names this device, finished or not.
   * A socket's status reads run one batch at a time, and at most MAX_QUEUED_STATUS_IDS wait: a
   * device cannot make the server read, or hold answers for it, faster than it takes them.
   */
  private onStatusRequest(channel: Channel, ids: unknown): void {
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > STATUS_REQUEST_MAX_IDS || !ids.every(isSyncCursor)) return;
    let queue = this.statusQueues.get(channel);
    if (!queue) this.statusQueues.set(channel, (queue = { ids: [], reading: false }));
    if (queue.ids.length + ids.length > MAX_QUEUED_STATUS_IDS) return;
    queue.ids.push(...new Set(ids));
    if (!queue.reading) void this.readStatus(channel, queue);
  }

  private async readStatus(channel: Channel, queue: { ids: string[]; reading: boolean }): Promise<void> {
    queue.reading = true;
    try {
      while (queue.ids.length > 0) {
        // Storage unreachable: the device asks again after its next reconnect.
        await this.fanout.status(channel, queue.ids.splice(0, STATUS_REQUEST_MAX_IDS)).catch(() => {});
      }
    } finally {
      queue.reading = false;
    }
  }

  /** Counts a device's authenticated socket; past MAX_SOCKETS_PER_DEVICE the oldest is closed. */
  private holdSocket(key: string, socket: WebSocket): void {
    let sockets = this.socketsByDevice.get(key);
    if (!sockets) this.socketsByDevice.set(key, (sockets = new Set()));
    sockets.add(socket);
    if (sockets.size > MAX_SOCKETS_PER_DEVICE) [...sockets][0]!.close(4008, 'replaced by a newer connection of this device');
  }

  private releaseSocket(key: string, socket: WebSocket): void {
    const sockets = this.socketsByDevice.get(key);
    if (sockets?.delete(socket) && sockets.size === 0) this.socketsByDevice.delete(key);
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

/**
 * A refusal of a proof whose signature verified: the device's own, so the refusal names it (its
 * signature), and the device can tell it from a refusal of a proof someone else sent in its place.
 */
class RefusedProof extends Error {
  constructor(
    message: string,
    readonly signature: string,
  ) {
    super(message);
  }
}
