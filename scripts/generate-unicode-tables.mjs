// Writes the Unicode tables of the approval screen's text rules, frozen so that the server, the
// SDKs, the terminal and every browser judge a string the same way whatever Unicode version their
// runtime has:
//   packages/protocol/src/unicode-tables.ts   sdk-go/unicode_tables.go
// Run with the Node the project builds with (`node scripts/generate-unicode-tables.mjs`) and commit
// both files; the protocol tests check that the tables still cover what this runtime calls
// invisible or formatting.
import { writeFileSync } from 'node:fs';

const MAX = 0x110000;
const str = (cp) => String.fromCodePoint(cp);

// ------------------------------------------------------------------ character classes
// X refused (invisible, formatting, control, private use, unassigned), S whitespace (collapsed),
// V emoji/text presentation selector (only right after a visible character), M combining mark,
// A letter or digit, O any other visible character (punctuation, symbols).
const REFUSED = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cs}\p{Cn}\p{Default_Ignorable_Code_Point}]/u;
// Visible-looking but blank: the Hangul fillers (also default-ignorable), Mongolian vowel separator, braille blank.
const BLANK = new Set([0x115f, 0x1160, 0x3164, 0xffa0, 0x180e, 0x2800]);
function classOf(cp) {
  if (cp === 0x09 || cp === 0x0a || cp === 0x0d) return 'S';
  if (cp === 0xfe0e || cp === 0xfe0f) return 'V';
  const s = str(cp);
  if (BLANK.has(cp) || REFUSED.test(s)) return 'X';
  if (/\p{Zs}/u.test(s)) return 'S';
  if (/\p{M}/u.test(s)) return 'M';
  if (/[\p{L}\p{N}]/u.test(s)) return 'A';
  return 'O';
}
let classes = '';
{
  let prev = null;
  let last = 0;
  for (let cp = 0; cp < MAX; cp++) {
    const c = classOf(cp);
    if (c === prev) continue;
    classes += c + (cp - last).toString(36);
    last = cp;
    prev = c;
  }
}

// ------------------------------------------------------------------ lower case
// Simple (one code point to one code point) lower-case mappings, as runs `start:count:stride:delta`.
const lowerRuns = [];
for (let cp = 0; cp < MAX; cp++) {
  if (classOf(cp) !== 'A') continue;
  const lower = str(cp).toLowerCase();
  if (lower === str(cp) || [...lower].length !== 1) continue;
  const delta = lower.codePointAt(0) - cp;
  const run = lowerRuns.at(-1);
  if (run && run.delta === delta && run.count === 1 && (cp - run.start === 1 || cp - run.start === 2)) {
    run.stride = cp - run.start;
    run.count++;
  } else if (run && run.delta === delta && run.count > 1 && cp === run.start + run.count * run.stride) {
    run.count++;
  } else {
    lowerRuns.push({ start: cp, count: 1, stride: 1, delta });
  }
}
const lower = lowerRuns.map((r) => [r.start, r.count, r.stride, r.delta].map((n) => n.toString(36)).join(':')).join(',');

// ------------------------------------------------------------------ folding to ASCII
// Letters and digits that are Latin letters or digits with marks or in another form (accented,
// full-width, mathematical, circled, ligatures): their compatibility decomposition, marks removed,
// in lower case, when that is ASCII. Runs `start:count:stride:step:target`.
const foldRuns = [];
for (let cp = 0x80; cp < MAX; cp++) {
  if (classOf(cp) !== 'A') continue;
  const folded = [...str(cp).normalize('NFKD')]
    .filter((c) => classOf(c.codePointAt(0)) === 'A')
    .join('')
    .toLowerCase();
  if (!/^[a-z0-9]+$/.test(folded)) continue;
  const run = foldRuns.at(-1);
  const single = folded.length === 1;
  if (single && run?.single && run.count === 1 && (cp - run.start === 1 || cp - run.start === 2)) {
    const step = folded.charCodeAt(0) - run.target.charCodeAt(0);
    if (step === 0 || step === 1) {
      run.stride = cp - run.start;
      run.step = step;
      run.count++;
      continue;
    }
  }
  if (
    single &&
    run?.single &&
    run.count > 1 &&
    cp === run.start + run.count * run.stride &&
    folded.charCodeAt(0) === run.target.charCodeAt(0) + run.count * run.step
  ) {
    run.count++;
    continue;
  }
  foldRuns.push({ start: cp, count: 1, stride: 1, step: 0, target: folded, single });
}
const fold = foldRuns.map((r) => `${[r.start, r.count, r.stride, r.step].map((n) => n.toString(36)).join(':')}:${r.target}`).join(',');

// ------------------------------------------------------------------ look-alikes
// Letters of other scripts (and a few ASCII ones) that a reader cannot tell from a Latin letter
// or digit, by their own case (capital Greek eta looks like H, small eta like n). From the
// Latin, Greek, Cyrillic, Armenian and Cherokee prototypes of Unicode's confusables list.
const LOOKALIKES = {
  I: 'l',
  1: 'l',
  0: 'o',
  ı: 'i',
  ɩ: 'i',
  ɑ: 'a',
  ɡ: 'g',
  ȷ: 'j',
  ʏ: 'y',
  ᴠ: 'v',
  ᴡ: 'w',
  ᴢ: 'z',
  ꮪ: 's',
  Α: 'a',
  Β: 'b',
  Ε: 'e',
  Ζ: 'z',
  Η: 'h',
  Ι: 'l',
  Κ: 'k',
  Μ: 'm',
  Ν: 'n',
  Ο: 'o',
  Ρ: 'p',
  Τ: 't',
  Υ: 'y',
  Χ: 'x',
  Ϲ: 'c',
  Ϳ: 'j',
  α: 'a',
  ι: 'i',
  κ: 'k',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  σ: 'o',
  υ: 'u',
  χ: 'x',
  γ: 'y',
  ϲ: 'c',
  ϳ: 'j',
  ϱ: 'p',
  ς: 'c',
  А: 'a',
  В: 'b',
  Е: 'e',
  З: '3',
  Ѕ: 's',
  І: 'l',
  Ј: 'j',
  К: 'k',
  М: 'm',
  Н: 'h',
  О: 'o',
  Р: 'p',
  С: 'c',
  Т: 't',
  У: 'y',
  Х: 'x',
  Ү: 'y',
  Ӏ: 'l',
  Ԁ: 'd',
  Ԛ: 'q',
  Ԝ: 'w',
  Ь: 'b',
  а: 'a',
  в: 'b',
  е: 'e',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  ѕ: 's',
  і: 'i',
  ј: 'j',
  һ: 'h',
  ԁ: 'd',
  ԛ: 'q',
  ԝ: 'w',
  ӏ: 'l',
  ү: 'y',
  ь: 'b',
  ɜ: '3',
  Օ: 'o',
  օ: 'o',
  ս: 'u',
  հ: 'h',
  ո: 'n',
  ց: 'g',
  զ: 'q',
  Ս: 'u',
  Ꭺ: 'a',
  Ᏼ: 'b',
  Ꮯ: 'c',
  Ꭼ: 'e',
  Ꮐ: 'g',
  Ꮋ: 'h',
  Ꭻ: 'j',
  Ꮶ: 'k',
  Ꮮ: 'l',
  Ꮇ: 'm',
  Ꮲ: 'p',
  Ꮪ: 's',
  Ꭲ: 't',
  Ꮩ: 'v',
  Ꮃ: 'w',
  Ꮓ: 'z',
  Ꭰ: 'd',
  Ꭱ: 'r',
};
const lookalikes = Object.entries(LOOKALIKES)
  .map(([c, t]) => [c.codePointAt(0), t])
  .sort((a, b) => a[0] - b[0])
  .map(([cp, t]) => `${cp.toString(36)}:${t}`)
  .join(',');

const unicodeVersion = process.versions.unicode;
const header = `Generated by scripts/generate-unicode-tables.mjs from Unicode ${unicodeVersion}; do not edit.`;

writeFileSync(
  new URL('../packages/protocol/src/unicode-tables.ts', import.meta.url),
  `// ${header}

/** The Unicode version the tables were made from. */
export const UNICODE_TABLES_VERSION = '${unicodeVersion}';

/**
 * Every code point's class for the approval screen, as runs: a class letter then the distance in
 * base 36 from the previous run's start. X refused, S whitespace, V presentation selector, M
 * combining mark, A letter or digit, O other visible.
 */
export const CLASS_RUNS = '${classes}';

/** Lower-case mappings as runs \`start:count:stride:delta\` (base 36). */
export const LOWER_RUNS = '${lower}';

/** Letters and digits that fold to ASCII (accents, widths, styles removed), \`start:count:stride:step:target\`. */
export const FOLD_RUNS = '${fold}';

/** Letters that look like a Latin letter or digit: \`code point:ASCII\`. */
export const LOOKALIKE_PAIRS = '${lookalikes}';
`,
);

writeFileSync(
  new URL('../sdk-go/unicode_tables.go', import.meta.url),
  `// Code generated by scripts/generate-unicode-tables.mjs from Unicode ${unicodeVersion}; DO NOT EDIT.

package sigil

// The protocol package's tables (packages/protocol/src/unicode-tables.ts), byte for byte, so
// that this SDK judges text exactly as the server does whatever Unicode version Go has.
const (
	unicodeTablesVersion = "${unicodeVersion}"
	classRuns            = "${classes}"
	lowerRuns            = "${lower}"
	foldRuns             = "${fold}"
	lookalikePairs       = "${lookalikes}"
)
`,
);
console.log(`Unicode ${unicodeVersion}: ${classes.length + lower.length + fold.length + lookalikes.length} characters of tables`);
