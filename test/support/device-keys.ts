import type { KeyObject } from 'node:crypto';
import type { Queryable } from '../../packages/server/src/storage/database.js';
import { DomainTag, encodePublicKey, fingerprintOf, generateP256KeyPair, signPayload } from '@sigilauth/protocol';
import type { DecisionPayload, DeviceRequestView, PairingProof } from '@sigilauth/protocol/wire';

/** A software approver device for tests: a P-256 key and the requests it signs. */
export class TestDevice {
  readonly privateKey: KeyObject;
  readonly publicKey: string;
  readonly fingerprint: string;

  constructor(readonly name: string) {
    const { privateKey, publicKey } = generateP256KeyPair();
    this.privateKey = privateKey;
    this.publicKey = encodePublicKey(publicKey);
    this.fingerprint = fingerprintOf(this.publicKey);
  }

  get approver() {
    return { fingerprint: this.fingerprint, device_public_key: this.publicKey };
  }

  pairingBody(serverId: string, code: string, issuedAt = Date.now()) {
    const payload: PairingProof = {
      purpose: 'pairing',
      server_id: serverId,
      code,
      device_public_key: this.publicKey,
      fingerprint: this.fingerprint,
      name: this.name,
      issued_at: issuedAt,
    };
    return { payload, signature: signPayload(DomainTag.pairing, payload, this.privateKey) };
  }

  decisionBody(
    serverId: string,
    requestId: string,
    actionDigest: string,
    decision: 'approve' | 'deny',
    overrides: Partial<DecisionPayload> = {},
  ) {
    const payload: DecisionPayload = {
      purpose: 'mpa-decision',
      server_id: serverId,
      request_id: requestId,
      fingerprint: this.fingerprint,
      decision,
      action_digest: actionDigest,
      issued_at: Date.now(),
      ...overrides,
    };
    return { payload, signature: signPayload(DomainTag.mpaDecision, payload, this.privateKey) };
  }
}

export type { DeviceRequestView };

/** Records the devices as paired with the organisation, straight in the store, for tests below the HTTP API. */
export async function insertPairedDevices(db: Queryable, tenantId: string, devices: readonly TestDevice[]): Promise<void> {
  for (const d of devices)
    await db.query('INSERT INTO devices (tenant_id, fingerprint, public_key, name) VALUES ($1, $2, $3, $4)', [
      tenantId,
      d.fingerprint,
      d.publicKey,
      d.name,
    ]);
}
