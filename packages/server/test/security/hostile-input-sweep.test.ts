// Attack: crash the server (500) or corrupt its store with input PostgreSQL cannot hold: U+0000,
// lone UTF-16 surrogates, invalid percent-escapes, dates outside 0001-9999, numbers beyond
// double range, malformed pagination cursors. Every route the OpenAPI document lists is swept
// field by field (path, query, every string and number in the body schema, record keys), plus the
// web approver's hidden routes and raw headers; each hostile request must get a 4xx with the JSON
// error body, and nothing may be written.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { actionDigest } from '@sigilauth/protocol';
import { pairDevice, startTestServer, type TestServer } from '../../../../test/support/api.js';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { createStore, describeEachStore, type TestStore } from '../../../../test/support/stores.js';

type Schema = Record<string, any>;

const NUL = 'sigil\u0000x';
const LONE_HIGH = 'sigil\ud800x';
const LONE_LOW = 'x\udc00';
const HOSTILE_STRINGS = [NUL, LONE_HIGH, LONE_LOW, '\u0000'];
const HOSTILE_DATES = ['0000-01-01T00:00:00Z', '2020-12-31T23:59:60Z', '2021-02-29T00:00:00Z', '9999-12-31T23:59:59-01:00'];
/** Raw JSON number texts: out of double range (parses to Infinity) and far out of any field's range. */
const HOSTILE_NUMBERS = ['1e400', '-1e400', '1e308', '18446744073709551616'];
/** Raw query-string values: NUL, an encoded lone surrogate (invalid UTF-8), an overlong NUL. */
const HOSTILE_QUERY = ['%00', 'a%00b', '%ED%A0%80', '%C0%80', '%FF'];
const HOSTILE_PATH = ['%00', '%ED%A0%80'];

/** A string stand-in for a raw number text, swapped in after JSON.stringify. */
const RAW_NUMBER = '__sigil_raw_number__:';

interface Probe {
  label: string;
  method: string;
  path: string;
  /** JSON text, or undefined for no body. */
  body?: string;
  headers?: Record<string, string>;
}

/** Every place a schema puts a string, number or record key, as JSON-pointer-like paths ("*" = array item, "{}" = record key). */
function leaves(
  schema: Schema | undefined,
  path: string[] = [],
  out: Array<{ path: string[]; kind: 'string' | 'date' | 'number' | 'key' }> = [],
) {
  if (!schema || typeof schema !== 'object') return out;
  for (const branch of [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) leaves(branch, path, out);
  const types: string[] = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (types.includes('string') || (schema.const !== undefined && typeof schema.const === 'string')) {
    out.push({ path, kind: schema.format === 'date-time' ? 'date' : 'string' });
  }
  if (types.includes('integer') || types.includes('number')) out.push({ path, kind: 'number' });
  for (const [name, sub] of Object.entries<Schema>(schema.properties ?? {})) leaves(sub, [...path, name], out);
  for (const sub of Object.values<Schema>(schema.patternProperties ?? {})) {
    out.push({ path: [...path, '{}'], kind: 'key' });
    leaves(sub, [...path, 'k'], out);
  }
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
    out.push({ path: [...path, '{}'], kind: 'key' });
    leaves(schema.additionalProperties, [...path, 'k'], out);
  }
  if (schema.items) leaves(schema.items, [...path, '*'], out);
  return out;
}

/** A body of the schema's shape (required fields only, placeholder values): enough to carry one hostile field. */
function skeleton(schema: Schema | undefined): unknown {
  if (!schema) return {};
  const branch = schema.anyOf?.[0] ?? schema.oneOf?.[0];
  if (branch && !schema.type) return skeleton(branch);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (schema.const !== undefined) return schema.const;
  if (type === 'object') {
    const out: Record<string, unknown> = {};
    for (const name of schema.required ?? []) out[name] = skeleton(schema.properties?.[name]);
    return out;
  }
  if (type === 'array') return [skeleton(schema.items)];
  if (type === 'integer' || type === 'number') return 1;
  if (type === 'boolean') return true;
  return 'x';
}

/** A copy of `body` with the value at `path` set (arrays: item 0; "k": a record entry) or a record key replaced. */
function withLeaf(body: unknown, path: string[], value: unknown, kind: string): unknown {
  const copy = structuredClone(body ?? {}) as any;
  let node = copy;
  const steps = kind === 'key' ? path.slice(0, -1) : path;
  for (const [i, step] of steps.entries()) {
    const last = i === steps.length - 1 && kind !== 'key';
    const key = step === '*' ? 0 : step;
    if (last) {
      node[key] = value;
      return copy;
    }
    if (node[key] === undefined || node[key] === null || typeof node[key] !== 'object') node[key] = steps[i + 1] === '*' ? [] : {};
    node = node[key];
  }
  if (kind === 'key') node[value as string] = 'v';
  return copy;
}

const encodeBody = (body: unknown) => JSON.stringify(body).replace(/"__sigil_raw_number__:([-0-9e.]+)"/g, '$1');

/** Sends a raw HTTP/1.1 request (for header bytes fetch refuses to send) and returns status and body. */
function rawRequest(url: string, head: string): Promise<{ status: number; contentType: string; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(head));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const [headers = '', ...rest] = text.split('\r\n\r\n');
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(headers)?.[1] ?? 0),
        contentType: /\r\ncontent-type: ([^\r]*)/i.exec(headers)?.[1] ?? '',
        body: rest.join('\r\n\r\n'),
      });
    });
  });
}

describeEachStore('hostile input on every route', (kind) => {
  let store: TestStore;
  let t: TestServer;
  let key: string;
  const a = new TestDevice('Ada');
  const b = new TestDevice('Bob');
  const ids: Record<string, string> = {};
  const probes: Probe[] = [];

  const mpaBody = () => ({
    required: 1,
    groups: [
      { name: 'Security', approvers: [a.approver] },
      { name: 'Operations', approvers: [b.approver] },
    ],
    action: { type: 'deploy', description: 'Deploy build 42', params: { service: 'api', replicas: 3, canary: true } },
    expires_in_seconds: 900,
  });

  /** Valid bodies and queries for the routes that store what they are given, so a hostile field would otherwise reach the store. */
  const baselines = (): Record<string, { body?: unknown; query?: Record<string, string> }> => ({
    'POST /v1/mpa/requests': { body: mpaBody() },
    'GET /v1/mpa/requests': { query: { status: 'pending', limit: '5' } },
    'POST /v1/pairings': { body: { name: 'Carol laptop' } },
    'POST /v1/webhooks': { body: { url: 'http://127.0.0.1:9/hook', events: ['device.revoked'], description: 'ops' } },
    'PATCH /v1/webhooks/{id}': { body: { description: 'changed', url: 'http://127.0.0.1:9/other' } },
    'GET /v1/audit': { query: { type: 'mpa.created', since: '2020-01-01T00:00:00Z', until: '2999-01-01T00:00:00Z', limit: '10' } },
    'GET /v1/webhooks/{id}/deliveries': { query: { limit: '10' } },
  });

  const pathFor = (template: string) =>
    template
      .replace('{fingerprint}', a.fingerprint)
      .replace(
        '{id}',
        template.startsWith('/v1/webhooks/deliveries')
          ? ids.delivery!
          : template.startsWith('/v1/webhooks')
            ? ids.webhook!
            : template.startsWith('/v1/pairings')
              ? ids.pairing!
              : ids.request!,
      );

  /** Row counts and contents of every table, minus what background work may change while the probes run. */
  const snapshot = async () => {
    const tables = await t.server.db.query<{ name: string }>(
      `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
        AND table_name NOT IN ('audit_logs', 'audit_tree_heads', 'schema_migrations') ORDER BY table_name`,
    );
    const out: Record<string, string> = {};
    for (const { name } of tables) {
      const projection = name === 'audit_entries' ? '(id, tenant_id, type, request_id, data)' : 't';
      const [row] = await t.server.db.query<{ n: number; digest: string | null }>(
        `SELECT count(*)::int AS n, md5(string_agg(${projection}::text, '|' ORDER BY ${projection}::text)) AS digest FROM ${name} t`,
      );
      out[name] = `${row!.n}:${row!.digest}`;
    }
    return out;
  };

  before(async () => {
    store = await createStore(kind);
    t = await startTestServer(store, {
      // No background integration during the probes: the snapshot compares the whole store.
      config: {
        webhooks: { allowPrivate: true },
        audit: { intervalMs: 3_600_000, signIntervalMs: 3_600_000 },
        pairingRateLimit: 1_000_000,
      },
    });
    key = t.api.apiKey!;
    for (const d of [a, b]) await pairDevice(t.api, t.serverId, d);
    const request = await t.api.post('/v1/mpa/requests', mpaBody());
    assert.equal(request.status, 201, JSON.stringify(request.body));
    ids.request = request.body.request_id;
    ids.pairing = (await t.api.post('/v1/pairings', { name: 'Dan' })).body.pairing_id;
    const webhook = await t.api.post('/v1/webhooks', { url: 'http://127.0.0.1:9/hook', events: ['device.revoked'] });
    assert.equal(webhook.status, 201, JSON.stringify(webhook.body));
    ids.webhook = webhook.body.id;
    ids.delivery = '00000000-0000-4000-8000-000000000000';

    const openapi = (await t.api.get('/openapi.json')).body;
    const known = baselines();
    for (const [template, operations] of Object.entries<Record<string, Schema>>(openapi.paths)) {
      for (const [method, op] of Object.entries(operations)) {
        const route = `${method.toUpperCase()} ${template.replace(/\{(\w+)\}/g, '{$1}')}`;
        const base = known[route];
        const path = pathFor(template);
        const query = base?.query ?? {};
        const qs = (extra: Record<string, string>) => {
          const all = { ...query, ...extra };
          const text = Object.entries(all)
            .map(([k, v]) => `${k}=${v}`)
            .join('&');
          return text ? `?${text}` : '';
        };
        const bodySchema = op.requestBody?.content?.['application/json']?.schema;
        const body = base?.body ?? (bodySchema ? skeleton(bodySchema) : undefined);
        const bodyText = body === undefined ? undefined : JSON.stringify(body);
        const m = method.toUpperCase();

        // Path parameters.
        for (const param of (op.parameters ?? []).filter((p: Schema) => p.in === 'path')) {
          for (const v of HOSTILE_PATH) {
            probes.push({
              label: `${route} path ${param.name}=${v}`,
              method: m,
              path: template.replace(`{${param.name}}`, v).replace(/\{\w+\}/g, ids.request!),
              ...(bodyText ? { body: bodyText } : {}),
            });
          }
        }
        // Query parameters, declared or not.
        const queryParams = (op.parameters ?? []).filter((p: Schema) => p.in === 'query');
        for (const name of [...queryParams.map((p: Schema) => p.name as string), 'unexpected']) {
          const schema = queryParams.find((p: Schema) => p.name === name)?.schema;
          const values = schema?.format === 'date-time' ? [...HOSTILE_QUERY, ...HOSTILE_DATES.map(encodeURIComponent)] : HOSTILE_QUERY;
          for (const v of values)
            probes.push({
              label: `${route} query ${name}=${v}`,
              method: m,
              path: `${path}${qs({ [name]: v })}`,
              ...(bodyText ? { body: bodyText } : {}),
            });
        }
        // Every string, date, number and record key of the body.
        for (const leaf of leaves(bodySchema)) {
          const values: unknown[] =
            leaf.kind === 'number'
              ? // A parameter may be any finite number; everywhere else even a finite huge one is out of range.
                (leaf.path.includes('params') ? HOSTILE_NUMBERS.filter((n) => n.includes('400')) : HOSTILE_NUMBERS).map(
                  (n) => `${RAW_NUMBER}${n}`,
                )
              : leaf.kind === 'date'
                ? [...HOSTILE_STRINGS, ...HOSTILE_DATES]
                : HOSTILE_STRINGS;
          for (const v of values) {
            probes.push({
              label: `${route} body ${leaf.path.join('/') || '(root)'} (${leaf.kind}) = ${JSON.stringify(v)}`,
              method: m,
              path: `${path}${qs({})}`,
              body: encodeBody(withLeaf(body, leaf.path, v, leaf.kind)),
            });
          }
        }
      }
    }
    // The web approver's routes are not in the OpenAPI document: their bodies carry codes, names and challenges.
    for (const [method, path] of [
      ['POST', '/approve/api/pair/options'],
      ['POST', '/approve/api/pair/complete'],
      ['POST', '/approve/api/session/options'],
      ['POST', '/approve/api/session'],
      ['POST', '/approve/api/logout'],
      ['GET', '/approve/api/me'],
      ['GET', `/approve/api/requests/${ids.request}`],
      ['GET', '/web/approve.js'],
    ] as const) {
      if (method === 'POST') {
        for (const v of HOSTILE_STRINGS) {
          const body = JSON.stringify({ code: v, name: v, challenge_id: v, credential: { id: v }, webauthn: { credential_id: v } });
          probes.push({ label: `${method} ${path} body=${JSON.stringify(v)}`, method, path, body });
        }
      }
      for (const v of HOSTILE_QUERY)
        probes.push({
          label: `${method} ${path} query ${v}`,
          method,
          path: `${path}?x=${v}`,
          ...(method === 'POST' ? { body: '{}' } : {}),
        });
    }
    // Headers the API reads.
    for (const v of ['\u00e9t\u00e9', 'a b', ''])
      probes.push({
        label: `Idempotency-Key ${JSON.stringify(v)}`,
        method: 'POST',
        path: '/v1/mpa/requests',
        body: JSON.stringify(mpaBody()),
        headers: { 'idempotency-key': v },
      });
    // Cursors that decode to something else than a page position.
    const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
    for (const cursor of [
      b64(['2020-01-01T00:00:00.000Z', 'not-a-uuid']),
      b64(['0000-01-01T00:00:00.000Z', '00000000-0000-4000-8000-000000000000']),
      b64(['+275760-09-13T00:00:00.000Z', '00000000-0000-4000-8000-000000000000']),
      b64([123, 'x']),
      b64(['2020-01-01T00:00:00.000Z\u0000', '00000000-0000-4000-8000-000000000000']),
      b64({ a: 1 }),
      b64('not json'),
      'x'.repeat(201),
      '%00',
    ]) {
      probes.push({
        label: `GET /v1/mpa/requests cursor ${cursor.slice(0, 40)}`,
        method: 'GET',
        path: `/v1/mpa/requests?cursor=${cursor}`,
      });
    }
  });

  after(async () => {
    await t?.close();
    await store?.dispose();
  });

  test('the sweep covers every route of the OpenAPI document and every string field of the bodies that store data', () => {
    const labels = probes.map((p) => p.label);
    for (const must of [
      'POST /v1/mpa/requests body action/description',
      'POST /v1/mpa/requests body action/type',
      'POST /v1/mpa/requests body action/params/k',
      'POST /v1/mpa/requests body action/params/{}',
      'POST /v1/mpa/requests body groups/*/name',
      'POST /v1/mpa/requests body expires_in_seconds (number)',
      'POST /v1/pairings body name',
      'POST /v1/pairings/complete body payload/name',
      'POST /v1/webhooks body description',
      'PATCH /v1/webhooks/{id} body description',
      'GET /v1/audit query type=%00',
      'GET /v1/audit query since=0000-01-01T00',
      'GET /v1/mpa/requests query cursor=',
    ]) {
      assert.ok(
        labels.some((l) => l.startsWith(must)),
        `no probe for ${must}`,
      );
    }
    assert.ok(probes.length > 500, `only ${probes.length} probes`);
  });

  test('every hostile value gets a 4xx with the JSON error body, and nothing is written', async () => {
    const before = await snapshot();
    const failures: string[] = [];
    for (const probe of probes) {
      const res = await fetch(`${t.server.url}${probe.path}`, {
        method: probe.method,
        headers: {
          authorization: `Bearer ${key}`,
          ...(probe.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...probe.headers,
        },
        ...(probe.body !== undefined ? { body: probe.body } : {}),
      });
      const text = await res.text();
      let body: any = null;
      try {
        body = JSON.parse(text);
      } catch {
        // reported below
      }
      const ok = res.status >= 400 && res.status < 500 && typeof body?.error?.code === 'string' && typeof body?.error?.message === 'string';
      if (!ok) failures.push(`${probe.label}: ${res.status} ${text.slice(0, 200)}`);
    }
    assert.deepEqual(failures, [], `${failures.length} of ${probes.length} probes were not refused cleanly`);
    assert.deepEqual(await snapshot(), before, 'a refused request wrote to the store');
  });

  test('bytes no HTTP client should send in a header get the JSON error body too', async () => {
    for (const header of [`Idempotency-Key: a\u0000b`, `Authorization: Bearer ${key}\u0000`, `X-Anything: \u0001`]) {
      const body = JSON.stringify(mpaBody());
      const res = await rawRequest(
        t.server.url,
        `POST /v1/mpa/requests HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${header}\r\nConnection: close\r\n\r\n${body}`,
      );
      assert.equal(res.status, 400, `${JSON.stringify(header)}: ${res.status} ${res.body}`);
      assert.match(res.contentType, /application\/json/);
      assert.equal(JSON.parse(res.body).error.code, 'invalid_request');
    }
  });

  test('the same requests with benign values succeed: the refusals above are about the hostile value', async () => {
    const api = t.api;
    assert.equal((await api.post('/v1/mpa/requests', mpaBody())).status, 201);
    assert.equal((await api.post('/v1/pairings', { name: 'Carol laptop' })).status, 201);
    const hook = await api.post('/v1/webhooks', { url: 'http://127.0.0.1:9/hook', events: ['device.revoked'], description: 'ops' });
    assert.equal(hook.status, 201, JSON.stringify(hook.body));
    assert.equal(
      (await api.request('PATCH', `/v1/webhooks/${hook.body.id}`, { description: 'changed', url: 'http://127.0.0.1:9/other' })).status,
      200,
    );
    assert.equal((await api.get('/v1/audit?type=mpa.created&since=2020-01-01T00:00:00Z&until=2999-01-01T00:00:00Z&limit=10')).status, 200);
    assert.equal(
      (await api.get('/v1/audit?since=0001-01-01T00:00:00Z&until=9999-12-31T23:59:59.999Z')).status,
      200,
      'the extreme supported dates are accepted',
    );
    assert.equal((await api.post('/v1/mpa/requests', mpaBody(), { 'idempotency-key': 'order-42' })).status, 201);
    const page = await api.get('/v1/mpa/requests?limit=1');
    assert.equal(page.status, 200);
    assert.ok(page.body.next_cursor, 'several requests exist, so there is a next page');
    assert.equal((await api.get(`/v1/mpa/requests?limit=1&cursor=${page.body.next_cursor}`)).status, 200, 'a real cursor still works');
    // A request still pending can be decided with its exact digest: the fields above round-trip unchanged.
    const created = await api.post('/v1/mpa/requests', {
      ...mpaBody(),
      action: { type: 'deploy', description: 'Deploy «β» 🚀', params: { note: 'tab\there' } },
    });
    assert.equal(created.status, 201);
    const decided = await api
      .withKey(null)
      .post(
        `/v1/mpa/requests/${created.body.request_id}/decisions`,
        a.decisionBody(t.serverId, created.body.request_id, actionDigest(created.body.action), 'approve'),
      );
    assert.equal(decided.status, 200, JSON.stringify(decided.body));
  });
});
