// Store procedures for storage-thread.test.ts: each reports where it ran.
import { isMainThread } from 'node:worker_threads';
import { ApiError, refusalAsValue } from '../src/http/errors.js';
import { storeProcedure } from '../src/storage/database.js';

/** The channel INSERT_ROWS announces each row on, when its transaction commits. */
export const ROWS_CHANNEL = 'thread_rows';

/** Inserts the rows in one transaction and says which thread and which store transaction ran it. */
export const INSERT_ROWS = storeProcedure(import.meta.url, 'INSERT_ROWS', async (db, ids: number[]) =>
  db.transaction(async (tx) => {
    for (const id of ids) {
      await tx.notifyOnCommit(`SELECT pg_notify('${ROWS_CHANNEL}', id::text) FROM unnest($1::int[]) AS id`, [[id]]);
      await tx.query('INSERT INTO t (id) VALUES ($1)', [id]);
    }
    const [row] = await tx.query<{ txid: string }>('SELECT txid_current()::text AS txid');
    return { mainThread: isMainThread, txid: row!.txid };
  }),
);

/** Commits the row, then refuses, as a transition that records a timeout and refuses the decision. */
export const INSERT_THEN_REFUSE = storeProcedure(import.meta.url, 'INSERT_THEN_REFUSE', async (db, id: number) =>
  refusalAsValue(
    db
      .transaction(async (tx) => {
        await tx.query('INSERT INTO t (id) VALUES ($1)', [id]);
        return new ApiError('request_completed', 'MPA request is already timeout', { status: 'timeout' });
      })
      .then((refusal) => Promise.reject(refusal)),
  ),
);

/** Not a store procedure: the thread must refuse to run it. */
export const NOT_A_PROCEDURE = { name: 'NOT_A_PROCEDURE' };
