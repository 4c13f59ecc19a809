/**
 * Whether a statistics target changes the server's plans: explains statements as generic plans
 * (`EXPLAIN (GENERIC_PLAN)`, the plan a prepared statement keeps) on one PGlite holding a store of
 * many requests, analysed at PostgreSQL's default target and then at the embedded store's, and
 * prints every plan that differs.
 *
 *   node --import tsx bench/statistics-plans.ts POSTGRES_LOG [FROM_BYTE] [REQUESTS]
 *
 * The statements are the ones a PostgreSQL log holds from FROM_BYTE on (default 0), written with
 * `log_min_duration_statement = 0`: for instance
 *
 *   psql -h 127.0.0.1 -U postgres -c "ALTER SYSTEM SET log_min_duration_statement = 0" -c "SELECT pg_reload_conf()"
 *   npm test     # or a bench run on PostgreSQL
 *   psql -h 127.0.0.1 -U postgres -c "ALTER SYSTEM RESET log_min_duration_statement" -c "SELECT pg_reload_conf()"
 *
 * REQUESTS (default 100,000) requests are generated, with 15 approvers, 3 decisions, 2 events,
 * 2 webhook deliveries and 2 audit entries each and a flag for one in ten; 500 are pending.
 */
import { readFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { migrate } from '../packages/server/src/storage/migrate.js';
import { EMBEDDED_STATISTICS_TARGET, pgliteDatabase } from '../packages/server/src/storage/pglite.js';
import type { Database } from '../packages/server/src/storage/database.js';
import { createTenant } from '../packages/server/src/tenants/tenants.js';

const DEFAULT_TARGET = 100;
const DEVICES = 150;
const BATCH = 20_000;

const [logFile, fromByte = '0', requestCount = '100000'] = process.argv.slice(2);
if (!logFile) {
  console.error('usage: node --import tsx bench/statistics-plans.ts POSTGRES_LOG [FROM_BYTE] [REQUESTS]');
  process.exit(2);
}

/** Each statement text the log shows executed (`LOG:  duration: … ms  execute <name>: <text>`, continued on untimed lines). */
function executedStatements(log: string): string[] {
  const logLine = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/;
  const executed = /LOG: {2}duration: [\d.]+ ms {2}execute [^:]*: (.*)$/;
  const statements = new Set<string>();
  let current: string[] | null = null;
  const end = () => current && statements.add(current.join('\n').trim());
  for (const line of log.split('\n')) {
    if (!logLine.test(line)) {
      current?.push(line);
      continue;
    }
    end();
    const match = executed.exec(line);
    current = match ? [match[1]!] : null;
  }
  end();
  return [...statements].filter((s) => /^\(?\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b/i.test(s)).sort();
}

/** A store of `requests` finished requests (the last 500 pending) with their rows in every table a request touches. */
async function generate(db: Database, requests: number): Promise<void> {
  const tenantId = (await createTenant(db, 'Acme Corp')).id;
  const fingerprint = (k: string) => `md5('d' || (${k})) || md5('e' || (${k}))`;
  await db.query(
    `INSERT INTO devices (tenant_id, fingerprint, public_key, name)
     SELECT $1, ${fingerprint('k')}, 'A' || md5(k::text), 'Device ' || k FROM generate_series(0, ${DEVICES - 1}) k`,
    [tenantId],
  );
  const [endpoint] = await db.query<{ id: string }>(
    `INSERT INTO webhook_endpoints (id, tenant_id, url, secret, enabled, created_at, updated_at)
     VALUES (gen_random_uuid(), $1, 'https://hooks.example.com/sigil', 'secret', true, now(), now()) RETURNING id`,
    [tenantId],
  );
  const groups = JSON.stringify(
    Array.from({ length: 5 }, (_, g) => ({
      name: `Group ${g + 1}`,
      approvers: Array.from({ length: 3 }, () => ({ fingerprint: 'f'.repeat(64), device_public_key: 'A'.repeat(44) })),
    })),
  );
  const pending = '(i > $4::int - 500)';
  const created = 'now() - make_interval(secs => ($4::int - i) * 30)';
  const approver = fingerprint(`(i * 7 + a * 13) % ${DEVICES}`);
  for (let from = 1; from <= requests; from += BATCH) {
    const range = [tenantId, from, Math.min(requests, from + BATCH - 1), requests];
    // Every statement takes the same four parameters; `$1::uuid IS NOT NULL` and `$4::int > 0` only give them a use.
    await db.query(
      `INSERT INTO mpa_requests (id, tenant_id, required, groups, action, action_digest, status, expires_at, created_at, completed_at, counted)
       SELECT md5('r' || i)::uuid, $1, 3, '${groups}'::jsonb, json_build_object('type', 'cold_boot', 'description', 'Cold boot ENG-' || i),
              md5(i::text) || md5((i + 1)::text),
              CASE WHEN ${pending} THEN 'pending' WHEN i % 10 = 1 THEN 'rejected' WHEN i % 10 = 2 THEN 'timeout' ELSE 'approved' END,
              ${created} + interval '10 minutes', ${created}, CASE WHEN ${pending} THEN NULL ELSE ${created} + interval '2 minutes' END, NOT ${pending}
         FROM generate_series($2::int, $3::int) AS i`,
      range,
    );
    await db.query(
      `INSERT INTO mpa_approvers (request_id, fingerprint, group_index, pending, created_at, expires_at)
       SELECT md5('r' || i)::uuid, ${approver}, a / 3, ${pending}, ${created}, ${created} + interval '10 minutes'
         FROM generate_series($2::int, $3::int) AS i, generate_series(0, 14) AS a WHERE $1::uuid IS NOT NULL`,
      range,
    );
    await db.query(
      `INSERT INTO mpa_decisions (request_id, fingerprint, group_index, decision, payload, signature, decided_at, network, client)
       SELECT md5('r' || i)::uuid, ${approver}, a / 3, 'approve', '{}'::jsonb, 'signature', ${created} + interval '1 minute', '10.0.0.0/24', 'sigil-device'
         FROM generate_series($2::int, $3::int) AS i, (VALUES (0), (3), (6)) AS v (a) WHERE NOT ${pending} AND $1::uuid IS NOT NULL`,
      range,
    );
    await db.query(
      `INSERT INTO events (id, tenant_id, type, request_id, payload, created_at)
       SELECT 'evt_' || t || '_' || i, $1, 'mpa.' || t, md5('r' || i)::uuid, '{}'::jsonb, ${created}
         FROM generate_series($2::int, $3::int) AS i, (VALUES ('created'), ('approved')) AS v (t) WHERE $4::int > 0`,
      range,
    );
    await db.query(
      `INSERT INTO webhook_deliveries (id, endpoint_id, tenant_id, event_id, event_type, request_id, status, attempts, next_attempt_at, created_at)
       SELECT gen_random_uuid(), $5::uuid, $1, 'evt_' || t || '_' || i, 'mpa.' || t, md5('r' || i)::uuid, 'succeeded', 1, ${created}, ${created}
         FROM generate_series($2::int, $3::int) AS i, (VALUES ('created'), ('approved')) AS v (t) WHERE $4::int > 0`,
      [...range, endpoint!.id],
    );
    await db.query(
      `INSERT INTO audit_entries (tenant_id, type, request_id, data)
       SELECT $1, t, md5('r' || i)::uuid, json_build_object('n', i)::jsonb
         FROM generate_series($2::int, $3::int) AS i, (VALUES ('mpa.created'), ('mpa.decision')) AS v (t) WHERE $4::int > 0`,
      range,
    );
    await db.query(
      `INSERT INTO mpa_flags (tenant_id, request_id, fingerprint, group_index, decision, kind, details, created_at)
       SELECT $1, md5('r' || i)::uuid, ${fingerprint(`(i * 7) % ${DEVICES}`)}, 0, 'approve', 'new_hour', '{}'::jsonb, ${created}
         FROM generate_series($2::int, $3::int) AS i WHERE i % 10 = 0 AND $4::int > 0`,
      range,
    );
  }
}

/** Each statement's generic plan with every table analysed at `target` (or why it could not be explained). */
async function plansAt(pg: PGlite, target: number, statements: string[]): Promise<Map<string, string>> {
  await pg.exec(`SET default_statistics_target = ${target}; ANALYZE;`);
  const plans = new Map<string, string>();
  for (const statement of statements) {
    try {
      const [result] = await pg.exec(`EXPLAIN (GENERIC_PLAN, COSTS OFF) ${statement}`);
      plans.set(statement, result!.rows.map((row) => Object.values(row)[0]).join('\n'));
    } catch (err) {
      plans.set(statement, `cannot be explained: ${(err as Error).message}`);
    }
  }
  return plans;
}

const statements = executedStatements(readFileSync(logFile).subarray(Number(fromByte)).toString('utf8'));
console.log(`${statements.length} statements executed in the log`);
const pg = await PGlite.create({ startParams: [...PGlite.defaultStartParams, '-c', 'shared_buffers=128MB'] });
const db = pgliteDatabase(pg);
try {
  await migrate(db);
  const started = performance.now();
  await generate(db, Number(requestCount));
  console.log(`${Number(requestCount).toLocaleString('en')} requests generated in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  const before = await plansAt(pg, DEFAULT_TARGET, statements);
  const after = await plansAt(pg, EMBEDDED_STATISTICS_TARGET, statements);
  const unexplained = statements.filter((s) => before.get(s)!.startsWith('cannot be explained'));
  const differing = statements.filter((s) => !unexplained.includes(s) && before.get(s) !== after.get(s));
  for (const s of differing)
    console.log(
      `\n=== ${s.replace(/\s+/g, ' ').slice(0, 240)}\n--- at ${DEFAULT_TARGET}\n${before.get(s)}\n--- at ${EMBEDDED_STATISTICS_TARGET}\n${after.get(s)}`,
    );
  for (const s of unexplained) console.log(`\n${before.get(s)}: ${s.replace(/\s+/g, ' ').slice(0, 160)}`);
  const explained = statements.length - unexplained.length;
  console.log(
    `\n${explained} statements explained, ${unexplained.length} not; ${explained - differing.length} plans identical at targets ${DEFAULT_TARGET} and ${EMBEDDED_STATISTICS_TARGET}, ${differing.length} different`,
  );
} finally {
  await db.close();
}
