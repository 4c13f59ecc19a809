/**
 * Where the SQL time of a decision goes: runs the server's own decision path in this process
 * (submitDecision, which returns the device view the route answers with) against a fresh store
 * and prints the time per statement, fsync excluded and shown apart.
 *
 *   node --import tsx bench/sql-profile.ts [pglite|postgres] [decisions] [SERVER_DIR]
 *
 * SERVER_DIR (default: this checkout's packages/server/src) may point at another build's
 * packages/server directory's dist, for a before/after comparison of the same statements.
 */
import fs from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { actionDigest, validateMpaRequest } from '@sigilauth/protocol';
import type { Database, Queryable, Transaction } from '../packages/server/src/storage/database.js';
import { decisionBody, generateDevices, requestBody } from './lib/devices.js';
import { shuffle } from './lib/stats.js';
import { seededRandom } from '../test/support/prng.js';
import { createStore, insertDevices } from './lib/store.js';

const kind = (process.argv[2] ?? 'pglite') as 'pglite' | 'postgres';
const count = Number(process.argv[3] ?? 300);
const serverDir = process.argv[4] ? resolve(process.argv[4]) : resolve('packages/server/src');
const mod = async (path: string) => import(pathToFileURL(join(serverDir, path)).href);
const { openStorage } = await mod(`storage/open.js`);
const { createRequest } = await mod(`mpa/request-transitions.js`);
const { hashBody } = await mod(`mpa/requests.js`);
const { submitDecision } = await mod(`mpa/decisions.js`);
const { createTenant } = await mod(`tenants/tenants.js`);

const store = await createStore(kind);
// The embedded store is opened in this process (not on its thread), so its fsync calls are seen here.
const raw: Database =
  kind === 'pglite'
    ? await (async () => {
        const db = await (await mod(`storage/pglite.js`)).openPglite(store.dataDir);
        await (await mod(`storage/migrate.js`)).migrate(db);
        return db;
      })()
    : await openStorage({ dataDir: store.dataDir, databaseUrl: store.databaseUrl, poolSize: 4 });
const stats = new Map<string, { n: number; ms: number }>();
let fsyncMs = 0;
let fsyncs = 0;
const realFsync = fs.fsyncSync;
fs.fsyncSync = (fd: number) => {
  const t = performance.now();
  realFsync(fd);
  fsyncMs += performance.now() - t;
  fsyncs++;
};
/**
 * Reads (each a round trip on PostgreSQL; reads started together, before any of them is answered,
 * share one on a build that sends them together) and writes (sent with the next read, where the build defers them).
 */
let reads = 0;
let writes = 0;
let readStartedThisTurn = false;
function countRead(): void {
  if (readStartedThisTurn) return;
  reads++;
  readStartedThisTurn = true;
  queueMicrotask(() => (readStartedThisTurn = false));
}
async function timing<T>(sql: string, run: () => Promise<T>): Promise<T> {
  const t = performance.now();
  const f0 = fsyncMs;
  try {
    return await run();
  } finally {
    const key = sql.replace(/\s+/g, ' ').trim().slice(0, 80);
    const s = stats.get(key) ?? { n: 0, ms: 0 };
    s.n++;
    s.ms += performance.now() - t - (fsyncMs - f0);
    stats.set(key, s);
  }
}
const timed = (q: Queryable): Queryable => ({
  query: <T extends object>(sql: string, params?: unknown[]) => (countRead(), timing(sql, () => q.query<T>(sql, params))),
  write: (sql: string, params?: unknown[]) => (writes++, timing(sql, () => q.write(sql, params))),
  // Collected, and run with COMMIT as one statement (counted with BEGIN/COMMIT, not here).
  notifyOnCommit: (sql: string, arrays: unknown[][]) => q.notifyOnCommit(sql, arrays),
});
/**
 * Round trips on PostgreSQL: each read; BEGIN and COMMIT each on a build that sends every statement
 * at once, only COMMIT (with the writes before it) on one that defers writes, BEGIN going with the first read.
 */
const roundTrips = () => reads + transactions * (writes > 0 ? 1 : 2);
let txMs = 0;
let transactions = 0;
const db: Database = {
  ...raw,
  ...timed(raw),
  kind: raw.kind,
  // The server's procedures run with this timed store, as they run with the store where it lives.
  runProcedure: (procedure, ...args) => procedure.run(db, ...args),
  transaction: async <T>(fn: (tx: Transaction) => Promise<T>) => {
    const t = performance.now();
    transactions++;
    try {
      return await raw.transaction((tx) => fn({ ...tx, ...timed(tx) }));
    } finally {
      txMs += performance.now() - t;
    }
  },
} as Database;

const tenant = await createTenant(db, 'Profile Corp');
const pool = generateDevices(60, 'p');
await insertDevices(db, tenant.id, pool);
const random = seededRandom(1);
stats.clear();
transactions = 0;
reads = writes = 0;
const tasks: Array<{ id: string; digest: string; fp: string }> = [];
const creationWal0 = await walBytes();
const creationStart = performance.now();
for (let i = 0; i < count / 3; i++) {
  const body = requestBody(pool, { groups: 5, perGroup: 3, required: 3, random, label: `X${i}` });
  const { view } = await createRequest(db, tenant.id, validateMpaRequest(body), {
    bodyHash: hashBody(body),
    now: Date.now(),
    maxPendingPerDevice: Number.MAX_SAFE_INTEGER,
  });
  for (const g of shuffle([0, 1, 2, 3, 4], random).slice(0, 3)) {
    tasks.push({ id: view.request_id, digest: actionDigest(view.action), fp: body.groups[g]!.approvers[0]!.fingerprint });
  }
}
const creations = Math.ceil(count / 3);
const creationMs = (performance.now() - creationStart) / creations;
const creationStatements = [...stats.values()].reduce((a, s) => a + s.n, 0) / creations;
const creationWal = (await walBytes()) - creationWal0;
console.log(
  `request creation (5 groups of 3 approvers), one at a time: ${creationMs.toFixed(2)} ms each; ${creationStatements.toFixed(1)} statements each in ${(transactions / creations).toFixed(1)} transaction(s); ${(roundTrips() / creations).toFixed(1)} round trips on PostgreSQL${walPer(creationWal, creations)}`,
);
for (const [k, s] of [...stats].sort((a, b) => b[1].ms - a[1].ms))
  console.log(`  ${(s.n / creations).toFixed(1).padStart(5)}×  ${(s.ms / creations).toFixed(3)} ms/creation  ${k}`);
stats.clear();
fsyncMs = 0;
fsyncs = 0;
txMs = 0;
transactions = 0;
reads = writes = 0;
const byFp = new Map(pool.map((d) => [d.fingerprint, d]));
// As the route passes it: every decision over HTTP has an origin, judged for anomaly flags.
const ORIGIN = { ip: '127.0.0.1', userAgent: 'sigil-bench/1.0', via: 'device_key' } as const;
const serverId = 'f'.repeat(64);
const decisionWal0 = await walBytes();
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const postgresCpu0 = postgresCpuMs();
for (const t of shuffle(tasks, random)) {
  const b = decisionBody(byFp.get(t.fp)!, serverId, t.id, t.digest);
  await submitDecision(db, serverId, t.id, b.payload, b.signature, Date.now(), ORIGIN);
}
const total = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const postgresCpu = postgresCpuMs() - postgresCpu0;
const n = tasks.length;
const decisionWal = (await walBytes()) - decisionWal0;
console.log(`${kind}, ${serverDir}`);
console.log(
  `${n} decisions, one at a time: ${(total / n).toFixed(2)} ms each (${((n * 1000) / total).toFixed(0)}/s), CPU ${((cpu.user + cpu.system) / 1000 / n).toFixed(2)} ms each (this process${kind === 'pglite' ? ', the database included' : `; PostgreSQL's processes ${(postgresCpu / n).toFixed(2)} ms`}); ${[...stats.values()].reduce((a, s) => a + s.n, 0) / n} statements each in ${(transactions / n).toFixed(1)} transaction(s), ${(roundTrips() / n).toFixed(1)} round trips on PostgreSQL; transaction ${(txMs / n).toFixed(2)} ms incl. fsync ${(fsyncMs / n).toFixed(2)} ms (${(fsyncs / n).toFixed(1)} per decision)${walPer(decisionWal, n)}`,
);
let sum = 0;
for (const [k, s] of [...stats].sort((a, b) => b[1].ms - a[1].ms)) {
  sum += s.ms;
  console.log(`${(s.ms / n).toFixed(3).padStart(7)} ms/decision  ${String(s.n).padStart(5)}×  ${(s.ms / s.n).toFixed(3)} ms  ${k}`);
}
console.log(
  `${(sum / n).toFixed(3).padStart(7)} ms/decision in statements; the rest (${((total - sum - fsyncMs) / n).toFixed(3)} ms) is BEGIN/COMMIT, signature checks and JS`,
);
await raw.close();
await store.dispose();

/** Where PostgreSQL's write-ahead log stands, in bytes (the whole cluster's); 0 on the embedded store. */
async function walBytes(): Promise<number> {
  if (kind !== 'postgres') return 0;
  const [row] = await raw.query<{ bytes: string }>("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text AS bytes");
  return Number(row!.bytes);
}

function walPer(bytes: number, n: number): string {
  return kind === 'postgres' ? `; ${(bytes / n / 1024).toFixed(1)} KiB of WAL each (the cluster's, so other work adds to it)` : '';
}

/** CPU time of this machine's PostgreSQL server processes so far, in ms (Linux; clock ticks of 10 ms). */
function postgresCpuMs(): number {
  let ticks = 0;
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks * 10;
}
