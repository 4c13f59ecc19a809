/**
 * Decision to webhook: a local receiver registers for mpa.approved; for each request the
 * coordinator posts the approvals one after another and records when the Mth (completing)
 * approval's response has been read; the receiver records when the webhook has arrived (and
 * verifies its Standard Webhooks signature). Runs only when the server has POST /v1/webhooks
 * (and is started with SIGIL_WEBHOOK_ALLOW_PRIVATE=true, so it may deliver to 127.0.0.1).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { actionDigest } from '@sigilauth/protocol';
import * as protocol from '@sigilauth/protocol';
import { decisionBody, requestBody, type BenchDevice } from '../lib/devices.js';
import { http, type ServerHandle } from '../lib/server.js';
import { epochNow, figure, sleep, summarise, type Figure, type LatencySummary } from '../lib/stats.js';
import { seededRandom } from '../../test/support/prng.js';

export type WebhookResult =
  | { available: false; reason: string }
  | {
      available: true;
      requestsPerRun: number;
      required: number;
      p50Ms: Figure;
      p99Ms: Figure;
      runs: Array<LatencySummary & { lost: number; badSignatures: number; webhookBeforeResponse: number }>;
    };

export async function runWebhookScenario(
  ctx: { server: ServerHandle; apiKey: string; serverId: string; pool: BenchDevice[] },
  o: { runs: number; requestsPerRun: number },
  log: (line: string) => void,
): Promise<WebhookResult> {
  const { server, apiKey, serverId, pool } = ctx;
  const auth = { authorization: `Bearer ${apiKey}` };
  const arrivals = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  let badSignatures = 0;
  let secret = '';
  const receiver = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = epochNow();
      res.writeHead(200).end();
      const body = Buffer.concat(chunks).toString();
      let parsed: { request_id?: string; data?: { request_id?: string } } | null = null;
      try {
        const verify = (protocol as Record<string, unknown>).verifyWebhook as ((b: string, h: unknown, s: string) => unknown) | undefined;
        parsed = (verify ? verify(body, req.headers, secret) : JSON.parse(body)) as typeof parsed;
      } catch {
        badSignatures++;
        try {
          parsed = JSON.parse(body);
        } catch {
          return;
        }
      }
      const id = parsed?.request_id ?? parsed?.data?.request_id;
      if (!id || arrivals.has(id)) return;
      arrivals.set(id, at);
      waiters.get(id)?.();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const port = (receiver.address() as { port: number }).port;
  try {
    const registered = await http<{ secret?: string; error?: { code: string; message: string } }>(
      'POST',
      `${server.url}/v1/webhooks`,
      { url: `http://127.0.0.1:${port}/sigil`, events: ['mpa.approved'] },
      auth,
    );
    if (registered.status === 404) return { available: false, reason: 'POST /v1/webhooks is not implemented by this server (404)' };
    if (registered.status !== 201 || !registered.body.secret) {
      return {
        available: false,
        reason: `POST /v1/webhooks answered ${registered.status}: ${JSON.stringify(registered.body).slice(0, 200)}`,
      };
    }
    secret = registered.body.secret;
    const random = seededRandom(99);
    const required = 2;
    const runs: Array<LatencySummary & { lost: number; badSignatures: number; webhookBeforeResponse: number }> = [];
    for (let r = 0; r < o.runs; r++) {
      badSignatures = 0;
      const latencies: number[] = [];
      let lost = 0;
      let early = 0;
      const requests: Array<{ id: string; digest: string; approvers: BenchDevice[] }> = [];
      for (let i = 0; i < o.requestsPerRun; i++) {
        const body = requestBody(pool, { groups: 3, perGroup: 2, required, random, label: `HOOK-${r}-${i}` });
        const created = await http<{ request_id: string; action: Parameters<typeof actionDigest>[0] }>(
          'POST',
          `${server.url}/v1/mpa/requests`,
          body,
          auth,
        );
        if (created.status !== 201)
          throw new Error(`webhook scenario: creating a request failed: ${created.status} ${JSON.stringify(created.body)}`);
        const byFp = new Map(pool.map((d) => [d.fingerprint, d]));
        requests.push({
          id: created.body.request_id,
          digest: actionDigest(created.body.action),
          approvers: body.groups.slice(0, required).map((g) => byFp.get(g.approvers[0]!.fingerprint)!),
        });
      }
      for (const req of requests) {
        let responded = 0;
        for (let k = 0; k < required; k++) {
          const res = await http(
            'POST',
            `${server.url}/v1/mpa/requests/${req.id}/decisions`,
            decisionBody(req.approvers[k]!, serverId, req.id, req.digest),
          );
          responded = epochNow();
          if (res.status !== 200) throw new Error(`webhook scenario: decision failed: ${res.status} ${JSON.stringify(res.body)}`);
        }
        if (!arrivals.has(req.id)) {
          await Promise.race([new Promise<void>((resolve) => waiters.set(req.id, resolve)), sleep(10_000)]);
          waiters.delete(req.id);
        }
        const at = arrivals.get(req.id);
        if (at === undefined) {
          lost++;
          continue;
        }
        if (at < responded) early++;
        latencies.push(at - responded);
        await sleep(5);
      }
      const s = summarise(latencies);
      runs.push({ ...s, lost, badSignatures, webhookBeforeResponse: early });
      log(
        `    run ${r + 1}: ${s.count} webhooks, p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms, max ${s.max.toFixed(1)} ms, lost ${lost}, bad signatures ${badSignatures}`,
      );
    }
    return {
      available: true,
      requestsPerRun: o.requestsPerRun,
      required,
      p50Ms: figure(
        runs.map((r) => r.p50),
        'ms',
      ),
      p99Ms: figure(
        runs.map((r) => r.p99),
        'ms',
      ),
      runs,
    };
  } finally {
    receiver.closeAllConnections();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  }
}
