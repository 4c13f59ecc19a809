import { request } from 'node:http';
import { WebSocket } from 'ws';
import { DomainTag, signPayload, verifyPayload } from '@sigilauth/protocol';
import type { Api, ApiResponse } from '../../../../test/support/api.js';
import type { TestDevice } from '../../../../test/support/device-keys.js';
import type { SoftwareAuthenticator } from './software-authenticator.js';

/** POSTs JSON from a chosen loopback source address (127.0.0.0/8 all reaches the server), as a client elsewhere on the network would. */
export function postFrom(baseUrl: string, path: string, body: unknown, localAddress: string, headers: Record<string, string> = {}): Promise<ApiResponse> {
  const url = new URL(path, baseUrl);
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', localAddress, agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...headers } },
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

/** The approver cookie a response set, ready for a Cookie header; null when it set none. */
export function sessionCookie(res: ApiResponse): string | null {
  const header = res.headers.get('set-cookie');
  const match = header?.match(/sigil_approver=([A-Za-z0-9_-]{43})/);
  return match ? `sigil_approver=${match[1]}` : null;
}

/**
 * Pairs a passkey through the web approver's API as its page does: options (the code), the
 * registration, then the proof assertion over the options' proof challenge.
 * `proof: 'omit'` leaves the proof out, as a client of the old API would.
 */
export async function pairPasskey(
  api: Api,
  code: string,
  authenticator: SoftwareAuthenticator,
  options: { name?: string; proof?: 'sign' | 'omit'; proofChallenge?: (opened: { options: { challenge: string }; proof: { challenge: string } }) => string } = {},
): Promise<{ options: ApiResponse; complete: ApiResponse | null }> {
  const anon = api.withKey(null);
  const name = options.name ?? 'Passkey';
  const opened = await anon.post('/approve/api/pair/options', { code, name });
  if (opened.status !== 200) return { options: opened, complete: null };
  const credential = authenticator.register(opened.body.options.challenge);
  const body: Record<string, unknown> = { challenge_id: opened.body.challenge_id, code, name, credential };
  if ((options.proof ?? 'sign') === 'sign') {
    const challenge = options.proofChallenge ? options.proofChallenge(opened.body) : opened.body.proof.challenge;
    body.proof = authenticator.assert(challenge, { counter: true });
  }
  return { options: opened, complete: await anon.post('/approve/api/pair/complete', body) };
}

/** A server message as received: the payload and the server's signature over it. */
export interface SignedFrame {
  payload: Record<string, unknown> & { type: string };
  signature: string;
}

/**
 * A device's WebSocket session (docs/protocol.md): answers the challenge with a signed auth
 * message and records every frame. `sign` may replace the device's signature (to send a bad one).
 */
export class DeviceSocket {
  readonly frames: SignedFrame[] = [];
  private waiters: Array<() => void> = [];
  closeCode: number | null = null;

  private constructor(private readonly ws: WebSocket) {}

  static open(baseUrl: string, serverId: string, device: TestDevice, sign?: (signature: string) => string): Promise<DeviceSocket> {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/v1/device/ws`);
    const socket = new DeviceSocket(ws);
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as SignedFrame;
      socket.frames.push(frame);
      if (frame.payload.type === 'challenge') {
        const payload = { purpose: 'device-session', server_id: serverId, fingerprint: device.fingerprint, nonce: frame.payload.nonce, issued_at: Date.now() };
        const signature = signPayload(DomainTag.deviceSession, payload, device.privateKey);
        ws.send(JSON.stringify({ type: 'auth', payload, device_public_key: device.publicKey, signature: sign ? sign(signature) : signature }));
      }
      socket.notify();
    });
    ws.on('close', (code) => {
      socket.closeCode = code;
      socket.notify();
    });
    ws.on('error', () => socket.notify());
    return socket.waitFor((f) => f.payload.type === 'ready' || f.payload.type === 'error', 'ready or error').then(() => socket);
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits (at most timeoutMs) for a frame matching `match`, and returns it. */
  async waitFor(match: (frame: SignedFrame) => boolean, what: string, timeoutMs = 15_000): Promise<SignedFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(match);
      if (found) return found;
      if (this.closeCode !== null && !this.frames.some(match)) throw new Error(`socket closed (${this.closeCode}) before ${what}`);
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

/**
 * The events of `GET /approve/events` for a session cookie: the stream is read as it arrives
 * and parsed into `{ event, data }`; `close()` ends it.
 */
export class EventStream {
  readonly events: Array<{ event: string; data: any }> = [];
  private readonly abort = new AbortController();
  private waiters: Array<() => void> = [];
  status = 0;

  private constructor() {}

  static async open(baseUrl: string, cookie: string): Promise<EventStream> {
    const stream = new EventStream();
    const res = await fetch(`${baseUrl}/approve/events`, { headers: { cookie }, signal: stream.abort.signal });
    stream.status = res.status;
    if (res.status === 200 && res.body) void stream.read(res.body);
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
          if (event && data) this.events.push({ event, data: JSON.parse(data) });
          for (const w of this.waiters.splice(0)) w();
        }
      }
    } catch {
      // aborted
    }
  }

  async waitFor(match: (e: { event: string; data: any }) => boolean, what: string, timeoutMs = 15_000): Promise<{ event: string; data: any }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(match);
      if (found) return found;
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

  close(): void {
    this.abort.abort();
  }
}
