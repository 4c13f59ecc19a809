import type { FastifyReply } from 'fastify';
import type { ErrorCode } from '@sigilauth/protocol';
import { RequestFanout, type Channel } from '../fanout/request-fanout.js';
import type { DeviceRef } from '../mpa/requests.js';
import type { Database } from '../storage/database.js';

const HEARTBEAT_MS = 25_000;
/** Streams end after this; the browser's EventSource reconnects, which re-checks the session. */
const MAX_STREAM_MS = 15 * 60_000;

/**
 * Server-sent events for web approvers (`GET /approve/events`): the browser's counterpart of the
 * device WebSocket, and another channel of the request fan-out. On connect a `sync` event
 * carries the first page of the pending requests of the session's organisation naming its device
 * (the rest are read from `/approve/api/requests?cursor=`); then a `request` event carries the
 * RequestView each time one of them changes. A `revoked` event ends the stream when the device is
 * revoked.
 */
export class ApproverEvents {
  private readonly fanout: RequestFanout;

  constructor(private readonly deps: { db: Database; clock: () => number }) {
    this.fanout = new RequestFanout(deps);
  }

  start(): Promise<void> {
    return this.fanout.start();
  }

  stop(): Promise<void> {
    return this.fanout.stop();
  }

  get size(): number {
    return this.fanout.size;
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
    const write = (event: string, data: unknown) => {
      if (!raw.writableEnded && !raw.destroyed) raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
    const lifetime = setTimeout(() => end(), MAX_STREAM_MS);
    heartbeat.unref();
    lifetime.unref();
    const remove = () => {
      clearInterval(heartbeat);
      clearTimeout(lifetime);
      this.fanout.remove(channel);
    };
    const end = () => {
      remove();
      if (!raw.writableEnded) raw.end();
    };
    const channel: Channel = {
      device,
      sendSync: (page) => write('sync', { ...page, server_time: this.deps.clock() }),
      sendRequest: (view) => write('request', view),
      syncFailed: end,
      revoked: () => {
        write('revoked', { code: 'device_revoked' satisfies ErrorCode });
        end();
      },
      close: end,
    };
    if (!this.fanout.add(channel)) return;
    raw.on('close', remove);
    await this.fanout.sync(channel).catch(end);
  }
}
