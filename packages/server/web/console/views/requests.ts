/** The request list, filtered by status and refreshed live. */
import { sanitizeText } from '@sigilauth/protocol/screen';
import type { MpaList } from '@sigilauth/protocol/wire';
import { errorMessage } from '../../lib/api.js';
import { focusMain, h, preserveFocus, replace } from '../../lib/dom.js';
import { api } from '../api.js';
import { REFRESH_MS, STATUSES } from '../state.js';
import { every, viewMain } from '../timers.js';
import { fmtTime, plural, statusBadge, table } from '../widgets.js';

export async function showRequests(status: string): Promise<void> {
  const main = viewMain();
  const select = h(
    'select',
    { id: 'status-filter' },
    h('option', { value: '' }, 'All'),
    STATUSES.map((s) => h('option', { value: s, ...(s === status ? { selected: true } : {}) }, s)),
  );
  select.addEventListener('change', () => {
    location.hash = select.value ? `#/requests?status=${select.value}` : '#/requests';
  });
  const stamp = h('p', { class: 'hint' });
  const body = h('div', {}, h('p', { class: 'loading' }, 'Loading…'));
  replace(
    main(),
    h('h1', {}, 'Requests'),
    h('div', { class: 'toolbar' }, h('div', {}, h('label', { for: 'status-filter' }, 'Status'), select), stamp),
    body,
  );
  focusMain();
  const load = async () => {
    const res = await api<MpaList>('GET', `/v1/mpa/requests?limit=50${status ? `&status=${status}` : ''}`);
    if (res.status !== 200) return replace(body, h('p', { class: 'error' }, errorMessage(res)));
    stamp.textContent = `Live: refreshed ${new Date().toLocaleTimeString()}`;
    const snapshot = JSON.stringify(res.body.data);
    if (snapshot === shown) return;
    shown = snapshot;
    preserveFocus(body, () =>
      replace(
        body,
        table(
          'MPA requests',
          ['Created', 'Action', 'Status', 'Groups', 'Expires / completed'],
          res.body.data.map((r) => [
            fmtTime(r.created_at),
            h('a', { href: `#/requests/${r.request_id}` }, sanitizeText(r.action.description)),
            statusBadge(r.status),
            `${r.groups_satisfied.length} of ${r.groups_required} approved (${plural(r.groups_total, 'group')})`,
            r.completed_at ? fmtTime(r.completed_at) : fmtTime(r.expires_at),
          ]),
        ),
      ),
    );
  };
  let shown = '';
  await load();
  every(REFRESH_MS, load);
}
