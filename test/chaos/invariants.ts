/** What the chaos run saw from outside, and what storage holds at its end; checked against the rules. */

export const TERMINAL = new Set(['approved', 'rejected', 'timeout', 'cancelled']);

export interface DecisionFact {
  requestId: string;
  fingerprint: string;
  decision: 'approve' | 'deny';
  /** When its first attempt was sent. */
  sentAt: number;
  /**
   * accepted: 200; refused: 409 request_completed; recorded_earlier: already_decided after a lost
   * answer; unknown: lost, then refused; revoked: 403 device_revoked; no_answer: none before the deadline.
   */
  outcome: 'accepted' | 'refused' | 'recorded_earlier' | 'unknown' | 'revoked' | 'no_answer' | 'other';
  refusedStatus?: string;
  detail?: string;
}

export interface CancelFact {
  requestId: string;
  outcome: 'accepted' | 'refused' | 'unknown' | 'no_answer' | 'other';
  refusedStatus?: string;
  detail?: string;
}

export interface RevocationFact {
  fingerprint: string;
  /** accepted: 200 (a revocation resent after a lost answer is answered 200 again). */
  outcome: 'accepted' | 'no_answer' | 'other';
  /** When its 200 arrived. */
  answeredAt: number | null;
  detail?: string;
}

export interface Observation {
  requestId: string;
  status: string;
  sentAt: number;
  receivedAt: number;
}

export interface CreationFact {
  key: string;
  description: string;
  /** The request ID of every 201 answer to this key. */
  ids: string[];
}

export interface StoredRequest {
  id: string;
  status: string;
  required: number;
  groupNames: string[];
  groupsSatisfied: string[];
  expiresAt: number;
  completedAt: number | null;
  description: string;
  idempotencyKey: string | null;
}

export interface StoredDecision {
  requestId: string;
  fingerprint: string;
  groupIndex: number;
  decision: 'approve' | 'deny';
  decidedAt: number;
  issuedAt: number;
}

export interface WebhookFact {
  webhookId: string;
  type: string;
  requestId: string;
}

export interface Facts {
  creations: CreationFact[];
  decisions: DecisionFact[];
  cancels: CancelFact[];
  revocations: RevocationFact[];
  observations: Observation[];
  stored: StoredRequest[];
  storedDecisions: StoredDecision[];
  /** Each instance's answer to GET of every request at the end. */
  finalViews: Array<Map<string, string>>;
  /** Webhook deliveries the receiver accepted (2xx). */
  webhooks: WebhookFact[];
}

/** Every rule the issue lists; returns one line per violation. */
export function checkInvariants(f: Facts): string[] {
  const v: string[] = [];
  const byId = new Map(f.stored.map((r) => [r.id, r]));
  const decisionsOf = new Map<string, StoredDecision[]>();
  for (const d of f.storedDecisions) decisionsOf.set(d.requestId, [...(decisionsOf.get(d.requestId) ?? []), d]);

  for (const r of f.stored) {
    // One terminal state, agreed by every instance.
    if (!TERMINAL.has(r.status)) v.push(`${r.id}: still ${r.status} at the end`);
    f.finalViews.forEach((views, i) => {
      if (views.get(r.id) !== r.status) v.push(`${r.id}: instance ${i} says ${views.get(r.id)}, storage ${r.status}`);
    });
    const ds = decisionsOf.get(r.id) ?? [];
    const denied = ds.some((d) => d.decision === 'deny');
    const approvedGroups = new Set(ds.filter((d) => d.decision === 'approve').map((d) => r.groupNames[d.groupIndex]));
    if (denied && r.status !== 'rejected') v.push(`${r.id}: a denial was accepted but the request is ${r.status}`);
    if (r.status === 'approved') {
      if (approvedGroups.size < r.required)
        v.push(`${r.id}: approved with approvals in ${approvedGroups.size} of ${r.required} required groups`);
      if (denied) v.push(`${r.id}: approved although a denial was accepted`);
    }
    for (const g of r.groupsSatisfied)
      if (!approvedGroups.has(g)) v.push(`${r.id}: groups_satisfied names ${g} without an accepted approval there`);
    for (const d of ds) {
      if (r.completedAt !== null && d.decidedAt > r.completedAt)
        v.push(`${r.id}: a decision was accepted at ${d.decidedAt}, after the request ended at ${r.completedAt}`);
      if (d.decidedAt >= r.expiresAt || d.issuedAt >= r.expiresAt) v.push(`${r.id}: a decision was accepted at or after the expiry`);
    }
  }

  // Never reverted: nothing sent after a terminal answer arrived sees anything else.
  const firstTerminal = new Map<string, Observation>();
  for (const o of [...f.observations].sort((a, b) => a.receivedAt - b.receivedAt)) {
    if (TERMINAL.has(o.status) && !firstTerminal.has(o.requestId)) firstTerminal.set(o.requestId, o);
  }
  for (const o of f.observations) {
    const first = firstTerminal.get(o.requestId);
    if (first && o.sentAt > first.receivedAt && o.status !== first.status) v.push(`${o.requestId}: seen ${first.status}, then ${o.status}`);
    const final = byId.get(o.requestId)?.status;
    if (TERMINAL.has(o.status) && final !== undefined && o.status !== final) v.push(`${o.requestId}: seen ${o.status}, ended ${final}`);
  }

  // What clients were told matches what was stored.
  const storedPair = new Set(f.storedDecisions.map((d) => `${d.requestId} ${d.fingerprint}`));
  for (const d of f.decisions) {
    const key = `${d.requestId} ${d.fingerprint}`;
    const final = byId.get(d.requestId)?.status;
    if ((d.outcome === 'accepted' || d.outcome === 'recorded_earlier') && !storedPair.has(key))
      v.push(`${d.requestId}: an accepted ${d.decision} is not stored`);
    if (d.outcome === 'refused' && storedPair.has(key)) v.push(`${d.requestId}: a refused ${d.decision} is stored`);
    if (d.outcome === 'refused' && d.refusedStatus !== final)
      v.push(`${d.requestId}: a late ${d.decision} was told ${d.refusedStatus}, the request is ${final}`);
    if (d.outcome === 'no_answer' || d.outcome === 'other') v.push(`${d.requestId}: a ${d.decision} got ${d.outcome}: ${d.detail ?? ''}`);
  }
  // A revoked device decides nothing sent after its revocation was answered, and a decision
  // refused as revoked is not recorded.
  const revokedAt = new Map<string, number>();
  for (const r of f.revocations) {
    if (r.outcome === 'accepted') revokedAt.set(r.fingerprint, r.answeredAt!);
    else v.push(`the revocation of ${r.fingerprint} got ${r.outcome}: ${r.detail ?? ''}`);
  }
  for (const d of f.decisions) {
    const stored = storedPair.has(`${d.requestId} ${d.fingerprint}`);
    const revoked = revokedAt.get(d.fingerprint);
    if (d.outcome === 'revoked' && revoked === undefined)
      v.push(`${d.requestId}: a ${d.decision} was refused as revoked, its device never was`);
    if (d.outcome === 'revoked' && stored) v.push(`${d.requestId}: a ${d.decision} refused as revoked is stored`);
    if (revoked !== undefined && d.sentAt > revoked && (d.outcome !== 'revoked' || stored))
      v.push(
        `${d.requestId}: a ${d.decision} sent after its device's revocation was answered got ${d.outcome}${stored ? ' and is stored' : ''}`,
      );
  }
  for (const c of f.cancels) {
    const final = byId.get(c.requestId)?.status;
    if (c.outcome === 'accepted' && final !== 'cancelled') v.push(`${c.requestId}: a cancel was accepted, the request is ${final}`);
    if (c.outcome === 'refused' && c.refusedStatus !== final)
      v.push(`${c.requestId}: a late cancel was told ${c.refusedStatus}, the request is ${final}`);
    if (c.outcome === 'no_answer' || c.outcome === 'other') v.push(`${c.requestId}: a cancel got ${c.outcome}: ${c.detail ?? ''}`);
  }

  // One request per Idempotency-Key.
  const perKey = new Map<string, number>();
  const perDescription = new Map<string, number>();
  for (const r of f.stored) {
    if (r.idempotencyKey) perKey.set(r.idempotencyKey, (perKey.get(r.idempotencyKey) ?? 0) + 1);
    perDescription.set(r.description, (perDescription.get(r.description) ?? 0) + 1);
  }
  for (const c of f.creations) {
    if (new Set(c.ids).size > 1) v.push(`Idempotency-Key ${c.key} answered with ${new Set(c.ids).size} different requests`);
    if (c.ids.length > 0 && (perKey.get(c.key) ?? 0) !== 1) v.push(`Idempotency-Key ${c.key} holds ${perKey.get(c.key) ?? 0} requests`);
    if ((perDescription.get(c.description) ?? 0) > 1) v.push(`"${c.description}" was created ${perDescription.get(c.description)} times`);
    if (c.ids.length > 0 && !byId.has(c.ids[0]!)) v.push(`Idempotency-Key ${c.key}: the answered request ${c.ids[0]} is not stored`);
  }

  // Exactly one mpa.created and one terminal event per request, of its final status; none lost.
  const idsPer = new Map<string, Set<string>>();
  for (const w of f.webhooks) {
    const change = `${w.requestId} ${TERMINAL.has(w.type.replace(/^mpa\./, '')) ? 'terminal' : w.type}`;
    if (!idsPer.has(change)) idsPer.set(change, new Set());
    idsPer.get(change)!.add(w.webhookId);
    const final = byId.get(w.requestId)?.status;
    if (w.type !== 'mpa.created' && final !== undefined && w.type !== `mpa.${final}`)
      v.push(`${w.requestId}: webhook ${w.type}, the request is ${final}`);
  }
  for (const r of f.stored) {
    for (const change of [`${r.id} mpa.created`, `${r.id} terminal`]) {
      const n = idsPer.get(change)?.size ?? 0;
      if (n !== 1) v.push(`${change.replace(' terminal', ' terminal event')}: ${n === 0 ? 'lost' : `${n} distinct events`}`);
    }
  }
  return v;
}
