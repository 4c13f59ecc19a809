/** The organisation's governance settings (docs/governance.md): anomaly flags, time zone, timing privacy. */
import type { GovernanceSettings } from '@sigilauth/protocol/wire';
import { errorMessage } from '../../lib/api.js';
import { announce, focusMain, h, replace } from '../../lib/dom.js';
import { api } from '../api.js';
import { viewMain } from '../timers.js';
import { checkField } from '../widgets.js';

const numberField = (id: string, label: string, value: number, min: number, max: number) => {
  const input = h('input', { id, type: 'number', min, max, step: 1, required: true, value: String(value) });
  return { input, field: h('div', { class: 'field' }, h('label', { for: id }, label), input) };
};

export async function showGovernance(): Promise<void> {
  const main = viewMain();
  replace(main(), h('p', { class: 'loading' }, 'Loading…'));
  const res = await api<GovernanceSettings>('GET', '/v1/governance/settings');
  if (res.status !== 200) return void replace(main(), h('h1', {}, 'Governance'), h('p', { class: 'error' }, errorMessage(res)));
  const s = res.body;
  const zone = h('input', { id: 'gov-zone', maxlength: 64, required: true, value: s.time_zone });
  const stamp = numberField(
    'gov-stamp',
    'Flag approvals sooner than this many seconds after the request (0: never)',
    s.anomaly_flags.rubber_stamp_seconds,
    0,
    600,
  );
  const burstN = numberField('gov-burst-n', 'Flag approvals by a device sent this many requests…', s.anomaly_flags.burst_requests, 2, 1000);
  const burstT = numberField('gov-burst-t', '…within this many minutes', s.anomaly_flags.burst_minutes, 1, 1440);
  const history = numberField(
    'gov-history',
    'Approvals a device needs on record before a new hour is flagged',
    s.anomaly_flags.new_hour_min_history,
    1,
    10000,
  );
  const extra = checkField(
    'gov-extra',
    'A flagged approval requires one more group',
    s.anomaly_flags.flagged_approval_requires_extra_group,
  );
  const batching = checkField('gov-batch-on', 'Release decisions in batches (timing privacy)', s.decision_release !== null);
  const batch = numberField('gov-batch', 'Batch length in seconds', s.decision_release?.batch_seconds ?? 30, 1, 900);
  const deny = checkField('gov-deny', 'A denial ends the request at once', s.decision_release?.deny_immediately ?? false);
  const status = h('p', { role: 'status' });
  const form = h(
    'form',
    { class: 'form card' },
    h('h2', {}, 'Anomaly flags'),
    h('div', { class: 'field' }, h('label', { for: zone.id }, 'Time zone of devices that set none (IANA, e.g. Europe/Paris)'), zone),
    stamp.field,
    burstN.field,
    burstT.field,
    history.field,
    extra.field,
    h('h2', {}, 'Timing privacy'),
    batching.field,
    batch.field,
    deny.field,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button primary' }, 'Save')),
    status,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void (async () => {
      const saved = await api<GovernanceSettings>('PATCH', '/v1/governance/settings', {
        time_zone: zone.value.trim(),
        anomaly_flags: {
          rubber_stamp_seconds: Number(stamp.input.value),
          burst_requests: Number(burstN.input.value),
          burst_minutes: Number(burstT.input.value),
          new_hour_min_history: Number(history.input.value),
          flagged_approval_requires_extra_group: extra.input.checked,
        },
        decision_release: batching.input.checked
          ? { batch_seconds: Number(batch.input.value), deny_immediately: deny.input.checked }
          : null,
      });
      const message = saved.status === 200 ? 'Settings saved' : errorMessage(saved);
      replace(status, message);
      announce(message);
    })();
  });
  replace(main(), h('h1', {}, 'Governance'), h('p', {}, 'Every change is recorded in the audit log.'), form);
  focusMain();
}
