export type Row = Record<string, unknown>;

export interface Queryable {
  query<T extends object = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  /**
   * Runs a statement whose result the caller does not read. In a transaction on PostgreSQL it is
   * sent with the transaction's next statement or its COMMIT, in one round trip, and a failure
   * surfaces there (failing the transaction as it would have anyway); elsewhere it runs at once.
   */
  write(sql: string, params?: unknown[]): Promise<void>;
  /**
   * Runs a statement that sends NOTIFY (`pg_notify`) about this transaction's changes, so that it
   * is delivered only if the transaction commits (outside a transaction it runs at once). Every
   * parameter is an array: statements of one text merge (pending-notifications.ts). On PostgreSQL
   * it runs just after COMMIT, in the same round trip: inside the transaction, NOTIFY takes the one
   * lock of the cluster that every notifying commit holds until its WAL is flushed, and such
   * commits would wait for each other. On the embedded store, one connection, it runs inside the
   * transaction, just before COMMIT.
   */
  notifyOnCommit(sql: string, arrays: unknown[][]): Promise<void>;
}

/** A connection inside a transaction; `exec` runs a whole SQL script (several statements, dollar-quoted bodies) as written. */
export interface Transaction extends Queryable {
  exec(script: string): Promise<void>;
}

export type NotificationHandler = (payload: string) => void;

/**
 * Pseudo-channel: handlers here run after a lost LISTEN connection is re-established (PostgreSQL
 * only). A notification sent while disconnected is lost; listeners resynchronise from storage.
 */
export const RECONNECTED_CHANNEL = '__sigil_listener_reconnected';

/**
 * An operation of many statements that runs where the store lives (Database.runProcedure): on the
 * embedded store's thread it is one message instead of one per statement, so its transaction is
 * not held open while the main thread is busy with other work. Declared with storeProcedure as an
 * exported constant, so that thread can import it; its arguments and result cross threads by
 * structured clone.
 */
export interface StoreProcedure<A extends unknown[], R> {
  /** The URL of the module that exports it, and its export name. */
  readonly module: string;
  readonly name: string;
  readonly run: (db: Database, ...args: A) => Promise<R>;
}

export function storeProcedure<A extends unknown[], R>(
  module: string,
  name: string,
  run: (db: Database, ...args: A) => Promise<R>,
): StoreProcedure<A, R> {
  return { module, name, run };
}

/** Why PostgreSQL aborted a transaction so that another could go on. */
export type ConflictKind = 'deadlock' | 'serialization_failure';

/** None: the embedded store runs one transaction at a time, so nothing conflicts. */
export const NO_CONFLICTS = (): Record<ConflictKind, number> => ({ deadlock: 0, serialization_failure: 0 });

/** The one data-access seam: PostgreSQL semantics whether embedded (PGlite) or a server (pg). */
export interface Database extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /**
   * Runs fn in one transaction: committed if it resolves, rolled back if it throws. On PostgreSQL,
   * a transaction aborted for a conflict (a deadlock, a serialization failure) is rolled back and
   * fn runs again, so fn must have no effect outside the transaction before it resolves.
   */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  /** Runs a procedure with this store, where the store lives. */
  runProcedure<A extends unknown[], R>(procedure: StoreProcedure<A, R>, ...args: A): Promise<R>;
  /** Subscribes to NOTIFY on a channel; the returned function unsubscribes. */
  listen(channel: string, handler: NotificationHandler): Promise<() => Promise<void>>;
  /** Connections held by this process: total, idle, and callers waiting for one. */
  poolStats(): { total: number; idle: number; waiting: number };
  /** Transactions and statements this process ran again after PostgreSQL aborted them, by cause (0 on the embedded store). */
  conflictRetries(): Record<ConflictKind, number>;
  close(): Promise<void>;
}

/** Thrown when the store cannot be reached; the HTTP layer answers 503. */
export class StorageUnavailableError extends Error {
  override name = 'StorageUnavailableError';
}

/**
 * Fields of a driver error that can hold data: the statement's parameters (PGlite), the
 * statement itself, and PostgreSQL's detail ("Failing row contains (...)", "Key (...)=(...)").
 * They are removed where errors leave the store, so no caller can log or return them.
 */
const STATEMENT_DATA_FIELDS = ['params', 'query', 'queryOptions', 'detail', 'where', 'internalQuery', 'hint'] as const;

export function withoutStatementData(err: unknown): unknown {
  if (typeof err === 'object' && err !== null) {
    for (const field of STATEMENT_DATA_FIELDS) if (field in err) delete (err as Record<string, unknown>)[field];
  }
  return err;
}

/** A round trip to the store: resolves when it answers. */
export async function ping(db: Queryable): Promise<void> {
  await db.query('SELECT 1');
}
