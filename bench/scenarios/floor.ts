/**
 * The floor under decision throughput, measured on this machine in this run:
 *  - the minimal durable write transaction (measureWriteFloor): what the store itself sustains,
 *    through the server's storage seam and settings; every throughput is reported against it;
 *  - the raw P-256 verify rate of node:crypto over a decision-shaped signing input, on one thread
 *    (the server runs on one event loop);
 *  - the raw rate of the server's own decision transaction (mpa/request-transitions.ts recordDecision: lock
 *    the request, read its decisions and the device's pairing, insert the decision and its audit
 *    entry, apply the quorum rules, and on the completing decision the outbox event, webhook
 *    fan-out and audit entry, NOTIFY), called directly through the same storage seam (PGlite in
 *    this process, or a pg pool of the server's size): no HTTP, no signature check.
 */
import { randomBytes, verify, type KeyObject } from 'node:crypto';
import {
  actionDigest,
  decodePublicKey,
  DomainTag,
  signingInput,
  signPayload,
  verifyPayload,
  validateMpaRequest,
} from '@sigilauth/protocol';
import type { Database } from '../../packages/server/src/storage/database.js';
import { createRequest, recordDecision, type VerifiedDecision } from '../../packages/server/src/mpa/request-transitions.js';
import { hashBody } from '../../packages/server/src/mpa/requests.js';
import { generateDevices, requestBody, privateKeyOf } from '../lib/devices.js';
import { figure, shuffle, summarise, type Figure, type LatencySummary } from '../lib/stats.js';
import { seededRandom } from '../../test/support/prng.js';
import { createStore, insertDevices, openStore, type StoreKind } from '../lib/store.js';
import { createTenant } from '../../packages/server/src/tenants/tenants.js';
import { DEFAULTS } from '../../packages/server/src/config.js';
import type { DecisionPayload } from '@sigilauth/protocol/wire';

export interface VerifyFloor {
  /** verify() with a parsed KeyObject over prepared bytes: the cryptographic floor. */
  rawPerSec: Figure;
  /** What the server does per decision: JCS, decode the compressed key, verify. */
  fullPerSec: Figure;
  payloadBytes: number;
}

export function measureVerifyFloor(runs: number, durationMs: number): VerifyFloor {
  const [device] = generateDevices(1, 'floor');
  const payload: DecisionPayload = {
    purpose: 'mpa-decision',
    server_id: randomBytes(32).toString('hex'),
    request_id: '7c3e5f9a-1b2c-4d5e-8f90-a1b2c3d4e5f6',
    fingerprint: device!.fingerprint,
    decision: 'approve',
    action_digest: randomBytes(32).toString('hex'),
    issued_at: Date.now(),
  };
  const signature = signPayload(DomainTag.mpaDecision, payload, privateKeyOf(device!));
  const input = signingInput(DomainTag.mpaDecision, payload);
  const sig = Buffer.from(signature, 'base64');
  const key: KeyObject = decodePublicKey(device!.publicKey);
  const loop = (fn: () => boolean) => {
    // warm up, then count verifications in the window
    for (let i = 0; i < 200; i++) if (!fn()) throw new Error('verify failed');
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < durationMs) {
      for (let i = 0; i < 50; i++) fn();
      n += 50;
    }
    return (n * 1000) / (performance.now() - t0);
  };
  const raw: number[] = [];
  const full: number[] = [];
  for (let r = 0; r < runs; r++) {
    raw.push(loop(() => verify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, sig)));
    full.push(loop(() => verifyPayload(DomainTag.mpaDecision, payload, signature, device!.publicKey)));
  }
  return { rawPerSec: figure(raw, '/s'), fullPerSec: figure(full, '/s'), payloadBytes: input.length };
}

export interface SqlFloor {
  store: StoreKind;
  perSec: Figure;
  latency: LatencySummary[];
  concurrency: number;
}

/** Creates `requests` requests (5 groups of 3, 3 required) and decides each with 3 approvals, timed. */
export async function measureSqlFloor(kind: StoreKind, runs: number, requests: number, concurrency: number): Promise<SqlFloor> {
  const store = await createStore(kind);
  const db: Database = await openStore(store, DEFAULTS.dbPoolSize);
  try {
    const tenant = await createTenant(db, 'Floor Corp');
    const pool = generateDevices(60, 'floor');
    await insertDevices(db, tenant.id, pool);
    const random = seededRandom(7);
    const perSec: number[] = [];
    const latency: LatencySummary[] = [];
    for (let r = 0; r < runs; r++) {
      const decisions: VerifiedDecision[] = [];
      for (let i = 0; i < requests; i++) {
        const body = requestBody(pool, { groups: 5, perGroup: 3, required: 3, random, label: `FLOOR-${r}-${i}` });
        const policy = validateMpaRequest(body);
        const { view } = await createRequest(db, tenant.id, policy, {
          bodyHash: hashBody(body),
          now: Date.now(),
          maxPendingPerDevice: Number.MAX_SAFE_INTEGER,
        });
        const digest = actionDigest(policy.action);
        const groups = shuffle([0, 1, 2, 3, 4], random).slice(0, 3);
        for (const g of groups) {
          const a = body.groups[g]!.approvers[Math.floor(random() * 3)]!;
          const payload: DecisionPayload = {
            purpose: 'mpa-decision',
            server_id: 'f'.repeat(64),
            request_id: view.request_id,
            fingerprint: a.fingerprint,
            decision: 'approve',
            action_digest: digest,
            issued_at: Date.now(),
          };
          const signature = randomBytes(64).toString('base64');
          decisions.push({ requestId: view.request_id, fingerprint: a.fingerprint, decision: 'approve', payload, signature });
        }
      }
      const order = shuffle(decisions, random);
      const lat: number[] = [];
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < order.length) {
            const decision = order[next++]!;
            const s = performance.now();
            await recordDecision(db, decision, Date.now());
            lat.push(performance.now() - s);
          }
        }),
      );
      const elapsed = performance.now() - t0;
      perSec.push((order.length * 1000) / elapsed);
      latency.push(summarise(lat));
    }
    return { store: kind, perSec: figure(perSec, '/s'), latency, concurrency };
  } finally {
    await db.close();
    await store.dispose();
  }
}

export interface WriteFloor {
  store: StoreKind;
  perSec: Figure;
  latency: LatencySummary[];
  concurrency: number;
  /** connections the transactions ran on: 1 on the embedded store, the server's pool on PostgreSQL */
  connections: number;
  transactionsPerRun: number;
}

/**
 * The minimal durable write transaction: lock one row (SELECT … FOR UPDATE), insert one row,
 * update the locked row, commit (with the store's fsync) — the shape of a decision with nothing
 * of a decision in it. Opened with the server's own openStorage (the embedded store on its thread,
 * one connection; PostgreSQL with the server's default pool), `concurrency` callers at once, each
 * on a row of its own among 1,000 so that they do not queue on one lock.
 */
export async function measureWriteFloor(kind: StoreKind, runs: number, transactions: number, concurrency: number): Promise<WriteFloor> {
  const store = await createStore(kind);
  const db: Database = await openStore(store, DEFAULTS.dbPoolSize);
  try {
    await db.query('CREATE TABLE floor_rows (id int PRIMARY KEY, n bigint NOT NULL DEFAULT 0, touched_at timestamptz)');
    await db.query(
      'CREATE TABLE floor_log (id bigserial PRIMARY KEY, row_id int NOT NULL REFERENCES floor_rows (id), payload text NOT NULL, at timestamptz NOT NULL DEFAULT now())',
    );
    await db.query('INSERT INTO floor_rows (id) SELECT generate_series(1, 1000)');
    const transaction = (rowId: number) =>
      db.transaction(async (tx) => {
        await tx.query('SELECT n FROM floor_rows WHERE id = $1 FOR UPDATE', [rowId]);
        await tx.query('INSERT INTO floor_log (row_id, payload) VALUES ($1, $2)', [rowId, 'x'.repeat(200)]);
        await tx.query('UPDATE floor_rows SET n = n + 1, touched_at = now() WHERE id = $1', [rowId]);
      });
    for (let i = 0; i < 50; i++) await transaction(1 + i); // warm-up
    const perSec: number[] = [];
    const latency: LatencySummary[] = [];
    for (let r = 0; r < runs; r++) {
      const lat: number[] = [];
      let next = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async (_, caller) => {
          while (next < transactions) {
            const i = next++;
            const s = performance.now();
            await transaction(1 + ((caller * 31 + i) % 1000));
            lat.push(performance.now() - s);
          }
        }),
      );
      perSec.push((transactions * 1000) / (performance.now() - t0));
      latency.push(summarise(lat));
    }
    return {
      store: kind,
      perSec: figure(perSec, '/s'),
      latency,
      concurrency,
      connections: kind === 'pglite' ? 1 : DEFAULTS.dbPoolSize,
      transactionsPerRun: transactions,
    };
  } finally {
    await db.close();
    await store.dispose();
  }
}
