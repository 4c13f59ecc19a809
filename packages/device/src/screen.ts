import stringWidth from 'string-width';
import type { DeviceRequestView } from '@sigilauth/protocol/wire';
import { approvalScreen, displayText, outcomeLine, timeLeftLine } from '@sigilauth/protocol';

/**
 * The approval screen on a terminal. What is shown comes from @sigilauth/protocol's
 * approvalScreen (the web approver renders the same model); this module only lays it out:
 * lines in the guide's order, wrapped to the terminal's width (never cut), and cut into pages
 * that fit its height, so the prompt is printed only after every line of the action.
 */
export {
  APPROVED_WAITING,
  formatDuration,
  formatParamValue,
  outcomeLine,
  paramLabel,
  quorumLine,
  sanitizeText,
  timeLeftLine,
} from '@sigilauth/protocol';

export const BUTTONS = '[Deny] [Approve]';

export interface ScreenOptions {
  /** Clock for the time left; defaults to Date.now(). */
  now?: number;
  /** Lines in place of the buttons while the device can still decide (default: `[Deny] [Approve]`). */
  prompt?: readonly string[];
}

interface ScreenLines {
  /** Heading, description, fields, quorum, time left, group: each a line, with the indent its wrapped rest gets. */
  body: Array<{ text: string; indent: number }>;
  /** The buttons (or the prompt given) while undecided; otherwise the outcome or the decision. */
  tail: string[];
}

function screenLines(view: DeviceRequestView, options: ScreenOptions): ScreenLines {
  const screen = approvalScreen(view, options.now ?? Date.now());
  const line = (text: string, indent = 0) => ({ text, indent });
  const body = [line(screen.heading), line(''), line(screen.description), line('')];
  for (const field of screen.fields) body.push(line(`${field.label}: ${field.value}`, 2));
  body.push(line(''), line(screen.quorum));
  if (screen.timeLeft !== null) body.push(line(screen.timeLeft));
  body.push(line(screen.group), line(''));
  if (screen.note !== null) body.push(line(screen.note), line(''));
  const tail = screen.state.kind === 'decide' ? [...(options.prompt ?? [BUTTONS])] : [...screen.state.lines];
  return { body, tail };
}

/**
 * The approval screen, as the guide shows it (plus the action type), one string per line:
 *
 *   Acme Corp is requesting approval
 *
 *   Cold boot engine ENG-001
 *
 *   Action type: cold_boot
 *   Engine ID: ENG-001
 *   ...
 *
 *   1 of 2 approvals received. Waiting for one more.
 *   Expires in 9m 58s
 *   Your group: Engineering Leads
 *
 *   [Deny] [Approve]
 *
 * Only counts are shown for the quorum: never who else approved (the server does not say).
 */
export function renderScreen(view: DeviceRequestView, options: ScreenOptions = {}): string[] {
  const { body, tail } = screenLines(view, options);
  return [...body.map((l) => l.text), ...tail];
}

export interface TerminalSize {
  columns: number;
  rows: number;
}

/** Smallest terminal laid out for; a smaller one gets lines this wide and pages this tall anyway. */
export const MIN_TERMINAL: TerminalSize = { columns: 20, rows: 5 };

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Splits one line into lines at most `width` columns wide, at spaces where it can; continuation lines start with `indent` spaces. */
export function wrapLine(text: string, width: number, indent = 0): string[] {
  if (stringWidth(text) <= width) return [text];
  const pad = ' '.repeat(Math.max(0, Math.min(indent, width - 2)));
  const lines: string[] = [];
  let current = '';
  let used = 0;
  let hasWord = false;
  const newLine = () => {
    lines.push(current);
    current = pad;
    used = pad.length;
    hasWord = false;
  };
  for (const word of text.split(' ')) {
    const w = stringWidth(word);
    if (hasWord && used + 1 + w <= width) {
      current += ` ${word}`;
      used += 1 + w;
      continue;
    }
    if (hasWord) newLine();
    if (used + w <= width) {
      current += word;
      used += w;
      hasWord = true;
      continue;
    }
    // A word wider than the line: break it between characters (grapheme clusters).
    for (const { segment } of graphemes.segment(word)) {
      const g = stringWidth(segment);
      if (hasWord && used + g > width) newLine();
      current += segment;
      used += g;
      hasWord = true;
    }
  }
  if (hasWord) lines.push(current);
  return lines;
}

export interface LayoutOptions extends ScreenOptions {
  /** The terminal; null (not a terminal) lays out one page of unwrapped lines. */
  size: TerminalSize | null;
  /** Lines printed above the screen (for example which request it is). */
  header?: readonly string[];
}

/**
 * The screen cut into pages for a terminal of the given size. Every line fits the width; every
 * page leaves one row free below it for the pager's "-- more --" or the question that follows
 * the last page; the tail (buttons, or outcome) ends the last page and is never split.
 */
export function layoutScreen(view: DeviceRequestView, options: LayoutOptions): string[][] {
  const { body, tail } = screenLines(view, options);
  const header = (options.header ?? []).map((text) => ({ text, indent: 0 }));
  if (options.size === null) return [[...header, ...body].map((l) => l.text).concat(tail)];
  const columns = Math.max(MIN_TERMINAL.columns, Math.floor(options.size.columns) || MIN_TERMINAL.columns);
  const perPage = Math.max(MIN_TERMINAL.rows, Math.floor(options.size.rows) || MIN_TERMINAL.rows) - 1;
  const lines = [...header, ...body].flatMap((l) => wrapLine(l.text, columns, l.indent));
  const tailLines = tail.flatMap((t) => wrapLine(t, columns, 0));
  const pages: string[][] = [];
  for (let i = 0; i < lines.length; i += perPage) pages.push(lines.slice(i, i + perPage));
  const last = pages.at(-1);
  if (last && last.length + tailLines.length <= perPage) last.push(...tailLines);
  else for (let i = 0; i < tailLines.length; i += perPage) pages.push(tailLines.slice(i, i + perPage));
  return pages;
}

/** The terminal this process writes to, or null when stdout is not one. */
export function terminalSize(stream: { isTTY?: boolean; columns?: number; rows?: number } = process.stdout): TerminalSize | null {
  if (!stream.isTTY) return null;
  return { columns: stream.columns ?? 80, rows: stream.rows ?? 24 };
}

/** One line for a list of requests: id, description, time left, quorum. */
export function summaryLine(view: DeviceRequestView, now: number = Date.now()): string {
  const parts = [
    view.request_id,
    displayText(view.action.description),
    outcomeLine(view.status) ?? timeLeftLine(view.expires_at, now).replace(/^Expires/, 'expires'),
    `${Math.min(view.groups_satisfied_count, view.groups_required)} of ${view.groups_required} approvals`,
    `group: ${displayText(view.group_name)}`,
  ];
  if (view.my_decision === 'approve') parts.push('you approved');
  if (view.my_decision === 'deny') parts.push('you denied');
  return parts.join('  |  ');
}
