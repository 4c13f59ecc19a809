/** Break glass: overrides awaiting review (until their review request ends), recent ones, and the organisation's settings. */
import { sanitizeText } from '@sigilauth/protocol/screen';
import type { OverrideList, OverrideSettings, OverrideView, TeamList, TeamView } from '@sigilauth/protocol/wire';
import { errorMessage } from '../../lib/api.js';
import { announce, focusMain, h, replace } from '../../lib/dom.js';
import { api } from '../api.js';
import { REFRESH_MS } from '../state.js';
import { every, viewMain } from '../timers.js';
import { badge, checkField, fmtTime, statusBadge, table } from '../widgets.js';

const overrideRows = (overrides: OverrideView[]) =>
  overrides.map((o) => [
    fmtTime(o.created_at),
    [h('strong', {}, sanitizeText(o.action.description)), h('div', { class: 'hint' }, sanitizeText(o.action.type))],
    sanitizeText(o.reason),
    o.requested_by ? sanitizeText('id' in o.requested_by ? o.requested_by.id : `device ${o.requested_by.fingerprint.slice(0, 12)}…`) : '—',
    [statusBadge(o.review_status), ' ', h('a', { href: `#/requests/${o.review_request_id}` }, 'review request')],
  ]);

function settingsForm(settings: OverrideSettings, teams: TeamView[], reload: () => Promise<void>): HTMLElement {
  const { input: enabled, field: enabledField } = checkField('ov-enabled', 'Allow emergency overrides', settings.enabled);
  const limit = h('input', {
    id: 'ov-limit',
    type: 'number',
    min: 1,
    max: 1000,
    value: settings.daily_limit ?? '',
    placeholder: 'no limit',
  });
  const required = h('input', { id: 'ov-required', type: 'number', min: 1, max: 20, value: settings.review_required });
  const expires = h('input', { id: 'ov-expires', type: 'number', min: 60, max: 900, value: settings.review_expires_in_seconds });
  const boxes = teams.map((t) => {
    const box = h('input', { type: 'checkbox', value: t.slug, checked: settings.review_teams.includes(t.slug), id: `ov-team-${t.slug}` });
    return { box, row: h('div', { class: 'check' }, box, ' ', h('label', { for: `ov-team-${t.slug}` }, sanitizeText(t.name))) };
  });
  const result = h('div', { 'aria-live': 'polite' });
  const form = h(
    'form',
    { class: 'form' },
    enabledField,
    h('div', { class: 'field' }, h('label', { for: 'ov-limit' }, 'Most overrides in any 24 hours (empty: no limit)'), limit),
    h(
      'fieldset',
      { class: 'field' },
      h('legend', {}, 'Teams that review each override'),
      boxes.length ? boxes.map((b) => b.row) : 'Create a team first.',
    ),
    h('div', { class: 'field' }, h('label', { for: 'ov-required' }, 'Teams that must endorse an override'), required),
    h('div', { class: 'field' }, h('label', { for: 'ov-expires' }, 'Review time, seconds (60-900)'), expires),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button primary' }, 'Save override settings')),
    result,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void (async () => {
      const res = await api('PUT', '/v1/overrides/settings', {
        enabled: enabled.checked,
        daily_limit: limit.value === '' ? null : Number(limit.value),
        review_teams: boxes.filter((b) => b.box.checked).map((b) => b.box.value),
        review_required: Number(required.value),
        review_expires_in_seconds: Number(expires.value),
      });
      if (res.status !== 200) return replace(result, h('p', { class: 'error', role: 'alert' }, errorMessage(res)));
      announce('Override settings saved');
      await reload();
    })();
  });
  return form;
}

export async function showOverrides(): Promise<void> {
  const main = viewMain();
  const awaiting = h('div', {}, h('p', { class: 'loading' }, 'Loading…'));
  const recent = h('div', {});
  const settingsCard = h('section', { class: 'card', 'aria-labelledby': 'ov-settings-h' });
  const headers = ['When', 'Action', 'Reason', 'Requested by', 'Review'];
  const loadLists = async () => {
    const res = await api<OverrideList>('GET', '/v1/overrides');
    if (res.status !== 200) return replace(awaiting, h('p', { class: 'error' }, errorMessage(res)));
    const open = res.body.data.filter((o) => o.status === 'awaiting_review');
    replace(awaiting, table('Overrides awaiting review', headers, overrideRows(open)));
    replace(recent, table('Reviewed overrides', headers, overrideRows(res.body.data.filter((o) => o.status === 'reviewed'))));
  };
  const loadSettings = async () => {
    const [settings, teams] = await Promise.all([
      api<OverrideSettings>('GET', '/v1/overrides/settings'),
      api<TeamList>('GET', '/v1/teams'),
    ]);
    if (settings.status !== 200 || teams.status !== 200) return replace(settingsCard, h('p', { class: 'error' }, errorMessage(settings)));
    replace(
      settingsCard,
      h('h2', { id: 'ov-settings-h' }, 'Settings ', settings.body.enabled ? badge('on', 'ok') : badge('off', 'neutral')),
      settingsForm(settings.body, teams.body.data, loadSettings),
    );
  };
  replace(
    main(),
    h('h1', {}, 'Overrides'),
    h(
      'p',
      { class: 'hint' },
      'An emergency override (POST /v1/overrides) is performed at once; its review request goes to the review teams. ',
      'It stays here until that request ends.',
    ),
    h('h2', {}, 'Awaiting review'),
    awaiting,
    h('h2', {}, 'Reviewed'),
    recent,
    settingsCard,
  );
  focusMain();
  await Promise.all([loadLists(), loadSettings()]);
  every(REFRESH_MS, loadLists);
}
