/** Anomaly flags (docs/governance.md) as the console shows them: on a request and on a device's row. */
import type { AnomalyFlagView, DeviceFlags } from '@sigilauth/protocol/wire';
import { sanitizeText } from '@sigilauth/protocol/screen';
import { h, replace, type Child } from '../../lib/dom.js';
import { api } from '../api.js';
import { fmtTime, table } from '../widgets.js';

export type Flag = AnomalyFlagView;

const KIND_TEXT: Record<AnomalyFlagView['kind'], string> = {
  new_hour: 'Approved at an hour this device never approved in',
  rubber_stamp: 'Approved within seconds of the request',
  new_network: 'Decided from a network this device never used',
  new_client: 'Decided from a client this device never used',
  approval_burst: 'Approved after a burst of requests',
};

const detailText = (f: Flag): string =>
  Object.entries(f.details)
    .map(([k, v]) => `${k.replaceAll('_', ' ')}: ${typeof v === 'string' ? sanitizeText(v) : String(v)}`)
    .join(', ');

/**
 * The flags of one request, by group: the request page names no device that decided (each
 * device's own flags are on the devices page).
 */
export function requestFlagsSection(flags: Flag[]): Child {
  if (flags.length === 0) return null;
  return [
    h('h2', {}, 'Anomaly flags'),
    table(
      'Anomaly flags',
      ['When', 'Flag', 'Group', 'Decision', 'Details'],
      flags.map((f) => [
        fmtTime(f.created_at),
        KIND_TEXT[f.kind] ?? f.kind,
        sanitizeText(f.group),
        f.decision === 'approve' ? 'approved' : 'denied',
        detailText(f),
      ]),
    ),
  ];
}

/** A device's recent flags, loaded when opened. */
export function deviceFlagsDisclosure(fingerprint: string, name: string): HTMLElement {
  const body = h('div', {}, h('p', { class: 'loading' }, 'Loading…'));
  let loaded = false;
  const details = h('details', { class: 'flags' }, h('summary', {}, 'Anomaly flags'), body);
  details.addEventListener('toggle', () => {
    if (!details.open || loaded) return;
    loaded = true;
    void (async () => {
      const res = await api<DeviceFlags>('GET', `/v1/devices/${fingerprint}/flags`);
      if (res.status !== 200) return replace(body, h('p', { class: 'error' }, 'Could not load the flags'));
      replace(
        body,
        h('p', {}, `Hours are read in ${sanitizeText(res.body.effective_time_zone)}.`),
        res.body.data.length === 0
          ? h('p', {}, `No flags on ${name}.`)
          : table(
              `Anomaly flags of ${name}`,
              ['When', 'Flag', 'Request', 'Details'],
              res.body.data.map((f) => [
                fmtTime(f.created_at),
                KIND_TEXT[f.kind] ?? f.kind,
                h('a', { href: `#/requests/${f.request_id}` }, f.request_id.slice(0, 8)),
                detailText(f),
              ]),
            ),
      );
    })();
  });
  return details;
}
