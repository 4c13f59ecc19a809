import {
  verifyAuditConsistency,
  verifyAuditInclusion,
  verifyTreeHead,
  type AuditLeafEntry,
  type ConsistencyProofBody,
  type InclusionProofBody,
} from '@sigilauth/protocol';
import type { AuditEntry, AuditList, SignedTreeHead, TreeHead } from '@sigilauth/protocol/wire';
import { AuditVerificationError, SigilApiError } from './errors.js';
import type { HttpClient } from './http.js';
import type { CallOptions } from './types.js';

export type { AuditEntry, AuditLeafEntry, ConsistencyProofBody, InclusionProofBody, SignedTreeHead, TreeHead };

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

  list(options: AuditListOptions = {}): Promise<AuditList> {
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
    return this.#http.request({
      method: 'GET',
      path: `/v1/audit/proof/inclusion?index=${index}&size=${size}`,
      idempotent: true,
      signal: options.signal,
    });
  }

  consistencyProof(from: number, to: number, options: CallOptions = {}): Promise<ConsistencyProofBody> {
    return this.#http.request({
      method: 'GET',
      path: `/v1/audit/proof/consistency?from=${from}&to=${to}`,
      idempotent: true,
      signal: options.signal,
    });
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

  /**
   * Proves that the log today is a consistent extension of a tree head saved earlier: fetches the
   * current signed head and the RFC 6962 consistency proof from the saved size to it, and checks
   * both signatures and the proof offline. Returns the current head, to save as the next anchor.
   * Throws AuditVerificationError when a head is not signed by `serverPublicKey` (pin it from
   * GET /v1/info), belongs to another log, or the log was cut short or rewritten.
   */
  async verifySince(saved: SignedTreeHead, serverPublicKey: string, options: CallOptions = {}): Promise<SignedTreeHead> {
    if (!verifyTreeHead(saved, serverPublicKey))
      throw new AuditVerificationError('forged_tree_head', 'the saved tree head is not signed by this server key');
    const current = await this.treeHead(options);
    if (!verifyTreeHead(current, serverPublicKey))
      throw new AuditVerificationError('forged_tree_head', 'the current tree head is not signed by this server key');
    const from = saved.payload;
    const to = current.payload;
    if (to.tenant_id !== from.tenant_id || to.server_id !== from.server_id) {
      throw new AuditVerificationError(
        'other_log',
        `the saved tree head is of another log (organisation ${from.tenant_id}, server ${from.server_id})`,
      );
    }
    const truncated = () =>
      new AuditVerificationError(
        'log_truncated',
        `the log has ${to.tree_size} entries but the saved tree head covers ${from.tree_size}: entries were removed from its end`,
      );
    if (to.tree_size < from.tree_size) throw truncated();
    if (from.tree_size === 0) return current; // every log extends the empty one
    let proof: ConsistencyProofBody;
    try {
      proof = await this.consistencyProof(from.tree_size, to.tree_size, options);
    } catch (err) {
      // The server cannot prove the saved size against a log shorter than it.
      if (err instanceof SigilApiError && err.status === 400) throw truncated();
      throw err;
    }
    if (!verifyAuditConsistency(proof, from, to)) {
      throw new AuditVerificationError(
        'log_inconsistent',
        `the log of ${to.tree_size} entries is not a consistent extension of the saved tree head of ${from.tree_size}: entries it covered were changed or removed`,
      );
    }
    return current;
  }
}
