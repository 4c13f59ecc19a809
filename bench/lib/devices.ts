/** Software approver devices: a P-256 key each, as packages/device and test/support/device-keys.ts make them. */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { DomainTag, encodePublicKey, fingerprintOf, generateP256KeyPair, signPayload } from '@sigilauth/protocol';
import type { DeviceRecord } from './store.js';
import type { DecisionPayload } from '@sigilauth/protocol/wire';

export interface BenchDevice extends DeviceRecord {
  /** PKCS#8 PEM, so a driver process can load it. */
  privateKeyPem: string;
}

export function generateDevices(count: number, prefix: string): BenchDevice[] {
  const devices: BenchDevice[] = [];
  for (let i = 0; i < count; i++) {
    const { privateKey, publicKey } = generateP256KeyPair();
    const encoded = encodePublicKey(publicKey);
    devices.push({
      fingerprint: fingerprintOf(encoded),
      publicKey: encoded,
      name: `${prefix}-${i}`,
      privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    });
  }
  return devices;
}

const keyCache = new Map<string, KeyObject>();
export function privateKeyOf(device: BenchDevice): KeyObject {
  let key = keyCache.get(device.fingerprint);
  if (!key) keyCache.set(device.fingerprint, (key = createPrivateKey(device.privateKeyPem)));
  return key;
}

export function decisionBody(
  device: BenchDevice,
  serverId: string,
  requestId: string,
  actionDigest: string,
  decision: 'approve' | 'deny' = 'approve',
): { payload: DecisionPayload; signature: string } {
  const payload: DecisionPayload = {
    purpose: 'mpa-decision',
    server_id: serverId,
    request_id: requestId,
    fingerprint: device.fingerprint,
    decision,
    action_digest: actionDigest,
    issued_at: Date.now(),
  };
  return { payload, signature: signPayload(DomainTag.mpaDecision, payload, privateKeyOf(device)) };
}

export function approver(d: DeviceRecord) {
  return { fingerprint: d.fingerprint, device_public_key: d.publicKey };
}

/** An MPA request body with `groups` groups drawn from `pool` (disjoint members per group). */
export function requestBody(
  pool: readonly DeviceRecord[],
  {
    groups,
    perGroup,
    required,
    random,
    label,
  }: { groups: number; perGroup: number; required: number; random: () => number; label: string },
) {
  const picked = new Set<number>();
  const pick = () => {
    for (;;) {
      const i = Math.floor(random() * pool.length);
      if (!picked.has(i)) {
        picked.add(i);
        return pool[i]!;
      }
    }
  };
  return {
    required,
    groups: Array.from({ length: groups }, (_, g) => ({
      name: `Group ${g + 1}`,
      approvers: Array.from({ length: perGroup }, () => approver(pick())),
    })),
    action: {
      type: 'cold_boot',
      description: `Cold boot engine ${label}`,
      params: { engine_id: label, reason: 'Scheduled maintenance', requested_by: 'bench@example.com', ticket: 'MAINT-1234' },
    },
    expires_in_seconds: 900,
  };
}
