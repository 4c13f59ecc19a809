import type { FastifyReply } from 'fastify';
import type { DeviceRequestView } from '@sigilauth/protocol';
import { onRequestChanged, type RequestChanged } from '../events/bus.js';
import { deviceViews, pendingViewsPage } from '../mpa/request-queries.js';
import type { DeviceRef } from '../mpa/requests.js';
import { RECONNECTED_CHANNEL, type Database } from '../storage/database.js';

const HEARTBEAT_MS = 25_000;
/** Streams end after this; the browser's EventSource reconnects, which re-checks the session. */
const MAX_STREAM_MS = 15 * 60_000;

interface Stream {
  device: DeviceRef;
  reply: FastifyReply;
  /** Requests that changed while the first sync was being read; sent after it. */
  pendingDuringSync: Set<string> | null;
  timers: NodeJS.Timeout[];
}

/** Streams are filed under their device's organisation as well as its key. */
const streamKey = (device: DeviceRef) => `${device.tenantId}/${device.fingerprint}`;

/**
 * Server-sent events for web approvers (`GET /approve/events`): the browser's counterpart of the
 * device WebSocket. On connect a `sync` event carries the first page of the pending requests of
 * the session's organisation naming its device (the rest are read from
 * `/approve/api/requests?cursor=`); then a `request` event carries the RequestView each time one
 * of them changes.
 */
export class ApproverEvents {
  private readonly streams = new Map<string, Set<Stream>>();
  private unsubscribe: Array<() => Promise<void>> = [];

  constructor(private readonly deps: { db: Database; clock: () => number }) {}

  async start(): Promise<void> {
    this.unsubscribe.push(await onRequestChanged(this.deps.db, (change) => void this.push(change)));
    if (this.deps.db.kind === 'postgres') {
      this.unsubscribe.push(await this.deps.db.listen(RECONNECTED_CHANNEL, () => void this.resyncAll()));
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.unsubscribe.map((u) => u()));
    this.unsubscribe = [];
    for (const set of this.streams.values()) for (const stream of set) this.end(stream);
  }

  get size(): number {
    let n = 0;
    for (const set of this.streams.values()) n += set.size;
    return n;
  }

  /** Takes over the reply and streams this device's requests until the browser goes away. */
  async open(device: DeviceRef, reply: FastifyReply, headers: Record<string, string>): Promise<void> {
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    raw.write('retry: 2000\n\n');
    const stream: Stream = { device, reply, pendingDuringSync: new Set(), timers: [] };
    let set = this.streams.get(streamKey(device));
    if (!set) this.streams.set(streamKey(device), (set = new Set()));
    set.add(stream);
    const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
    const lifetime = setTimeout(() => this.end(stream), MAX_STREAM_MS);
    heartbeat.unref();
    lifetime.unref();
    stream.timers.push(heartbeat, lifetime);
    raw.on('close', () => this.remove(stream));
    await this.sync(stream);
  }

  private async sync(stream: Stream): Promise<void> {
    stream.pendingDuringSync ??= new Set();
    try {
      const page = await pendingViewsPage(this.deps.db, stream.device, this.deps.clock());
      this.write(stream, 'sync', { ...page, server_time: this.deps.clock() });
    } catch {
      this.end(stream);
      return;
    }
    const changed = stream.pendingDuringSync;
    stream.pendingDuringSync = null;
    if (changed.size > 0) {
      for (const view of await deviceViews(this.deps.db, stream.device, [...changed], this.deps.clock()).catch(() => [])) {
        this.write(stream, 'request', view);
      }
    }
  }

  private write(stream: Stream, event: string, data: unknown): void {
    const raw = stream.reply.raw;
    if (raw.writableEnded || raw.destroyed) return;
    raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private end(stream: Stream): void {
    this.remove(stream);
    if (!stream.reply.raw.writableEnded) stream.reply.raw.end();
  }

  private remove(stream: Stream): void {
    for (const t of stream.timers) clearTimeout(t);
    const set = this.streams.get(streamKey(stream.device));
    if (!set?.delete(stream)) return;
    if (set.size === 0) this.streams.delete(streamKey(stream.device));
  }

  private async resyncAll(): Promise<void> {
    for (const set of this.streams.values()) for (const stream of set) await this.sync(stream);
  }

  /** Sends a changed request to the streams of its own organisation's devices that it names. */
  private async push({ tenantId, requestId }: RequestChanged): Promise<void> {
    if (this.streams.size === 0) return;
    try {
      const approvers = await this.deps.db.query<{ fingerprint: string }>('SELECT fingerprint FROM mpa_approvers WHERE request_id = $1', [requestId]);
      for (const { fingerprint } of approvers) {
        const device = { tenantId, fingerprint };
        const set = this.streams.get(streamKey(device));
        if (!set) continue;
        const [view] = await deviceViews(this.deps.db, device, [requestId], this.deps.clock());
        for (const stream of set) {
          if (stream.pendingDuringSync) stream.pendingDuringSync.add(requestId);
          else if (view) this.write(stream, 'request', view satisfies DeviceRequestView);
        }
      }
    } catch {
      // The page catches up from the next sync (EventSource reconnects); a lost push costs latency only.
    }
  }
}
