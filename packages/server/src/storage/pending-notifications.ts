import type { Queryable } from './database.js';

/**
 * The NOTIFY statements a transaction made (Queryable.notifyOnCommit), run together when it
 * commits. Statements of the same text merge into one, their array parameters concatenated, and
 * the distinct texts run as one statement: announcing costs one statement per transaction (per
 * group of transactions on the embedded store), and only a few distinct texts are ever prepared.
 */
export class PendingNotifications {
  private readonly byText = new Map<string, unknown[][]>();

  add(sql: string, arrays: unknown[][]): void {
    const merged = this.byText.get(sql);
    if (merged) arrays.forEach((values, i) => merged[i]!.push(...values));
    else
      this.byText.set(
        sql,
        arrays.map((values) => [...values]),
      );
  }

  /** Hands them to the transaction this one is part of (a savepoint's, once it is released). */
  async passTo(outer: Queryable): Promise<void> {
    for (const [sql, arrays] of this.byText) await outer.notifyOnCommit(sql, arrays);
  }

  /** All of them as one statement; null when there are none. */
  combined(): { sql: string; params: unknown[][] } | null {
    const statements = [...this.byText];
    if (statements.length <= 1) return statements[0] ? { sql: statements[0][0], params: statements[0][1] } : null;
    const params: unknown[][] = [];
    const parts = statements.map(([sql, arrays]) => {
      const offset = params.length;
      params.push(...arrays);
      return `(${sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`)})`;
    });
    return { sql: `SELECT 1 FROM (${parts.join(' UNION ALL ')}) AS notified`, params };
  }
}
