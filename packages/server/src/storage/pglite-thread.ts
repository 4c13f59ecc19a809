import { Worker } from 'node:worker_threads';
import {
  NO_CONFLICTS,
  StorageUnavailableError,
  type Database,
  type NotificationHandler,
  type Queryable,
  type Transaction,
} from './database.js';
import type { ThreadReply, ThreadRequest } from './pglite-thread-worker.js';

/**
 * The embedded store on its own thread. PGlite is PostgreSQL compiled to WebAssembly: starting it
 * (compiling and instantiating the module, unpacking its file system, recovering the data
 * directory) and running every statement is CPU work. On the main thread that work queues behind
 * HTTP parsing, signature checks and the start-up of the HTTP stack; on a worker thread it runs
 * on another core. The worker (pglite-thread-worker.ts) holds the same in-process store as
 * openPglite, fsync on every commit included, and this is the Database seam over its messages.
 * A call is answered only after the worker's store answered it, so a reply to a commit means the
 * commit is on disk.
 */
export async function openPgliteThread(dataDir: string | undefined, { template = true }: { template?: boolean } = {}): Promise<Database> {
  const worker = startWorker({ dataDir, template });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: unknown) => void }>();
  const listeners = new Map<number, NotificationHandler>();
  let nextId = 1;
  let stopped: Error | null = null;

  // A call in flight keeps the process alive, an idle store does not (as an in-process one).
  const settle = (id: number) => {
    const entry = pending.get(id);
    pending.delete(id);
    if (pending.size === 0) worker.unref();
    return entry;
  };
  const call = <T>(request: ThreadRequest): Promise<T> => {
    if (stopped) return Promise.reject(stopped);
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.ref();
      worker.postMessage({ ...request, id });
    });
  };
  const fail = (err: Error) => {
    stopped ??= err;
    for (const id of [...pending.keys()]) settle(id)?.reject(stopped);
  };
  worker.on('message', (message: ThreadReply) => {
    if ('notify' in message) {
      listeners.get(message.notify)?.(message.payload);
      return;
    }
    const entry = settle(message.id);
    if (!entry) return;
    if ('error' in message) entry.reject(rebuildError(message.error));
    else entry.resolve(message.result);
  });
  worker.on('error', (err) => fail(new StorageUnavailableError(`the embedded store stopped: ${err.message}`)));
  worker.on('exit', (code) => fail(new StorageUnavailableError(`the embedded store stopped (its thread exited with ${code})`)));

  try {
    await call({ op: 'open' });
  } catch (err) {
    await worker.terminate();
    throw err;
  }

  const queryOn = (tx: number | null): Queryable => {
    const write = async (sql: string, params?: unknown[]) => void (await call({ op: 'query', tx, sql, params }));
    return {
      query: <T extends object>(sql: string, params?: unknown[]) => call<T[]>({ op: 'query', tx, sql, params }),
      write,
      notifyOnCommit: write,
    };
  };
  return {
    kind: 'pglite',
    ...queryOn(null),
    async transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
      const tx = await call<number>({ op: 'begin' });
      let result: T;
      try {
        result = await fn({ ...queryOn(tx), exec: (script) => call<void>({ op: 'exec', tx, script }) });
      } catch (err) {
        await call({ op: 'end', tx, commit: false }).catch(() => {});
        throw err;
      }
      await call({ op: 'end', tx, commit: true });
      return result;
    },
    runProcedure: (procedure, ...args) => call({ op: 'procedure', module: procedure.module, name: procedure.name, args }),
    poolStats: () => ({ total: 1, idle: pending.size === 0 ? 1 : 0, waiting: Math.max(0, pending.size - 1) }),
    conflictRetries: NO_CONFLICTS,
    async listen(channel: string, handler: NotificationHandler) {
      const listener = await call<number>({ op: 'listen', channel });
      listeners.set(listener, handler);
      return async () => {
        listeners.delete(listener);
        await call({ op: 'unlisten', listener }).catch(() => {});
      };
    },
    async close() {
      if (stopped) return;
      await call({ op: 'close' });
      stopped = new StorageUnavailableError('the embedded store is closed');
      await worker.terminate();
    },
  };
}

/**
 * The thread's JavaScript makes short-lived garbage only (messages, PGlite's protocol buffers); a
 * small young generation keeps that from holding tens of megabytes of the process's memory.
 */
const RESOURCE_LIMITS = { maxYoungGenerationSizeMb: 8 };

function startWorker(workerData: { dataDir: string | undefined; template: boolean }): Worker {
  const self = import.meta.url;
  if (self.endsWith('.js')) return new Worker(new URL('./pglite-thread-worker.js', self), { workerData, resourceLimits: RESOURCE_LIMITS });
  // Running from the TypeScript sources (the tests, through tsx): a worker does not inherit tsx's
  // loader, so it loads the worker module through tsx's API.
  const entry = new URL('./pglite-thread-worker.ts', self).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(tsx)}).then((m) => m.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(self)}))`, {
    eval: true,
    workerData,
    resourceLimits: RESOURCE_LIMITS,
  });
}

/** The worker sends a driver error as its fields (statement data already removed); this makes it an Error again. */
function rebuildError(fields: Record<string, unknown>): Error {
  const err = new Error(String(fields.message ?? 'embedded store error'));
  for (const [key, value] of Object.entries(fields))
    if (key !== 'message' && key !== 'stack') (err as unknown as Record<string, unknown>)[key] = value;
  return err;
}
