/** Approval teams: create one from paired devices, add and remove members, change its minimum size, delete it. */
import { sanitizeText } from '@sigilauth/protocol/screen';
import type { DeviceList, TeamList, TeamView } from '@sigilauth/protocol/wire';
import { errorMessage } from '../../lib/api.js';
import { focusMain, h, replace } from '../../lib/dom.js';
import { api } from '../api.js';
import { type Device } from '../state.js';
import { viewMain } from '../timers.js';
import { badge, outcomeArea, table, type Report } from '../widgets.js';

function memberList(team: TeamView, reload: () => Promise<void>, report: Report): HTMLElement {
  return h(
    'ul',
    { class: 'members' },
    team.members.map((m) =>
      h(
        'li',
        {},
        sanitizeText(m.name),
        ' ',
        m.status === 'active' ? null : badge('revoked', 'bad'),
        m.owner_id ? h('span', { class: 'hint' }, ` owner ${sanitizeText(m.owner_id)}`) : null,
        ' ',
        h(
          'button',
          {
            type: 'button',
            class: 'button small',
            'aria-label': `Remove ${sanitizeText(m.name)} from ${sanitizeText(team.name)}`,
            onclick: async () => {
              const res = await api('PATCH', `/v1/teams/${team.slug}`, { remove_members: [m.fingerprint] });
              report(
                res.status === 200,
                res.status === 200 ? `${sanitizeText(m.name)} removed from ${sanitizeText(team.name)}` : errorMessage(res),
              );
              await reload();
            },
          },
          'Remove',
        ),
      ),
    ),
  );
}

function teamControls(team: TeamView, devices: Device[], reload: () => Promise<void>, report: Report): HTMLElement {
  const candidates = devices.filter((d) => d.status === 'active' && !team.members.some((m) => m.fingerprint === d.fingerprint));
  const select = h(
    'select',
    { 'aria-label': `Device to add to ${sanitizeText(team.name)}` },
    candidates.map((d) => h('option', { value: d.fingerprint }, sanitizeText(d.name))),
  );
  const minimum = h('input', {
    type: 'number',
    min: 1,
    max: 50,
    value: team.min_members,
    'aria-label': `Minimum members of ${sanitizeText(team.name)}`,
    class: 'narrow',
  });
  const change = async (body: unknown, done: string) => {
    const res = await api('PATCH', `/v1/teams/${team.slug}`, body);
    report(res.status === 200, res.status === 200 ? done : errorMessage(res));
    await reload();
  };
  return h(
    'div',
    { class: 'team-controls' },
    candidates.length > 0
      ? [
          select,
          ' ',
          h(
            'button',
            { type: 'button', class: 'button small', onclick: () => change({ add_members: [select.value] }, 'Member added') },
            'Add member',
          ),
        ]
      : null,
    ' ',
    minimum,
    ' ',
    h(
      'button',
      { type: 'button', class: 'button small', onclick: () => change({ min_members: Number(minimum.value) }, 'Minimum changed') },
      'Set minimum',
    ),
    ' ',
    h(
      'button',
      {
        type: 'button',
        class: 'button small danger',
        'aria-label': `Delete team ${sanitizeText(team.name)}`,
        onclick: async () => {
          if (!window.confirm(`Delete team "${sanitizeText(team.name)}"? Open requests keep the members they froze.`)) return;
          const res = await api('DELETE', `/v1/teams/${team.slug}`);
          report(res.status === 200, res.status === 200 ? `Team ${sanitizeText(team.name)} deleted` : errorMessage(res));
          await reload();
        },
      },
      'Delete',
    ),
  );
}

export async function showTeams(): Promise<void> {
  const main = viewMain();
  const list = h('div', {}, h('p', { class: 'loading' }, 'Loading…'));
  const result = h('div', { 'aria-live': 'polite' });
  const { element: outcome, report } = outcomeArea();
  const slug = h('input', { id: 'team-slug', required: true, pattern: '[a-z0-9][a-z0-9_\\-]{0,62}', placeholder: 'security' });
  const name = h('input', { id: 'team-name', required: true, maxlength: 100, placeholder: 'Security Team' });
  const min = h('input', { id: 'team-min', type: 'number', min: 1, max: 50, value: 1 });
  const form = h(
    'form',
    { class: 'form' },
    h('div', { class: 'field' }, h('label', { for: 'team-slug' }, 'Slug (what requests name)'), slug),
    h('div', { class: 'field' }, h('label', { for: 'team-name' }, 'Team name'), name),
    h('div', { class: 'field' }, h('label', { for: 'team-min' }, 'Minimum members who can approve'), min),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'button primary' }, 'Create team')),
  );
  const load = async () => {
    const [teams, devices] = await Promise.all([api<TeamList>('GET', '/v1/teams'), api<DeviceList>('GET', '/v1/devices')]);
    if (teams.status !== 200) return replace(list, h('p', { class: 'error' }, errorMessage(teams)));
    const known = devices.status === 200 ? devices.body.data : [];
    replace(
      list,
      table(
        'Teams',
        ['Team', 'Slug', 'Members', 'Active', ''],
        teams.body.data.map((t) => [
          sanitizeText(t.name),
          h('code', {}, t.slug),
          memberList(t, load, report),
          [
            `${t.active_members} of at least ${t.min_members} `,
            t.active_members >= t.min_members ? badge('usable', 'ok') : badge('below minimum', 'bad'),
          ],
          teamControls(t, known, load, report),
        ]),
      ),
    );
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void (async () => {
      const res = await api<TeamView>('POST', '/v1/teams', {
        slug: slug.value.trim(),
        name: name.value.trim(),
        min_members: Number(min.value),
      });
      if (res.status !== 201) return replace(result, h('p', { class: 'error', role: 'alert' }, errorMessage(res)));
      replace(result, h('p', { role: 'status' }, `Created team ${sanitizeText(res.body.name)}; add its members below.`));
      form.reset();
      await load();
    })();
  });
  replace(
    main(),
    h('h1', {}, 'Teams'),
    h(
      'p',
      { class: 'hint' },
      'A request group can name a team instead of listing approvers: ',
      h('code', {}, '{ "name": "Security Team", "team": "security" }'),
      `. The request freezes the team’s active members when it is created; later changes affect only later requests.`,
    ),
    h('section', { class: 'card', 'aria-labelledby': 'team-h' }, h('h2', { id: 'team-h' }, 'New team'), form, result),
    outcome,
    list,
  );
  focusMain();
  await load();
}
