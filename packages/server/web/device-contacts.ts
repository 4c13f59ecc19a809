/** The console's editor for where a device is notified (PATCH /v1/devices/{fingerprint}). */
import type { Contacts, DeviceContacts } from '@sigilauth/protocol/wire';
import { errorMessage, type ApiResult } from './lib/api.js';
import { h, replace } from './lib/dom.js';

type Api = <T = any>(method: string, path: string, body?: unknown) => Promise<ApiResult<T>>;

export function contactsEditor(api: Api, fingerprint: string, name: string): HTMLElement {
  const id = `contacts-${fingerprint.slice(0, 12)}`;
  const email = h('input', { id: `${id}-email`, type: 'email', maxlength: 254, autocomplete: 'off' });
  const slack = h('input', {
    id: `${id}-slack`,
    type: 'url',
    maxlength: 2048,
    placeholder: 'https://hooks.slack.com/services/…',
    autocomplete: 'off',
  });
  const status = h('p', { class: 'hint', role: 'status' });
  const form = h(
    'form',
    { class: 'form' },
    h('div', { class: 'field' }, h('label', { for: email.id }, `Email for ${name}`), email),
    h('div', { class: 'field' }, h('label', { for: slack.id }, `Slack webhook for ${name}`), slack),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button small' }, 'Save')),
    status,
  );
  const show = (c: Contacts) => {
    email.value = c.email ?? '';
    slack.value = '';
    slack.placeholder = c.slack_webhook ? `set (${c.slack_webhook}); enter a new URL to replace it` : 'https://hooks.slack.com/services/…';
    replace(status, c.push ? `Push: subscribed at ${c.push.service}` : 'Push: not subscribed (the approver turns it on in /approve)');
  };
  // Nothing can be typed or saved until the current settings are shown: their arrival would
  // overwrite what was typed, and a save would then send the old values.
  const fields = [email, slack, form.querySelector('button')!];
  const editable = (on: boolean) => fields.forEach((f) => (f.disabled = !on));
  editable(false);
  const details = h('details', { class: 'contacts' }, h('summary', {}, 'Notifications'), form);
  details.addEventListener('toggle', async () => {
    if (!details.open) return;
    editable(false);
    const res = await api<DeviceContacts>('GET', `/v1/devices/${fingerprint}/notifications`);
    if (res.status === 200) {
      show(res.body.notifications);
      editable(true);
    } else replace(status, errorMessage(res));
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body: Record<string, string | null> = { email: email.value.trim() === '' ? null : email.value.trim() };
    if (slack.value.trim() !== '') body.slack_webhook_url = slack.value.trim();
    const res = await api<DeviceContacts>('PATCH', `/v1/devices/${fingerprint}`, body);
    if (res.status === 200) {
      show(res.body.notifications);
      status.prepend('Saved. ');
    } else replace(status, errorMessage(res));
  });
  return details;
}
