import { parse, protocol, types, type messages, type PGlite } from '@electric-sql/pglite';
import { concatBytes } from '@sigilauth/protocol/bytes';
import { preparedNames } from './prepared-names.js';

const { serialize } = protocol;

/** What preparing a statement told about it: its parameters' types and its result's columns. */
interface Described {
  parameterTypes: number[];
  columns: Array<{ name: string; dataTypeID: number }>;
}

/**
 * Runs statements on PGlite as named prepared statements (prepared-names.ts). PGlite's own
 * query() parses, describes and plans every statement anew, in six calls into the database; a
 * prepared statement is parsed and described once, then bound and executed in one call with the
 * plan the database keeps for it. Its result's columns are known from that first description, so
 * an execution asks for no row description: it would cost the database and the parser here the
 * same work on every call. Values and rows are converted by PGlite's own serializers and parsers,
 * as query() converts them. The caller holds PGlite's lock, as query() does.
 */
export function statementRunner(pg: PGlite): <T>(sql: string, params?: unknown[]) => Promise<T[]> {
  const nameOf = preparedNames();
  const prepared = new Map<string, Described>();

  // Each call ends with Sync, so the database is ready for the next one even after an error.
  const call = (...messages: Uint8Array[]) => pg.execProtocolStream(concatBytes(...messages, serialize.sync()), { syncToFs: false });

  async function describe(name: string, sql: string): Promise<Described> {
    const described = await call(serialize.parse({ name, text: sql }), serialize.describe({ type: 'S', name }));
    const rowDescription = described.find((m): m is messages.RowDescriptionMessage => m.name === 'rowDescription');
    return {
      parameterTypes: parse.parseDescribeStatementResults(described),
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
      return serializer ? serializer(value) : String(value);
    });
    const replies = await call(serialize.bind({ statement: name ?? '', values }), serialize.execute({}));
    const rows: T[] = [];
    for (const reply of replies) {
      if (reply.name !== 'dataRow') continue;
      const { fields } = reply as messages.DataRowMessage;
      rows.push(
        Object.fromEntries(
          columns.map(({ name, dataTypeID }, i) => [name, types.parseType(fields[i] ?? null, dataTypeID, pg.parsers)]),
        ) as T,
      );
    }
    return rows;
  };
}
