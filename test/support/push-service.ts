/**
 * A Web Push service on 127.0.0.1 for tests: it checks each message's VAPID JWT (RFC 8292) against
 * the key the server announces, and decrypts the aes128gcm body (RFC 8291) with the private key of
 * the subscription it was sent to, as a browser would. Subscriptions are made the way a browser
 * makes them: a fresh P-256 key pair and a 16-byte auth secret per subscription.
 */
import { createECDH, createPublicKey, randomBytes, verify, type ECDH } from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

const ece = createRequire(import.meta.url)('http_ece') as { decrypt(buffer: Buffer, params: Record<string, unknown>): Buffer };

export interface BrowserSubscription {
  endpoint: string;
  expirationTime: null;
  keys: { p256dh: string; auth: string };
}

export interface PushMessage {
  subscription: string;
  /** The decrypted payload, parsed. */
  payload: any;
  headers: http.IncomingHttpHeaders;
  /** The VAPID key that signed it (base64url). */
  vapidKey: string;
  claims: { aud: string; exp: number; sub: string };
}

type Answer = 'accept' | 'gone' | 'unavailable';

export class PushService {
  readonly messages: PushMessage[] = [];
  /** Requests the service refused, with why (a bad JWT or a body it could not decrypt fails the test). */
  readonly rejected: string[] = [];
  answer: (subscription: string) => Answer = () => 'accept';
  private readonly keys = new Map<string, { ecdh: ECDH; auth: Buffer }>();

  private constructor(
    private server: http.Server,
    readonly port: number,
  ) {}

  static async start(port = 0): Promise<PushService> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const service = new PushService(server, (server.address() as AddressInfo).port);
    service.attach(server);
    return service;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** What PushSubscription.toJSON() gives in a browser subscribed with this service. */
  subscribe(): BrowserSubscription {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const auth = randomBytes(16);
    const id = randomBytes(12).toString('hex');
    this.keys.set(id, { ecdh, auth });
    return {
      endpoint: `${this.origin}/push/${id}`,
      expirationTime: null,
      keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') },
    };
  }

  idOf(subscription: BrowserSubscription): string {
    return subscription.endpoint.split('/').pop()!;
  }

  /** Stops listening (the service is down) until `resume`. */
  async pause(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async resume(): Promise<void> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.server = server;
    this.attach(server);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private attach(server: http.Server): void {
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          const id = (req.url ?? '').replace(/^\/push\//, '');
          const keys = this.keys.get(id);
          if (!keys || req.method !== 'POST') throw new Error(`unknown subscription ${req.url}`);
          const answer = this.answer(id);
          if (answer === 'gone') return void res.writeHead(410).end();
          if (answer === 'unavailable') return void res.writeHead(503).end();
          const { key, claims } = checkVapid(req.headers, this.origin);
          if (req.headers['content-encoding'] !== 'aes128gcm') throw new Error(`content-encoding ${req.headers['content-encoding']}`);
          if (!/^\d+$/.test(String(req.headers.ttl ?? ''))) throw new Error('no TTL header');
          const plain = ece.decrypt(Buffer.concat(chunks), {
            version: 'aes128gcm',
            privateKey: keys.ecdh,
            authSecret: keys.auth.toString('base64url'),
          });
          this.messages.push({
            subscription: id,
            payload: JSON.parse(plain.toString('utf8')),
            headers: req.headers,
            vapidKey: key,
            claims,
          });
          res.writeHead(201).end();
        } catch (err) {
          this.rejected.push((err as Error).message);
          res.writeHead(400).end();
        }
      });
    });
  }
}

/** Checks `Authorization: vapid t=<JWT>, k=<key>`: ES256 over the JWT by k, audience this origin, not expired, a subject. */
function checkVapid(headers: http.IncomingHttpHeaders, origin: string) {
  const match = /^vapid t=([A-Za-z0-9_.-]+), k=([A-Za-z0-9_-]+)$/.exec(headers.authorization ?? '');
  if (!match) throw new Error(`no VAPID authorization: ${headers.authorization}`);
  const [jwt, k] = [match[1]!, match[2]!];
  const [h, p, s] = jwt.split('.');
  if (!h || !p || !s) throw new Error('malformed JWT');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString());
  if (header.alg !== 'ES256') throw new Error(`JWT alg ${header.alg}`);
  const point = Buffer.from(k, 'base64url');
  if (point.length !== 65 || point[0] !== 4) throw new Error('VAPID key is not an uncompressed P-256 point');
  const key = createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') },
    format: 'jwk',
  });
  if (!verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url')))
    throw new Error('VAPID JWT signature does not verify');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
  if (claims.aud !== origin) throw new Error(`JWT aud ${claims.aud}, expected ${origin}`);
  const now = Math.floor(Date.now() / 1000);
  if (!(claims.exp > now && claims.exp <= now + 24 * 3600 + 60)) throw new Error(`JWT exp ${claims.exp} out of range`);
  if (!/^(mailto:|https:)/.test(claims.sub ?? '')) throw new Error(`JWT sub ${claims.sub}`);
  return { key: k, claims };
}
