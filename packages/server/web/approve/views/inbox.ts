/** The inbox: every request this device knows of, those waiting for a decision first. */
import { approvalScreen, outcomeLine } from '@sigilauth/protocol/screen';
import type { DeviceRequestView } from '@sigilauth/protocol/wire';
import { focusMain, h, preserveFocus, replace } from '../../lib/dom.js';
import { notificationSection } from '../../pwa/notifications.js';
import { connectionText } from '../live.js';
import { app, main, now, requests } from '../state.js';

export function showInbox(): void {
  const note = app.flash ? h('p', { class: 'notice', role: 'status' }, app.flash) : null;
  app.flash = null;
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

export function renderInboxList(): void {
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
  preserveFocus(list, () =>
    replace(
      list,
      views.map((view) => {
        const model = approvalScreen(view, now());
        const outcome = outcomeLine(view.status);
        const state = outcome ?? (view.my_decision === 'approve' ? 'You approved' : view.my_decision === 'deny' ? 'You denied' : null);
        return h(
          'li',
          {},
          h(
            'a',
            {
              href: `/approve/requests/${view.request_id}`,
              'data-nav': true,
              class: `inbox-item${view.status === 'pending' && !view.my_decision ? ' waiting' : ''}`,
            },
            h('span', { class: 'inbox-org' }, model.heading),
            h('span', { class: 'inbox-title' }, model.description),
            h(
              'span',
              { class: 'inbox-meta' },
              state
                ? h('span', { class: 'inbox-state' }, state)
                : h('span', { class: 'js-expires', 'data-expires': view.expires_at }, model.timeLeft ?? ''),
              ' · ',
              model.quorum,
            ),
          ),
        );
      }),
    ),
  );
}
