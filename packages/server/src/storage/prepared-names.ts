import { createHash } from 'node:crypto';

/**
 * Both stores run statements as named prepared statements, named by a digest of their text: the
 * database parses each only once per connection, and keeps a plan for it once it has seen a few
 * executions. Only the first PREPARED_MAX distinct texts are named, so that a statement whose
 * text changes from call to call cannot fill the database's memory; the rest run unnamed.
 */
export const PREPARED_MAX = 1_000;

/** The name for a statement's text, or undefined once PREPARED_MAX texts have names. */
export function preparedNames(): (sql: string) => string | undefined {
  const names = new Map<string, string>();
  return (sql) => {
    let name = names.get(sql);
    if (name === undefined && names.size < PREPARED_MAX) {
      name = `sigil_${createHash('sha256').update(sql).digest('hex').slice(0, 32)}`;
      names.set(sql, name);
    }
    return name;
  };
}
