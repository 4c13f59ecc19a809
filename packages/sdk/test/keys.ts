import { encodePublicKey, fingerprintOf, generateP256KeyPair } from '@sigilauth/protocol';
import type { Approver, MpaRequestInput } from '../src/index.js';

export function newApprover(): Approver {
  const device_public_key = encodePublicKey(generateP256KeyPair().publicKey);
  return { fingerprint: fingerprintOf(device_public_key), device_public_key };
}

/** The guide's cold-boot request with real device keys. */
export function guideRequest(): MpaRequestInput {
  const [alice, bob, carol, dave, eve] = [newApprover(), newApprover(), newApprover(), newApprover(), newApprover()];
  return {
    required: 2,
    groups: [
      { name: 'Engineering Leads', approvers: [alice, bob] },
      { name: 'Security Team', approvers: [carol] },
      { name: 'Operations', approvers: [dave, eve] },
    ],
    action: {
      type: 'cold_boot',
      description: 'Cold boot engine ENG-001',
      params: { engine_id: 'ENG-001', reason: 'Scheduled maintenance', requested_by: 'alice@example.com', ticket: 'MAINT-1234' },
    },
    expires_in_seconds: 600,
  };
}
