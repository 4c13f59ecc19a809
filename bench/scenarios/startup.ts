/**
 * Start-up of `sigil serve` (spawn → "is running at" banner) on an empty store, new and
 * existing, and on a store holding many requests (default 1,000,000, generated with one
 * INSERT … SELECT generate_series per batch, through the server's own storage layer before the
 * server starts); then GET /v1/mpa/requests/{id} latency on that store.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { split, type Driver } from '../lib/drivers.js';
import { SIGIL_CLI, startServer } from '../lib/server.js';
import { figure, type Figure, type LatencySummary } from '../lib/stats.js';
import { seededRandom } from '../../test/support/prng.js';
import { createStore, openStore, prepareStore, type StoreKind } from '../lib/store.js';
import { runPhase, phaseResult, type PhaseResult } from './decisions.js';

export interface StartupOptions {
  runs: number;
  bigRequests: number;
  getRequests: number;
  getConcurrency: number;
}

export interface StartupResult {
  store: StoreKind;
  newStoreMs: Figure;
  /** embedded: a new store made by initdb (SIGIL_PGLITE_TEMPLATE=off), when the default used a template */
  newStoreInitdbMs: Figure | null;
  /** embedded: whether the build-time data-directory template (packages/server/dist/pgdata-template.tar.gz) exists */
  pgliteTemplate: boolean | null;
  existingStoreMs: Figure;
  big: {
    requests: number;
    generateSeconds: number;
    storeMiB: number | null;
    startupMs: Figure;
    getSerial: PhaseResult;
    getConcurrent: PhaseResult;
    getConcurrency: number;
  } | null;
  /** node with no script, and `sigil --version` (loads every server module): the part that is not storage */
  nodeBootMs: Figure;
  cliLoadMs: Figure;
  /** in-process phases of the embedded store (PGlite only) */
  breakdown: Array<Record<string, number>> | null;
}

/** The id of generated request i, as the SQL below computes it: md5('sigil-bench-' || i)::uuid. */
export function generatedId(i: number): string {
  const h = createHash('md5').update(`sigil-bench-${i}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function timeProcess(args: string[]): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, args, { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited with ${r.status}`);
  return performance.now() - t;
}

export async function runStartup(
  kind: StoreKind,
  o: StartupOptions,
  drivers: Driver[],
  log: (line: string) => void,
): Promise<StartupResult> {
  const nodeBoot: number[] = [];
  const cliLoad: number[] = [];
  for (let r = 0; r < o.runs; r++) {
    nodeBoot.push(timeProcess(['-e', '']));
    cliLoad.push(timeProcess([SIGIL_CLI, '--version']));
  }

  // ---- empty store: a new one each run, then restarts of the first
  const newMs: number[] = [];
  const initdbMs: number[] = [];
  const existingMs: number[] = [];
  const template =
    kind === 'pglite' ? existsSync(fileURLToPath(new URL('../../packages/server/dist/pgdata-template.tar.gz', import.meta.url))) : null;
  const first = await createStore(kind);
  try {
    for (let r = 0; r < o.runs; r++) {
      const store = r === 0 ? first : await createStore(kind);
      try {
        const s = await startServer({ dataDir: store.dataDir, databaseUrl: store.databaseUrl });
        newMs.push(s.startupMs);
        await s.stop();
      } finally {
        if (r !== 0) await store.dispose();
      }
      if (template) {
        const plain = await createStore(kind);
        try {
          const s = await startServer({ dataDir: plain.dataDir, env: { SIGIL_PGLITE_TEMPLATE: 'off' } });
          initdbMs.push(s.startupMs);
          await s.stop();
        } finally {
          await plain.dispose();
        }
      }
    }
    for (let r = 0; r < o.runs; r++) {
      const s = await startServer({ dataDir: first.dataDir, databaseUrl: first.databaseUrl });
      existingMs.push(s.startupMs);
      await s.stop();
    }
  } finally {
    await first.dispose();
  }
  log(
    `    empty store: new ${newMs.map((m) => m.toFixed(0)).join(', ')} ms${template ? ` (from the template; with initdb ${initdbMs.map((m) => m.toFixed(0)).join(', ')} ms)` : ''}; existing ${existingMs.map((m) => m.toFixed(0)).join(', ')} ms`,
  );

  // ---- where the embedded store's time goes (a fresh process per sample)
  let breakdown: Array<Record<string, number>> | null = null;
  if (kind === 'pglite') {
    breakdown = [];
    for (let r = 0; r < o.runs; r++) {
      const dir = mkdtempSync(join(tmpdir(), 'sigil-bench-probe-'));
      try {
        const out = execFileSync(
          process.execPath,
          ['--import', 'tsx', fileURLToPath(new URL('../startup-probe.ts', import.meta.url)), dir],
          { encoding: 'utf8' },
        );
        breakdown.push(JSON.parse(out.trim().split('\n').pop()!));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    log(`    embedded store breakdown: ${JSON.stringify(breakdown[0])}`);
  }

  // ---- a big store
  let big: StartupResult['big'] = null;
  if (o.bigRequests > 0) {
    const store = await createStore(kind);
    try {
      const prepared = await prepareStore(store, []);
      const db = await openStore(store);
      const t0 = performance.now();
      let storeMiB: number | null = null;
      try {
        const groups = JSON.stringify([
          { name: 'Engineering Leads', approvers: [{ fingerprint: 'a'.repeat(64), device_public_key: `A${'b'.repeat(42)}=` }] },
          { name: 'Security Team', approvers: [{ fingerprint: 'c'.repeat(64), device_public_key: `A${'d'.repeat(42)}=` }] },
        ]);
        const batch = 100_000;
        for (let from = 1; from <= o.bigRequests; from += batch) {
          const to = Math.min(o.bigRequests, from + batch - 1);
          await db.query(
            `INSERT INTO mpa_requests (id, tenant_id, required, groups, action, action_digest, status, groups_satisfied, expires_at, created_at, completed_at, counted)
             SELECT md5('sigil-bench-' || i)::uuid, $1, 2, $2::jsonb,
                    json_build_object('type', 'cold_boot', 'description', 'Cold boot engine ENG-' || i,
                                      'params', json_build_object('engine_id', 'ENG-' || i, 'reason', 'Scheduled maintenance', 'requested_by', 'bench@example.com')),
                    md5(i::text) || md5((i + 1)::text),
                    CASE WHEN i % 50 = 0 THEN 'cancelled' WHEN i % 10 = 1 THEN 'rejected' WHEN i % 10 = 2 THEN 'timeout' ELSE 'approved' END,
                    CASE WHEN i % 10 < 3 THEN '[]'::jsonb ELSE '["Engineering Leads", "Security Team"]'::jsonb END,
                    ts + interval '10 minutes', ts, ts + interval '2 minutes', true
               FROM (SELECT i, now() - make_interval(secs => ($3::int - i) * 30) AS ts FROM generate_series($4::int, $5::int) AS i) g`,
            [prepared.tenantId, groups, o.bigRequests, from, to],
          );
          if (((to / batch) | 0) % 2 === 0 || to === o.bigRequests)
            log(`      ${to} requests inserted (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
        }
        // As the server keeps a store: every finished request already in the gauges' totals.
        await db.query(
          `INSERT INTO status_totals (kind, status, n) SELECT 'mpa_requests', status, count(*) FROM mpa_requests WHERE counted GROUP BY status
           ON CONFLICT (kind, status) DO UPDATE SET n = excluded.n`,
        );
        await db.query('ANALYZE mpa_requests');
        const [size] = await db.query<{ bytes: string }>('SELECT pg_database_size(current_database())::text AS bytes');
        storeMiB = size ? Number(size.bytes) / 1048576 : null;
      } finally {
        await db.close();
      }
      const generateSeconds = (performance.now() - t0) / 1000;
      log(`    ${o.bigRequests} requests generated in ${generateSeconds.toFixed(0)} s (${storeMiB?.toFixed(0)} MiB)`);
      const startupMs: number[] = [];
      const serial = [];
      const concurrent = [];
      const random = seededRandom(5);
      for (let r = 0; r < o.runs; r++) {
        const s = await startServer({ dataDir: store.dataDir, databaseUrl: store.databaseUrl });
        try {
          startupMs.push(s.startupMs);
          const specs = (n: number) =>
            Array.from({ length: n }, () => ({
              method: 'GET',
              path: `/v1/mpa/requests/${generatedId(1 + Math.floor(random() * o.bigRequests))}`,
              headers: { authorization: `Bearer ${prepared.apiKey}` },
            }));
          const one = specs(o.getRequests);
          serial.push(
            (await runPhase(s, [drivers[0]!], (d) => d.call('http', { baseUrl: s.url, requests: one, concurrency: 1 }), 200)).run,
          );
          const many = split(specs(o.getRequests * 2), drivers.length);
          concurrent.push(
            (
              await runPhase(
                s,
                drivers,
                (d, i) =>
                  d.call('http', {
                    baseUrl: s.url,
                    requests: many[i],
                    concurrency: Math.max(1, Math.round(o.getConcurrency / drivers.length)),
                  }),
                200,
              )
            ).run,
          );
          const a = serial[serial.length - 1]!;
          const b = concurrent[concurrent.length - 1]!;
          log(
            `    run ${r + 1}: start ${s.startupMs.toFixed(0)} ms; GET serial p50 ${a.latency.p50.toFixed(2)} ms p99 ${a.latency.p99.toFixed(2)} ms (${a.errors} errors); at ${o.getConcurrency} concurrent ${b.perSec.toFixed(0)}/s p99 ${b.latency.p99.toFixed(1)} ms`,
          );
        } finally {
          await s.stop();
        }
      }
      big = {
        requests: o.bigRequests,
        generateSeconds,
        storeMiB,
        startupMs: figure(startupMs, 'ms'),
        getSerial: phaseResult(serial),
        getConcurrent: phaseResult(concurrent),
        getConcurrency: o.getConcurrency,
      };
    } finally {
      await store.dispose();
    }
  }
  return {
    store: kind,
    newStoreMs: figure(newMs, 'ms'),
    newStoreInitdbMs: template ? figure(initdbMs, 'ms') : null,
    pgliteTemplate: template,
    existingStoreMs: figure(existingMs, 'ms'),
    big,
    nodeBootMs: figure(nodeBoot, 'ms'),
    cliLoadMs: figure(cliLoad, 'ms'),
    breakdown,
  };
}

export type { LatencySummary };
