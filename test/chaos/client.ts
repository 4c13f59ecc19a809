import { setTimeout as sleep } from 'node:timers/promises';
import type { Dice } from '../support/prng.js';

export interface Answer {
  status: number;
  body: any;
  sentAt: number;
  receivedAt: number;
}

/** One HTTP call with a bound on its time; a network failure or timeout is null. */
export async function call(
  url: string,
  method: string,
  path: string,
  options: { apiKey?: string | null; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer | null> {
  const sentAt = Date.now();
  try {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
        ...options.headers,
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // not JSON
    }
    return { status: res.status, body, sentAt, receivedAt: Date.now() };
  } catch {
    return null;
  }
}

/**
 * Sends one call like a client behind a load balancer: to a random live instance, and on a
 * network error or 503 again (to any instance) with the same body, until a definitive answer or
 * the deadline. `lost` tells whether an attempt's answer was lost, so that the call may have
 * happened: no answer, or a 503 (PostgreSQL may have committed the call's transaction as its
 * connection failed, leaving the instance unable to tell).
 */
export async function untilAnswered(
  dice: Dice,
  urls: () => string[],
  method: string,
  path: string,
  options: { apiKey?: string | null; body?: unknown; headers?: Record<string, string> },
  deadlineMs = 120_000,
): Promise<{ answer: Answer | null; lost: boolean; attempts: number }> {
  const deadline = Date.now() + deadlineMs;
  let lost = false;
  for (let attempt = 1; ; attempt++) {
    const answer = await call(dice.pick(urls()), method, path, options);
    if (answer && answer.status !== 503) return { answer, lost, attempts: attempt };
    lost = true;
    if (Date.now() > deadline) return { answer: null, lost, attempts: attempt };
    await sleep(Math.min(1000, 50 * 2 ** Math.min(attempt, 5)));
  }
}
