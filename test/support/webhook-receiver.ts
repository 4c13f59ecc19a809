import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  id: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
  /** The status this receiver answered with. */
  status: number;
}

export type Responder = (req: { id: string; body: string; attempt: number }) => { status: number; headers?: Record<string, string> } | 'hang';

/** A webhook receiver on 127.0.0.1: records every request and answers as `respond` says. */
export class Receiver {
  readonly received: Received[] = [];
  private readonly attempts = new Map<string, number>();
  private readonly hanging = new Set<http.ServerResponse>();

  private constructor(
    private readonly server: http.Server,
    public respond: Responder,
  ) {}

  static async start(respond: Responder = () => ({ status: 204 }), port = 0): Promise<Receiver> {
    const server = http.createServer();
    const receiver = new Receiver(server, respond);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const id = String(req.headers['webhook-id'] ?? '');
        const attempt = (receiver.attempts.get(id) ?? 0) + 1;
        receiver.attempts.set(id, attempt);
        const answer = receiver.respond({ id, body, attempt });
        if (answer === 'hang') {
          receiver.received.push({ id, headers: req.headers, body, at: Date.now(), status: 0 });
          receiver.hanging.add(res);
          return;
        }
        receiver.received.push({ id, headers: req.headers, body, at: Date.now(), status: answer.status });
        res.writeHead(answer.status, answer.headers ?? {});
        res.end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return receiver;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  /** Requests answered 2xx, one per webhook-id after dedup; throws if an id was accepted twice. */
  accepted(): Map<string, Received> {
    const byId = new Map<string, Received>();
    for (const r of this.received) {
      if (r.status < 200 || r.status >= 300) continue;
      if (byId.has(r.id)) throw new Error(`webhook ${r.id} was accepted twice`);
      byId.set(r.id, r);
    }
    return byId;
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A port that was free a moment ago (for a receiver that is "down" now and comes up later). */
