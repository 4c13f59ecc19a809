import { encodePublicKey, fingerprintOf, generateP256KeyPair } from '@sigilauth/protocol';
import type { Approver, MpaRequestInput } from '../src/index.js';
import { coldBootRequest } from '../../../test/support/cold-boot.js';

export function newApprover(): Approver {
  const device_public_key = encodePublicKey(generateP256KeyPair().publicKey);
  return { fingerprint: fingerprintOf(device_public_key), device_public_key };
}

/** The guide's cold-boot request with real device keys. */
export function guideRequest(): MpaRequestInput {
  const [alice, bob, carol, dave, eve] = [newApprover(), newApprover(), newApprover(), newApprover(), newApprover()];
  return coldBootRequest({ engineering: [alice, bob], security: [carol], operations: [dave, eve] });
}
