import pg from 'pg';
// @ts-expect-error pg ships no types for lib/utils.js, whose prepareValue its own Query binds values with
import pgUtils from 'pg/lib/utils.js';

const { prepareValue } = pgUtils as { prepareValue(value: unknown): unknown };

/** A statement as the PostgreSQL adapter runs it: named when it is prepared on its connection. */
export interface Statement {
  text: string;
  values: unknown[] | undefined;
  /** The prepared statement's name; none: parsed anew, unnamed. */
  name: string | undefined;
  /** Whether to prepare it under its name first (it is not prepared on the connection yet). */
  prepare: boolean;
}

/** The wire messages a batch writes, from pg's Connection (the ones pg's own Query and pg-cursor use). */
interface WireConnection {
  stream: { cork(): void; uncork(): void };
  parse(query: { text: string; name: string; types: unknown[] }): void;
  bind(config: { portal: string; statement: string; values: unknown[] }): void;
  describe(message: { type: 'P'; name: string }): void;
  execute(config: { portal: string }): void;
  sync(): void;
}

type Results = pg.QueryResult[] | pg.QueryResult;

/**
 * Several statements sent in one write and answered in one: each is bound and executed in turn,
 * then one Sync ends them, so the server runs them in order (each sees what the ones before it
 * wrote) and stops at the first error, which fails the batch. pg's Query parses the answers, one
 * result per statement.
 */
class StatementBatch extends pg.Query {
  /** Statements the server has reported complete. */
  completed = 0;

  constructor(
    private readonly statements: readonly Statement[],
    callback: (err: Error | undefined, results: Results) => void,
  ) {
    super({ text: statements.map((s) => s.text).join(';\n') }, callback as never);
  }

  /** Writes the batch; a value that cannot be sent fails it before anything is written (pg then reports the error). */
  override submit = (connection: unknown): Error | null => {
    let values: unknown[][];
    try {
      values = this.statements.map((s) => (s.values ?? []).map((value) => prepareValue(value)));
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
    const wire = connection as WireConnection;
    wire.stream.cork();
    try {
      this.statements.forEach((s, i) => {
        if (s.name === undefined || s.prepare) wire.parse({ text: s.text, name: s.name ?? '', types: [] });
        wire.bind({ portal: '', statement: s.name ?? '', values: values[i]! });
        wire.describe({ type: 'P', name: '' });
        wire.execute({ portal: '' });
      });
      wire.sync();
    } finally {
      wire.stream.uncork();
    }
    return null;
  };

  handleCommandComplete(message: unknown, connection: unknown): void {
    this.completed++;
    queryCommandComplete.call(this, message, connection);
  }
}

/** pg's own handler, which its typings do not declare. */
const { handleCommandComplete: queryCommandComplete } = pg.Query.prototype as unknown as {
  handleCommandComplete(this: pg.Query, message: unknown, connection: unknown): void;
};

const completedBeforeFailure = new WeakMap<object, number>();

/** For an error from runBatch: how many of the batch's statements had completed before it failed. */
export function statementsCompleted(err: unknown): number {
  return (typeof err === 'object' && err !== null && completedBeforeFailure.get(err)) || 0;
}

/** Runs the statements in one round trip and returns each one's rows. */
export function runBatch(client: pg.PoolClient, statements: readonly Statement[]): Promise<object[][]> {
  return new Promise((resolve, reject) => {
    const batch: StatementBatch = new StatementBatch(statements, (err, results) => {
      if (err) {
        if (typeof err === 'object') completedBeforeFailure.set(err, batch.completed);
        reject(err);
      } else resolve((Array.isArray(results) ? results : [results]).map((r) => r.rows));
    });
    void client.query(batch);
  });
}
