import fs from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { NodeFS } from '@electric-sql/pglite/nodefs';
import type { Database, NotificationHandler, Queryable } from './database.js';
import { lockDataDir } from './data-dir-lock.js';

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

const DURABLE_START_PARAMS = [...PGlite.defaultStartParams.filter((p) => p !== '-F'), '-c', 'wal_sync_method=fsync'];

/** Embedded PostgreSQL in a data directory (or in memory when dataDir is undefined). */
export async function openPglite(dataDir: string | undefined): Promise<Database> {
  const unlock = dataDir ? lockDataDir(dataDir) : () => {};
  let pg: PGlite;
  try {
    pg = await PGlite.create(dataDir ? { fs: new DurableNodeFS(join(dataDir, 'pgdata')), startParams: DURABLE_START_PARAMS } : {});
  } catch (err) {
    unlock();
    throw err;
  }
  const wrap = (q: Pick<PGlite, 'query'>): Queryable => ({
    async query<T extends object>(sql: string, params?: unknown[]) {
      return (await q.query<T>(sql, params)).rows;
    },
  });
  return {
    kind: 'pglite',
    ...wrap(pg),
    transaction: (fn) => pg.transaction((tx) => fn(wrap(tx))),
    poolStats: () => ({ total: 1, idle: 0, waiting: 0 }),
    async listen(channel: string, handler: NotificationHandler) {
      const unsubscribe = await pg.listen(channel, handler);
      return () => unsubscribe();
    },
    async close() {
      await pg.close();
      unlock();
    },
  };
}
