/** Webhook endpoints and one endpoint's deliveries. */
import { sanitizeText } from '@sigilauth/protocol/screen';
import type { WebhookDeliveryList, WebhookEndpoint, WebhookEndpointList } from '@sigilauth/protocol/wire';
import { errorMessage } from '../../lib/api.js';
import { focusMain, h, replace } from '../../lib/dom.js';
import { api } from '../api.js';
import { REFRESH_MS } from '../state.js';
import { every, viewMain } from '../timers.js';
import { badge, fmtTime, short, table } from '../widgets.js';

export async function showWebhooks(): Promise<void> {
  const main = viewMain();
  replace(main(), h('h1', {}, 'Webhooks'), h('p', { class: 'loading' }, 'Loading…'));
  focusMain();
  const res = await api<WebhookEndpointList>('GET', '/v1/webhooks');
  if (res.status !== 200) return replace(main(), h('h1', {}, 'Webhooks'), h('p', { class: 'error' }, errorMessage(res)));
  replace(
    main(),
    h('h1', {}, 'Webhooks'),
    h('p', { class: 'hint' }, 'Endpoints are registered with the API or `sigil webhook`; select one to see its deliveries.'),
    table(
      'Webhook endpoints',
      ['Endpoint', 'Events', 'State', 'Failures'],
      res.body.data.map((e) => [
        [
          h('a', { href: `#/webhooks/${e.id}`, class: 'mono' }, sanitizeText(e.url)),
          e.description ? h('div', { class: 'hint' }, sanitizeText(e.description)) : null,
        ],
        e.events ? e.events.join(', ') : 'all events',
        e.enabled ? badge('enabled', 'ok') : badge(`disabled${e.disabled_reason ? `: ${sanitizeText(e.disabled_reason)}` : ''}`, 'bad'),
        String(e.consecutive_failures),
      ]),
    ),
  );
}

export async function showWebhook(id: string): Promise<void> {
  const main = viewMain();
  replace(main(), h('p', { class: 'loading' }, 'Loading…'));
  const load = async () => {
    const [endpoint, deliveries] = await Promise.all([
      api<WebhookEndpoint>('GET', `/v1/webhooks/${encodeURIComponent(id)}`),
      api<WebhookDeliveryList>('GET', `/v1/webhooks/${encodeURIComponent(id)}/deliveries?limit=100`),
    ]);
    if (endpoint.status !== 200 || deliveries.status !== 200)
      return replace(
        main(),
        h('p', {}, h('a', { href: '#/webhooks' }, '← Webhooks')),
        h('p', { class: 'error' }, errorMessage(endpoint.status !== 200 ? endpoint : deliveries)),
      );
    replace(
      main(),
      h('p', {}, h('a', { href: '#/webhooks' }, '← Webhooks')),
      h('h1', { class: 'mono' }, sanitizeText(endpoint.body.url)),
      table(
        'Deliveries',
        ['Created', 'Event', 'Request', 'Status', 'Attempts', 'Last answer'],
        deliveries.body.data.map((d) => {
          const last = d.attempts[d.attempts.length - 1];
          return [
            fmtTime(d.created_at),
            d.event_type,
            d.request_id ? h('a', { href: `#/requests/${d.request_id}`, class: 'mono' }, short(d.request_id)) : '—',
            badge(d.status, d.status === 'succeeded' ? 'ok' : d.status === 'failed' ? 'bad' : 'neutral'),
            String(d.attempt_count),
            last ? (last.status_code !== null ? `HTTP ${last.status_code}` : sanitizeText(last.error ?? '')) : '—',
          ];
        }),
      ),
    );
  };
  await load();
  focusMain();
  every(REFRESH_MS * 2, load);
}
