import { Value } from 'typebox/value';
import { WebhookEventSchema } from '@sigilauth/protocol/wire';
import { startHttpRecorder, type HttpRecorder, type RecordedRequest } from './http-recorder.js';

/** One request a webhook receiver got, with its webhook-id. */
export interface Received extends RecordedRequest {
  id: string;
}

export type Responder = (req: {
  id: string;
  body: string;
  attempt: number;
}) => { status: number; headers?: Record<string, string> } | 'hang';

/** A webhook receiver on 127.0.0.1: records every request and answers as `respond` says. */
export class Receiver {
  private readonly attempts = new Map<string, number>();

  private constructor(
    private readonly recorder: HttpRecorder,
    public respond: Responder,
  ) {}

  static async start(respond: Responder = () => ({ status: 204 }), port = 0): Promise<Receiver> {
    let receiver: Receiver | null = null;
    const recorder = await startHttpRecorder((request, response) => {
      const self = receiver!;
      const id = String(request.headers['webhook-id'] ?? '');
      (request as Received).id = id;
      const attempt = (self.attempts.get(id) ?? 0) + 1;
      self.attempts.set(id, attempt);
      const answer = self.respond({ id, body: request.body, attempt });
      if (answer === 'hang') return;
      response.writeHead(answer.status, answer.headers ?? {});
      response.end();
    }, port);
    receiver = new Receiver(recorder, respond);
    return receiver;
  }

  /** Every request, in the order they arrived. */
  get received(): Received[] {
    return this.recorder.requests as Received[];
  }

  get port(): number {
    return this.recorder.port;
  }

  get url(): string {
    return `${this.recorder.url}/hook`;
  }

  /**
   * Requests answered 2xx, one per webhook-id after dedup; throws if an id was accepted twice or
   * a body is not the webhook event @sigilauth/protocol declares for its type.
   */
  accepted(): Map<string, Received> {
    const byId = new Map<string, Received>();
    for (const r of this.received) {
      if (r.status < 200 || r.status >= 300) continue;
      if (byId.has(r.id)) throw new Error(`webhook ${r.id} was accepted twice`);
      const body: unknown = JSON.parse(r.body);
      if (!Value.Check(WebhookEventSchema, body)) {
        const [first] = Value.Errors(WebhookEventSchema, body);
        throw new Error(`webhook ${r.id} does not match its protocol schema (${JSON.stringify(first)}): ${r.body}`);
      }
      byId.set(r.id, r);
    }
    return byId;
  }

  close(): Promise<void> {
    return this.recorder.close();
  }
}
