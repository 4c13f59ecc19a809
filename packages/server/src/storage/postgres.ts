import pg from 'pg';
import {
  RECONNECTED_CHANNEL,
  StorageUnavailableError,
  withoutStatementData,
  type ConflictKind,
  type Database,
  type NotificationHandler,
  type Transaction,
} from './database.js';
import { runBatch, statementsCompleted, type Statement } from './postgres-batch.js';
import { PendingNotifications } from './pending-notifications.js';
import { preparedNames } from './prepared-names.js';

const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '08000',
  '08003',
  '08006',
  '08001',
  '08004',
  '08007',
  '08P01',
]);

function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return (
    (e.code !== undefined && CONNECTION_ERROR_CODES.has(e.code)) ||
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable|the database system is (starting up|shutting down|in recovery)/.test(
      e.message ?? '',
    )
  );
}

function translate(err: unknown): unknown {
  return isConnectionError(err) ? new StorageUnavailableError(`storage unavailable: ${(err as Error).message}`) : withoutStatementData(err);
}

/**
 * The errors with which PostgreSQL ends a transaction so that a concurrent one can go on: a
 * deadlock's victim, and a serialization failure (a statement outside a transaction, where the
 * database's default isolation is SERIALIZABLE). Nothing of it was written, so it runs again.
 */
const CONFLICTS: Record<string, ConflictKind> = { '40P01': 'deadlock', '40001': 'serialization_failure' };

/** How many times a transaction runs before a conflict is answered as the store being busy (503). */
export const CONFLICT_ATTEMPTS = 5;

const conflictOf = (err: unknown): ConflictKind | undefined => CONFLICTS[(err as { code?: string }).code ?? ''];

/** A pause before attempt `attempt` (from 2), random so that the transactions that collided part. */
const conflictPause = (attempt: number) => new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * 2 ** attempt));

export interface PostgresOptions {
  connectionString: string;
  poolSize: number;
}

/** A PostgreSQL server through a pg pool, plus one dedicated connection for LISTEN. */
export async function openPostgres({ connectionString, poolSize }: PostgresOptions): Promise<Database> {
  const pool = new pg.Pool({ connectionString, max: poolSize, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000 });
  pool.on('error', () => {}); // idle clients that lose their connection are replaced by the pool
  // A client checked out of the pool (a transaction's, or one running a query) has no listener of
  // the pool's: without one of its own, a restart of the server (57P01) would be an unhandled
  // 'error' event and end the process. The query in flight fails by itself and is translated.
  pool.on('connect', (client) => client.on('error', () => {}));
  const statements = new PreparedStatements();
  const connect = async (): Promise<pg.PoolClient> => {
    try {
      return await pool.connect();
    } catch (err) {
      throw translate(err);
    }
  };
  const listener = new ChannelListener(connectionString);
  const resends = new NotificationResends((statement) => db.write(statement.sql, statement.params));

  const conflicts: Record<ConflictKind, number> = { deadlock: 0, serialization_failure: 0 };
  /** Runs `attempt` again while PostgreSQL aborts it for a conflict, at most CONFLICT_ATTEMPTS times in all. */
  const retryingConflicts = async <T>(attempt: () => Promise<T>): Promise<T> => {
    for (let n = 1; ; n++) {
      try {
        return await attempt();
      } catch (err) {
        const conflict = conflictOf(err);
        if (!conflict) throw err;
        if (n === CONFLICT_ATTEMPTS) {
          throw new StorageUnavailableError(`storage busy: ${conflict.replace('_', ' ')} in each of ${n} attempts`);
        }
        conflicts[conflict]++;
        await conflictPause(n + 1);
      }
    }
  };

  const db: Database = {
    kind: 'postgres',
    query: <T extends object>(sql: string, params?: unknown[]) => retryingConflicts(() => queryOnce<T>(sql, params)),
    write: async (sql, params) => void (await db.query(sql, params)),
    notifyOnCommit: (sql, params) => db.write(sql, params),
    transaction: (fn) => retryingConflicts(() => transactionOnce(fn)),
    runProcedure: (procedure, ...args) => procedure.run(db, ...args),
    listen: (channel, handler) => listener.subscribe(channel, handler),
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    conflictRetries: () => ({ ...conflicts }),
    async close() {
      await resends.stop();
      await listener.close();
      await pool.end();
    },
  };
  return db;

  async function queryOnce<T extends object>(sql: string, params?: unknown[]): Promise<T[]> {
    const client = await connect();
    let broken = false;
    try {
      return (await statements.run(client, [{ sql, params }]))[0] as T[];
    } catch (err) {
      broken = isConnectionError(err) || statements.uncertain(client);
      throw translate(err);
    } finally {
      client.release(broken);
    }
  }

  async function transactionOnce<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    const client = await connect();
    let broken = false;
    const markBroken = () => (broken = true);
    client.on('error', markBroken);
    const tx = new TransactionStatements(client, statements);
    const notifications = new PendingNotifications();
    try {
      const result = await fn({
        query: async <T extends object>(sql: string, params?: unknown[]) => (await tx.read({ sql, params })) as T[],
        write: async (sql, params) => tx.write({ sql, params }),
        notifyOnCommit: async (sql, params) => notifications.add(sql, params),
        // pg sends a string alone in one simple query, which runs a script of several statements.
        exec: async (script) => {
          await tx.send();
          await client.query(script).catch((err: unknown) => Promise.reject(translate(err)));
        },
      });
      const notify = notifications.combined();
      if ((await tx.commit(notify)) === 'after failed' && notify) resends.add(notify);
      return result;
    } catch (err) {
      tx.end();
      broken = broken || isConnectionError(err) || err instanceof StorageUnavailableError || statements.uncertain(client);
      if (!broken && tx.begun) await client.query('ROLLBACK').catch(() => (broken = true));
      throw translate(err);
    } finally {
      client.removeListener('error', markBroken);
      client.release(broken || statements.uncertain(client));
    }
  }
}

interface SqlStatement {
  sql: string;
  params?: unknown[] | undefined;
}

/**
 * A transaction's statements on its connection. BEGIN and the writes wait; when a statement is read,
 * everything waiting goes with it in one round trip, sent once the current microtasks have run, so
 * that reads started together (Promise.all) share it too. COMMIT takes what is left. Statements run
 * in the order they were made, batch after batch.
 */
class TransactionStatements {
  private waiting: Array<{ statement: SqlStatement; answer?: { resolve(rows: object[]): void; reject(err: unknown): void } }> = [
    // Sigil's transactions take the row locks READ COMMITTED needs; a stricter default set on the
    // database would only add serialization failures.
    { statement: { sql: 'BEGIN ISOLATION LEVEL READ COMMITTED' } },
  ];
  private scheduled = false;
  private over = false;
  /** Whether BEGIN has been sent. */
  begun = false;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly statements: PreparedStatements,
  ) {}

  read(statement: SqlStatement): Promise<object[]> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ statement, answer: { resolve, reject } });
      if (this.scheduled) return;
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        // A failure reaches the reads of the batch, which reject with it.
        this.send().catch(() => {});
      });
    });
  }

  write(statement: SqlStatement): void {
    this.waiting.push({ statement });
  }

  /**
   * Sends COMMIT with everything waiting, and then `after` in a transaction of its own, in the
   * same round trip. Once COMMIT has completed, a failure of `after` no longer fails the
   * transaction: its changes are durable, and it resolves 'after failed'.
   */
  async commit(after: SqlStatement | null): Promise<'committed' | 'after failed'> {
    this.write({ sql: 'COMMIT' });
    const throughCommit = this.waiting.length;
    if (after) this.write(after);
    try {
      await this.send();
      return 'committed';
    } catch (err) {
      if (!after || statementsCompleted(err) < throughCommit) throw err;
      return 'after failed';
    }
  }

  /** Nothing more is sent: the transaction failed, and what was not sent is dropped. */
  end(): void {
    this.over = true;
  }

  /** Sends everything waiting, in one round trip; resolves once it is answered. */
  async send(): Promise<void> {
    const batch = this.waiting;
    this.waiting = [];
    if (batch.length === 0) return;
    if (this.over) {
      for (const w of batch) w.answer?.reject(new Error('the transaction is over'));
      return;
    }
    this.begun = true;
    try {
      const rows = await this.statements.run(
        this.client,
        batch.map((w) => w.statement),
      );
      batch.forEach((w, i) => w.answer?.resolve(rows[i]!));
    } catch (err) {
      const translated = translate(err);
      for (const w of batch) w.answer?.reject(translated);
      throw translated;
    }
  }
}

/**
 * Runs statements in batches (postgres-batch.ts), each statement with parameters as a named
 * prepared statement (prepared-names.ts), prepared in the batch that first runs it on a connection.
 * A failed batch leaves unknown which of its statements were prepared: that connection is not reused.
 */
class PreparedStatements {
  private readonly preparedName = preparedNames();
  private readonly prepared = new WeakMap<pg.PoolClient, Set<string>>();
  private readonly unsure = new WeakSet<pg.PoolClient>();

  async run(client: pg.PoolClient, batch: readonly SqlStatement[]): Promise<object[][]> {
    let known = this.prepared.get(client);
    if (!known) this.prepared.set(client, (known = new Set()));
    const preparing: string[] = [];
    // Counted as prepared from now on: a batch sent behind this one, before its answer, must not prepare them again.
    const statements: Statement[] = batch.map(({ sql, params }) => {
      const name = params ? this.preparedName(sql) : undefined;
      const prepare = name !== undefined && !known.has(name);
      if (prepare) {
        known.add(name);
        preparing.push(name);
      }
      return { text: sql, values: params, name, prepare };
    });
    try {
      return await runBatch(client, statements);
    } catch (err) {
      if (preparing.length > 0) this.unsure.add(client);
      throw err;
    }
  }

  /** Whether a failed batch left the connection's prepared statements unknown. */
  uncertain(client: pg.PoolClient): boolean {
    return this.unsure.has(client);
  }
}

/** Attempts of a failed notification, and the pause before each: about 40 s in all. */
const RESEND_DELAYS_MS = [100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000, 5_000, 5_000, 5_000, 5_000];

/**
 * Notifications whose statement failed after their transaction committed (PostgreSQL refuses a
 * NOTIFY while its queue is full), sent again on a connection of the pool until one attempt
 * succeeds. Workers would find their work at their next poll without them, but a connected
 * device learns of a change only from its notification, or when it reconnects.
 */
class NotificationResends {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly sending = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly send: (statement: SqlStatement) => Promise<void>) {}

  add(statement: SqlStatement, attempt = 0): void {
    const delay = RESEND_DELAYS_MS[attempt];
    if (this.stopped || delay === undefined) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const sent: Promise<void> = this.send(statement)
        .catch(() => this.add(statement, attempt + 1))
        .finally(() => this.sending.delete(sent));
      this.sending.add(sent);
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }

  /** Drops what waits, and waits for attempts under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.sending]);
  }
}

/** Keeps one LISTEN connection alive, reconnecting with backoff and re-subscribing. */
class ChannelListener {
  private client: pg.Client | null = null;
  private connecting: Promise<void> | null = null;
  private readonly handlers = new Map<string, Set<NotificationHandler>>();
  private closed = false;
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(private readonly connectionString: string) {}

  async subscribe(channel: string, handler: NotificationHandler): Promise<() => Promise<void>> {
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      await this.ensureConnected();
      await this.client?.query(`LISTEN ${pg.escapeIdentifier(channel)}`).catch(() => this.scheduleReconnect());
    }
    set.add(handler);
    return async () => {
      set.delete(handler);
    };
  }

  private ensureConnected(): Promise<void> {
    if (this.client || this.closed) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => (this.connecting = null));
    return this.connecting;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString, connectionTimeoutMillis: 5000 });
    client.on('notification', (msg) => {
      for (const handler of this.handlers.get(msg.channel) ?? []) handler(msg.payload ?? '');
    });
    client.on('error', () => this.drop(client));
    client.on('end', () => this.drop(client));
    try {
      await client.connect();
      for (const channel of this.handlers.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      this.client = client;
      // A notification sent while disconnected is lost; listeners resynchronise from storage.
      for (const handler of this.handlers.get(RECONNECTED_CHANNEL) ?? []) handler('');
    } catch {
      client.end().catch(() => {});
      this.scheduleReconnect();
    }
  }

  private drop(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    client.end().catch(() => {});
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.ensureConnected();
    }, 1000);
    this.retryTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.client?.end().catch(() => {});
    this.client = null;
  }
}
