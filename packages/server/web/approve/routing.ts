/** Which view a path shows, and the navigation bar. Links marked data-nav navigate without a reload. */
import { sanitizeText } from '@sigilauth/protocol/screen';
import { $, h, replace } from '../lib/dom.js';
import { signOut } from './session.js';
import { app } from './state.js';
import { showInbox } from './views/inbox.js';
import { showRequest } from './views/request.js';
import { showPairing, showUnavailable, showWelcome, showWrongOrigin } from './views/setup.js';

export function navigate(path: string, replaceState = false): void {
  if (replaceState) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  route();
}

export function route(): void {
  app.screen = null;
  const url = new URL(location.href);
  renderNav();
  if (!app.config) return;
  if (!app.config.rp_id || !app.config.origin)
    return showUnavailable(
      'Passkeys are not set up on this server yet: its administrator must set SIGIL_PUBLIC_URL to the address browsers use.',
    );
  if (location.origin !== app.config.origin) return showWrongOrigin(app.config.origin);
  if (!window.PublicKeyCredential)
    return showUnavailable('This browser does not support passkeys. Use a current version of Safari, Chrome, Edge or Firefox.');
  if (url.pathname === '/approve/pair') return showPairing(url.searchParams.get('code') ?? '');
  if (!app.me) return showWelcome();
  const match = url.pathname.match(/^\/approve\/requests\/([0-9a-f-]{36})$/);
  if (match) return void showRequest(match[1]!);
  showInbox();
}

export function installRouting(): void {
  document.addEventListener('click', (event) => {
    const link = (event.target as Element | null)?.closest?.('a[data-nav]');
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    navigate(link.getAttribute('href')!);
  });
  window.addEventListener('popstate', route);
}

function renderNav(): void {
  const nav = $('#nav');
  if (!app.me) return replace(nav);
  replace(
    nav,
    h('span', { class: 'nav-who' }, `${sanitizeText(app.me.name)} · ${sanitizeText(app.me.org_name)}`),
    h('button', { type: 'button', class: 'button small', onclick: () => void signOut() }, 'Sign out'),
  );
}
