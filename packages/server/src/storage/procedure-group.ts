/**
 * Group commit for the embedded store's thread: store procedures that arrive while the store is
 * busy run together in one transaction, so they share one COMMIT and one fsync. Each unit a
 * procedure would have run on its own (a transaction, or a statement outside one) runs in a
 * savepoint of its own, so a failure undoes that unit alone, as its own rollback would have.
 * Nothing is answered before the shared COMMIT has returned: an answered procedure is on disk.
 */
import { NO_CONFLICTS, type Database, type StoreProcedure, type Transaction } from './database.js';
import { PendingNotifications } from './pending-notifications.js';

export interface QueuedProcedure {
  procedure: StoreProcedure<unknown[], unknown>;
  args: unknown[];
  settle: (outcome: { value: unknown } | { error: unknown }) => void;
}

/** The most procedures one transaction holds: enough to share an fsync, few enough that reads queued behind it wait little. */
export const GROUP_MAX = 16;

export function procedureRunner(store: () => Database): (queued: QueuedProcedure) => void {
  const waiting: QueuedProcedure[] = [];
  let running = false;

  const drain = async () => {
    // A procedure runs without yielding to this thread's event loop, so procedures sent meanwhile
    // wait in its message queue: one turn of the loop before each group lets them join it.
    await nextTurn();
    while (waiting.length > 0) {
      const group = waiting.splice(0, GROUP_MAX);
      if (group.length === 1) await runAlone(store(), group[0]!);
      else await runGroup(store(), group);
      await nextTurn();
    }
    running = false;
  };

  return (queued) => {
    waiting.push(queued);
    if (!running) {
      running = true;
      void drain();
    }
  };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function runAlone(db: Database, { procedure, args, settle }: QueuedProcedure): Promise<void> {
  try {
    settle({ value: await procedure.run(db, ...args) });
  } catch (error) {
    settle({ error });
  }
}

async function runGroup(db: Database, group: QueuedProcedure[]): Promise<void> {
  const outcomes: Array<{ value: unknown } | { error: unknown }> = [];
  try {
    await db.transaction(async (tx) => {
      const shared = inSavepoints(tx);
      for (const { procedure, args } of group) {
        try {
          outcomes.push({ value: await procedure.run(shared, ...args) });
        } catch (error) {
          outcomes.push({ error });
        }
      }
    });
  } catch (error) {
    for (const { settle } of group) settle({ error });
    return;
  }
  group.forEach(({ settle }, i) => settle(outcomes[i]!));
}

/** The group's transaction as a Database whose every unit of work is a savepoint. */
function inSavepoints(tx: Transaction): Database {
  const unit = async <T>(work: () => Promise<T>): Promise<T> => {
    await tx.query('SAVEPOINT procedure_unit');
    try {
      const result = await work();
      await tx.query('RELEASE SAVEPOINT procedure_unit');
      return result;
    } catch (err) {
      await tx.query('ROLLBACK TO SAVEPOINT procedure_unit');
      await tx.query('RELEASE SAVEPOINT procedure_unit');
      throw err;
    }
  };
  const shared: Database = {
    kind: 'pglite',
    query: (sql, params) => unit(() => tx.query(sql, params)),
    write: (sql, params) => unit(() => tx.write(sql, params)),
    notifyOnCommit: (sql, params) => tx.notifyOnCommit(sql, params),
    // A unit's notifications join the group's only once its savepoint is released.
    transaction: (fn) =>
      unit(async () => {
        const notifications = new PendingNotifications();
        const result = await fn({ ...tx, notifyOnCommit: async (sql, params) => notifications.add(sql, params) });
        await notifications.passTo(tx);
        return result;
      }),
    runProcedure: (procedure, ...args) => procedure.run(shared, ...args),
    listen: () => Promise.reject(new Error('a store procedure cannot listen')),
    poolStats: () => ({ total: 1, idle: 0, waiting: 0 }),
    conflictRetries: NO_CONFLICTS,
    close: () => Promise.reject(new Error('a store procedure cannot close the store')),
  };
  return shared;
}
