/**
 * The operator console: a light client of Sigil's JSON API, signed in with an API key that is
 * kept in this tab's sessionStorage and sent as a Bearer token. No auth system of its own.
 * Views: requests (filter by status, refreshed live), one request's timeline, devices (pair,
 * revoke, attestation), webhooks and their deliveries, and the audit log with its verification.
 */
import { formatParamValue, paramLabel, sanitizeText } from '../../protocol/src/approval-screen.js';
import { canonicalize } from '../../protocol/src/jcs.js';
import type { DeviceAttestation } from '../../protocol/src/webauthn.js';
import type { Pictogram } from '../../protocol/src/pictogram.js';
import { errorMessage, request, type ApiResult } from './lib/api.js';
import { contactsEditor } from './device-contacts.js';
import { anyQueued, notificationLogSection, type NotificationRow } from './notification-log.js';
import { $, announce, focusMain, h, preserveFocus, replace, type Child } from './lib/dom.js';
import { base64Decode, concat, fromHex, hex, sha256, utf8 } from './lib/encoding.js';

const KEY_STORAGE = 'sigil.console.apiKey';
const REFRESH_MS = 3000;
const STATUSES = ['pending', 'approved', 'rejected', 'timeout', 'cancelled'] as const;

interface Info {
  server_id: string;
  server_public_key: string;
  pictogram: Pictogram;
  org_name: string;
  version: string;
}

interface RequestView {
  request_id: string;
  status: string;
  groups_required: number;
  groups_total: number;
  groups_satisfied: string[];
  expires_at: string;
  created_at: string;
  completed_at?: string;
  action: { type: string; description: string; params: Record<string, string | number | boolean> };
}

interface Device {
  fingerprint: string;
  device_public_key: string;
  name: string;
  paired_at: string;
  status: 'active' | 'revoked';
  revoked_at?: string;
  attestation?: DeviceAttestation;
}

interface AuditEntry {
  id: number;
  leaf_index: number | null;
  leaf_hash: string | null;
  tenant_id: string;
  type: string;
  request_id: string | null;
  data: Record<string, unknown>;
  created_at: string;
}

let apiKey: string | null = null;
let info: Info | null = null;
const features = { webhooks: false, audit: false };
/** Stops the current view's timers when the view changes. */
let cleanup: Array<() => void> = [];

const main = () => $('#main');
const fmtTime = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '—');
const short = (fp: string) => `${fp.slice(0, 12)}…`;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function badge(text: string, kind: 'ok' | 'bad' | 'neutral'): HTMLElement {
  return h('span', { class: `badge ${kind}` }, text);
}

function statusBadge(status: string): HTMLElement {
  return badge(status, status === 'approved' ? 'ok' : status === 'pending' ? 'neutral' : 'bad');
}

function table(caption: string, headers: string[], rows: Child[][]): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.length > 0 ? rows.map((cells) => h('tr', {}, cells.map((c) => h('td', {}, c)))) : h('tr', {}, h('td', { colspan: headers.length }, 'Nothing yet.'))),
    ),
  );
}

async function api<T = any>(method: string, path: string, body?: unknown): Promise<ApiResult<T>> {
  const res = await request<T>(method, path, body, apiKey ? { authorization: `Bearer ${apiKey}` } : {});
  if (res.status === 401 && apiKey) {
    signOut('Your API key was refused (revoked or wrong). Sign in again.');
  }
  return res;
}

// ---------------------------------------------------------------- sign-in and navigation

function signOut(message?: string): void {
  apiKey = null;
  info = null;
  sessionStorage.removeItem(KEY_STORAGE);
  showSignIn(message);
}

function showSignIn(message?: string): void {
  stopTimers();
  replace($('#nav'));
  const input = h('input', { id: 'api-key', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true, 'aria-describedby': 'api-key-hint' });
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
      h('p', { class: 'hint', id: 'api-key-hint' }, 'An sgk_live_ or sgk_test_ key. It stays in this browser tab (sessionStorage) and is sent only to this server.'),
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
      apiKey = key;
      sessionStorage.setItem(KEY_STORAGE, key);
      await enter(res.body);
    })();
  });
  replace(main(), h('h1', {}, 'Sign in to the console'), form);
  focusMain(input);
}

async function enter(serverInfo: Info): Promise<void> {
  info = serverInfo;
  const [webhooks, audit] = await Promise.all([api('GET', '/v1/webhooks'), api('GET', '/v1/audit?limit=1')]);
  features.webhooks = webhooks.status === 200;
  features.audit = audit.status === 200;
  if (!location.hash) history.replaceState(null, '', '#/requests');
  route();
}

function renderNav(current: string): void {
  const links: Array<[string, string]> = [
    ['#/requests', 'Requests'],
    ['#/devices', 'Devices'],
    ...(features.webhooks ? ([['#/webhooks', 'Webhooks']] as Array<[string, string]>) : []),
    ...(features.audit ? ([['#/audit', 'Audit log']] as Array<[string, string]>) : []),
  ];
  replace(
    $('#nav'),
    links.map(([href, label]) => h('a', { href, ...(current === href ? { 'aria-current': 'page' } : {}) }, label)),
    h('span', { class: 'nav-who' }, sanitizeText(info?.org_name ?? '')),
    h('button', { type: 'button', class: 'button small', onclick: () => signOut() }, 'Sign out'),
  );
}

function stopTimers(): void {
  for (const stop of cleanup) stop();
  cleanup = [];
}

function every(ms: number, fn: () => Promise<void> | void): void {
  const timer = window.setInterval(() => {
    if (document.visibilityState === 'visible') void fn();
  }, ms);
  cleanup.push(() => window.clearInterval(timer));
}

function route(): void {
  if (!apiKey || !info) return showSignIn();
  stopTimers();
  const [path = '', query = ''] = location.hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(query);
  const parts = path.split('/').filter(Boolean);
  const section = `#/${parts[0] ?? 'requests'}`;
  renderNav(section);
  if (parts[0] === 'requests' && parts[1]) return void showRequest(parts[1]);
  if (parts[0] === 'devices') return void showDevices();
  if (parts[0] === 'webhooks' && features.webhooks) return void (parts[1] ? showWebhook(parts[1]) : showWebhooks());
  if (parts[0] === 'audit' && features.audit) return void showAudit();
  void showRequests(params.get('status') ?? '');
}

window.addEventListener('hashchange', route);

// ---------------------------------------------------------------- requests

async function showRequests(status: string): Promise<void> {
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
    const res = await api<{ data: RequestView[] }>('GET', `/v1/mpa/requests?limit=50${status ? `&status=${status}` : ''}`);
    if (res.status !== 200) return replace(body, h('p', { class: 'error' }, errorMessage(res)));
    stamp.textContent = `Live: refreshed ${new Date().toLocaleTimeString()}`;
    const snapshot = JSON.stringify(res.body.data);
    if (snapshot === shown) return;
    shown = snapshot;
    preserveFocus(body, () => replace(
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
    ));
  };
  let shown = '';
  await load();
  every(REFRESH_MS, load);
}

interface TimelineItem {
  at: string | null;
  text: Child[];
}

async function showRequest(id: string): Promise<void> {
  replace(main(), h('p', { class: 'loading' }, 'Loading…'));
  let shown = '';
  const load = async () => {
    const res = await api<RequestView>('GET', `/v1/mpa/requests/${encodeURIComponent(id)}`);
    if (res.status !== 200) {
      replace(main(), h('p', {}, h('a', { href: '#/requests' }, '← Requests')), h('h1', {}, 'Request not found'), h('p', {}, errorMessage(res)));
      return false;
    }
    const r = res.body;
    const [notes, devices] = await Promise.all([
      api<{ data: NotificationRow[] }>('GET', `/v1/mpa/requests/${encodeURIComponent(id)}/notifications`),
      api<{ data: Device[] }>('GET', '/v1/devices'),
    ]);
    const notifications = notes.status === 200 ? notes.body.data : [];
    const stillChanging = r.status === 'pending' || anyQueued(notifications);
    if (JSON.stringify([r, notifications]) === shown) return stillChanging;
    shown = JSON.stringify([r, notifications]);
    const names = new Map((devices.status === 200 ? devices.body.data : []).map((d) => [d.fingerprint, d.name]));
    const deviceName = (fp: string | null) => (fp === null ? 'Organisation channel' : sanitizeText(names.get(fp) ?? short(fp)));
    const items: TimelineItem[] = [{ at: r.created_at, text: [h('strong', {}, 'Created'), ` · ${r.groups_required} of ${r.groups_total} groups required`] }];
    const satisfied = new Set<string>();
    let decided = false;
    if (features.audit) {
      const audit = await api<{ data: AuditEntry[] }>('GET', `/v1/audit?request_id=${encodeURIComponent(id)}&limit=1000`);
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
      const endpoints = await api<{ data: Array<{ id: string; url: string }> }>('GET', '/v1/webhooks');
      for (const endpoint of endpoints.status === 200 ? endpoints.body.data : []) {
        const deliveries = await api<{ data: Array<{ request_id: string | null; event_type: string; status: string; attempt_count: number; created_at: string }> }>(
          'GET',
          `/v1/webhooks/${endpoint.id}/deliveries?limit=100`,
        );
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
                announce(done.status === 200 ? 'Request cancelled' : errorMessage(done));
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
        h('dd', {}, `${r.groups_satisfied.length} of ${plural(r.groups_required, 'required group')} approved (${plural(r.groups_total, 'group')} in all)`),
        h('dt', {}, 'Groups satisfied'),
        h('dd', {}, r.groups_satisfied.length > 0 ? r.groups_satisfied.map(sanitizeText).join(', ') : 'none yet'),
        h('dt', {}, 'Expires'),
        h('dd', {}, fmtTime(r.expires_at)),
        params.flatMap(([k, v]) => [h('dt', {}, paramLabel(k)), h('dd', {}, formatParamValue(v))]),
      ),
      cancel,
      h('h2', {}, 'Timeline'),
      h('ol', { class: 'timeline' }, items.map((i) => h('li', {}, i.at ? h('time', { datetime: i.at }, fmtTime(i.at)) : null, i.text))),
      notificationLogSection(notifications, deviceName, table, badge),
    );
    return stillChanging;
  };
  const pending = await load();
  focusMain();
  if (pending) every(REFRESH_MS, async () => void (await load()));
}

// ---------------------------------------------------------------- devices

function attestationCell(a: DeviceAttestation | undefined): Child[] {
  if (!a || a.format === 'software') return [badge('software key', 'neutral')];
  const model = 'model' in a && a.model ? ` · ${sanitizeText(a.model)}` : '';
  return [
    `passkey (${sanitizeText(a.format)})${model} `,
    a.verified ? badge('attested', 'ok') : badge('unattested', 'bad'),
    'aaguid' in a ? h('div', { class: 'mono hint' }, a.aaguid) : null,
  ];
}

/** A button that copies `text` and says so; where the clipboard is refused, it selects `target` to copy by hand. */
function copyButton(label: string, text: string, target?: HTMLElement): HTMLElement {
  const button = h('button', { type: 'button', class: 'button small copy' }, 'Copy');
  button.setAttribute('aria-label', `Copy ${label}`);
  button.addEventListener('click', () => {
    void navigator.clipboard.writeText(text).then(
      () => {
        button.textContent = 'Copied';
        announce(`${label} copied`);
        window.setTimeout(() => (button.textContent = 'Copy'), 2000);
      },
      () => {
        if (target) window.getSelection()?.selectAllChildren(target);
        announce(`Copying was refused; ${label} is selected`);
      },
    );
  });
  return button;
}

/** What a request needs to name the device as an approver: its fingerprint and public key, in full, each with a copy button. */
function deviceIdentity(d: Device): HTMLElement {
  const line = (label: string, value: string) => {
    const code = h('code', { class: 'mono identity-value' }, value);
    return h('div', { class: 'identity-line' }, h('span', { class: 'identity-label' }, `${label}:`), ' ', code, ' ', copyButton(`${sanitizeText(d.name)}'s ${label}`, value, code));
  };
  const approver = JSON.stringify({ fingerprint: d.fingerprint, device_public_key: d.device_public_key });
  return h(
    'div',
    { class: 'identity' },
    line('fingerprint', d.fingerprint),
    line('device_public_key', d.device_public_key),
    h('div', { class: 'identity-line approver' }, h('span', { class: 'identity-label' }, 'As an approver in a request:'), ' ', copyButton(`${sanitizeText(d.name)} as an approver`, approver)),
  );
}

async function showDevices(): Promise<void> {
  const list = h('div', {}, h('p', { class: 'loading' }, 'Loading…'));
  const pairing = h('div', { 'aria-live': 'polite' });
  const nameInput = h('input', { id: 'pair-name', maxlength: 100, placeholder: "e.g. Alice's phone" });
  const form = h(
    'form',
    { class: 'form' },
    h('div', { class: 'field' }, h('label', { for: 'pair-name' }, 'Device name (optional)'), nameInput),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button primary' }, 'Create pairing code')),
  );
  const load = async () => {
    const res = await api<{ data: Device[] }>('GET', '/v1/devices');
    if (res.status !== 200) return replace(list, h('p', { class: 'error' }, errorMessage(res)));
    replace(
      list,
      table(
        'Paired devices',
        ['Name', 'Fingerprint and public key', 'Attestation', 'Status', 'Paired', ''],
        res.body.data.map((d) => [
          sanitizeText(d.name),
          deviceIdentity(d),
          attestationCell(d.attestation),
          d.status === 'active' ? badge('active', 'ok') : badge(`revoked ${fmtTime(d.revoked_at)}`, 'bad'),
          fmtTime(d.paired_at),
          d.status === 'active'
            ? [h(
                'button',
                {
                  type: 'button',
                  class: 'button small danger',
                  'aria-label': `Revoke ${sanitizeText(d.name)}`,
                  onclick: async () => {
                    if (!window.confirm(`Revoke "${sanitizeText(d.name)}"? It can no longer decide anything, including open requests.`)) return;
                    const done = await api('DELETE', `/v1/devices/${d.fingerprint}`);
                    announce(done.status === 200 ? `${sanitizeText(d.name)} revoked` : errorMessage(done));
                    await load();
                  },
                },
                'Revoke',
              ), contactsEditor(api, d.fingerprint, sanitizeText(d.name))]
            : '',
        ]),
      ),
    );
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void (async () => {
      const res = await api<{ pairing_id: string; code: string; expires_at: string; pictogram: Pictogram }>(
        'POST',
        '/v1/pairings',
        nameInput.value.trim() ? { name: nameInput.value.trim() } : {},
      );
      if (res.status !== 201) return replace(pairing, h('p', { class: 'error', role: 'alert' }, errorMessage(res)));
      const p = res.body;
      const link = `${location.origin}/approve/pair?code=${p.code}`;
      const state = h('p', { class: 'status', role: 'status' }, 'Waiting for the device…');
      replace(
        pairing,
        h('h3', {}, 'Pairing code'),
        h('p', { class: 'code-display', id: 'pairing-code' }, p.code),
        h('p', {}, `Valid until ${new Date(p.expires_at).toLocaleTimeString()}, once.`),
        h('p', {}, 'Web approver: open ', h('a', { href: link, target: '_blank', rel: 'noopener' }, link), ' on the approver’s phone or computer.'),
        h('p', {}, 'Terminal: ', h('span', { class: 'mono' }, `sigil-device pair --server ${location.origin} --code ${p.code}`)),
        h('p', {}, 'The device must show this server pictogram: ', h('strong', {}, `${p.pictogram.emoji.join(' ')} (${p.pictogram.names.join(', ')})`)),
        state,
      );
      announce(`Pairing code ${p.code.split('').join(' ')}`);
      const poll = window.setInterval(async () => {
        const s = await api<{ status: string; name: string | null }>('GET', `/v1/pairings/${p.pairing_id}`);
        if (s.status !== 200 || s.body.status === 'pending') return;
        window.clearInterval(poll);
        state.textContent = s.body.status === 'completed' ? `Paired: ${sanitizeText(s.body.name ?? 'device')}.` : 'This code expired without being used.';
        await load();
      }, 2000);
      cleanup.push(() => window.clearInterval(poll));
    })();
  });
  replace(
    main(),
    h('h1', {}, 'Devices'),
    h('section', { class: 'card', 'aria-labelledby': 'pair-h' }, h('h2', { id: 'pair-h' }, 'Pair a device'), form, pairing),
    h(
      'p',
      { class: 'hint' },
      'A request names each approver by ',
      h('code', {}, '{ "fingerprint", "device_public_key" }'),
      ': copy them below (the same list: GET /v1/devices, or sigil device list).',
    ),
    list,
  );
  focusMain();
  await load();
}

// ---------------------------------------------------------------- webhooks

async function showWebhooks(): Promise<void> {
  replace(main(), h('h1', {}, 'Webhooks'), h('p', { class: 'loading' }, 'Loading…'));
  focusMain();
  const res = await api<{ data: Array<{ id: string; url: string; description: string | null; events: string[] | null; enabled: boolean; consecutive_failures: number; disabled_reason: string | null }> }>(
    'GET',
    '/v1/webhooks',
  );
  if (res.status !== 200) return replace(main(), h('h1', {}, 'Webhooks'), h('p', { class: 'error' }, errorMessage(res)));
  replace(
    main(),
    h('h1', {}, 'Webhooks'),
    h('p', { class: 'hint' }, 'Endpoints are registered with the API or `sigil webhook`; select one to see its deliveries.'),
    table(
      'Webhook endpoints',
      ['Endpoint', 'Events', 'State', 'Failures'],
      res.body.data.map((e) => [
        [h('a', { href: `#/webhooks/${e.id}`, class: 'mono' }, sanitizeText(e.url)), e.description ? h('div', { class: 'hint' }, sanitizeText(e.description)) : null],
        e.events ? e.events.join(', ') : 'all events',
        e.enabled ? badge('enabled', 'ok') : badge(`disabled${e.disabled_reason ? `: ${sanitizeText(e.disabled_reason)}` : ''}`, 'bad'),
        String(e.consecutive_failures),
      ]),
    ),
  );
}

async function showWebhook(id: string): Promise<void> {
  replace(main(), h('p', { class: 'loading' }, 'Loading…'));
  const load = async () => {
    const [endpoint, deliveries] = await Promise.all([
      api<{ url: string; enabled: boolean }>('GET', `/v1/webhooks/${encodeURIComponent(id)}`),
      api<{ data: Array<{ id: string; event_type: string; request_id: string | null; status: string; attempt_count: number; created_at: string; attempts: Array<{ status_code: number | null; error: string | null }> }> }>(
        'GET',
        `/v1/webhooks/${encodeURIComponent(id)}/deliveries?limit=100`,
      ),
    ]);
    if (endpoint.status !== 200 || deliveries.status !== 200) return replace(main(), h('p', {}, h('a', { href: '#/webhooks' }, '← Webhooks')), h('p', { class: 'error' }, errorMessage(endpoint.status !== 200 ? endpoint : deliveries)));
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

// ---------------------------------------------------------------- audit log

const P256 = {
  p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
  b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
};

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  base %= mod;
  while (exp > 0n) {
    if (exp & 1n) result = (result * base) % mod;
    base = (base * base) % mod;
    exp >>= 1n;
  }
  return result;
}

/** The server key (33-byte compressed P-256 point) as WebCrypto's 65-byte uncompressed form. */
function decompressP256(compressed: Uint8Array): Uint8Array<ArrayBuffer> {
  const x = BigInt(`0x${hex(compressed.subarray(1))}`);
  const { p, b } = P256;
  const rhs = (((x * x * x - 3n * x + b) % p) + p) % p;
  let y = modPow(rhs, (p + 1n) / 4n, p);
  if ((y & 1n) !== BigInt(compressed[0]! & 1)) y = p - y;
  return concat(new Uint8Array([4]), compressed.subarray(1), fromHex(y.toString(16).padStart(64, '0')));
}

async function leafHash(e: AuditEntry): Promise<Uint8Array<ArrayBuffer>> {
  const { leaf_index, tenant_id, type, request_id, data, created_at } = e;
  return sha256(concat(new Uint8Array([0]), utf8(canonicalize({ leaf_index, tenant_id, type, request_id, data, created_at }))));
}

/** RFC 6962 Merkle tree hash of leaf hashes. */
async function merkleRoot(leaves: Array<Uint8Array<ArrayBuffer>>): Promise<Uint8Array<ArrayBuffer>> {
  if (leaves.length === 0) return sha256(new Uint8Array(0));
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  const [left, right] = await Promise.all([merkleRoot(leaves.slice(0, k)), merkleRoot(leaves.slice(k))]);
  return sha256(concat(new Uint8Array([1]), left, right));
}

async function showAudit(): Promise<void> {
  replace(main(), h('h1', {}, 'Audit log'), h('p', { class: 'loading' }, 'Loading…'));
  focusMain();
  const headRes = await api<{ payload: { tree_size: number; root_hash: string; timestamp: number; server_id: string }; signature: string }>('GET', '/v1/audit/tree-head');
  const entries: AuditEntry[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 10; page++) {
    const res: ApiResult<{ data: AuditEntry[]; next_cursor: string | null }> = await api('GET', `/v1/audit?limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
    if (res.status !== 200) break;
    entries.push(...res.body.data);
    cursor = res.body.next_cursor;
    if (!cursor) break;
  }
  const checks: Child[] = [];
  if (headRes.status === 200 && info) {
    const head = headRes.body;
    let signatureOk = false;
    try {
      const key = await crypto.subtle.importKey('raw', decompressP256(base64Decode(info.server_public_key)), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
      signatureOk = await crypto.subtle.verify(
        { name: 'ECDSA', hash: 'SHA-256' },
        key,
        base64Decode(head.signature),
        concat(utf8('SIGIL-TREE-HEAD-V1'), new Uint8Array([0]), utf8(canonicalize(head.payload))),
      );
    } catch {
      signatureOk = false;
    }
    const size = head.payload.tree_size;
    const inTree = entries.filter((e) => e.leaf_index !== null && e.leaf_index < size).sort((a, b) => a.leaf_index! - b.leaf_index!);
    const hashes = await Promise.all(inTree.map(leafHash));
    const badLeaf = inTree.find((e, i) => e.leaf_hash !== null && e.leaf_hash !== hex(hashes[i]!));
    const complete = inTree.length === size && inTree.every((e, i) => e.leaf_index === i);
    const rootOk = complete ? hex(await merkleRoot(hashes)) === head.payload.root_hash : null;
    checks.push(
      h(
        'dl',
        { class: 'kv card', id: 'audit-verification' },
        h('dt', {}, 'Signed tree head'),
        h('dd', {}, `${size} entries, root ${head.payload.root_hash.slice(0, 16)}…, signed ${fmtTime(new Date(head.payload.timestamp).toISOString())}`),
        h('dt', {}, 'Signature'),
        h('dd', {}, signatureOk ? badge('valid: signed by this server', 'ok') : badge('INVALID', 'bad')),
        h('dt', {}, 'Entries'),
        h('dd', {}, badLeaf ? badge(`entry ${badLeaf.leaf_index} does not match its leaf hash`, 'bad') : badge(`${inTree.length} leaf hashes recomputed`, 'ok')),
        h('dt', {}, 'Root'),
        h(
          'dd',
          {},
          rootOk === null
            ? badge('not checked here (log too long): run `sigil audit verify`', 'neutral')
            : rootOk
              ? badge('recomputed from the entries: matches', 'ok')
              : badge('does NOT match the entries', 'bad'),
        ),
      ),
    );
  }
  const newest = [...entries].reverse().slice(0, 200);
  replace(
    main(),
    h('h1', {}, 'Audit log'),
    checks,
    h('h2', {}, 'Latest entries'),
    table(
      'Audit entries, newest first',
      ['#', 'Time', 'Type', 'Request', 'Details'],
      newest.map((e) => [
        e.leaf_index === null ? 'pending' : String(e.leaf_index),
        fmtTime(e.created_at),
        e.type,
        e.request_id ? h('a', { href: `#/requests/${e.request_id}`, class: 'mono' }, short(e.request_id)) : '—',
        h('span', { class: 'mono' }, summarize(e)),
      ]),
    ),
  );
}

function summarize(e: AuditEntry): string {
  const d = e.data;
  const pick = (...keys: string[]) =>
    keys
      .filter((k) => d[k] !== undefined && d[k] !== null && typeof d[k] !== 'object')
      .map((k) => `${k}=${sanitizeText(String(d[k]))}`)
      .join(' ');
  return pick('group', 'decision', 'status', 'name', 'url', 'event_type', 'name_hint').slice(0, 160);
}

// ---------------------------------------------------------------- start

async function start(): Promise<void> {
  apiKey = sessionStorage.getItem(KEY_STORAGE);
  if (!apiKey) return showSignIn();
  const res = await request<Info>('GET', '/v1/info', undefined, { authorization: `Bearer ${apiKey}` });
  if (res.status !== 200) return signOut(res.status === 401 ? 'Your API key was refused. Sign in again.' : undefined);
  await enter(res.body);
}

void start();
