import {
  verifyAuditConsistency,
  verifyAuditInclusion,
  verifyTreeHead,
  type AuditLeafEntry,
  type ConsistencyProofBody,
  type InclusionProofBody,
  type SignedTreeHead,
  type TreeHead,
} from '@sigilauth/protocol';
import type { HttpClient } from './http.js';
import type { CallOptions } from './types.js';

export type { AuditLeafEntry, ConsistencyProofBody, InclusionProofBody, SignedTreeHead, TreeHead };

export interface AuditEntry extends AuditLeafEntry {
  id: number;
  leaf_hash: string | null;
}

export interface AuditListOptions extends CallOptions {
  request_id?: string;
  type?: string;
  /** RFC 3339 bounds on created_at. */
  since?: string;
  until?: string;
  limit?: number;
  cursor?: string;
}

/**
 * The organisation's tamper-evident audit log. The fetchers call the API; the verify functions
 * run offline, so a tree head saved today proves later that an entry was logged and that the
 * log was only ever appended to.
 */
export class AuditApi {
  readonly #http: HttpClient;

  constructor(http: HttpClient) {
    this.#http = http;
  }

  list(options: AuditListOptions = {}): Promise<{ data: AuditEntry[]; next_cursor: string | null }> {
    const { signal, ...filters } = options;
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(filters)) if (value !== undefined) query.set(key, String(value));
    const search = query.toString();
    return this.#http.request({ method: 'GET', path: `/v1/audit${search ? `?${search}` : ''}`, idempotent: true, signal });
  }

  /** The latest signed tree head; save it to check proofs against later. */
  treeHead(options: CallOptions = {}): Promise<SignedTreeHead> {
    return this.#http.request({ method: 'GET', path: '/v1/audit/tree-head', idempotent: true, signal: options.signal });
  }

  inclusionProof(index: number, size: number, options: CallOptions = {}): Promise<InclusionProofBody> {
    return this.#http.request({ method: 'GET', path: `/v1/audit/proof/inclusion?index=${index}&size=${size}`, idempotent: true, signal: options.signal });
  }

  consistencyProof(from: number, to: number, options: CallOptions = {}): Promise<ConsistencyProofBody> {
    return this.#http.request({ method: 'GET', path: `/v1/audit/proof/consistency?from=${from}&to=${to}`, idempotent: true, signal: options.signal });
  }

  /** True when the head is signed by the server key (pin it from GET /v1/info). Offline. */
  verifyTreeHead(head: SignedTreeHead, serverPublicKey: string): boolean {
    return verifyTreeHead(head, serverPublicKey);
  }

  /** True when the proof shows the entry (or the proof's leaf hash) in the log the head summarises. Offline. */
  verifyInclusion(proof: InclusionProofBody, head: TreeHead, entry?: AuditLeafEntry): boolean {
    return verifyAuditInclusion(proof, head, entry);
  }

  /** True when the newer head's log extends the older one's without rewriting it. Offline. */
  verifyConsistency(proof: ConsistencyProofBody, older: TreeHead, newer: TreeHead): boolean {
    return verifyAuditConsistency(proof, older, newer);
  }
}
