import type { FastifyReply } from 'fastify';
import type { ErrorCode } from '@sigilauth/protocol';
import { onSessionClosed } from '../events/bus.js';
import { RequestFanout, type Channel } from '../fanout/request-fanout.js';
import type { Database } from '../storage/database.js';
import type { ApproverSession } from './sessions.js';

const HEARTBEAT_MS = 25_000;
/** Streams end after this, or when their session expires if sooner; the browser's EventSource reconnects, which re-checks the session. */
const MAX_STREAM_MS = 15 * 60_000;
/** Open streams of one session (one per tab); a new one past this ends the session's oldest. */
export const MAX_STREAMS_PER_SESSION = 5;

/**
 * Server-sent events for web approvers (`GET /approve/events`): the browser's counterpart of the
 * device WebSocket, and another channel of the request fan-out. On connect a `sync` event
 * carries the first page of the pending requests of the session's organisation naming its device
 * (the rest are read from `/approve/api/requests?cursor=`); then a `request` event carries the
 * RequestView each time one of them changes. A `revoked` event ends the stream when the device is
 * revoked. A stream lives no longer than its session: signing out, on any instance, ends it.
 */
export class ApproverEvents {
  private readonly fanout: RequestFanout;
  /** The ends of each session's open streams, oldest first. */
  private readonly bySession = new Map<string, Set<() => void>>();
  private unsubscribe: (() => Promise<void>) | null = null;

  constructor(private readonly deps: { db: Database; clock: () => number }) {
    this.fanout = new RequestFanout(deps);
  }

  async start(): Promise<void> {
    await this.fanout.start();
    this.unsubscribe = await onSessionClosed(this.deps.db, ({ sessionId }) => {
      for (const end of [...(this.bySession.get(sessionId) ?? [])]) end();
    });
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
    this.unsubscribe = null;
    await this.fanout.stop();
  }

  get size(): number {
    return this.fanout.size;
  }

  /** Takes over the reply and streams this session's device's requests until the browser goes away or the session ends. */
  async open(session: ApproverSession, reply: FastifyReply, headers: Record<string, string>): Promise<void> {
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
    const write = (event: string, data: unknown) => {
      if (!raw.writableEnded && !raw.destroyed) raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
    const lifetime = setTimeout(() => end(), Math.max(0, Math.min(MAX_STREAM_MS, session.expiresAt - this.deps.clock())));
    heartbeat.unref();
    lifetime.unref();
    const streams = this.bySession.get(session.id) ?? new Set<() => void>();
    this.bySession.set(session.id, streams);
    const remove = () => {
      clearInterval(heartbeat);
      clearTimeout(lifetime);
      this.fanout.remove(channel);
      streams.delete(end);
      if (streams.size === 0 && this.bySession.get(session.id) === streams) this.bySession.delete(session.id);
    };
    const end = () => {
      remove();
      if (!raw.writableEnded) raw.end();
    };
    const channel: Channel = {
      device: { tenantId: session.tenantId, fingerprint: session.fingerprint },
      sendSync: (page) => write('sync', { ...page, server_time: this.deps.clock() }),
      sendRequest: (view) => write('request', view),
      syncFailed: end,
      revoked: () => {
        write('revoked', { code: 'device_revoked' satisfies ErrorCode });
        end();
      },
      close: end,
    };
    streams.add(end);
    if (streams.size > MAX_STREAMS_PER_SESSION) [...streams][0]!();
    if (!this.fanout.add(channel)) return;
    raw.on('close', remove);
    await this.fanout.sync(channel).catch(end);
  }
}
