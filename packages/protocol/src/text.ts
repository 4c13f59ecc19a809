import { CLASS_RUNS } from './unicode-tables.js';

/**
 * What the approval screen does with each character, from the frozen table in unicode-tables.ts
 * (so the server, the SDKs, the terminal and browsers agree whatever their Unicode version):
 *
 * - refused: cannot be seen, or changes how other text is shown (controls, format characters
 *   such as U+00AD, U+200B-U+200F, U+2060-U+2064, U+FEFF, U+FFF9-U+FFFB, bidirectional
 *   controls, tag characters, variation selectors other than U+FE0E/U+FE0F, blank-looking
 *   letters such as U+3164 and U+115F, line and paragraph separators, private use, unassigned);
 * - space: runs of whitespace (any Unicode space, tab, line feed, carriage return) show as one space;
 * - selector: U+FE0E / U+FE0F (text or emoji presentation), allowed right after a visible character;
 * - mark: combining marks, at most MAX_COMBINING_MARKS in a row;
 * - alnum: letters and digits; other: every other visible character.
 */
export type CharClass = 'refused' | 'space' | 'selector' | 'mark' | 'alnum' | 'other';

const CLASS_NAMES: Readonly<Record<string, CharClass>> = { X: 'refused', S: 'space', V: 'selector', M: 'mark', A: 'alnum', O: 'other' };

const { starts, classes } = (() => {
  const s: number[] = [];
  const c: CharClass[] = [];
  let at = 0;
  for (const [, letter, delta] of CLASS_RUNS.matchAll(/([XSVMAO])([0-9a-z]+)/g)) {
    at += parseInt(delta!, 36);
    s.push(at);
    c.push(CLASS_NAMES[letter!]!);
  }
  return { starts: s, classes: c };
})();

export function charClass(codePoint: number): CharClass {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= codePoint) lo = mid;
    else hi = mid - 1;
  }
  return classes[lo]!;
}

/** The most combining marks one character may carry; more would draw over the lines around it. */
export const MAX_COMBINING_MARKS = 4;

export const codePointName = (cp: number) => `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * Why a piece of text cannot be shown to an approver exactly as it is signed, or null when it can
 * (its only change on screen is that runs of whitespace show as one space). The reason reads after
 * the field's name: "action.description contains an invisible or formatting character (U+200B)".
 */
export function textProblem(value: string): string | null {
  let previous: CharClass | null = null;
  let marks = 0;
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    const cls = charClass(cp);
    if (cls === 'refused') return `contains an invisible or formatting character (${codePointName(cp)})`;
    if (cls === 'selector' && previous !== 'alnum' && previous !== 'other') {
      return `contains a presentation selector (${codePointName(cp)}) that follows no visible character`;
    }
    marks = cls === 'mark' ? marks + 1 : 0;
    if (marks > MAX_COMBINING_MARKS) return `has more than ${MAX_COMBINING_MARKS} combining marks on one character`;
    previous = cls;
  }
  return null;
}

/**
 * Text as an approver sees it: runs of whitespace become one space and the ends are trimmed;
 * anything textProblem would refuse is shown as its code point (`<U+200B>`), so nothing is ever
 * hidden, dropped or able to move the cursor. For text that passed textProblem this only
 * collapses whitespace.
 */
export function displayText(value: string): string {
  let out = '';
  let space = false;
  let previous: CharClass | null = null;
  let marks = 0;
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    const cls = charClass(cp);
    if (cls === 'space') {
      space = out !== '';
      previous = cls;
      marks = 0;
      continue;
    }
    if (space) out += ' ';
    space = false;
    marks = cls === 'mark' ? marks + 1 : 0;
    const afterVisible: boolean = (previous as CharClass | null) === 'alnum' || (previous as CharClass | null) === 'other';
    const visible: boolean = cls !== 'refused' && !(cls === 'selector' && !afterVisible) && marks <= MAX_COMBINING_MARKS;
    out += visible ? ch : `<${codePointName(cp)}>`;
    previous = visible ? cls : 'other';
  }
  return out;
}
