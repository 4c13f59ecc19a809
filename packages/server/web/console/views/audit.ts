/** The audit log: its latest entries and, checked in this browser, the signed tree head over them. */
import { sanitizeText } from '../../../../protocol/src/approval-screen.js';
import { canonicalize } from '../../../../protocol/src/jcs.js';
import type { ApiResult } from '../../lib/api.js';
import { focusMain, h, replace, type Child } from '../../lib/dom.js';
import { base64Decode, concat, fromHex, hex, sha256, utf8 } from '../../lib/encoding.js';
import { api } from '../api.js';
import { main, session, type AuditEntry } from '../state.js';
import { badge, fmtTime, short, table } from '../widgets.js';

const P256 = {
  p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
  b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
};

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  base %= mod;
  while (exp > 0n) {
    if (exp & 1n) result = (result * base) % mod;
    base = (base * base) % mod;
    exp >>= 1n;
  }
  return result;
}

/** The server key (33-byte compressed P-256 point) as WebCrypto's 65-byte uncompressed form. */
function decompressP256(compressed: Uint8Array): Uint8Array<ArrayBuffer> {
  const x = BigInt(`0x${hex(compressed.subarray(1))}`);
  const { p, b } = P256;
  const rhs = (((x * x * x - 3n * x + b) % p) + p) % p;
  let y = modPow(rhs, (p + 1n) / 4n, p);
  if ((y & 1n) !== BigInt(compressed[0]! & 1)) y = p - y;
  return concat(new Uint8Array([4]), compressed.subarray(1), fromHex(y.toString(16).padStart(64, '0')));
}

async function leafHash(e: AuditEntry): Promise<Uint8Array<ArrayBuffer>> {
  const { leaf_index, tenant_id, type, request_id, data, created_at } = e;
  return sha256(concat(new Uint8Array([0]), utf8(canonicalize({ leaf_index, tenant_id, type, request_id, data, created_at }))));
}

/** RFC 6962 Merkle tree hash of leaf hashes. */
async function merkleRoot(leaves: Array<Uint8Array<ArrayBuffer>>): Promise<Uint8Array<ArrayBuffer>> {
  if (leaves.length === 0) return sha256(new Uint8Array(0));
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  const [left, right] = await Promise.all([merkleRoot(leaves.slice(0, k)), merkleRoot(leaves.slice(k))]);
  return sha256(concat(new Uint8Array([1]), left, right));
}

export async function showAudit(): Promise<void> {
  replace(main(), h('h1', {}, 'Audit log'), h('p', { class: 'loading' }, 'Loading…'));
  focusMain();
  const headRes = await api<{ payload: { tree_size: number; root_hash: string; timestamp: number; server_id: string }; signature: string }>('GET', '/v1/audit/tree-head');
  const entries: AuditEntry[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 10; page++) {
    const res: ApiResult<{ data: AuditEntry[]; next_cursor: string | null }> = await api('GET', `/v1/audit?limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
    if (res.status !== 200) break;
    entries.push(...res.body.data);
    cursor = res.body.next_cursor;
    if (!cursor) break;
  }
  const checks: Child[] = [];
  if (headRes.status === 200 && session.info) {
    const head = headRes.body;
    let signatureOk = false;
    try {
      const key = await crypto.subtle.importKey('raw', decompressP256(base64Decode(session.info.server_public_key)), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
      signatureOk = await crypto.subtle.verify(
        { name: 'ECDSA', hash: 'SHA-256' },
        key,
        base64Decode(head.signature),
        concat(utf8('SIGIL-TREE-HEAD-V1'), new Uint8Array([0]), utf8(canonicalize(head.payload))),
      );
    } catch {
      signatureOk = false;
    }
    const size = head.payload.tree_size;
    const inTree = entries.filter((e) => e.leaf_index !== null && e.leaf_index < size).sort((a, b) => a.leaf_index! - b.leaf_index!);
    const hashes = await Promise.all(inTree.map(leafHash));
    const badLeaf = inTree.find((e, i) => e.leaf_hash !== null && e.leaf_hash !== hex(hashes[i]!));
    const complete = inTree.length === size && inTree.every((e, i) => e.leaf_index === i);
    const rootOk = complete ? hex(await merkleRoot(hashes)) === head.payload.root_hash : null;
    checks.push(
      h(
        'dl',
        { class: 'kv card', id: 'audit-verification' },
        h('dt', {}, 'Signed tree head'),
        h('dd', {}, `${size} entries, root ${head.payload.root_hash.slice(0, 16)}…, signed ${fmtTime(new Date(head.payload.timestamp).toISOString())}`),
        h('dt', {}, 'Signature'),
        h('dd', {}, signatureOk ? badge('valid: signed by this server', 'ok') : badge('INVALID', 'bad')),
        h('dt', {}, 'Entries'),
        h('dd', {}, badLeaf ? badge(`entry ${badLeaf.leaf_index} does not match its leaf hash`, 'bad') : badge(`${inTree.length} leaf hashes recomputed`, 'ok')),
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

