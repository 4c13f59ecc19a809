import AjvCompiler from '@fastify/ajv-compiler';
import SerializerSelector from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;
type Validate = ((data: unknown, context?: unknown) => unknown) & { errors?: unknown };

export interface LazySchemaCompilers {
  /** For the `schemaController` option of Fastify(). */
  compilersFactory: Required<CompilersFactory>;
  /** Compiles every schema not yet compiled: a schema that cannot compile fails here, not on a request. */
  compileAll(): void;
}

/**
 * Fastify's own compilers (Ajv for requests, fast-json-stringify for responses), compiling each
 * route's schema on the route's first request instead of at start-up: compiling all of them took
 * about a third of a second of every start. The validators and serializers are the same
 * functions; only when they are built changes.
 *
 * Fastify treats compilers given this way as custom ones and then leaves header schemas as they
 * are instead of lower-casing their names, so a header schema must name its headers in lower case.
 */
export function lazySchemaCompilers(): LazySchemaCompilers {
  const buildValidator = AjvCompiler();
  const buildSerializer = SerializerSelector();
  const pending = new Set<() => void>();

  const deferred = <F>(route: { method?: string | undefined; url?: string | undefined }, compile: () => F): { get: () => F } => {
    let compiled: F | undefined;
    const force = () => {
      try {
        compiled = compile();
      } catch (err) {
        throw new Error(`${route.method ?? ''} ${route.url ?? ''}: ${(err as Error).message}`, { cause: err });
      }
      pending.delete(force);
    };
    pending.add(force);
    return {
      get: () => {
        if (compiled === undefined) force();
        return compiled as F;
      },
    };
  };

  const compilersFactory: Required<CompilersFactory> = {
    buildValidator(externalSchemas, ajvOptions) {
      let compiler: ReturnType<typeof buildValidator> | undefined;
      return (route) => {
        if (route.httpPart === 'headers') requireLowerCaseHeaders(route.schema, `${route.method} ${route.url}`);
        const validator = deferred(route, () => (compiler ??= buildValidator(externalSchemas, ajvOptions))(route) as Validate);
        const validate: Validate = (data, context) => validator.get()(data, context);
        // Fastify reads `errors` after a failed call, and passes Ajv's context (so defaults reach
        // the root value) only to a function that has `schemaEnv`.
        Object.defineProperties(validate, {
          errors: { get: () => validator.get().errors },
          schemaEnv: { value: true },
        });
        return validate as unknown as ReturnType<ReturnType<typeof buildValidator>>;
      };
    },
    buildSerializer(externalSchemas, serializerOptions) {
      let compiler: ReturnType<typeof buildSerializer> | undefined;
      return (route) => {
        const serializer = deferred(route, () => (compiler ??= buildSerializer(externalSchemas, serializerOptions))(route));
        return (doc: unknown) => serializer.get()(doc);
      };
    },
  };

  return {
    compilersFactory,
    compileAll: () => {
      for (const force of [...pending]) force();
    },
  };
}

function requireLowerCaseHeaders(schema: unknown, route: string): void {
  const names = Object.keys((schema as { properties?: object } | null)?.properties ?? {});
  const upper = names.find((name) => name !== name.toLowerCase());
  if (upper) throw new Error(`${route}: header schemas name headers in lower case ("${upper}")`);
}
