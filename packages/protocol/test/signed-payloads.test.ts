// The signed payloads' schemas are the server's first line against attacker input: their bounds hold.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Value } from 'typebox/value';
import {
  DecisionBodySchema,
  DecisionPayloadSchema,
  PairingProofSchema,
  SignedPairingProofSchema,
  WebAuthnAssertionSchema,
  WebAuthnDecisionBodySchema,
  type DecisionPayload,
  type PairingProof,
  type WebAuthnAssertion,
} from '../src/wire/index.js';

const proof: PairingProof = {
  purpose: 'pairing',
  server_id: 'a'.repeat(64),
  code: '12345678',
  device_public_key: `A${'b'.repeat(43)}`,
  fingerprint: 'c'.repeat(64),
  name: 'laptop',
  issued_at: 1_700_000_000_000,
};
const decision: DecisionPayload = {
  purpose: 'mpa-decision',
  server_id: 'a'.repeat(64),
  request_id: '0b6a3c52-3d0e-4a55-8f0a-6b1f6e2c9d01',
  fingerprint: 'c'.repeat(64),
  decision: 'approve',
  action_digest: 'd'.repeat(64),
  issued_at: 1_700_000_000_000,
};
const assertion: WebAuthnAssertion = { credential_id: 'cred', authenticator_data: 'auth', client_data_json: 'json', signature: 'sig' };

describe('signed payload schemas', () => {
  test('well-formed payloads pass', () => {
    assert.ok(Value.Check(PairingProofSchema, proof));
    assert.ok(Value.Check(DecisionPayloadSchema, decision));
    assert.ok(Value.Check(WebAuthnDecisionBodySchema, { payload: decision, webauthn: assertion }));
  });

  test('a pairing proof is bounded and closed', () => {
    for (const bad of [
      { name: 'x'.repeat(101) },
      { code: '1'.repeat(17) },
      { purpose: 'mpa-decision' },
      { server_id: 'A'.repeat(64) },
      { device_public_key: 'B'.repeat(44) },
      { issued_at: 1.5 },
      { extra: true },
    ]) {
      assert.equal(Value.Check(PairingProofSchema, { ...proof, ...bad }), false, JSON.stringify(bad));
    }
  });

  test('a decision payload is bounded and closed', () => {
    for (const bad of [
      { decision: 'maybe' },
      { request_id: 'not-a-uuid' },
      { action_digest: 'D'.repeat(64) },
      { fingerprint: 'c'.repeat(63) },
      { extra: true },
    ]) {
      assert.equal(Value.Check(DecisionPayloadSchema, { ...decision, ...bad }), false, JSON.stringify(bad));
    }
  });

  test('a WebAuthn assertion is unpadded base64url within its lengths, and closed', () => {
    for (const bad of [
      { credential_id: '' },
      { credential_id: 'a'.repeat(1401) },
      { authenticator_data: 'a'.repeat(4097) },
      { client_data_json: 'a'.repeat(4097) },
      { signature: 'a'.repeat(201) },
      { signature: 'abc=' },
      { signature: 'a+b/' },
      { extra: 'x' },
    ]) {
      assert.equal(Value.Check(WebAuthnAssertionSchema, { ...assertion, ...bad }), false, JSON.stringify(bad));
    }
    assert.equal(Value.Check(WebAuthnDecisionBodySchema, { payload: decision, webauthn: assertion, signature: 'x' }), false);
  });

  test('a device signature is 64 bytes of standard base64, and a signed body is closed', () => {
    const signature = `${'A'.repeat(86)}==`;
    assert.ok(Value.Check(SignedPairingProofSchema, { payload: proof, signature }));
    assert.ok(Value.Check(DecisionBodySchema, { payload: decision, signature }));
    for (const bad of [`${'A'.repeat(85)}==`, `${'A'.repeat(87)}=`, `${'A'.repeat(84)}-_==`, `${'A'.repeat(86)}==\n`]) {
      assert.equal(Value.Check(SignedPairingProofSchema, { payload: proof, signature: bad }), false, bad);
      assert.equal(Value.Check(DecisionBodySchema, { payload: decision, signature: bad }), false, bad);
    }
    assert.equal(Value.Check(SignedPairingProofSchema, { payload: proof, signature, extra: 1 }), false);
    assert.equal(Value.Check(DecisionBodySchema, { payload: decision, signature, webauthn: assertion }), false);
  });
});
