// Route schemas compile on first use (http/lazy-schemas.ts): the server starts without compiling
// them, and a request is validated and an answer serialized exactly as by Fastify's own compilers.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { lazySchemaCompilers, type LazySchemaCompilers } from '../src/http/lazy-schemas.js';

const AJV = { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false } } as const;

function appWith(schemas: LazySchemaCompilers | null): FastifyInstance {
  return Fastify({ ajv: AJV, ...(schemas ? { schemaController: { compilersFactory: schemas.compilersFactory } } : {}) });
}

/** The same routes on an app: a body with a default and a bound, a query, and an answer with a field its schema leaves out. */
function addRoutes(app: FastifyInstance): FastifyInstance {
  app.post(
    '/items',
    {
      schema: {
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: { name: { type: 'string', maxLength: 8 }, count: { type: 'integer', minimum: 1, default: 1 } },
        },
        querystring: { type: 'object', properties: { dry: { type: 'string', enum: ['yes', 'no'], default: 'no' } } },
        response: {
          200: { type: 'object', properties: { name: { type: 'string' }, count: { type: 'integer' }, dry: { type: 'string' } } },
        },
      },
    },
    async (request) => ({ ...(request.body as object), ...(request.query as object), secret: 'not in the schema' }),
  );
  return app;
}

const REQUESTS = [
  { url: '/items', payload: { name: 'bolt' } },
  { url: '/items?dry=yes', payload: { name: 'nut', count: 3 } },
  { url: '/items', payload: { name: 'far too long a name' } },
  { url: '/items', payload: { name: 'bolt', count: 0 } },
  { url: '/items', payload: { name: 'bolt', extra: true } },
  { url: '/items', payload: {} },
  { url: '/items?dry=maybe', payload: { name: 'bolt' } },
  { url: '/items', payload: [] },
];

describe('route schemas compiled on first use', () => {
  test('requests are validated, defaulted and answered exactly as with eager compilation', async () => {
    const eager = addRoutes(appWith(null));
    const lazy = addRoutes(appWith(lazySchemaCompilers()));
    try {
      for (const r of REQUESTS) {
        const [a, b] = await Promise.all([eager, lazy].map((app) => app.inject({ method: 'POST', ...r })));
        assert.equal(b!.statusCode, a!.statusCode, `${r.url} ${JSON.stringify(r.payload)}`);
        assert.equal(b!.body, a!.body, `${r.url} ${JSON.stringify(r.payload)}`);
      }
      const ok = await lazy.inject({ method: 'POST', url: '/items', payload: { name: 'bolt' } });
      assert.deepEqual(ok.json(), { name: 'bolt', count: 1, dry: 'no' }, 'defaults applied, the unlisted field left out');
    } finally {
      await Promise.all([eager.close(), lazy.close()]);
    }
  });

  test('a schema that cannot compile does not stop the start; compileAll finds it', async () => {
    const schemas = lazySchemaCompilers();
    const app = appWith(schemas);
    app.post('/broken', { schema: { body: { type: 'no-such-type' } } }, async () => ({}));
    try {
      await app.ready();
      assert.throws(() => schemas.compileAll(), /^Error: POST \/broken: schema is invalid: data\/type/);
      const first = await app.inject({ method: 'POST', url: '/broken', payload: {} });
      assert.equal(first.statusCode, 500);
    } finally {
      await app.close();
    }
    const eager = Fastify();
    eager.post('/broken', { schema: { body: { type: 'no-such-type' } } }, async () => ({}));
    await assert.rejects(async () => eager.ready(), /schema is invalid: data\/type/, 'Fastify compiling eagerly refuses it at start');
    await eager.close();
  });

  test('compileAll compiles every schema; afterwards there is nothing left to compile', async () => {
    const schemas = lazySchemaCompilers();
    const app = addRoutes(appWith(schemas));
    try {
      await app.ready();
      schemas.compileAll();
      const res = await app.inject({ method: 'POST', url: '/items', payload: { name: 'bolt', count: 'two' } });
      assert.equal(res.statusCode, 400);
      assert.match(res.json().message, /count/);
    } finally {
      await app.close();
    }
  });

  test('a header schema naming a header in upper case is refused when the route is added', async () => {
    const app = appWith(lazySchemaCompilers());
    app.get('/h', { schema: { headers: { type: 'object', properties: { 'X-Token': { type: 'string' } } } } }, async () => ({}));
    await assert.rejects(async () => app.ready(), /lower case \("X-Token"\)/);
    await app.close();
  });
});
