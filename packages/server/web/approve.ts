/**
 * The web approver: pair this browser with a passkey, see requests as they arrive, and approve or
 * deny each with the passkey (the platform's own biometric or screen-lock prompt). The wording is
 * the approval screen's, shared with sigil-device through @sigilauth/protocol's approval-screen.
 */
import { approvalScreen, outcomeLine, sanitizeText, timeLeftLine } from '../../protocol/src/approval-screen.js';
import { canonicalize } from '../../protocol/src/jcs.js';
import type { DecisionPayload, DeviceRequestView } from '../../protocol/src/messages.js';
import type { Pictogram } from '../../protocol/src/pictogram.js';
import { errorMessage, request } from './lib/api.js';
import { $, announce, focusMain, h, preserveFocus, replace } from './lib/dom.js';
import { approveLabel } from './pwa/authenticator.js';
import { notificationSection, registerServiceWorker } from './pwa/notifications.js';
import { base64urlDecode, base64urlEncode, concat, hex, sha256, utf8 } from './lib/encoding.js';

/** The domain tag of decisions (docs/protocol.md): the assertion's challenge is SHA-256(TAG || 0x00 || JCS(payload)). */
const DECISION_TAG = 'SIGIL-MPA-DECISION-V1';
const CREDENTIAL_HINT_KEY = 'sigil.approver.credential';

interface Config {
  server_id: string;
  pictogram: Pictogram;
  org_name: string | null;
  rp_id: string | null;
  origin: string | null;
  attestation_required: boolean;
  server_time: number;
}

interface Me {
  tenant_id: string;
  org_name: string;
  fingerprint: string;
  name: string;
  credential_id: string;
  rp_id: string;
  server_id: string;
  server_time: number;
}

interface WebAuthnAssertionJson {
  credential_id: string;
  authenticator_data: string;
  client_data_json: string;
  signature: string;
}

let config: Config | null = null;
let me: Me | null = null;
/** Server clock minus ours, so a decision's issued_at is fresh even on a device with a wrong clock. */
let clockOffset = 0;
const requests = new Map<string, DeviceRequestView>();
let events: EventSource | null = null;
let connection: 'connecting' | 'live' | 'reconnecting' = 'connecting';
let flash: string | null = null;
/** Updates the request screen in place when a request changes; null on other views. */
let screen: { id: string; update: (view: DeviceRequestView) => void } | null = null;

const now = () => Date.now() + clockOffset;
const main = () => $('#main');

// ---------------------------------------------------------------- routing

function navigate(path: string, replaceState = false): void {
  if (replaceState) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  route();
}

function route(): void {
  screen = null;
  const url = new URL(location.href);
  renderNav();
  if (!config) return;
  if (!config.rp_id || !config.origin) return showUnavailable('Passkeys are not set up on this server yet: its administrator must set SIGIL_PUBLIC_URL to the address browsers use.');
  if (location.origin !== config.origin) return showWrongOrigin(config.origin);
  if (!window.PublicKeyCredential) return showUnavailable('This browser does not support passkeys. Use a current version of Safari, Chrome, Edge or Firefox.');
  if (url.pathname === '/approve/pair') return showPairing(url.searchParams.get('code') ?? '');
  if (!me) return showWelcome();
  const match = url.pathname.match(/^\/approve\/requests\/([0-9a-f-]{36})$/);
  if (match) return void showRequest(match[1]!);
  showInbox();
}

document.addEventListener('click', (event) => {
  const link = (event.target as Element | null)?.closest?.('a[data-nav]');
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  event.preventDefault();
  navigate(link.getAttribute('href')!);
});
window.addEventListener('popstate', route);

function renderNav(): void {
  const nav = $('#nav');
  if (!me) return replace(nav);
  replace(
    nav,
    h('span', { class: 'nav-who' }, `${sanitizeText(me.name)} · ${sanitizeText(me.org_name)}`),
    h('button', { type: 'button', class: 'button small', onclick: () => void signOut() }, 'Sign out'),
  );
}

// ---------------------------------------------------------------- views: setup

function showUnavailable(text: string): void {
  replace(main(), h('h1', {}, 'Passkeys unavailable'), h('p', {}, text));
  focusMain();
}

function showWrongOrigin(origin: string): void {
  replace(
    main(),
    h('h1', {}, 'Open the approver at its own address'),
    h('p', {}, 'Passkeys for this server work only at ', h('a', { href: `${origin}/approve` }, `${origin}/approve`), '.'),
  );
  focusMain();
}

function pictogramSection(pictogram: Pictogram): HTMLElement {
  return h(
    'section',
    { class: 'pictogram', 'aria-labelledby': 'pictogram-heading' },
    h('h2', { id: 'pictogram-heading' }, 'Server pictogram'),
    h('p', { class: 'pictogram-emoji', 'aria-hidden': 'true' }, pictogram.emoji.join(' ')),
    h('p', { class: 'pictogram-names' }, pictogram.names.join(', ')),
    h(
      'p',
      { class: 'hint' },
      'Check that the Sigil console you were invited from shows these same five pictures. If it does not, stop: someone may be impersonating the server.',
    ),
  );
}

function guessDeviceName(): string {
  const ua = navigator.userAgent;
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrome\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  const os = /iPhone|iPad/.test(ua) ? 'iOS' : /Android/.test(ua) ? 'Android' : /Mac OS X/.test(ua) ? 'macOS' : /Windows/.test(ua) ? 'Windows' : /Linux/.test(ua) ? 'Linux' : '';
  return os ? `${browser} on ${os}` : browser;
}

function showWelcome(): void {
  const error = h('p', { class: 'error', role: 'alert' });
  const signInButton: HTMLButtonElement = h('button', { type: 'button', class: 'button primary', onclick: () => void signIn(signInButton, error) }, 'Sign in with passkey');
  replace(
    main(),
    h('h1', {}, 'Approve requests with a passkey'),
    h('p', {}, `Approvers for ${sanitizeText(config?.org_name ?? 'this organisation')} see and decide on approval requests here, confirming each with this device's fingerprint, face or screen lock.`),
    h('section', { class: 'card', 'aria-labelledby': 'signin-heading' }, h('h2', { id: 'signin-heading' }, 'Already paired?'), h('p', {}, signInButton), error),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'pair-heading' },
      h('h2', { id: 'pair-heading' }, 'New here?'),
      h('p', {}, 'Ask your administrator for a pairing code, then ', h('a', { href: '/approve/pair', 'data-nav': true }, 'pair this browser'), '.'),
    ),
  );
  focusMain();
}

function showPairing(code: string): void {
  const cfg = config!;
  const codeInput = h('input', {
    id: 'pair-code',
    name: 'code',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    required: true,
    maxlength: 11,
    pattern: '[0-9 \\-]{8,11}',
    'aria-describedby': 'pair-code-hint',
    value: code,
  });
  const nameInput = h('input', { id: 'pair-name', name: 'name', maxlength: 100, placeholder: 'As your administrator named it', 'aria-describedby': 'pair-name-hint', autocomplete: 'off' });
  const matches = h('input', { id: 'pair-match', type: 'checkbox', required: true });
  const submit = h('button', { type: 'submit', class: 'button primary' }, 'Create passkey');
  const status = h('p', { class: 'status', role: 'status' });
  const error = h('p', { class: 'error', role: 'alert', id: 'pair-error' });
  const form = h(
    'form',
    { class: 'card form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'pair-code' }, 'Pairing code'), codeInput, h('p', { class: 'hint', id: 'pair-code-hint' }, '8 digits, from your administrator.')),
    h('div', { class: 'field' }, h('label', { for: 'pair-name' }, 'Name for this device (optional)'), nameInput, h('p', { class: 'hint', id: 'pair-name-hint' }, `Leave it empty to use the name your administrator gave this pairing (or "${guessDeviceName()}" if none).`)),
    h('div', { class: 'field check' }, matches, h('label', { for: 'pair-match' }, 'The console shows the same pictogram')),
    h('div', { class: 'actions' }, submit),
    status,
    error,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void pair(codeInput, nameInput, matches, submit, status, error);
  });
  replace(
    main(),
    h('h1', {}, 'Pair this browser'),
    h(
      'p',
      {},
      'You will create a passkey for this Sigil server. It stays on this device, protected by your fingerprint, face or screen lock, and you will use it to approve or deny requests.',
    ),
    pictogramSection(cfg.pictogram),
    form,
    me ? null : h('p', {}, 'Already paired? ', h('a', { href: '/approve', 'data-nav': true }, 'Sign in')),
  );
  focusMain(code ? nameInput : codeInput);
}

function isCancelled(err: unknown): boolean {
  return err instanceof DOMException && (err.name === 'NotAllowedError' || err.name === 'AbortError');
}

async function pair(
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
    const opened = await request('POST', '/approve/api/pair/options', { code, name: nameInput.value.trim() });
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
    const done = await request('POST', '/approve/api/pair/complete', {
      challenge_id: opened.body.challenge_id,
      code,
      name: nameInput.value.trim() || opened.body.name || guessDeviceName(),
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
    flash = `Paired with ${sanitizeText(done.body.org_name)} as "${sanitizeText(done.body.name)}". Requests for you will appear here.`;
    await loadMe();
    navigate('/approve', true);
    announce(flash);
  } finally {
    submit.disabled = false;
  }
}

function assertionJson(credential: PublicKeyCredential): WebAuthnAssertionJson {
  const response = credential.response as AuthenticatorAssertionResponse;
  return {
    credential_id: base64urlEncode(credential.rawId),
    authenticator_data: base64urlEncode(response.authenticatorData),
    client_data_json: base64urlEncode(response.clientDataJSON),
    signature: base64urlEncode(response.signature),
  };
}

async function signIn(button: HTMLButtonElement, error: HTMLElement): Promise<void> {
  error.textContent = '';
  button.disabled = true;
  try {
    const opened = await request('POST', '/approve/api/session/options');
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
    const done = await request('POST', '/approve/api/session', { challenge_id: opened.body.challenge_id, webauthn: assertionJson(credential) });
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

async function signOut(): Promise<void> {
  await request('POST', '/approve/api/logout');
  events?.close();
  events = null;
  me = null;
  requests.clear();
  navigate('/approve', true);
}

// ---------------------------------------------------------------- live requests

function connectEvents(): void {
  events?.close();
  const source = new EventSource('/approve/events');
  events = source;
  source.addEventListener('open', () => setConnection('live'));
  source.addEventListener('sync', (event) => {
    const data = JSON.parse((event as MessageEvent<string>).data) as RequestPage & { server_time: number };
    clockOffset = data.server_time - Date.now();
    setConnection('live');
    void readPages(data).then((listed) => {
      // Pending requests missing from the sync finished while we were away: fetch their outcome.
      for (const [id, view] of requests) if (view.status === 'pending' && !listed.has(id)) void reconcile(id);
    });
  });
  source.addEventListener('request', (event) => upsert(JSON.parse((event as MessageEvent<string>).data) as DeviceRequestView));
  source.addEventListener('error', () => {
    setConnection('reconnecting');
    if (source.readyState !== EventSource.CLOSED) return; // the browser retries by itself
    window.setTimeout(async () => {
      if (events !== source) return;
      const check = await request('GET', '/approve/api/me');
      if (check.status === 401) {
        me = null;
        events = null;
        route();
      } else {
        connectEvents();
      }
    }, 3000);
  });
}

function setConnection(state: typeof connection): void {
  connection = state;
  const el = document.getElementById('connection');
  if (el) el.textContent = connectionText();
}

const connectionText = () =>
  connection === 'live' ? 'Live: new requests appear here as they arrive.' : connection === 'connecting' ? 'Connecting…' : 'Reconnecting…';

/** One page of the pending requests naming this device, newest first (docs/protocol.md). */
interface RequestPage {
  requests: DeviceRequestView[];
  next_cursor: string | null;
}

/** Shows a page of pending requests and reads the ones after it; resolves to the IDs of all it read. */
async function readPages(first: RequestPage, show: (view: DeviceRequestView) => void = upsert): Promise<Set<string>> {
  const listed = new Set<string>();
  let page: RequestPage | null = first;
  while (page) {
    for (const view of page.requests) {
      listed.add(view.request_id);
      show(view);
    }
    if (page.next_cursor === null) break;
    const next: Awaited<ReturnType<typeof request<RequestPage>>> = await request<RequestPage>('GET', `/approve/api/requests?cursor=${encodeURIComponent(page.next_cursor)}`);
    page = next.status === 200 ? next.body : null;
  }
  return listed;
}

async function refresh(id: string): Promise<void> {
  const res = await request<DeviceRequestView>('GET', `/approve/api/requests/${id}`);
  if (res.status === 200) upsert(res.body);
}

/** Requests being reconciled, so one sync does not start a second loop for the same request. */
const reconciling = new Set<string>();

/**
 * After a reconnect, a request shown as pending that the sync no longer lists has finished while
 * the page was away: its outcome is asked of the server until it answers (it may be restarting,
 * or its database unreachable for a moment), so the screen never keeps showing it pending.
 */
async function reconcile(id: string): Promise<void> {
  if (reconciling.has(id)) return;
  reconciling.add(id);
  try {
    for (let attempt = 0; attempt < 12 && me && requests.get(id)?.status === 'pending'; attempt++) {
      const res = await request<DeviceRequestView>('GET', `/approve/api/requests/${id}`);
      if (res.status === 200) return upsert(res.body);
      if (res.status === 401 || res.status === 403 || res.status === 404) return;
      await new Promise((resolve) => window.setTimeout(resolve, Math.min(30_000, 500 * 2 ** attempt)));
    }
  } finally {
    reconciling.delete(id);
  }
}

function upsert(view: DeviceRequestView): void {
  const previous = requests.get(view.request_id);
  requests.set(view.request_id, view);
  if (!previous && view.status === 'pending' && view.my_decision === null) {
    const model = approvalScreen(view, now());
    announce(`New request: ${model.heading}. ${model.description}`);
  } else if (previous?.status === 'pending' && view.status !== 'pending' && !(screen && screen.id === view.request_id)) {
    announce(`${outcomeLine(view.status)}: ${sanitizeText(view.action.description)}`);
  }
  updateTitle();
  if (screen?.id === view.request_id) screen.update(view);
  else if (!screen && me && location.pathname.replace(/\/$/, '') === '/approve') renderInboxList();
}

function updateTitle(): void {
  const waiting = [...requests.values()].filter((r) => r.status === 'pending' && r.my_decision === null).length;
  document.title = waiting > 0 ? `(${waiting}) Sigil approver` : 'Sigil approver';
}

// ---------------------------------------------------------------- views: inbox and request

function showInbox(): void {
  const note = flash ? h('p', { class: 'notice', role: 'status' }, flash) : null;
  flash = null;
  replace(
    main(),
    h('h1', { id: 'inbox-heading' }, 'Requests'),
    note,
    h('p', { class: 'connection hint', id: 'connection' }, connectionText()),
    h('ul', { class: 'inbox', id: 'inbox', 'aria-labelledby': 'inbox-heading' }),
    notificationSection(),
  );
  renderInboxList();
  focusMain();
}

function renderInboxList(): void {
  const list = document.getElementById('inbox');
  if (!list) return;
  const views = [...requests.values()].sort((a, b) => {
    const rank = (v: DeviceRequestView) => (v.status === 'pending' ? (v.my_decision === null ? 0 : 1) : 2);
    return rank(a) - rank(b) || b.created_at.localeCompare(a.created_at);
  });
  if (views.length === 0) {
    replace(list, h('li', { class: 'empty' }, 'No requests are waiting for you.'));
    return;
  }
  preserveFocus(list, () => replace(
    list,
    views.map((view) => {
      const model = approvalScreen(view, now());
      const outcome = outcomeLine(view.status);
      const state =
        outcome ?? (view.my_decision === 'approve' ? 'You approved' : view.my_decision === 'deny' ? 'You denied' : null);
      return h(
        'li',
        {},
        h(
          'a',
          { href: `/approve/requests/${view.request_id}`, 'data-nav': true, class: `inbox-item${view.status === 'pending' && !view.my_decision ? ' waiting' : ''}` },
          h('span', { class: 'inbox-org' }, model.heading),
          h('span', { class: 'inbox-title' }, model.description),
          h(
            'span',
            { class: 'inbox-meta' },
            state ? h('span', { class: 'inbox-state' }, state) : h('span', { class: 'js-expires', 'data-expires': view.expires_at }, model.timeLeft ?? ''),
            ' · ',
            model.quorum,
          ),
        ),
      );
    }),
  ));
}

async function showRequest(id: string): Promise<void> {
  let view = requests.get(id);
  if (!view) {
    replace(main(), h('p', { class: 'loading' }, 'Loading…'));
    const res = await request<DeviceRequestView>('GET', `/approve/api/requests/${id}`);
    if (res.status !== 200) {
      replace(main(), h('p', {}, h('a', { href: '/approve', 'data-nav': true }, '← All requests')), h('h1', {}, 'Request not found'), h('p', {}, errorMessage(res)));
      focusMain();
      return;
    }
    view = res.body;
    requests.set(id, view);
  }
  renderScreen(view);
}

/**
 * The approval screen, as the guide shows it: who is asking, what, the action type and every param
 * as `Label: value`, the quorum, the time left, the group in the fine print, then Deny / Approve
 * with passkey. What it says is @sigilauth/protocol's approvalScreen, the model the terminal
 * device renders too; this only lays it out.
 */
function renderScreen(initial: DeviceRequestView): void {
  const model = approvalScreen(initial, now());
  const title = h('h1', { id: 'screen-title', class: 'screen-org' }, model.heading);
  const quorum = h('p', { class: 'screen-quorum', 'aria-live': 'polite', 'aria-atomic': 'true' });
  const expires = h('p', { class: 'screen-expires js-expires', 'data-expires': initial.expires_at });
  const note = h('p', { class: 'screen-note' });
  const outcome = h('div', { class: 'screen-outcome', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true' });
  const error = h('p', { class: 'error', role: 'alert' });
  const deny = h('button', { type: 'button', class: 'button deny' }, 'Deny');
  const approve = h('button', { type: 'button', class: 'button primary approve' }, 'Approve with passkey');
  void approveLabel().then((label) => (approve.textContent = label));
  const actions = h('div', { class: 'screen-actions' }, deny, approve);
  let busy = false;

  const update = (view: DeviceRequestView) => {
    const current = approvalScreen(view, now());
    title.textContent = current.heading;
    quorum.textContent = current.quorum;
    note.hidden = current.note === null;
    note.textContent = current.note ?? '';
    expires.hidden = current.timeLeft === null;
    expires.textContent = current.timeLeft ?? '';
    const { state } = current;
    if (state.kind === 'decide') {
      if (!busy) {
        replace(outcome);
        actions.hidden = false;
      }
      return;
    }
    const cls = state.kind === 'finished' ? `outcome-final status-${state.status}` : state.kind === 'approved' ? 'outcome-approved' : 'outcome-denied';
    replace(outcome, ...state.lines.map((line, i) => h('p', i === 0 ? { class: cls } : {}, line)));
    actions.hidden = true;
  };

  const decide = async (decision: 'approve' | 'deny') => {
    if (busy || !me) return;
    const view = requests.get(initial.request_id) ?? initial;
    busy = true;
    deny.disabled = approve.disabled = true;
    error.textContent = '';
    replace(outcome, h('p', {}, `Confirm with your passkey to ${decision}…`));
    try {
      const digest = hex(await sha256(utf8(canonicalize(view.action))));
      if (digest !== view.action_digest) {
        error.textContent = "Not signed: this request's details do not match the digest the server gave. Tell your administrator.";
        return;
      }
      const payload: DecisionPayload = {
        purpose: 'mpa-decision',
        server_id: me.server_id,
        request_id: view.request_id,
        fingerprint: me.fingerprint,
        decision,
        action_digest: view.action_digest,
        issued_at: Math.round(now()),
      };
      const challenge = await sha256(concat(utf8(DECISION_TAG), new Uint8Array([0]), utf8(canonicalize(payload))));
      let credential: PublicKeyCredential;
      try {
        credential = (await navigator.credentials.get({
          publicKey: {
            challenge,
            rpId: me.rp_id,
            allowCredentials: [{ type: 'public-key', id: base64urlDecode(me.credential_id) }],
            userVerification: 'required',
            timeout: 120_000,
          },
        })) as PublicKeyCredential;
      } catch (err) {
        error.textContent = isCancelled(err) ? 'Nothing was sent: the passkey prompt was cancelled or timed out.' : `Nothing was sent: ${(err as Error).message}`;
        return;
      }
      replace(outcome, h('p', {}, 'Sending…'));
      const res = await request<DeviceRequestView>('POST', `/v1/mpa/requests/${view.request_id}/decisions`, { payload, webauthn: assertionJson(credential) });
      if (res.status === 200) {
        requests.set(view.request_id, res.body);
        busy = false;
        update(res.body);
        focusMain(title);
        return;
      }
      error.textContent = errorMessage(res, 'The decision was not accepted.');
      if (res.status === 409 || res.status === 403) await refresh(view.request_id);
    } finally {
      busy = false;
      deny.disabled = approve.disabled = false;
      update(requests.get(initial.request_id) ?? initial);
    }
  };
  deny.addEventListener('click', () => void decide('deny'));
  approve.addEventListener('click', () => void decide('approve'));

  replace(
    main(),
    h('p', { class: 'back' }, h('a', { href: '/approve', 'data-nav': true }, '← All requests')),
    h(
      'article',
      { class: 'screen', 'aria-labelledby': 'screen-title' },
      title,
      h('h2', { class: 'screen-description' }, model.description),
      h(
        'dl',
        { class: 'screen-params' },
        model.fields.map((field) => h('div', { class: 'param' }, h('dt', {}, `${field.label}:`), ' ', h('dd', {}, field.value))),
      ),
      quorum,
      expires,
      h('p', { class: 'screen-fine' }, model.group),
      note,
      outcome,
      actions,
      error,
    ),
  );
  screen = { id: initial.request_id, update };
  update(requests.get(initial.request_id) ?? initial);
  focusMain(title);
}

// ---------------------------------------------------------------- start

window.setInterval(() => {
  for (const el of document.querySelectorAll<HTMLElement>('.js-expires')) {
    const at = el.dataset.expires;
    if (at) el.textContent = timeLeftLine(at, now());
  }
}, 1000);

async function loadMe(): Promise<void> {
  const res = await request<Me>('GET', '/approve/api/me');
  me = res.status === 200 ? res.body : null;
  if (!me) return;
  clockOffset = me.server_time - Date.now();
  const pending = await request<RequestPage>('GET', '/approve/api/requests');
  if (pending.status === 200) await readPages(pending.body, (view) => void requests.set(view.request_id, view));
  updateTitle();
  connectEvents();
}

async function start(): Promise<void> {
  const res = await request<Config>('GET', '/approve/api/config');
  if (res.status !== 200) {
    replace(main(), h('h1', {}, 'Sigil is unavailable'), h('p', {}, errorMessage(res, 'The server did not answer.')));
    return;
  }
  config = res.body;
  clockOffset = config.server_time - Date.now();
  if (config.origin && location.origin === config.origin) {
    void registerServiceWorker();
    await loadMe();
  }
  route();
}

void start().catch((err: unknown) => {
  replace(main(), h('h1', {}, 'Something went wrong'), h('p', {}, String((err as Error)?.message ?? err)));
});
