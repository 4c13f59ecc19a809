/**
 * This process's memory of every tenant's log: the largest tree it has seen and signed for, as a
 * compact range. The database holds the entries, the tree state and the signed heads, so someone
 * who can write to it can cut the log short and rewrite all three consistently; what they cannot
 * rewrite is what a running server remembers. Before a head is signed the witness checks that the
 * log still extends what it saw (it folds only the leaves added since, so the check is cheap), and
 * otherwise refuses and raises an alarm. Its memory starts when the process does: a log truncated
 * while no server ran is caught by heads saved outside the database (`sigil audit verify
 * --since-head`, webhook witnesses), not here.
 */
import type { Queryable } from '../storage/database.js';
import { ApiError } from '../http/errors.js';
import { appendLeaf, frontierRoot } from './frontier.js';
import { emptyRoot } from './merkle.js';

interface Seen {
  size: number;
  root: string;
  frontier: Buffer[];
}

/** The state of a tenant's integrated log as stored (audit_logs). */
export interface StoredLogState {
  size: number;
  root: string;
  frontier: string[];
}

export type AuditAlarm = (tenantId: string, problem: string) => void;

export class AuditLogTamperedError extends ApiError {
  constructor(problem: string) {
    super(
      'audit_log_tampered',
      `the audit log no longer extends what this server saw: ${problem}; no tree head is signed until an operator has looked (run sigil audit verify --since-head)`,
    );
  }
}

const LEAF_BATCH = 5000;

export class AuditWitness {
  private readonly seen = new Map<string, Seen>();
  /** One check at a time per tenant, so that a state read earlier is never judged after a later one. */
  private readonly queues = new Map<string, Promise<unknown>>();
  /** The problem last raised per tenant: a log that stays tampered raises its alarm once. */
  private readonly alarms = new Map<string, string>();

  constructor(private readonly onAlarm: AuditAlarm = () => {}) {}

  /**
   * Reads the tenant's stored log state, checks that it extends everything this process saw of
   * it, remembers it and returns it. Throws AuditLogTamperedError (after raising the alarm) when
   * it does not.
   */
  observe(db: Queryable, tenantId: string): Promise<StoredLogState> {
    const run = (this.queues.get(tenantId) ?? Promise.resolve())
      .catch(() => {})
      .then(async () => {
        const state = await readLogState(db, tenantId);
        const problem = await this.problemWith(db, tenantId, state);
        if (problem) this.raise(tenantId, problem);
        return state;
      });
    this.queues.set(tenantId, run);
    void run
      .finally(() => {
        if (this.queues.get(tenantId) === run) this.queues.delete(tenantId);
      })
      .catch(() => {});
    return run;
  }

  /**
   * Checks every tenant's log with one query when nothing changed: only a log whose stored state
   * differs from what this process remembers is read again and judged (by observe).
   */
  async observeAll(db: Queryable, each: (check: Promise<unknown>) => Promise<void>): Promise<void> {
    const rows = await db.query<{ tenant_id: string; tree_size: number | string; root_hash: string }>(
      `SELECT tenant_id, tree_size, encode(root_hash, 'hex') AS root_hash FROM audit_logs`,
    );
    for (const row of rows) {
      const seen = this.seen.get(row.tenant_id);
      if (seen && seen.size === Number(row.tree_size) && seen.root === row.root_hash) continue;
      await each(this.observe(db, row.tenant_id));
    }
  }

  /** Raises the alarm about a tenant's log (once per distinct problem) and throws. */
  raise(tenantId: string, problem: string): never {
    if (this.alarms.get(tenantId) !== problem) {
      this.alarms.set(tenantId, problem);
      this.onAlarm(tenantId, problem);
    }
    throw new AuditLogTamperedError(problem);
  }

  private async problemWith(db: Queryable, tenantId: string, state: StoredLogState): Promise<string | null> {
    const frontier = state.frontier.map((h) => Buffer.from(h, 'hex'));
    const previous = this.seen.get(tenantId);
    if (!previous) {
      if (frontierRoot(frontier).toString('hex') !== state.root)
        return `the stored tree state (size ${state.size}) does not match its own root`;
      this.seen.set(tenantId, { size: state.size, root: state.root, frontier });
      return null;
    }
    if (state.size < previous.size)
      return `the log has ${state.size} entries, but this server saw ${previous.size}: entries were removed from its end`;
    if (state.size === previous.size)
      return state.root === previous.root
        ? null
        : `the log of ${state.size} entries has a different root than this server saw: entries were rewritten`;
    let extended = previous.frontier;
    let size = previous.size;
    while (size < state.size) {
      const rows = await db.query<{ leaf_index: number | string; leaf_hash: string | null }>(
        `SELECT leaf_index, encode(leaf_hash, 'hex') AS leaf_hash FROM audit_entries
          WHERE tenant_id = $1 AND leaf_index >= $2 AND leaf_index < $3 ORDER BY leaf_index LIMIT $4`,
        [tenantId, size, state.size, LEAF_BATCH],
      );
      if (rows.length === 0) return `the entries at leaf index ${size}..${state.size - 1} are missing`;
      for (const row of rows) {
        if (Number(row.leaf_index) !== size || !row.leaf_hash) return `the entry at leaf index ${size} is missing`;
        extended = appendLeaf(extended, size, Buffer.from(row.leaf_hash, 'hex'));
        size++;
      }
    }
    const root = frontierRoot(extended).toString('hex');
    if (root !== state.root) {
      return `the log of ${state.size} entries is not an extension of the ${previous.size} entries this server saw: entries were rewritten or removed`;
    }
    this.seen.set(tenantId, { size: state.size, root, frontier: extended });
    return null;
  }
}

const EMPTY_ROOT_HEX = emptyRoot().toString('hex');

/** The tenant's integrated log as stored (size 0 before its first integration). */
export async function readLogState(db: Queryable, tenantId: string): Promise<StoredLogState> {
  const [row] = await db.query<{ tree_size: number | string; root_hash: string; frontier: string[] }>(
    `SELECT tree_size, encode(root_hash, 'hex') AS root_hash, frontier FROM audit_logs WHERE tenant_id = $1`,
    [tenantId],
  );
  return row
    ? { size: Number(row.tree_size), root: row.root_hash, frontier: row.frontier }
    : { size: 0, root: EMPTY_ROOT_HEX, frontier: [] };
}
