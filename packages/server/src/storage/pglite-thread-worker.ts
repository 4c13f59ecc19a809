/**
 * The worker thread of the embedded store (see pglite-thread.ts): opens the store with openPglite
 * in this thread and answers the main thread's calls, one reply per call. A transaction stays open
 * here, holding PGlite's lock, from `begin` until the main thread's `end`. A store procedure runs
 * here whole: its module is imported in this thread and called with this thread's store, together
 * with the procedures that arrived meanwhile (procedure-group.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Database, StoreProcedure, Transaction } from './database.js';
import { openPglite } from './pglite.js';
import { procedureRunner } from './procedure-group.js';

export type ThreadRequest =
  | { op: 'open' }
  | { op: 'query'; tx: number | null; sql: string; params: unknown[] | undefined }
  | { op: 'exec'; tx: number; script: string }
  | { op: 'begin' }
  | { op: 'end'; tx: number; commit: boolean }
  | { op: 'procedure'; module: string; name: string; args: unknown[] }
  | { op: 'listen'; channel: string }
  | { op: 'unlisten'; listener: number }
  | { op: 'close' };

export type ThreadReply =
  { id: number; result: unknown } | { id: number; error: Record<string, unknown> } | { notify: number; payload: string };

const port = parentPort;
if (!port) throw new Error('pglite-thread-worker runs as a worker thread');
const options = workerData as { dataDir: string | undefined; template: boolean };

let db: Database | null = null;
const transactions = new Map<number, { tx: Transaction; end: (commit: boolean, id: number) => void }>();
const unsubscribes = new Map<number, () => Promise<void>>();
let nextHandle = 1;
const ROLLBACK = Symbol('rollback');

const reply = (id: number, result: unknown) => port.postMessage({ id, result } satisfies ThreadReply);
/** An error as plain fields: its message, name and the driver's code, severity, table, constraint, ... */
const replyError = (id: number, err: unknown) => {
  const fields: Record<string, unknown> = err instanceof Error ? { name: err.name, message: err.message } : { message: String(err) };
  if (typeof err === 'object' && err !== null)
    for (const [key, value] of Object.entries(err)) if (value === null || typeof value !== 'object') fields[key] = value;
  port.postMessage({ id, error: fields } satisfies ThreadReply);
};

function store(): Database {
  if (!db) throw new Error('the embedded store is not open');
  return db;
}

const runProcedure = procedureRunner(store);

function transactionOf(tx: number): Transaction {
  const entry = transactions.get(tx);
  if (!entry) throw new Error(`no open transaction ${tx}`);
  return entry.tx;
}

function begin(id: number): void {
  const handle = nextHandle++;
  let endId = 0;
  store()
    .transaction(async (tx) => {
      const commit = await new Promise<boolean>((resolve) => {
        transactions.set(handle, {
          tx,
          end: (c, i) => {
            endId = i;
            resolve(c);
          },
        });
        reply(id, handle);
      });
      if (!commit) throw ROLLBACK;
    })
    .then(
      () => reply(endId, null),
      (err: unknown) => (err === ROLLBACK ? reply(endId, null) : endId ? replyError(endId, err) : replyError(id, err)),
    )
    .finally(() => transactions.delete(handle));
}

async function handle(request: ThreadRequest & { id: number }): Promise<unknown> {
  switch (request.op) {
    case 'open':
      db = await openPglite(options.dataDir, { template: options.template });
      return null;
    case 'query':
      return (request.tx === null ? store() : transactionOf(request.tx)).query(request.sql, request.params);
    case 'exec':
      return transactionOf(request.tx).exec(request.script);
    case 'procedure': {
      const procedure = ((await import(request.module)) as Record<string, StoreProcedure<unknown[], unknown> | undefined>)[request.name];
      if (procedure?.name !== request.name || typeof procedure.run !== 'function')
        throw new Error(`${request.name} in ${request.module} is not a store procedure`);
      return new Promise((resolve, reject) =>
        runProcedure({ procedure, args: request.args, settle: (o) => ('error' in o ? reject(o.error) : resolve(o.value)) }),
      );
    }
    case 'end': {
      const entry = transactions.get(request.tx);
      if (!entry) throw new Error(`no open transaction ${request.tx}`);
      entry.end(request.commit, request.id);
      return undefined; // answered when the transaction has committed or rolled back
    }
    case 'listen': {
      const listener = nextHandle++;
      unsubscribes.set(listener, await store().listen(request.channel, (payload) => port!.postMessage({ notify: listener, payload })));
      return listener;
    }
    case 'unlisten':
      await unsubscribes.get(request.listener)?.();
      unsubscribes.delete(request.listener);
      return null;
    case 'close':
      await db?.close();
      db = null;
      return null;
    case 'begin':
      throw new Error('unreachable');
  }
}

port.on('message', (request: ThreadRequest & { id: number }) => {
  if (request.op === 'begin') {
    try {
      begin(request.id);
    } catch (err) {
      replyError(request.id, err);
    }
    return;
  }
  handle(request).then(
    (result) => {
      if (request.op !== 'end') reply(request.id, result);
    },
    (err: unknown) => replyError(request.id, err),
  );
});
