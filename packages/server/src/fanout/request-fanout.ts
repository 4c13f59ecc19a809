import type { DeviceRequestView } from '@sigilauth/protocol/wire';
import { revokedAmong } from '../devices/devices.js';
import { onDeviceRevoked, onRequestChanged, type DeviceRevoked, type RequestChanged } from '../events/bus.js';
import { approverViews, deviceViews, pendingViewsPage, type ViewPage } from '../mpa/request-queries.js';
import type { DeviceRef } from '../mpa/requests.js';
import { RECONNECTED_CHANNEL, type Database } from '../storage/database.js';

/**
 * One live connection of an approver's device (a WebSocket of `sigil-device`, a server-sent
 * event stream of the web approver): how the fan-out sends it its sync and the requests that change.
 */
export interface Channel {
  readonly device: DeviceRef;
  /** One page of the device's pending requests; `cursor` is the one the page was asked for (null: the first). */
  sendSync(page: ViewPage, cursor: string | null): void;
  /** A request naming the device changed. */
  sendRequest(view: DeviceRequestView): void;
  /** Reading a sync failed: the channel ends, and its client reconnects and syncs again. */
  syncFailed(): void;
  /** Its device was revoked: the channel ends, and its client is told why. */
  revoked(): void;
  /** The server is stopping. */
  close(): void;
}

/** Channels are filed under their device's organisation as well as its key. */
export const channelKey = (device: DeviceRef) => `${device.tenantId}/${device.fingerprint}`;

/**
 * A revocation is remembered at least this long (older ones go as the next arrives): a channel
 * whose pairing was read just before the revocation committed may be added just after its
 * announcement arrived. A revoked key never pairs again, so remembering longer is harmless.
 */
const REVOCATION_MEMORY_MS = 60_000;

/**
 * The one fan-out from storage to connected approvers, whatever carries it. Each channel gets a
 * sync (its device's pending requests, page by page) and then every change to a request of its
 * organisation that names its device. A change that arrives while a sync page is being read is
 * held and sent after that page, so a push never overtakes the sync it follows. A device's
 * revocation, on any instance, ends its channels. When PostgreSQL's notification connection was
 * lost (and notifications with it), the channels of devices revoked meanwhile end and every other
 * channel syncs again.
 */
export class RequestFanout {
  private readonly channels = new Map<string, Set<Channel>>();
  /** Requests that changed while a channel's sync page was in flight; re-read and sent after it. */
  private readonly changedDuringSync = new WeakMap<Channel, Set<string>>();
  /** Channel keys of devices revoked lately, with when the revocation arrived, oldest first. */
  private readonly recentlyRevoked = new Map<string, number>();
  private unsubscribe: Array<() => Promise<void>> = [];

  constructor(private readonly deps: { db: Database; clock: () => number }) {}

  async start(): Promise<void> {
    this.unsubscribe.push(await onRequestChanged(this.deps.db, (change) => void this.push(change)));
    this.unsubscribe.push(await onDeviceRevoked(this.deps.db, (device) => this.endRevoked(device)));
    if (this.deps.db.kind === 'postgres') {
      this.unsubscribe.push(await this.deps.db.listen(RECONNECTED_CHANNEL, () => void this.resyncAll()));
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.unsubscribe.map((u) => u()));
    this.unsubscribe = [];
    for (const set of this.channels.values()) for (const channel of set) channel.close();
  }

  /** Connected channels. */
  get size(): number {
    let n = 0;
    for (const set of this.channels.values()) n += set.size;
    return n;
  }

  /**
   * Registers a channel; call sync(channel) next, in the same tick, so no push reaches it before its
   * sync. False when its device's revocation has just arrived: the channel has been ended instead.
   */
  add(channel: Channel): boolean {
    if (this.recentlyRevoked.has(channelKey(channel.device))) {
      channel.revoked();
      return false;
    }
    let set = this.channels.get(channelKey(channel.device));
    if (!set) this.channels.set(channelKey(channel.device), (set = new Set()));
    set.add(channel);
    return true;
  }

  /** Forgets a channel; false when it was not registered. */
  remove(channel: Channel): boolean {
    const set = this.channels.get(channelKey(channel.device));
    if (!set?.delete(channel)) return false;
    if (set.size === 0) this.channels.delete(channelKey(channel.device));
    return true;
  }

  /** Whether a page of this channel's sync is being read (a client asks for one page at a time). */
  syncing(channel: Channel): boolean {
    return this.changedDuringSync.has(channel);
  }

  /** Sends one page of the channel's sync (the first when cursor is null), then what changed meanwhile. Rejects when storage fails. */
  async sync(channel: Channel, cursor: string | null = null): Promise<void> {
    const changed = this.changedDuringSync.get(channel) ?? new Set<string>();
    this.changedDuringSync.set(channel, changed);
    try {
      channel.sendSync(await pendingViewsPage(this.deps.db, channel.device, this.deps.clock(), cursor), cursor);
    } finally {
      this.changedDuringSync.delete(channel);
    }
    if (changed.size > 0) {
      // A lost push costs latency only: the client catches up from its next sync.
      const views = await deviceViews(this.deps.db, channel.device, [...changed], this.deps.clock()).catch(() => []);
      for (const view of views) this.send(channel, view);
    }
  }

  /** Sends the current view of each named request that names the channel's device, finished or not. */
  async status(channel: Channel, requestIds: string[]): Promise<void> {
    for (const view of await deviceViews(this.deps.db, channel.device, requestIds, this.deps.clock())) this.send(channel, view);
  }

  private send(channel: Channel, view: DeviceRequestView): void {
    const changed = this.changedDuringSync.get(channel);
    if (changed) changed.add(view.request_id);
    else channel.sendRequest(view);
  }

  private endRevoked(device: DeviceRevoked): void {
    const now = this.deps.clock();
    for (const [key, at] of this.recentlyRevoked) {
      if (now - at < REVOCATION_MEMORY_MS) break;
      this.recentlyRevoked.delete(key);
    }
    this.recentlyRevoked.delete(channelKey(device));
    this.recentlyRevoked.set(channelKey(device), now);
    // Each channel removes itself as it ends.
    for (const channel of [...(this.channels.get(channelKey(device)) ?? [])]) channel.revoked();
  }

  private async resyncAll(): Promise<void> {
    const connected = [...this.channels.values()].map((set) => set.values().next().value!.device);
    try {
      for (const device of await revokedAmong(this.deps.db, connected)) this.endRevoked(device);
    } catch {
      // Storage unreachable: each sync below fails too, and its client reconnects, proving its pairing again.
    }
    for (const set of this.channels.values()) {
      for (const channel of set) await this.sync(channel).catch(() => channel.syncFailed());
    }
  }

  /** Sends a changed request to the channels of its own organisation's devices that it names. */
  private async push({ tenantId, requestId }: RequestChanged): Promise<void> {
    if (this.channels.size === 0) return;
    try {
      for (const [fingerprint, view] of await approverViews(this.deps.db, tenantId, requestId, this.deps.clock())) {
        for (const channel of this.channels.get(channelKey({ tenantId, fingerprint })) ?? []) this.send(channel, view);
      }
    } catch {
      // The client catches up from storage on its next sync; a lost push costs latency only.
    }
  }
}
