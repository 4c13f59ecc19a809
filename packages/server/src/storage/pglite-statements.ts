import { parse, protocol, type PGlite } from '@electric-sql/pglite';
import { concatBytes } from '@sigilauth/protocol/bytes';
import { preparedNames } from './prepared-names.js';

const { serialize } = protocol;

/**
 * Runs statements on PGlite as named prepared statements (prepared-names.ts). PGlite's own
 * query() parses, describes and plans every statement anew, in six calls into the database; a
 * prepared statement is parsed once, then bound and executed in one call with the plan the
 * database keeps for it. Values and rows are converted by PGlite's own serializers and parsers,
 * as query() converts them. The caller holds PGlite's lock, as query() does.
 */
export function statementRunner(pg: PGlite): <T>(sql: string, params?: unknown[]) => Promise<T[]> {
  const nameOf = preparedNames();
  const parameterTypes = new Map<string, number[]>();

  // Each call ends with Sync, so the database is ready for the next one even after an error.
  const call = (...messages: Uint8Array[]) => pg.execProtocolStream(concatBytes(...messages, serialize.sync()), { syncToFs: false });

  async function prepare(name: string, sql: string): Promise<number[]> {
    const described = await call(serialize.parse({ name, text: sql }), serialize.describe({ type: 'S', name }));
    return parse.parseDescribeStatementResults(described);
  }

  return async <T>(sql: string, params: unknown[] = []): Promise<T[]> => {
    const name = nameOf(sql);
    let types = name === undefined ? undefined : parameterTypes.get(name);
    if (!types) {
      types = await prepare(name ?? '', sql);
      if (name !== undefined) parameterTypes.set(name, types);
    }
    const values = params.map((value, i) => {
      if (value === null || value === undefined) return null;
      const serializer = pg.serializers[types[i]!];
      return serializer ? serializer(value) : String(value);
    });
    const messages = await call(
      serialize.bind({ statement: name ?? '', values }),
      serialize.describe({ type: 'P' }),
      serialize.execute({}),
    );
    return (parse.parseResults(messages, pg.parsers)[0]?.rows ?? []) as T[];
  };
}
