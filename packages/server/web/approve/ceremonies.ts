/**
 * The passkey ceremonies: create a passkey and prove it is here (pairing), sign in, and sign a
 * decision's challenge.
 */
import { toBase64url } from '@sigilauth/protocol/bytes';
import { sanitizeText } from '@sigilauth/protocol/screen';
import type { WebAuthnAssertion } from '@sigilauth/protocol/wire';
import {
  startAuthentication,
  startRegistration,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
} from '@simplewebauthn/browser';
import { errorCode, errorMessage } from '../lib/api.js';
import { announce, h, replace } from '../lib/dom.js';
import { openSession, pairComplete, pairOptions, sessionOptions } from './api.js';
import { navigate } from './routing.js';
import { loadMe } from './session.js';
import { guessDeviceName } from './views/setup.js';
import { app, CREDENTIAL_HINT_KEY, type Me } from './state.js';

/** The person closed the prompt or it timed out (SimpleWebAuthn keeps the browser's error name). */
export function isCancelled(err: unknown): boolean {
  return err instanceof Error && (err.name === 'NotAllowedError' || err.name === 'AbortError');
}

export async function pair(
  codeInput: HTMLInputElement,
  nameInput: HTMLInputElement,
  matches: HTMLInputElement,
  submit: HTMLButtonElement,
  status: HTMLElement,
  error: HTMLElement,
): Promise<void> {
  error.textContent = '';
  const code = codeInput.value.replace(/[\s-]/g, '');
  if (!/^\d{8}$/.test(code)) {
    error.textContent = 'Enter the 8-digit pairing code.';
    codeInput.setAttribute('aria-invalid', 'true');
    codeInput.focus();
    return;
  }
  codeInput.removeAttribute('aria-invalid');
  if (!matches.checked) {
    error.textContent = 'Check the server pictogram against the console first, then tick the box.';
    matches.focus();
    return;
  }
  submit.disabled = true;
  try {
    status.textContent = 'Checking the code…';
    const opened = await pairOptions(code, nameInput.value.trim());
    if (opened.status !== 200) {
      error.textContent = errorMessage(opened, 'The code could not be checked.');
      status.textContent = '';
      return;
    }
    status.textContent = 'Confirm with your fingerprint, face or screen lock to create the passkey…';
    let credential: Awaited<ReturnType<typeof startRegistration>>;
    try {
      // The protocol leaves WebAuthn's own options object to WebAuthn: the server made it with SimpleWebAuthn.
      credential = await startRegistration({ optionsJSON: opened.body.options as PublicKeyCredentialCreationOptionsJSON });
    } catch (err) {
      status.textContent = '';
      error.textContent = isCancelled(err)
        ? 'No passkey was created: the prompt was cancelled or timed out.'
        : `No passkey was created: ${(err as Error).message}`;
      return;
    }
    // The server pairs a passkey only once it has signed a fresh challenge: proof that this
    // browser holds the key, not just its public half.
    const p = opened.body.proof;
    status.textContent = 'Confirm once more, to prove the new passkey is on this device…';
    let proof: AuthenticationResponseJSON;
    try {
      proof = await startAuthentication({
        optionsJSON: {
          challenge: p.challenge,
          rpId: p.rpId,
          userVerification: 'required',
          timeout: p.timeout,
          allowCredentials: [{ type: 'public-key', id: credential.rawId }],
        },
      });
    } catch (err) {
      status.textContent = '';
      error.textContent = isCancelled(err)
        ? 'Not paired: the passkey prompt was cancelled or timed out; try again.'
        : `Not paired: ${(err as Error).message}`;
      return;
    }
    status.textContent = 'Pairing…';
    const done = await pairComplete({
      challenge_id: opened.body.challenge_id,
      code,
      name: nameInput.value.trim() || opened.body.name || guessDeviceName(),
      // Exactly the fields the server's schema names; SimpleWebAuthn adds derived ones it does not read.
      credential: {
        id: credential.id,
        rawId: credential.rawId,
        type: 'public-key',
        ...(credential.authenticatorAttachment ? { authenticatorAttachment: credential.authenticatorAttachment } : {}),
        response: {
          clientDataJSON: credential.response.clientDataJSON,
          attestationObject: credential.response.attestationObject,
          ...(credential.response.transports ? { transports: credential.response.transports } : {}),
        },
        clientExtensionResults: credential.clientExtensionResults,
      },
      proof: assertionJson(proof),
    });
    status.textContent = '';
    if (done.status !== 200) {
      if (errorCode(done) === 'attestation_required') {
        replace(
          error,
          "Not paired: this server accepts only passkeys whose hardware it can verify, and this one's cannot be verified. " +
            'Try a security key or another device, or ask your administrator.',
          h('small', { class: 'error-detail' }, `For your administrator: ${errorMessage(done)}.`),
        );
      } else error.textContent = errorMessage(done, 'Pairing failed.');
      return;
    }
    try {
      localStorage.setItem(CREDENTIAL_HINT_KEY, done.body.credential_id);
    } catch {
      // private mode: sign-in will offer every passkey for this site instead
    }
    app.flash = `Paired with ${sanitizeText(done.body.org_name)} as "${sanitizeText(done.body.name)}". Requests for you will appear here.`;
    await loadMe();
    navigate('/approve', true);
    announce(app.flash);
  } finally {
    submit.disabled = false;
  }
}

/** An assertion in the form Sigil's endpoints take (docs/protocol.md): base64url fields, snake_case. */
function assertionJson(credential: AuthenticationResponseJSON): WebAuthnAssertion {
  return {
    credential_id: credential.rawId,
    authenticator_data: credential.response.authenticatorData,
    client_data_json: credential.response.clientDataJSON,
    signature: credential.response.signature,
  };
}

export async function signIn(button: HTMLButtonElement, error: HTMLElement): Promise<void> {
  error.textContent = '';
  button.disabled = true;
  try {
    const opened = await sessionOptions();
    if (opened.status !== 200) {
      error.textContent = errorMessage(opened);
      return;
    }
    let hint: string | null = null;
    try {
      hint = localStorage.getItem(CREDENTIAL_HINT_KEY);
    } catch {
      hint = null;
    }
    let credential: AuthenticationResponseJSON;
    try {
      const o = opened.body.options;
      credential = await startAuthentication({
        optionsJSON: {
          challenge: o.challenge,
          rpId: o.rpId,
          userVerification: 'required',
          timeout: o.timeout,
          allowCredentials: hint ? [{ type: 'public-key', id: hint }] : [],
        },
      });
    } catch (err) {
      error.textContent = isCancelled(err)
        ? 'Not signed in: the passkey prompt was cancelled or timed out.'
        : `Not signed in: ${(err as Error).message}`;
      return;
    }
    const done = await openSession({ challenge_id: opened.body.challenge_id, webauthn: assertionJson(credential) });
    if (done.status !== 200) {
      error.textContent = errorMessage(done, 'Sign-in failed.');
      return;
    }
    await loadMe();
    navigate('/approve', true);
  } finally {
    button.disabled = false;
  }
}

/** Asks the passkey to sign a decision's challenge; throws when the prompt is cancelled or fails. */
export async function assertDecision(challenge: Uint8Array, me: Me): Promise<WebAuthnAssertion> {
  const credential = await startAuthentication({
    optionsJSON: {
      challenge: toBase64url(challenge),
      rpId: me.rp_id,
      allowCredentials: [{ type: 'public-key', id: me.credential_id }],
      userVerification: 'required',
      timeout: 120_000,
    },
  });
  return assertionJson(credential);
}
