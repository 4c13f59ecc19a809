/** Which view a hash route shows, and the navigation bar. */
import { sanitizeText } from '@sigilauth/protocol/screen';
import { $, h, replace } from '../lib/dom.js';
import { features, session } from './state.js';
import { stopTimers } from './timers.js';
import { showAudit } from './views/audit.js';
import { showDevices } from './views/devices.js';
import { showGovernance } from './views/governance.js';
import { showOverrides } from './views/overrides.js';
import { showRequest } from './views/request.js';
import { showRequests } from './views/requests.js';
import { showSignIn, signOut } from './views/sign-in.js';
import { showTeams } from './views/teams.js';
import { showWebhook, showWebhooks } from './views/webhooks.js';

function renderNav(current: string): void {
  const links: Array<[string, string]> = [
    ['#/requests', 'Requests'],
    ['#/devices', 'Devices'],
    ['#/governance', 'Governance'],
    ['#/teams', 'Teams'],
    ['#/overrides', 'Overrides'],
    ...(features.webhooks ? ([['#/webhooks', 'Webhooks']] as Array<[string, string]>) : []),
    ...(features.audit ? ([['#/audit', 'Audit log']] as Array<[string, string]>) : []),
  ];
  replace(
    $('#nav'),
    links.map(([href, label]) => h('a', { href, ...(current === href ? { 'aria-current': 'page' } : {}) }, label)),
    h('span', { class: 'nav-who' }, sanitizeText(session.info?.org_name ?? '')),
    h('button', { type: 'button', class: 'button small', onclick: () => signOut() }, 'Sign out'),
  );
}

export function route(): void {
  if (!session.apiKey || !session.info) return showSignIn();
  stopTimers();
  const [path = '', query = ''] = location.hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(query);
  const parts = path.split('/').filter(Boolean);
  const section = `#/${parts[0] ?? 'requests'}`;
  renderNav(section);
  if (parts[0] === 'requests' && parts[1]) return void showRequest(parts[1]);
  if (parts[0] === 'devices') return void showDevices();
  if (parts[0] === 'governance') return void showGovernance();
  if (parts[0] === 'teams') return void showTeams();
  if (parts[0] === 'overrides') return void showOverrides();
  if (parts[0] === 'webhooks' && features.webhooks) return void (parts[1] ? showWebhook(parts[1]) : showWebhooks());
  if (parts[0] === 'audit' && features.audit) return void showAudit();
  void showRequests(params.get('status') ?? '');
}

export function installRouting(): void {
  window.addEventListener('hashchange', route);
}
