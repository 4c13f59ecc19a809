import { PATTERN_RULE } from '@sigilauth/protocol/wire';

/** One of Ajv's errors, as it reports them with its `verbose` option. */
export interface SchemaError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
  /** The failing keyword's value; for anyOf, its branches. */
  schema?: unknown;
  /** The schema that holds the failing keyword. */
  parentSchema?: Record<string, unknown>;
}

/** Ajv hook (Fastify's `ajv.onCreate`): the rule in words that PatternString puts beside a pattern is a known keyword. */
export function declarePatternRules(ajv: { addKeyword(keyword: string): unknown }): void {
  ajv.addKeyword(PATTERN_RULE);
}

/**
 * Fastify's `schemaErrorFormatter`: the message of the error that stopped validation, in words a
 * client can act on ("body/slug must be a team slug: …", "querystring/status must be one of: …"),
 * not Ajv's ("must match pattern …", "must be equal to constant").
 */
export function formatValidationErrors(errors: SchemaError[], context: string): Error {
  // Ajv stops at the first failing keyword outside an anyOf, so the last error is the one that failed.
  const failed = errors.at(-1);
  if (!failed) return new Error(`invalid ${context}`);
  const error = failed.keyword === 'anyOf' ? (closestBranch(errors.slice(0, -1), failed) ?? failed) : failed;
  return new Error(`${context}${error.instancePath} ${describe(error)}`);
}

/** The error of an anyOf branch the value had the right type for (a string that failed a string's pattern, say). */
function closestBranch(branchErrors: SchemaError[], anyOf: SchemaError): SchemaError | undefined {
  return branchErrors.find((e) => e.instancePath !== anyOf.instancePath || (e.keyword !== 'type' && e.keyword !== 'const'));
}

function describe(error: SchemaError): string {
  const { keyword, params } = error;
  switch (keyword) {
    case 'additionalProperties':
      return `has unknown field '${String(params.additionalProperty)}'`;
    case 'pattern': {
      const rule = error.parentSchema?.[PATTERN_RULE];
      return typeof rule === 'string' ? rule : `must match the pattern ${String(params.pattern)}`;
    }
    case 'format':
      return params.format === 'date-time'
        ? 'must be an RFC 3339 date-time in the years 0001-9999, such as 2026-01-31T12:00:00Z'
        : params.format === 'uuid'
          ? 'must be a UUID, such as 0b6d7a3e-5f4c-4f7e-9c1a-2d3b4c5d6e7f'
          : `must be a valid ${String(params.format)}`;
    case 'type':
      return `must be ${alternatives(
        String(params.type)
          .split(',')
          .map((type) => ({ type })),
      )}`;
    case 'const':
      return `must be ${quote(params.allowedValue)}`;
    case 'enum':
      return `must be ${alternatives(((params.allowedValues as unknown[]) ?? []).map((value) => ({ const: value })))}`;
    case 'anyOf':
      return `must be ${alternatives(Array.isArray(error.schema) ? (error.schema as Record<string, unknown>[]) : [])}`;
    default:
      return error.message ?? 'is invalid';
  }
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'a boolean',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

/** "one of: 'approve', 'deny'" for a choice of values; "a string or null" for a choice of types. */
function alternatives(branches: Record<string, unknown>[]): string {
  if (branches.length > 1 && branches.every((b) => 'const' in b)) return `one of: ${branches.map((b) => quote(b.const)).join(', ')}`;
  const names = branches.map((b) =>
    'const' in b ? quote(b.const) : typeof b.type === 'string' ? (TYPE_NAMES[b.type] ?? b.type) : 'a value of another shape',
  );
  const unique = [...new Set(names)];
  if (unique.length === 0) return 'valid';
  return unique.length === 1 ? unique[0]! : `${unique.slice(0, -1).join(', ')} or ${unique.at(-1)}`;
}

const quote = (value: unknown): string => (typeof value === 'string' ? `'${value}'` : JSON.stringify(value));
