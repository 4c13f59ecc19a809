import { types, type PGlite } from '@electric-sql/pglite';
import { DatabaseError, serialize } from 'pg-protocol';
import type {
  BackendMessage,
  DataRowMessage,
  NotificationResponseMessage,
  ParameterDescriptionMessage,
  RowDescriptionMessage,
} from 'pg-protocol/dist/messages.js';
import { Parser } from 'pg-protocol/dist/parser.js';
import { preparedNames } from './prepared-names.js';

/** What preparing a statement told about it: its parameters' types and its result's columns. */
interface Described {
  parameterTypes: number[];
  columns: Array<{ name: string; dataTypeID: number }>;
}

/** Receives a notification found among a statement's replies (a NOTIFY committed outside a transaction). */
export type NotificationSink = (channel: string, payload: string) => void;

/**
 * Runs statements on PGlite as named prepared statements (prepared-names.ts). PGlite's own
 * query() parses, describes and plans every statement anew, in six calls into the database; a
 * prepared statement is parsed and described once, then bound and executed in one call with the
 * plan the database keeps for it. Its result's columns are known from that first description, so
 * an execution asks for no row description: it would cost the database and the parser here the
 * same work on every call. The wire messages are written and read by pg-protocol, as the
 * PostgreSQL adapter's are (PGlite's own reader costs as much again as the database's work on a
 * short statement); values and rows are converted by PGlite's serializers and parsers, as its
 * query() converts them. The caller holds PGlite's lock, as query() does.
 */
export function statementRunner(pg: PGlite, notify: NotificationSink): <T>(sql: string, params?: unknown[]) => Promise<T[]> {
  const nameOf = preparedNames();
  const prepared = new Map<string, Described>();

  // Each call ends with Sync, so the database is ready for the next one even after an error.
  async function call(...messages: Buffer[]): Promise<BackendMessage[]> {
    const replies: BackendMessage[] = [];
    const parser = new Parser();
    await pg.execProtocolRawStream(Buffer.concat([...messages, serialize.sync()]), {
      syncToFs: false,
      // A view of the database's memory, which its next reply overwrites: the parser gets a copy.
      onRawData: (chunk) => parser.parse(Buffer.from(chunk), (message) => replies.push(message)),
    });
    const error = replies.find((m): m is DatabaseError => m instanceof DatabaseError);
    if (error) throw error;
    for (const m of replies)
      if (m.name === 'notification') notify((m as NotificationResponseMessage).channel, (m as NotificationResponseMessage).payload);
    return replies;
  }

  async function describe(name: string, sql: string): Promise<Described> {
    const described = await call(serialize.parse({ name, text: sql }), serialize.describe({ type: 'S', name }));
    const parameters = described.find((m): m is ParameterDescriptionMessage => m.name === 'parameterDescription');
    const rowDescription = described.find((m): m is RowDescriptionMessage => m.name === 'rowDescription');
    return {
      parameterTypes: parameters?.dataTypeIDs ?? [],
      columns: rowDescription?.fields.map(({ name, dataTypeID }) => ({ name, dataTypeID })) ?? [],
    };
  }

  return async <T>(sql: string, params: unknown[] = []): Promise<T[]> => {
    const name = nameOf(sql);
    let statement = name === undefined ? undefined : prepared.get(name);
    if (!statement) {
      statement = await describe(name ?? '', sql);
      if (name !== undefined) prepared.set(name, statement);
    }
    const { parameterTypes, columns } = statement;
    const values = params.map((value, i) => {
      if (value === null || value === undefined) return null;
      const serializer = pg.serializers[parameterTypes[i]!];
      return serializer ? (serializer(value) as string) : String(value);
    });
    const replies = await call(serialize.bind({ statement: name ?? '', values }), serialize.execute({}));
    const rows: T[] = [];
    for (const reply of replies) {
      if (reply.name !== 'dataRow') continue;
      const { fields } = reply as DataRowMessage;
      rows.push(
        Object.fromEntries(
          columns.map(({ name, dataTypeID }, i) => [name, types.parseType(fields[i] ?? null, dataTypeID, pg.parsers)]),
        ) as T,
      );
    }
    return rows;
  };
}
