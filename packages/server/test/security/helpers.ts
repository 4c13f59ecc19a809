import { request } from 'node:http';
import { WebSocket } from 'ws';
import { DomainTag, signPayload, verifyPayload } from '@sigilauth/protocol';
import type { ApiResponse } from '../../../../test/support/api.js';
import type { TestDevice } from '../../../../test/support/device-keys.js';

/** POSTs JSON from a chosen loopback source address (127.0.0.0/8 all reaches the server), as a client elsewhere on the network would. */
export function postFrom(
  baseUrl: string,
  path: string,
  body: unknown,
  localAddress: string,
  headers: Record<string, string> = {},
): Promise<ApiResponse> {
  const url = new URL(path, baseUrl);
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        localAddress,
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode ?? 0, headers: new Headers(res.headers as Record<string, string>), body: parsed as never });
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/** A server message as received: the payload and the server's signature over it. */
export interface SignedFrame {
  payload: Record<string, unknown> & { type: string };
  signature: string;
}

/** Messages as they arrive, and a way to wait (bounded) for one. */
class Inbox<T> {
  readonly items: T[] = [];
  /** Why no more will come, once that is so. */
  ended: string | null = null;
  private waiters: Array<() => void> = [];

  add(item: T): void {
    this.items.push(item);
    this.wake();
  }

  end(why: string): void {
    this.ended ??= why;
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  async waitFor(match: (item: T) => boolean, what: string, timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.items.find(match);
      if (found) return found;
      if (this.ended !== null) throw new Error(`${this.ended} before ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/**
 * A device's WebSocket session (docs/protocol.md): answers the challenge with a signed auth
 * message and records every frame. `sign` may replace the device's signature (to send a bad one).
 */
export class DeviceSocket {
  private readonly inbox = new Inbox<SignedFrame>();
  /** Resolves with the close code once the socket has closed. */
  readonly closed: Promise<number>;

  private constructor(private readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.once('close', resolve));
  }

  get frames(): SignedFrame[] {
    return this.inbox.items;
  }

  static open(baseUrl: string, serverId: string, device: TestDevice, sign?: (signature: string) => string): Promise<DeviceSocket> {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/v1/device/ws`);
    const socket = new DeviceSocket(ws);
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as SignedFrame;
      if (frame.payload.type === 'challenge') {
        const payload = {
          purpose: 'device-session',
          server_id: serverId,
          fingerprint: device.fingerprint,
          nonce: frame.payload.nonce,
          issued_at: Date.now(),
        };
        const signature = signPayload(DomainTag.deviceSession, payload, device.privateKey);
        ws.send(
          JSON.stringify({ type: 'auth', payload, device_public_key: device.publicKey, signature: sign ? sign(signature) : signature }),
        );
      }
      socket.inbox.add(frame);
    });
    ws.on('close', (code) => socket.inbox.end(`the socket closed (${code})`));
    ws.on('error', (err) => socket.inbox.end(`the socket failed (${err.message})`));
    return socket.waitFor((f) => f.payload.type === 'ready' || f.payload.type === 'error', 'ready or error').then(() => socket);
  }

  /** Stops reading what the server sends (it waits in the connection), as a device that does not keep up; resume() reads on. */
  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  /** Sends a message as the device (after `ready`). */
  send(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  /** Waits (at most timeoutMs) for a frame matching `match`, and returns it. */
  waitFor(match: (frame: SignedFrame) => boolean, what: string, timeoutMs?: number): Promise<SignedFrame> {
    return this.inbox.waitFor(match, what, timeoutMs);
  }

  /** Every frame verifies against the server key it claims to come from. */
  allSignedBy(serverPublicKey: string): boolean {
    return this.frames.every((f) => verifyPayload(DomainTag.serverMessage, f.payload, f.signature, serverPublicKey));
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

/** The events of `GET /approve/events` for a session cookie, parsed into `{ event, data }` as they arrive. */
export class EventStream {
  private readonly inbox = new Inbox<{ event: string; data: any }>();
  private readonly abort = new AbortController();

  private constructor() {}

  get events(): Array<{ event: string; data: any }> {
    return this.inbox.items;
  }

  /** Why the stream ended (the server ended it, or it was closed), or null while it is open. */
  get ended(): string | null {
    return this.inbox.ended;
  }

  static async open(baseUrl: string, cookie: string): Promise<EventStream> {
    const stream = new EventStream();
    const res = await fetch(`${baseUrl}/approve/events`, { headers: { cookie }, signal: stream.abort.signal });
    if (res.status !== 200 || !res.body) throw new Error(`GET /approve/events answered ${res.status}`);
    void stream.read(res.body);
    return stream;
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = block.match(/^event: (.*)$/m)?.[1];
          const data = block.match(/^data: (.*)$/m)?.[1];
          if (event && data) this.inbox.add({ event, data: JSON.parse(data) });
        }
      }
      this.inbox.end('the stream ended');
    } catch {
      this.inbox.end('the stream was closed');
    }
  }

  waitFor(match: (e: { event: string; data: any }) => boolean, what: string, timeoutMs?: number): Promise<{ event: string; data: any }> {
    return this.inbox.waitFor(match, what, timeoutMs);
  }

  close(): void {
    this.abort.abort();
  }
}

/**
 * Checks the answers to wrong codes sent one after another since `startedMs` against a budget of
 * `capacity` refilled at `perHour`: all heard (400) until it is spent, refused (429) after.
 * What refilled while the test ran (on a slow machine, a little) may let one or two more through.
 */
export function assertBudgetSpent(statuses: number[], budget: { capacity: number; perHour: number }, startedMs: number): void {
  const heard = statuses.indexOf(429) < 0 ? statuses.length : statuses.indexOf(429);
  const refilled = Math.ceil(((Date.now() - startedMs) / 3_600_000) * budget.perHour);
  const answers = statuses.join(',');
  if (heard < budget.capacity || heard > budget.capacity + refilled)
    throw new Error(`${heard} wrong codes heard, budget ${budget.capacity} (+${refilled} refilled): ${answers}`);
  if (statuses.slice(0, heard).some((s) => s !== 400) || statuses.slice(heard).some((s) => s !== 429))
    throw new Error(`heard, then refused: ${answers}`);
  if (heard === statuses.length) throw new Error(`never refused: ${answers}`);
}
