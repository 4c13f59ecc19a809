/** Views before and around sign-in: passkeys unavailable, wrong address, welcome and pairing. */
import type { Pictogram } from '@sigilauth/protocol/wire';
import { sanitizeText } from '@sigilauth/protocol/screen';
import { focusMain, h, replace } from '../../lib/dom.js';
import { pair, signIn } from '../ceremonies.js';
import { app, main } from '../state.js';

export function showUnavailable(text: string): void {
  replace(main(), h('h1', {}, 'Passkeys unavailable'), h('p', {}, text));
  focusMain();
}

export function showWrongOrigin(origin: string): void {
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

export function guessDeviceName(): string {
  const ua = navigator.userAgent;
  const browser = /Edg\//.test(ua)
    ? 'Edge'
    : /Firefox\//.test(ua)
      ? 'Firefox'
      : /Chrome\//.test(ua)
        ? 'Chrome'
        : /Safari\//.test(ua)
          ? 'Safari'
          : 'Browser';
  const os = /iPhone|iPad/.test(ua)
    ? 'iOS'
    : /Android/.test(ua)
      ? 'Android'
      : /Mac OS X/.test(ua)
        ? 'macOS'
        : /Windows/.test(ua)
          ? 'Windows'
          : /Linux/.test(ua)
            ? 'Linux'
            : '';
  return os ? `${browser} on ${os}` : browser;
}

export function showWelcome(): void {
  const note = app.flash ? h('p', { class: 'notice', role: 'status' }, app.flash) : null;
  app.flash = null;
  const error = h('p', { class: 'error', role: 'alert' });
  const signInButton: HTMLButtonElement = h(
    'button',
    { type: 'button', class: 'button primary', onclick: () => void signIn(signInButton, error) },
    'Sign in with passkey',
  );
  replace(
    main(),
    h('h1', {}, 'Approve requests with a passkey'),
    note,
    h(
      'p',
      {},
      `Approvers for ${sanitizeText(app.config?.org_name ?? 'this organisation')} see and decide on approval requests here, confirming each with this device's fingerprint, face or screen lock.`,
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'signin-heading' },
      h('h2', { id: 'signin-heading' }, 'Already paired?'),
      h('p', {}, signInButton),
      error,
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'pair-heading' },
      h('h2', { id: 'pair-heading' }, 'New here?'),
      h(
        'p',
        {},
        'Ask your administrator for a pairing code, then ',
        h('a', { href: '/approve/pair', 'data-nav': true }, 'pair this browser'),
        '.',
      ),
    ),
  );
  focusMain();
}

export function showPairing(code: string): void {
  const cfg = app.config!;
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
  const nameInput = h('input', {
    id: 'pair-name',
    name: 'name',
    maxlength: 100,
    placeholder: 'As your administrator named it',
    'aria-describedby': 'pair-name-hint',
    autocomplete: 'off',
  });
  const matches = h('input', { id: 'pair-match', type: 'checkbox', required: true });
  const submit = h('button', { type: 'submit', class: 'button primary' }, 'Create passkey');
  const status = h('p', { class: 'status', role: 'status' });
  const error = h('p', { class: 'error', role: 'alert', id: 'pair-error' });
  const form = h(
    'form',
    { class: 'card form', novalidate: true },
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'pair-code' }, 'Pairing code'),
      codeInput,
      h('p', { class: 'hint', id: 'pair-code-hint' }, '8 digits, from your administrator.'),
    ),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'pair-name' }, 'Name for this device (optional)'),
      nameInput,
      h(
        'p',
        { class: 'hint', id: 'pair-name-hint' },
        `Leave it empty to use the name your administrator gave this pairing (or "${guessDeviceName()}" if none).`,
      ),
    ),
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
    app.me ? null : h('p', {}, 'Already paired? ', h('a', { href: '/approve', 'data-nav': true }, 'Sign in')),
  );
  focusMain(code ? nameInput : codeInput);
}
