import type { FastifyBaseLogger } from 'fastify';
import { startPeriodic } from '../background/periodic.js';
import type { Database, Queryable } from './database.js';

/**
 * PostgreSQL's autovacuum runs in processes of its own, and the embedded store has none: without
 * this its tables would never be vacuumed (dead rows and index entries would pile up, and its
 * transaction ids would one day run out) nor analysed (the planner would keep judging every table
 * by its size when the store was made, and the plans it keeps for prepared statements with it).
 * Every MAINTENANCE_INTERVAL_MS the server applies autovacuum's own rules, with the store's own
 * autovacuum settings, table by table. A vacuum holds the store's one connection while it runs.
 */
export const MAINTENANCE_INTERVAL_MS = 15_000;

export interface TableDue {
  /** Schema-qualified and quoted, ready for a statement. */
  table: string;
  vacuum: boolean;
  analyze: boolean;
}

/**
 * The tables autovacuum would vacuum or analyse now: past the dead-row, insert or change thresholds,
 * or the freeze ages. The embedded store forgets those counters when it stops, so the rows a table
 * gained are also judged by its size: the pages it grew since its last vacuum or analysis, at the
 * rows per page it had then, count against the insert and change thresholds; and a table that
 * holds rows but was never analysed is analysed.
 */
export async function tablesDue(db: Queryable): Promise<TableDue[]> {
  // The backend reports its row counters only now and then; this makes it report them now.
  await db.query('SELECT pg_stat_force_next_flush()');
  return db.query<TableDue>(
    `WITH setting AS (
       SELECT current_setting('autovacuum_vacuum_threshold')::float8 AS vacuum_base,
              current_setting('autovacuum_vacuum_scale_factor')::float8 AS vacuum_scale,
              current_setting('autovacuum_vacuum_insert_threshold')::float8 AS insert_base,
              current_setting('autovacuum_vacuum_insert_scale_factor')::float8 AS insert_scale,
              current_setting('autovacuum_analyze_threshold')::float8 AS analyze_base,
              current_setting('autovacuum_analyze_scale_factor')::float8 AS analyze_scale,
              current_setting('autovacuum_freeze_max_age')::bigint AS freeze_max_age,
              current_setting('autovacuum_multixact_freeze_max_age')::bigint AS multixact_freeze_max_age
     ), due AS (
       SELECT format('%I.%I', t.schemaname, t.relname) AS "table",
              t.n_dead_tup > s.vacuum_base + s.vacuum_scale * greatest(c.reltuples, 0)
                OR greatest(t.n_ins_since_vacuum, size.rows_gained) > s.insert_base + s.insert_scale * greatest(c.reltuples, 0)
                OR age(c.relfrozenxid) > s.freeze_max_age
                OR mxid_age(c.relminmxid) > s.multixact_freeze_max_age AS vacuum,
              greatest(t.n_mod_since_analyze, size.rows_gained) > s.analyze_base + s.analyze_scale * greatest(c.reltuples, 0)
                OR (c.reltuples < 0 AND size.bytes > 0) AS "analyze"
         FROM pg_stat_user_tables t JOIN pg_class c ON c.oid = t.relid CROSS JOIN setting s
        CROSS JOIN LATERAL (
          SELECT r.bytes,
                 CASE WHEN c.relpages > 0 AND c.reltuples >= 0
                      THEN greatest(r.bytes / current_setting('block_size')::float8 - c.relpages, 0) * c.reltuples / c.relpages
                      ELSE 0 END AS rows_gained
            FROM (SELECT pg_relation_size(c.oid) AS bytes) r
        ) size
     )
     SELECT * FROM due WHERE vacuum OR "analyze" ORDER BY 1`,
  );
}

/** Vacuums and analyses the tables that are due, one statement each; returns what it did. */
export async function maintainTables(db: Queryable): Promise<Array<TableDue & { ms: number }>> {
  const done: Array<TableDue & { ms: number }> = [];
  for (const due of await tablesDue(db)) {
    const started = performance.now();
    await db.query(due.vacuum ? `VACUUM ${due.analyze ? '(ANALYZE) ' : ''}${due.table}` : `ANALYZE ${due.table}`);
    done.push({ ...due, ms: Math.round(performance.now() - started) });
  }
  return done;
}

/** Starts the maintenance of an embedded store; PostgreSQL's own autovacuum looks after a server's. */
export function startEmbeddedMaintenance(db: Database, log: FastifyBaseLogger, intervalMs = MAINTENANCE_INTERVAL_MS): () => Promise<void> {
  if (db.kind !== 'pglite') return async () => {};
  return startPeriodic('embedded store maintenance', intervalMs, log, async () => {
    for (const done of await maintainTables(db)) log.info(done, 'embedded store maintenance');
  });
}
