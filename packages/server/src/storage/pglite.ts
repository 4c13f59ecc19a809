import fs from 'node:fs';
import { join } from 'node:path';
import v8 from 'node:v8';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { NodeFS } from '@electric-sql/pglite/nodefs';
import { NO_CONFLICTS, withoutStatementData, type Database, type NotificationHandler, type Transaction } from './database.js';
import { lockDataDir } from './data-dir-lock.js';
import { PendingNotifications } from './pending-notifications.js';
import { statementRunner } from './pglite-statements.js';
import { registerBuiltinArrayTypes } from './pglite-array-types.js';
import { loadTemplate } from './pglite-template.js';

/**
 * PGlite runs with fsync off, and Emscripten's file system turns fdatasync into a no-op, so a
 * commit would reach the OS but not the disk. Sigil turns fsync on, makes the WAL use fsync(),
 * and routes that call to the real file: a commit is on disk before it is acknowledged.
 */
class DurableNodeFS extends NodeFS {
  override async init(pg: PGlite, opts: Parameters<NodeFS['init']>[1]) {
    const result = await super.init(pg, opts);
    const preRun = result.emscriptenOpts.preRun ?? [];
    preRun.push((module: { NODEFS: { stream_ops: { fsync?: (stream: { nfd: number }) => number } } }) => {
      module.NODEFS.stream_ops.fsync = (stream) => {
        fs.fsyncSync(stream.nfd);
        return 0;
      };
    });
    return { ...result, emscriptenOpts: { ...result.emscriptenOpts, preRun } };
  }
}

/**
 * PostgreSQL zeroes its shared buffers at every start, and in WebAssembly that first pass runs
 * in the baseline compiler's code: the default 128 MB cost about 1 s of each start. The embedded
 * store is one process with one connection and reads through the OS page cache, so 16 MB of
 * shared buffers is plenty (and the process is 112 MB smaller).
 */
const SHARED_BUFFERS = ['-c', 'shared_buffers=16MB'];

/**
 * The embedded store's maintenance analyses its tables on the store's one connection, and every
 * request waits while ANALYZE reads its sample of 300 rows per unit of this target: at
 * PostgreSQL's default of 100, 200-350 ms for a table of 100,000 requests or their approvals; at
 * 10, about 20 ms. The statements the server runs were checked to read the same rows with the
 * smaller sample (docs/performance.md). PostgreSQL servers keep their own setting: their
 * autovacuum holds no connection of the server's.
 */
export const EMBEDDED_STATISTICS_TARGET = 10;
const EMBEDDED_SETTINGS = [...SHARED_BUFFERS, '-c', `default_statistics_target=${EMBEDDED_STATISTICS_TARGET}`];
const DURABLE_START_PARAMS = [...PGlite.defaultStartParams.filter((p) => p !== '-F'), '-c', 'wal_sync_method=fsync', ...EMBEDDED_SETTINGS];
const MEMORY_START_PARAMS = [...PGlite.defaultStartParams, ...EMBEDDED_SETTINGS];

/** PGlite with PostgreSQL's own array types registered from a list, not read from the catalog at each open (pglite-array-types.ts). */
class EmbeddedPGlite extends PGlite {
  override async _initArrayTypes(options?: { force?: boolean }): Promise<void> {
    if (options?.force) return super._initArrayTypes(options);
    registerBuiltinArrayTypes(this);
  }
}

/**
 * V8 recompiles a WebAssembly function with its optimising compiler once the function has run
 * through its tiering budget. At V8's default budget, PostgreSQL's start and each statement's
 * first planning, which run once, were recompiled too: about a third of the CPU of a
 * `sigil audit verify` and a quarter of a server's start. Ten times the budget leaves them in
 * baseline code, while the functions every statement runs still reach the optimising compiler
 * within the first seconds of load (docs/performance.md). The setting is the process's; PGlite's
 * is the only WebAssembly that does much work in it.
 */
const WASM_TIERING_BUDGET = 18_000_000;

async function createPglite(options: PGliteOptions): Promise<PGlite> {
  v8.setFlagsFromString(`--wasm-tiering-budget=${WASM_TIERING_BUDGET}`);
  const pg = new EmbeddedPGlite(options);
  await pg.waitReady;
  return pg;
}

async function createDurable(dataDir: string, useTemplate: boolean): Promise<PGlite> {
  const pgdata = join(dataDir, 'pgdata');
  // A new store (no pgdata yet, or an empty one): unpack the build-time template instead of
  // running initdb, when there is one for this PGlite build (see pglite-template.ts).
  const fresh = !fs.existsSync(pgdata) || fs.readdirSync(pgdata).length === 0;
  const template = fresh && useTemplate ? loadTemplate() : null;
  if (template) {
    try {
      return await createPglite({ fs: new DurableNodeFS(pgdata), startParams: DURABLE_START_PARAMS, loadDataDir: template });
    } catch {
      // An unusable template: forget what it unpacked and make the cluster with initdb after all.
      fs.rmSync(pgdata, { recursive: true, force: true });
    }
  }
  return createPglite({ fs: new DurableNodeFS(pgdata), startParams: DURABLE_START_PARAMS });
}

/** Embedded PostgreSQL in a data directory (or in memory when dataDir is undefined). */
export async function openPglite(dataDir: string | undefined, { template = true }: { template?: boolean } = {}): Promise<Database> {
  const unlock = dataDir ? lockDataDir(dataDir) : () => {};
  let pg: PGlite;
  try {
    pg = dataDir ? await createDurable(dataDir, template) : await createPglite({ startParams: MEMORY_START_PARAMS });
  } catch (err) {
    unlock();
    throw err;
  }
  return pgliteDatabase(pg, unlock);
}

/** The Database seam over one PGlite instance; `onClose` runs after it has closed. */
export function pgliteDatabase(pg: PGlite, onClose: () => void = () => {}): Database {
  // Notifications arrive in the replies of whatever commits them: PGlite reads those of its own
  // calls (a transaction's COMMIT), the statement runner those of the statements it runs.
  const listeners = new Map<string, Set<NotificationHandler>>();
  const deliver = (channel: string, payload: string) => {
    for (const handler of listeners.get(channel) ?? []) queueMicrotask(() => handler(payload));
  };
  pg.onNotification(deliver);
  const run = statementRunner(pg, deliver);
  const query = async <T extends object>(sql: string, params?: unknown[]) => {
    try {
      return await pg.runExclusive(() => run<T>(sql, params));
    } catch (err) {
      throw withoutStatementData(err);
    }
  };
  const db: Database = {
    kind: 'pglite',
    // Outside a transaction, a statement waits for any open transaction to end, as PGlite's query() does.
    async query(sql, params) {
      await pg._checkReady();
      return pg._runExclusiveTransaction(() => query(sql, params));
    },
    write: async (sql, params) => void (await db.query(sql, params)),
    notifyOnCommit: (sql, params) => db.write(sql, params),
    transaction: <T>(fn: (tx: Transaction) => Promise<T>) =>
      pg
        .transaction(async (tx): Promise<T> => {
          const inTransaction = <T extends object>(sql: string, params?: unknown[]) =>
            tx.closed ? Promise.reject(new Error('Transaction is closed')) : query<T>(sql, params);
          const write = async (sql: string, params?: unknown[]) => void (await inTransaction(sql, params));
          // One connection: nothing waits on its notifying commit, so NOTIFY runs in the transaction.
          const notifications = new PendingNotifications();
          const result = await fn({
            query: inTransaction,
            write,
            notifyOnCommit: async (sql, params) => notifications.add(sql, params),
            exec: async (script) => void (await tx.exec(script).catch((err: unknown) => Promise.reject(withoutStatementData(err)))),
          });
          const notify = notifications.combined();
          if (notify) await write(notify.sql, notify.params);
          return result;
        })
        .catch((err: unknown) => Promise.reject(withoutStatementData(err))),
    runProcedure: (procedure, ...args) => procedure.run(db, ...args),
    poolStats: () => ({ total: 1, idle: 0, waiting: 0 }),
    conflictRetries: NO_CONFLICTS,
    async listen(channel: string, handler: NotificationHandler) {
      if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`not a channel name: ${channel}`);
      let handlers = listeners.get(channel);
      if (!handlers) {
        await pg.exec(`LISTEN ${channel}`);
        handlers = listeners.get(channel) ?? new Set();
        listeners.set(channel, handlers);
      }
      handlers.add(handler);
      return async () => {
        handlers.delete(handler);
      };
    },
    async close() {
      await pg.close();
      onClose();
    },
  };
  return db;
}
