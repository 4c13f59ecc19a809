// `sigil audit verify` and `sigil audit export` as real CLI runs against a store that is then
// tampered with directly in SQL: a changed, removed or reordered row is found and named.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { auditLeafHash } from '@sigilauth/protocol';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { runCli, SIGIL_CLI, startSigil, type RunResult } from '../../../../test/support/processes.js';
import { sqlOnStore } from '../../../../test/support/sql.js';
import { createStore, describeEachStore, type TestStore } from '../../../../test/support/stores.js';
import { Api, createAndApprove, pairDevice } from '../webhooks/harness.js';

interface Row {
  id: number;
  leaf_index: number;
  type: string;
}

describeEachStore('sigil audit verify', (kind) => {
  let store: TestStore;
  let rows: Row[];

  const sql = (statements: string[], params: unknown[][] = []) => sqlOnStore(store, statements, params);
  const env = (): Record<string, string> => (store.databaseUrl ? { DATABASE_URL: store.databaseUrl } : {});
  const verify = (): Promise<RunResult> => runCli(SIGIL_CLI, ['audit', 'verify', '--data-dir', store.dataDir], { env: env() });
  // Each store opening costs seconds on the embedded store, so the log is put back from the backup
  // in the same opening as the next change (and before a read of the untouched log).
  const RESTORE = [
    'DELETE FROM audit_entries',
    'INSERT INTO audit_entries SELECT * FROM audit_backup',
    'DELETE FROM audit_tree_heads',
    'INSERT INTO audit_tree_heads SELECT * FROM heads_backup',
  ];
  const restored = async (statements: string[], params: unknown[][] = []) =>
    (await sql([...RESTORE, ...statements], [...RESTORE.map(() => []), ...params])).slice(RESTORE.length);
  const tampered = async (statements: string[], expect: RegExp[], params: unknown[][] = []) => {
    await restored(statements, params);
    const res = await verify();
    assert.equal(res.code, 1, `${statements.join('; ')}\n${res.stdout}${res.stderr}`);
    assert.match(res.stdout, /FAILED/);
    for (const e of expect) assert.match(res.stdout, e, res.stdout);
    return res;
  };

  before(async () => {
    store = await createStore(kind);
    const p = await startSigil(store, {});
    try {
      const api = new Api(p.url, p.apiKey!);
      const serverId = (await api.get('/v1/info')).body.server_id;
      const device = new TestDevice('Grace');
      await pairDevice(api, serverId, device);
      await createAndApprove(api, serverId, device, 'first');
      assert.equal((await api.get('/v1/audit/tree-head')).status, 200); // a signed head now
      await createAndApprove(api, serverId, device, 'second');
      await createAndApprove(api, serverId, device, 'third');
      const head = (await api.get('/v1/audit/tree-head')).body;
      assert.ok(head.payload.tree_size >= 11);
    } finally {
      await p.stop();
    }
    const [entries] = await sql([
      'SELECT id::int AS id, leaf_index::int AS leaf_index, type FROM audit_entries ORDER BY leaf_index',
      'CREATE TABLE audit_backup AS SELECT * FROM audit_entries',
      'CREATE TABLE heads_backup AS SELECT * FROM audit_tree_heads',
    ]);
    rows = entries as Row[];
  });
  after(async () => {
    await store?.dispose();
  });

  test('an untouched log verifies', async () => {
    const res = await verify();
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.match(res.stdout, /OK: \d+ entries, \d+ signed tree heads, root [0-9a-f]{64}/);
  });

  test('a changed entry is named', async () => {
    const victim = rows[5]!;
    await tampered(
      [`UPDATE audit_entries SET data = jsonb_set(data, '{tampered}', 'true') WHERE id = ${victim.id}`],
      [
        new RegExp(
          `first problem: entry ${victim.id} at leaf index ${victim.leaf_index} \\(${victim.type.replace('.', '\\.')}\\) was changed`,
        ),
      ],
    );
    await tampered(
      [`UPDATE audit_entries SET created_at = created_at + interval '1 second' WHERE id = ${victim.id}`],
      [new RegExp(`entry ${victim.id} at leaf index ${victim.leaf_index}`)],
    );
  });

  test('a change that also rewrites the stored leaf hash is caught by the signed tree heads', async () => {
    const victim = rows[2]!;
    const [[entry] = []] = (await restored([
      `SELECT leaf_index::int AS leaf_index, tenant_id, type, request_id, data, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at
         FROM audit_entries WHERE id = ${victim.id}`,
    ])) as any[][];
    const forged = { ...entry, data: { ...entry.data, name: 'Mallory' } };
    const res = await tampered(
      [`UPDATE audit_entries SET data = $1, leaf_hash = decode($2, 'hex') WHERE id = ${victim.id}`],
      [/does not match the tree head of size \d+ signed at .*: an entry at leaf index \d+\.\.\d+ was changed, removed or reordered/],
      [[JSON.stringify(forged.data), auditLeafHash(forged)]],
    );
    const ranges = [...res.stdout.matchAll(/leaf index (\d+)\.\.(\d+) was changed/g)].map((m) => [Number(m[1]), Number(m[2])]);
    assert.ok(
      ranges.some(([lo, hi]) => lo! <= victim.leaf_index && victim.leaf_index <= hi!),
      `no reported range covers leaf ${victim.leaf_index}`,
    );
  });

  test('a removed entry is named by its leaf index', async () => {
    const victim = rows[4]!;
    await tampered(
      [`DELETE FROM audit_entries WHERE id = ${victim.id}`],
      [new RegExp(`first problem: the entry at leaf index ${victim.leaf_index} is missing \\(removed\\)`)],
    );
    const last = rows[rows.length - 1]!;
    await tampered(
      [`DELETE FROM audit_entries WHERE id = ${last.id}`],
      [
        new RegExp(
          `covers leaf indexes up to ${last.leaf_index}, but the log ends at leaf index ${last.leaf_index - 1}: entries were removed`,
        ),
      ],
    );
  });

  test('reordered entries are named', async () => {
    const [a, b] = [rows[3]!, rows[7]!];
    // Swap the two rows' places in the log.
    await tampered(
      [
        `UPDATE audit_entries SET leaf_index = -1 WHERE id = ${a.id}`,
        `UPDATE audit_entries SET leaf_index = ${a.leaf_index} WHERE id = ${b.id}`,
        `UPDATE audit_entries SET leaf_index = ${b.leaf_index} WHERE id = ${a.id}`,
      ],
      [
        new RegExp(`first problem: entry ${b.id} at leaf index ${a.leaf_index} .* was changed or moved`),
        new RegExp(`entry ${a.id} at leaf index ${b.leaf_index}`),
      ],
    );
    // Swap the two rows' contents, each keeping its place and stored hash.
    await tampered(
      [
        `CREATE TEMP TABLE swap AS SELECT id, type, request_id, data, created_at FROM audit_entries WHERE id IN (${a.id}, ${b.id})`,
        `UPDATE audit_entries e SET type = s.type, request_id = s.request_id, data = s.data, created_at = s.created_at
           FROM swap s WHERE s.id = CASE e.id WHEN ${a.id} THEN ${b.id} ELSE ${a.id} END AND e.id IN (${a.id}, ${b.id})`,
      ],
      [new RegExp(`first problem: entry ${a.id} at leaf index ${a.leaf_index}`)],
    );
  });

  test('a forged tree head is refused', async () => {
    await tampered(
      [
        `UPDATE audit_tree_heads SET root_hash = decode(repeat('ab', 32), 'hex') WHERE tree_size = (SELECT max(tree_size) FROM audit_tree_heads)`,
      ],
      [/has an invalid signature/],
    );
  });

  test('sigil audit export --format jsonl streams every entry with its leaf index and hash', async () => {
    await restored([]);
    const res = await runCli(SIGIL_CLI, ['audit', 'export', '--format', 'jsonl', '--data-dir', store.dataDir], { env: env() });
    assert.equal(res.code, 0, res.stderr);
    const lines = res.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, rows.length);
    lines.forEach((e, i) => {
      assert.equal(e.leaf_index, i);
      assert.equal(e.leaf_hash, auditLeafHash(e));
    });
    assert.equal((await verify()).code, 0, 'export changed nothing');
    const bad = await runCli(SIGIL_CLI, ['audit', 'export', '--format', 'csv', '--data-dir', store.dataDir], { env: env() });
    assert.notEqual(bad.code, 0);
  });
});
