/** One request: its details, a cancel button while pending, and its timeline (decisions, outcome, webhooks). */
import { formatParamValue, paramLabel, sanitizeText } from '@sigilauth/protocol/screen';
import type {
  AnomalyFlagList,
  AuditList,
  DeviceList,
  MpaRequestView,
  NotificationList,
  WebhookDeliveryList,
  WebhookEndpointList,
} from '@sigilauth/protocol/wire';
import { errorMessage } from '../../lib/api.js';
import { focusMain, h, replace, type Child } from '../../lib/dom.js';
import { api } from '../api.js';
import { anyQueued, notificationLogSection } from '../../notification-log.js';
import { features, REFRESH_MS } from '../state.js';
import { every, viewMain } from '../timers.js';
import { requestFlagsSection } from './flags.js';
import { badge, fmtTime, outcomeArea, plural, short, statusBadge, table } from '../widgets.js';

interface TimelineItem {
  at: string | null;
  text: Child[];
}

export async function showRequest(id: string): Promise<void> {
  const main = viewMain();
  replace(main(), h('p', { class: 'loading' }, 'Loading…'));
  let shown = '';
  // Kept across the page's refreshes, so a cancellation's outcome stays in view.
  const { element: outcome, report } = outcomeArea();
  const load = async () => {
    const res = await api<MpaRequestView>('GET', `/v1/mpa/requests/${encodeURIComponent(id)}`);
    if (res.status !== 200) {
      replace(
        main(),
        h('p', {}, h('a', { href: '#/requests' }, '← Requests')),
        h('h1', {}, 'Request not found'),
        h('p', {}, errorMessage(res)),
      );
      return false;
    }
    const r = res.body;
    const [notes, devices, flagged] = await Promise.all([
      api<NotificationList>('GET', `/v1/mpa/requests/${encodeURIComponent(id)}/notifications`),
      api<DeviceList>('GET', '/v1/devices'),
      api<AnomalyFlagList>('GET', `/v1/mpa/requests/${encodeURIComponent(id)}/flags`),
    ]);
    const notifications = notes.status === 200 ? notes.body.data : [];
    const flags = flagged.status === 200 ? flagged.body.data : [];
    const stillChanging = r.status === 'pending' || anyQueued(notifications);
    if (JSON.stringify([r, notifications, flags]) === shown) return stillChanging;
    shown = JSON.stringify([r, notifications, flags]);
    const names = new Map((devices.status === 200 ? devices.body.data : []).map((d) => [d.fingerprint, d.name]));
    const deviceName = (fp: string | null) => (fp === null ? 'Organisation channel' : sanitizeText(names.get(fp) ?? short(fp)));
    const items: TimelineItem[] = [
      { at: r.created_at, text: [h('strong', {}, 'Created'), ` · ${r.groups_required} of ${r.groups_total} groups required`] },
    ];
    const satisfied = new Set<string>();
    let decided = false;
    if (features.audit) {
      const audit = await api<AuditList>('GET', `/v1/audit?request_id=${encodeURIComponent(id)}&limit=1000`);
      for (const e of audit.status === 200 ? audit.body.data : []) {
        const group = sanitizeText(String(e.data.group ?? 'A group'));
        if (e.type === 'mpa.decision') {
          const approved = e.data.decision === 'approve';
          items.push({ at: e.created_at, text: [h('strong', {}, group), approved ? ' approved' : ' denied'] });
          if (approved && r.groups_satisfied.includes(String(e.data.group)) && !satisfied.has(group)) {
            satisfied.add(group);
            items.push({ at: e.created_at, text: [`Group satisfied: ${group}`] });
          }
        } else if (e.type === 'mpa.completed' || e.type === 'mpa.cancelled') {
          decided = true;
          items.push({ at: e.created_at, text: [h('strong', {}, 'Decision: '), statusBadge(String(e.data.status ?? r.status))] });
        }
      }
    } else {
      for (const group of r.groups_satisfied) items.push({ at: null, text: [`Group satisfied: ${sanitizeText(group)}`] });
    }
    if (r.completed_at && !decided) items.push({ at: r.completed_at, text: [h('strong', {}, 'Decision: '), statusBadge(r.status)] });
    if (features.webhooks) {
      const endpoints = await api<WebhookEndpointList>('GET', '/v1/webhooks');
      for (const endpoint of endpoints.status === 200 ? endpoints.body.data : []) {
        const deliveries = await api<WebhookDeliveryList>('GET', `/v1/webhooks/${endpoint.id}/deliveries?limit=100`);
        for (const d of deliveries.status === 200 ? deliveries.body.data : []) {
          if (d.request_id !== id) continue;
          items.push({
            at: d.created_at,
            text: [
              `Webhook ${d.event_type} → `,
              h('span', { class: 'mono' }, sanitizeText(endpoint.url)),
              ' ',
              badge(d.status, d.status === 'succeeded' ? 'ok' : d.status === 'failed' ? 'bad' : 'neutral'),
              ` (${d.attempt_count} attempt${d.attempt_count === 1 ? '' : 's'})`,
            ],
          });
        }
      }
    }
    items.sort((a, b) => (a.at ?? '9999').localeCompare(b.at ?? '9999'));
    const params = Object.entries(r.action.params ?? {});
    const cancel =
      r.status === 'pending'
        ? h(
            'button',
            {
              type: 'button',
              class: 'button danger',
              onclick: async () => {
                if (!window.confirm('Cancel this request? Approvers can no longer decide on it.')) return;
                const done = await api('POST', `/v1/mpa/requests/${id}/cancel`);
                report(done.status === 200, done.status === 200 ? 'Request cancelled' : errorMessage(done));
                shown = '';
                await load();
              },
            },
            'Cancel request',
          )
        : null;
    replace(
      main(),
      h('p', {}, h('a', { href: '#/requests' }, '← Requests')),
      h('h1', {}, sanitizeText(r.action.description)),
      outcome,
      h(
        'dl',
        { class: 'kv card' },
        h('dt', {}, 'Status'),
        h('dd', {}, statusBadge(r.status)),
        h('dt', {}, 'Request ID'),
        h('dd', { class: 'mono' }, r.request_id),
        h('dt', {}, 'Action type'),
        h('dd', {}, sanitizeText(r.action.type)),
        h('dt', {}, 'Quorum'),
        h(
          'dd',
          {},
          `${r.groups_satisfied.length} of ${plural(r.groups_required, 'required group')} approved (${plural(r.groups_total, 'group')} in all)`,
        ),
        h('dt', {}, 'Groups satisfied'),
        h('dd', {}, r.groups_satisfied.length > 0 ? r.groups_satisfied.map(sanitizeText).join(', ') : 'none yet'),
        h('dt', {}, 'Expires'),
        h('dd', {}, fmtTime(r.expires_at)),
        params.flatMap(([k, v]) => [h('dt', {}, paramLabel(k)), h('dd', {}, formatParamValue(v))]),
      ),
      cancel,
      requestFlagsSection(flags),
      h('h2', {}, 'Timeline'),
      h(
        'ol',
        { class: 'timeline' },
        items.map((i) => h('li', {}, i.at ? h('time', { datetime: i.at }, fmtTime(i.at)) : null, i.text)),
      ),
      notificationLogSection(notifications, deviceName, table, badge),
    );
    return stillChanging;
  };
  const pending = await load();
  focusMain();
  if (pending) every(REFRESH_MS, async () => void (await load()));
}
