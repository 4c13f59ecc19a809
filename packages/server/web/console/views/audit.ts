/** The audit log: its latest entries and, checked in this browser, the signed tree head over them. */
import { sanitizeText } from '@sigilauth/protocol/screen';
import { auditLeafHashing, verifyTreeHeadWith, type AuditLeafEntry } from '@sigilauth/protocol/audit';
import type { SignedTreeHead } from '@sigilauth/protocol/wire';
import { toHex } from '@sigilauth/protocol/bytes';
import { webCrypto } from '@sigilauth/protocol/crypto/web';
import { runHashingAsync, treeRoot, type Hashing } from '@sigilauth/protocol/merkle';
import type { ApiResult } from '../../lib/api.js';
import { focusMain, h, replace, type Child } from '../../lib/dom.js';
import { api } from '../api.js';
import { session, type AuditEntry } from '../state.js';
import { viewMain } from '../timers.js';
import { badge, fmtTime, short, table } from '../widgets.js';

/** SHA-256 in this browser, for the Merkle computations of @sigilauth/protocol/merkle. */
const run = <T>(steps: Hashing<T>): Promise<T> => runHashingAsync(steps, webCrypto.sha256);

export async function showAudit(): Promise<void> {
  const main = viewMain();
  replace(main(), h('h1', {}, 'Audit log'), h('p', { class: 'loading' }, 'Loading…'));
  focusMain();
  const headRes = await api<SignedTreeHead>('GET', '/v1/audit/tree-head');
  const entries: AuditEntry[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 10; page++) {
    const res: ApiResult<{ data: AuditEntry[]; next_cursor: string | null }> = await api(
      'GET',
      `/v1/audit?limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
    );
    if (res.status !== 200) break;
    entries.push(...res.body.data);
    cursor = res.body.next_cursor;
    if (!cursor) break;
  }
  const checks: Child[] = [];
  if (headRes.status === 200 && session.info) {
    const head = headRes.body;
    const signatureOk = await verifyTreeHeadWith(webCrypto, head, session.info.server_public_key);
    const size = head.payload.tree_size;
    const inTree = entries.filter((e) => e.leaf_index !== null && e.leaf_index < size).sort((a, b) => a.leaf_index! - b.leaf_index!);
    const hashes = await Promise.all(inTree.map((e) => run(auditLeafHashing(e as AuditLeafEntry))));
    const badLeaf = inTree.find((e, i) => e.leaf_hash !== null && e.leaf_hash !== toHex(hashes[i]!));
    const complete = inTree.length === size && inTree.every((e, i) => e.leaf_index === i);
    const rootOk = complete ? toHex(await run(treeRoot(hashes))) === head.payload.root_hash : null;
    checks.push(
      h(
        'dl',
        { class: 'kv card', id: 'audit-verification' },
        h('dt', {}, 'Signed tree head'),
        h(
          'dd',
          {},
          `${size} entries, root ${head.payload.root_hash.slice(0, 16)}…, signed ${fmtTime(new Date(head.payload.timestamp).toISOString())}`,
        ),
        h('dt', {}, 'Signature'),
        h('dd', {}, signatureOk ? badge('valid: signed by this server', 'ok') : badge('INVALID', 'bad')),
        h('dt', {}, 'Entries'),
        h(
          'dd',
          {},
          badLeaf
            ? badge(`entry ${badLeaf.leaf_index} does not match its leaf hash`, 'bad')
            : badge(`${inTree.length} leaf hashes recomputed`, 'ok'),
        ),
        h('dt', {}, 'Root'),
        h(
          'dd',
          {},
          rootOk === null
            ? badge('not checked here (log too long): run `sigil audit verify`', 'neutral')
            : rootOk
              ? badge('recomputed from the entries: matches', 'ok')
              : badge('does NOT match the entries', 'bad'),
        ),
      ),
    );
  }
  const newest = [...entries].reverse().slice(0, 200);
  replace(
    main(),
    h('h1', {}, 'Audit log'),
    checks,
    h('h2', {}, 'Latest entries'),
    table(
      'Audit entries, newest first',
      ['#', 'Time', 'Type', 'Request', 'Details'],
      newest.map((e) => [
        e.leaf_index === null ? 'pending' : String(e.leaf_index),
        fmtTime(e.created_at),
        e.type,
        e.request_id ? h('a', { href: `#/requests/${e.request_id}`, class: 'mono' }, short(e.request_id)) : '—',
        h('span', { class: 'mono' }, summarize(e)),
      ]),
    ),
  );
}

function summarize(e: AuditEntry): string {
  const d = e.data;
  const pick = (...keys: string[]) =>
    keys
      .filter((k) => d[k] !== undefined && d[k] !== null && typeof d[k] !== 'object')
      .map((k) => `${k}=${sanitizeText(String(d[k]))}`)
      .join(' ');
  return pick('group', 'decision', 'status', 'name', 'url', 'event_type', 'name_hint').slice(0, 160);
}
