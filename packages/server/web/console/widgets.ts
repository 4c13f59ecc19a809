/** Small pieces every console view uses: times, short IDs, badges, tables, checkboxes and action outcomes. */
import { h, replace, type Child } from '../lib/dom.js';

export const fmtTime = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '—');
export const short = (fp: string) => `${fp.slice(0, 12)}…`;
export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** A form's checkbox with its label beside it. */
export function checkField(id: string, label: string, checked: boolean): { input: HTMLInputElement; field: HTMLElement } {
  const input = h('input', { id, type: 'checkbox', checked });
  return { input, field: h('div', { class: 'field check' }, input, h('label', { for: id }, label)) };
}

export function badge(text: string, kind: 'ok' | 'bad' | 'neutral'): HTMLElement {
  return h('span', { class: `badge ${kind}` }, text);
}

export function statusBadge(status: string): HTMLElement {
  return badge(status, status === 'approved' ? 'ok' : status === 'pending' ? 'neutral' : 'bad');
}

export function table(caption: string, headers: string[], rows: Child[][]): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      h('caption', { class: 'visually-hidden' }, caption),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          headers.map((t) => h('th', { scope: 'col' }, t)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.length > 0
          ? rows.map((cells) =>
              h(
                'tr',
                {},
                cells.map((c) => h('td', {}, c)),
              ),
            )
          : h('tr', {}, h('td', { colspan: headers.length }, 'Nothing yet.')),
      ),
    ),
  );
}

/** Says what an action did, where it was done: read out by screen readers, a refusal in red. */
export type Report = (ok: boolean, text: string) => void;

/** A place on the page for the outcome of its row actions, and the report that fills it. */
export function outcomeArea(): { element: HTMLElement; report: Report } {
  const element = h('div', { 'aria-live': 'polite' });
  const report: Report = (ok, text) => replace(element, h('p', ok ? { role: 'status' } : { class: 'error', role: 'alert' }, text));
  return { element, report };
}
