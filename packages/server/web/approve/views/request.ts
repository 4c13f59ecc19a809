/**
 * One request's approval screen, kept up to date as the request changes, with Deny / Approve with
 * passkey.
 */
import { webCrypto } from '@sigilauth/protocol/crypto/web';
import { decisionChallengeWith } from '@sigilauth/protocol/decision';
import type { DecisionPayload, DeviceRequestView, WebAuthnAssertion } from '@sigilauth/protocol/wire';
import { approvalScreen } from '@sigilauth/protocol/screen';
import { actionDigestWith } from '@sigilauth/protocol/validation';
import { errorMessage } from '../../lib/api.js';
import { focusMain, h, replace } from '../../lib/dom.js';
import { approveLabel } from '../../pwa/authenticator.js';
import { getRequest, postDecision } from '../api.js';
import { assertDecision, isCancelled } from '../ceremonies.js';
import { refresh } from '../live.js';
import { app, main, now, requests } from '../state.js';

export async function showRequest(id: string): Promise<void> {
  let view = requests.get(id);
  if (!view) {
    replace(main(), h('p', { class: 'loading' }, 'Loading…'));
    const res = await getRequest(id);
    if (res.status !== 200) {
      replace(
        main(),
        h('p', {}, h('a', { href: '/approve', 'data-nav': true }, '← All requests')),
        h('h1', {}, 'Request not found'),
        h('p', {}, errorMessage(res)),
      );
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
  // A request's action never changes; a view that names another one was not made by Sigil, and
  // the screen never signs anything but the action it shows.
  const changed = (view: DeviceRequestView) => view.action_digest !== initial.action_digest;
  const CHANGED =
    "Not signed: this request's action changed after it was shown, which Sigil never does. Do not decide it here; tell your administrator.";

  const update = (view: DeviceRequestView) => {
    if (changed(view)) {
      error.textContent = CHANGED;
      actions.hidden = true;
      return;
    }
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
    const cls =
      state.kind === 'finished'
        ? `outcome-final status-${state.status}`
        : state.kind === 'approved'
          ? 'outcome-approved'
          : 'outcome-denied';
    replace(outcome, ...state.lines.map((line, i) => h('p', i === 0 ? { class: cls } : {}, line)));
    actions.hidden = true;
  };

  const decide = async (decision: 'approve' | 'deny') => {
    if (busy || !app.me) return;
    // A click that races a view naming another action is refused as that view is (by update).
    const latest = requests.get(initial.request_id) ?? initial;
    if (changed(latest)) return update(latest);
    const view = initial;
    busy = true;
    deny.disabled = approve.disabled = true;
    error.textContent = '';
    replace(outcome, h('p', {}, `Confirm with your passkey to ${decision}…`));
    try {
      const digest = await actionDigestWith(webCrypto, view.action);
      if (digest !== view.action_digest) {
        error.textContent = "Not signed: this request's details do not match the digest the server gave. Tell your administrator.";
        return;
      }
      const payload: DecisionPayload = {
        purpose: 'mpa-decision',
        server_id: app.me.server_id,
        request_id: view.request_id,
        fingerprint: app.me.fingerprint,
        decision,
        action_digest: view.action_digest,
        issued_at: Math.round(now()),
      };
      const challenge = await decisionChallengeWith(webCrypto, payload);
      let webauthn: WebAuthnAssertion;
      try {
        webauthn = await assertDecision(challenge, app.me);
      } catch (err) {
        error.textContent = isCancelled(err)
          ? 'Nothing was sent: the passkey prompt was cancelled or timed out.'
          : `Nothing was sent: ${(err as Error).message}`;
        return;
      }
      replace(outcome, h('p', {}, 'Sending…'));
      const res = await postDecision(view.request_id, { payload, webauthn });
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
  app.screen = { id: initial.request_id, update };
  update(requests.get(initial.request_id) ?? initial);
  focusMain(title);
}
