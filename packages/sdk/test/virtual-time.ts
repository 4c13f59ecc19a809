import { mock } from 'node:test';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export interface VirtualRequest {
  method: string;
  url: string;
  /** Virtual ms since the clock started. */
  at: number;
}

export interface VirtualAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * The SDK on virtual timers (setTimeout and Date) with an in-memory server behind its `fetch`:
 * time passes only when the test lets it, 1 ms at a time, so when the SDK polls, retries and
 * gives up is exact however busy the machine. (No sockets: the HTTP client's own timers would
 * run on the virtual clock too.) Call `dispose` when done, also on failure.
 */
export function virtualTime(answer: (request: VirtualRequest, index: number) => VirtualAnswer) {
  const epoch = Date.parse('2026-04-24T10:00:00.000Z');
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: epoch });
  const requests: VirtualRequest[] = [];

  const fetch: typeof globalThis.fetch = async (input, init) => {
    const request = { method: init?.method ?? 'GET', url: new URL(String(input)).pathname, at: Date.now() - epoch };
    requests.push(request);
    const { status, body, headers = {} } = answer(request, requests.length - 1);
    return new Response(body === undefined ? null : JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json', ...headers },
    });
  };

  /** Settles `call`, letting virtual time pass while it waits; its outcome and the virtual ms it took. */
  async function run<T>(call: () => Promise<T>, maxVirtualMs = 600_000): Promise<{ value?: T; error?: unknown; elapsed: number }> {
    const started = Date.now();
    let outcome: { value?: T; error?: unknown } | null = null;
    call().then(
      (value) => (outcome = { value }),
      (error: unknown) => (outcome = { error }),
    );
    for (;;) {
      await nextTurn();
      mock.timers.tick(0); // what is due now runs before any time passes
      await nextTurn();
      if (outcome) return { ...(outcome as { value?: T; error?: unknown }), elapsed: Date.now() - started };
      if (Date.now() - started > maxVirtualMs) throw new Error(`still waiting after ${maxVirtualMs} virtual ms`);
      mock.timers.tick(1);
    }
  }

  return { fetch, run, requests, now: () => Date.now() - epoch, dispose: () => mock.timers.reset() };
}
