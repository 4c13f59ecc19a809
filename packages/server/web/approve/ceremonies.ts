/**
 * The passkey ceremonies: create a passkey and prove it is here (pairing), sign in, and sign a
 * decision's challenge.
 */
import { sanitizeText } from '../../../protocol/src/approval-screen.js';
import type { WebAuthnAssertion } from '../../../protocol/src/webauthn.js';
import { errorMessage } from '../lib/api.js';
import { announce } from '../lib/dom.js';
import { base64urlDecode, base64urlEncode } from '../lib/encoding.js';
import { openSession, pairComplete, pairOptions, sessionOptions } from './api.js';
import { navigate } from './routing.js';
import { loadMe } from './session.js';
import { app, CREDENTIAL_HINT_KEY, type Me } from './state.js';

export function isCancelled(err: unknown): boolean {
  return err instanceof DOMException && (err.name === 'NotAllowedError' || err.name === 'AbortError');
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
  if (!nameInput.value.trim()) {
    error.textContent = 'Give this device a name your administrator will recognise.';
    nameInput.focus();
    return;
  }
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
    const o = opened.body.options;
    const publicKey: PublicKeyCredentialCreationOptions = {
      ...o,
      challenge: base64urlDecode(o.challenge),
      user: { ...o.user, id: base64urlDecode(o.user.id) },
      excludeCredentials: (o.excludeCredentials ?? []).map((c: { id: string; type: 'public-key' }) => ({ ...c, id: base64urlDecode(c.id) })),
    };
    status.textContent = 'Confirm with your fingerprint, face or screen lock to create the passkey…';
    let credential: PublicKeyCredential;
    try {
      credential = (await navigator.credentials.create({ publicKey })) as PublicKeyCredential;
    } catch (err) {
      status.textContent = '';
      error.textContent = isCancelled(err) ? 'No passkey was created: the prompt was cancelled or timed out.' : `No passkey was created: ${(err as Error).message}`;
      return;
    }
    const response = credential.response as AuthenticatorAttestationResponse;
    // The server pairs a passkey only once it has signed a fresh challenge: proof that this
    // browser holds the key, not just its public half.
    const p = opened.body.proof;
    status.textContent = 'Confirm once more, to prove the new passkey is on this device…';
    let proof: PublicKeyCredential;
    try {
      proof = (await navigator.credentials.get({
        publicKey: {
          challenge: base64urlDecode(p.challenge),
          rpId: p.rpId,
          userVerification: 'required',
          timeout: p.timeout,
          allowCredentials: [{ type: 'public-key', id: credential.rawId }],
        },
      })) as PublicKeyCredential;
    } catch (err) {
      status.textContent = '';
      error.textContent = isCancelled(err) ? 'Not paired: the passkey prompt was cancelled or timed out; try again.' : `Not paired: ${(err as Error).message}`;
      return;
    }
    status.textContent = 'Pairing…';
    const done = await pairComplete({
      challenge_id: opened.body.challenge_id,
      code,
      name: nameInput.value.trim(),
      credential: {
        id: base64urlEncode(credential.rawId),
        rawId: base64urlEncode(credential.rawId),
        type: 'public-key',
        ...(credential.authenticatorAttachment ? { authenticatorAttachment: credential.authenticatorAttachment } : {}),
        response: {
          clientDataJSON: base64urlEncode(response.clientDataJSON),
          attestationObject: base64urlEncode(response.attestationObject),
          ...(response.getTransports ? { transports: response.getTransports() } : {}),
        },
        clientExtensionResults: credential.getClientExtensionResults(),
      },
      proof: assertionJson(proof),
    });
    status.textContent = '';
    if (done.status !== 200) {
      error.textContent = errorMessage(done, 'Pairing failed.');
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

function assertionJson(credential: PublicKeyCredential): WebAuthnAssertion {
  const response = credential.response as AuthenticatorAssertionResponse;
  return {
    credential_id: base64urlEncode(credential.rawId),
    authenticator_data: base64urlEncode(response.authenticatorData),
    client_data_json: base64urlEncode(response.clientDataJSON),
    signature: base64urlEncode(response.signature),
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
    let credential: PublicKeyCredential;
    try {
      credential = (await navigator.credentials.get({
        publicKey: {
          challenge: base64urlDecode(opened.body.options.challenge),
          rpId: opened.body.options.rpId,
          userVerification: 'required',
          timeout: opened.body.options.timeout,
          allowCredentials: hint ? [{ type: 'public-key', id: base64urlDecode(hint) }] : [],
        },
      })) as PublicKeyCredential;
    } catch (err) {
      error.textContent = isCancelled(err) ? 'Not signed in: the passkey prompt was cancelled or timed out.' : `Not signed in: ${(err as Error).message}`;
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
export async function assertDecision(challenge: Uint8Array<ArrayBuffer>, me: Me): Promise<WebAuthnAssertion> {
  const credential = (await navigator.credentials.get({
    publicKey: {
      challenge,
      rpId: me.rp_id,
      allowCredentials: [{ type: 'public-key', id: base64urlDecode(me.credential_id) }],
      userVerification: 'required',
      timeout: 120_000,
    },
  })) as PublicKeyCredential;
  return assertionJson(credential);
}
