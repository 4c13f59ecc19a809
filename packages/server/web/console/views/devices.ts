/** Paired devices: pair one with a code, see how each key is held, revoke. */
import { sanitizeText } from '@sigilauth/protocol/screen';
import type { DeviceAttestation, DeviceList, Pairing, PairingCreated } from '@sigilauth/protocol/wire';
import { errorMessage } from '../../lib/api.js';
import { announce, focusMain, h, replace, type Child } from '../../lib/dom.js';
import { contactsEditor } from '../../device-contacts.js';
import { api } from '../api.js';
import { type Device } from '../state.js';
import { onLeave, viewMain } from '../timers.js';
import { badge, fmtTime, outcomeArea, table, type Report } from '../widgets.js';
import { deviceFlagsDisclosure } from './flags.js';

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
    return h(
      'div',
      { class: 'identity-line' },
      h('span', { class: 'identity-label' }, `${label}:`),
      ' ',
      code,
      ' ',
      copyButton(`${sanitizeText(d.name)}'s ${label}`, value, code),
    );
  };
  const approver = JSON.stringify({ fingerprint: d.fingerprint, device_public_key: d.device_public_key });
  return h(
    'div',
    { class: 'identity' },
    line('fingerprint', d.fingerprint),
    line('device_public_key', d.device_public_key),
    h(
      'div',
      { class: 'identity-line approver' },
      h('span', { class: 'identity-label' }, 'As an approver in a request:'),
      ' ',
      copyButton(`${sanitizeText(d.name)} as an approver`, approver),
    ),
  );
}

/** Who the device belongs to: a request naming that owner as its requester leaves the owner's devices out. */
function ownerEditor(d: Device, reload: () => Promise<void>, report: Report): HTMLElement {
  const input = h('input', {
    value: d.owner_id ?? '',
    maxlength: 200,
    placeholder: 'e.g. user-42',
    class: 'narrow',
    'aria-label': `Owner of ${sanitizeText(d.name)}`,
  });
  const save = async () => {
    const value = input.value.trim();
    const res = await api('PUT', `/v1/devices/${d.fingerprint}/owner`, { owner_id: value === '' ? null : value });
    report(res.status === 200, res.status === 200 ? `Owner of ${sanitizeText(d.name)} saved` : errorMessage(res));
    await reload();
  };
  return h(
    'div',
    { class: 'owner' },
    input,
    ' ',
    h('button', { type: 'button', class: 'button small', 'aria-label': `Save owner of ${sanitizeText(d.name)}`, onclick: save }, 'Save'),
  );
}

export async function showDevices(): Promise<void> {
  const main = viewMain();
  const list = h('div', {}, h('p', { class: 'loading' }, 'Loading…'));
  const pairing = h('div', { 'aria-live': 'polite' });
  const { element: outcome, report } = outcomeArea();
  const nameInput = h('input', { id: 'pair-name', maxlength: 100, placeholder: "e.g. Alice's phone" });
  const form = h(
    'form',
    { class: 'form' },
    h('div', { class: 'field' }, h('label', { for: 'pair-name' }, 'Device name (optional)'), nameInput),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button primary' }, 'Create pairing code')),
  );
  const load = async () => {
    const res = await api<DeviceList>('GET', '/v1/devices');
    if (res.status !== 200) return replace(list, h('p', { class: 'error' }, errorMessage(res)));
    replace(
      list,
      table(
        'Paired devices',
        ['Name', 'Fingerprint and public key', 'Owner', 'Attestation', 'Status', 'Paired', ''],
        res.body.data.map((d) => [
          sanitizeText(d.name),
          deviceIdentity(d),
          ownerEditor(d, load, report),
          attestationCell(d.attestation),
          d.status === 'active' ? badge('active', 'ok') : [badge('revoked', 'bad'), h('div', { class: 'hint' }, fmtTime(d.revoked_at))],
          fmtTime(d.paired_at),
          d.status === 'active'
            ? [
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'button small danger',
                    'aria-label': `Revoke ${sanitizeText(d.name)}`,
                    onclick: async () => {
                      if (!window.confirm(`Revoke "${sanitizeText(d.name)}"? It can no longer decide anything, including open requests.`))
                        return;
                      const done = await api('DELETE', `/v1/devices/${d.fingerprint}`);
                      report(done.status === 200, done.status === 200 ? `${sanitizeText(d.name)} revoked` : errorMessage(done));
                      await load();
                    },
                  },
                  'Revoke',
                ),
                contactsEditor(api, d.fingerprint, sanitizeText(d.name)),
                deviceFlagsDisclosure(d.fingerprint, sanitizeText(d.name)),
              ]
            : deviceFlagsDisclosure(d.fingerprint, sanitizeText(d.name)),
        ]),
      ),
    );
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void (async () => {
      const res = await api<PairingCreated>('POST', '/v1/pairings', nameInput.value.trim() ? { name: nameInput.value.trim() } : {});
      if (res.status !== 201) return replace(pairing, h('p', { class: 'error', role: 'alert' }, errorMessage(res)));
      const p = res.body;
      const link = `${location.origin}/approve/pair?code=${p.code}`;
      const state = h('p', { class: 'status', role: 'status' }, 'Waiting for the device…');
      replace(
        pairing,
        h('h3', {}, 'Pairing code'),
        h('p', { class: 'code-display', id: 'pairing-code' }, p.code),
        h('p', {}, `Valid until ${new Date(p.expires_at).toLocaleTimeString()}, once.`),
        h(
          'p',
          {},
          'Web approver: open ',
          h('a', { href: link, target: '_blank', rel: 'noopener' }, link),
          ' on the approver’s phone or computer.',
        ),
        h('p', {}, 'Terminal: ', h('span', { class: 'mono' }, `sigil-device pair --server ${location.origin} --code ${p.code}`)),
        h(
          'p',
          {},
          'The device must show this server pictogram: ',
          h('strong', {}, `${p.pictogram.emoji.join(' ')} (${p.pictogram.names.join(', ')})`),
        ),
        state,
      );
      announce(`Pairing code ${p.code.split('').join(' ')}`);
      const poll = window.setInterval(async () => {
        const s = await api<Pairing>('GET', `/v1/pairings/${p.pairing_id}`);
        if (s.status !== 200 || s.body.status === 'pending') return;
        window.clearInterval(poll);
        state.textContent =
          s.body.status === 'completed' ? `Paired: ${sanitizeText(s.body.name ?? 'device')}.` : 'This code expired without being used.';
        await load();
      }, 2000);
      onLeave(() => window.clearInterval(poll));
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
    outcome,
    list,
  );
  focusMain();
  await load();
}
