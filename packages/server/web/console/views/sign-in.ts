/** Signing in with an API key, entering the console, and signing out. */
import { errorMessage, request } from '../../lib/api.js';
import { $, focusMain, h, replace } from '../../lib/dom.js';
import { api } from '../api.js';
import { route } from '../routing.js';
import { features, KEY_STORAGE, session, type Info } from '../state.js';
import { stopTimers, viewMain } from '../timers.js';

export function signOut(message?: string): void {
  session.apiKey = null;
  session.info = null;
  sessionStorage.removeItem(KEY_STORAGE);
  showSignIn(message);
}

export function showSignIn(message?: string): void {
  stopTimers();
  const main = viewMain();
  replace($('#nav'));
  const input = h('input', {
    id: 'api-key',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    'aria-describedby': 'api-key-hint',
  });
  const error = h('p', { class: 'error', role: 'alert' }, message ?? '');
  const submit = h('button', { type: 'submit', class: 'button primary' }, 'Sign in');
  const form = h(
    'form',
    { class: 'card form' },
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'api-key' }, 'API key'),
      input,
      h(
        'p',
        { class: 'hint', id: 'api-key-hint' },
        'An sgk_live_ or sgk_test_ key. It stays in this browser tab (sessionStorage) and is sent only to this server.',
      ),
    ),
    h('div', { class: 'actions' }, submit),
    error,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void (async () => {
      submit.disabled = true;
      error.textContent = '';
      const key = input.value.trim();
      const res = await request<Info>('GET', '/v1/info', undefined, { authorization: `Bearer ${key}` });
      submit.disabled = false;
      if (res.status !== 200) {
        error.textContent = res.status === 401 ? 'That API key is not valid.' : errorMessage(res);
        input.focus();
        return;
      }
      session.apiKey = key;
      sessionStorage.setItem(KEY_STORAGE, key);
      await enter(res.body);
    })();
  });
  replace(main(), h('h1', {}, 'Sign in to the console'), form);
  focusMain(input);
}

export async function enter(serverInfo: Info): Promise<void> {
  session.info = serverInfo;
  const [webhooks, audit] = await Promise.all([api('GET', '/v1/webhooks'), api('GET', '/v1/audit?limit=1')]);
  features.webhooks = webhooks.status === 200;
  features.audit = audit.status === 200;
  if (!location.hash) history.replaceState(null, '', '#/requests');
  route();
}
