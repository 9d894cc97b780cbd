// Splits text into runs of digit groups joined by single separators ("4111 1111-…", "078.05.1120").
// Detectors then look at windows of consecutive groups. NUL characters (UTF-16 text decoded as
// Latin-1) are skipped inside numbers; full-width digits count as digits. The separators are in
// data/separators.yaml.
import { separators } from './data';

export interface DigitRun {
  /** offsets in the text: [start, end) */
  start: number;
  end: number;
  /** digit strings, ASCII */
  groups: string[];
  gStart: number[];
  gEnd: number[];
  /** seps[i] joins groups[i] and groups[i+1]: ' ', '-' or '.' (the kind; the character may be full-width) */
  seps: string[];
}

/** groups of one run; a longer run goes on in the next (see digitRuns) */
const MAX_RUN_GROUPS = 64;
/** groups of the longest window a detector reads (a 4-4-4-4-3 card is 5) */
export const MAX_WINDOW_GROUPS = 6;


export function digitAt(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0xff10 && c <= 0xff19) return c - 0xff10; // full-width
  return -1;
}

export function sepOf(c: number): string {
  const s = separators();
  if (s.space.has(c)) return ' ';
  if (s.dash.has(c)) return '-';
  if (s.dot.has(c)) return '.';
  return '';
}

/**
 * The digit runs of text, one at a time: work and memory per run are bounded (64 groups of 64 digits
 * kept), so the whole is linear in the text, which the scanner caps at max_scan_bytes. No cap on the
 * number of runs: with one (4,096), 5,000 "a1 " before a card number hid it from every detector.
 */
export function* digitRuns(text: string): Generator<DigitRun> {
  const n = text.length;
  let i = 0;
  while (i < n) {
    if (digitAt(text.charCodeAt(i)) < 0) {
      i++;
      continue;
    }
    const run: DigitRun = { start: i, end: i, groups: [], gStart: [], gEnd: [], seps: [] };
    for (;;) {
      // one group of digits (NULs inside are skipped)
      let g = '';
      const gs = i;
      let ge = i;
      while (i < n) {
        const c = text.charCodeAt(i);
        const d = digitAt(c);
        if (d >= 0) {
          if (g.length < 64) g += String.fromCharCode(0x30 + d);
          i++;
          ge = i;
        } else if (c === 0 && i + 1 < n && digitAt(text.charCodeAt(i + 1)) >= 0) i++;
        else break;
      }
      run.groups.push(g);
      run.gStart.push(gs);
      run.gEnd.push(ge);
      run.end = ge;
      // a single separator (NULs around it skipped) followed by a digit continues the run
      let j = i;
      while (j < n && text.charCodeAt(j) === 0) j++;
      const s = j < n ? sepOf(text.charCodeAt(j)) : '';
      if (!s) break;
      j++;
      while (j < n && text.charCodeAt(j) === 0) j++;
      if (j >= n || digitAt(text.charCodeAt(j)) < 0) break;
      run.seps.push(s);
      i = j;
      if (run.groups.length >= MAX_RUN_GROUPS) break;
    }
    yield run;
    // a run cut at MAX_RUN_GROUPS goes on in the next one, which starts with its last groups again: a
    // number across the cut (the 22nd of a list of SSNs) is then whole in a window of the next run
    // (was: read as two pieces, neither a number, and forwarded in clear)
    i = run.groups.length >= MAX_RUN_GROUPS ? run.gStart[MAX_RUN_GROUPS - MAX_WINDOW_GROUPS + 1] : run.end;
  }
}

const WORDISH = /[\p{L}\p{N}_]/u;

/** The character before offset `at`, skipping NULs ('' at the start). */
export function charBefore(text: string, at: number): string {
  let i = at - 1;
  while (i >= 0 && text.charCodeAt(i) === 0) i--;
  return i >= 0 ? text[i] : '';
}

export function charAfter(text: string, at: number): string {
  let i = at;
  while (i < text.length && text.charCodeAt(i) === 0) i++;
  return i < text.length ? text[i] : '';
}

/**
 * Is a number at text[start, end) cleanly delimited? Letters or digits glued to it, '/', '+', '@',
 * ':' between digits, or a decimal point mean it is part of something else (a date, a phone number,
 * a URL path, an e-mail address, an amount).
 */
export function cleanBoundary(text: string, start: number, end: number): boolean {
  const b = charBefore(text, start);
  const a = charAfter(text, end);
  // a backslash is no part of a number: escaped JSON or CEF pasted into chat ({\"pan\":\"4111…\"}) left its numbers unmasked
  if (b && (WORDISH.test(b) || b === '/' || b === '+' || b === '@' || b === '%')) return false;
  if (a && (WORDISH.test(a) || a === '/' || a === '@' || a === '%')) return false;
  // "12:4111…" / "…1111:30" (times), "…1111.5" (decimals), "1,234.567,890" (thousands), "INC-536-…" (ids)
  const bb = charBefore(text, start - 1);
  if ((b === ':' || b === '.') && bb && /\d/.test(bb)) return false;
  if (b === ',' && bb && /\d/.test(bb) && thousands(text, start, end, 'before')) return false;
  if ((b === '-' || b === '.' || b === '_') && bb && WORDISH.test(bb)) return false;
  const aa = charAfter(text, end + 1);
  if ((a === ':' || a === '.') && aa && /\d/.test(aa)) return false;
  if (a === ',' && aa && /\d/.test(aa) && thousands(text, start, end, 'after')) return false;
  if ((a === '-' || a === '_') && aa && WORDISH.test(aa)) return false;
  return true;
}

/**
 * Does the comma before (or after) text[start, end) join it to more of one amount, "1,234.567"? Only
 * when the number's own groups have 1–3 digits (joined by dots, as "123.456.789" may be written) and
 * the comma's far side is exactly 3 digits (after) or 1–3 (before). A comma is a CSV field separator
 * far more often (was: any digit beyond a comma disqualified "Jane Roe,4539185296307417,12/25,123").
 */
function thousands(text: string, start: number, end: number, side: 'before' | 'after'): boolean {
  let group = 0;
  let first = -1;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0) continue;
    if (digitAt(c) >= 0) {
      if (++group > 3) return false;
    } else if (c === 0x2e && group) {
      if (first < 0) first = group;
      group = 0;
    } else return false; // dashes, spaces: a grouped card or SSN, not an amount
  }
  if (first < 0) first = group;
  // the digits on the comma's far side, then no more digit
  let n = 0;
  let i = side === 'after' ? end + 1 : start - 2;
  const step = side === 'after' ? 1 : -1;
  for (; i >= 0 && i < text.length && n <= 3; i += step) {
    const c = text.charCodeAt(i);
    if (c === 0) continue;
    if (digitAt(c) < 0) break;
    n++;
  }
  return side === 'after' ? n === 3 : n >= 1 && n <= 3 && first === 3;
}

/**
 * Windows [i, j] of consecutive groups whose separators are all the same. For '-' and '.' runs a
 * window must not be glued to a neighbour group by the same separator (that would split a longer
 * number); space-separated runs allow any window ("4111 1111 1111 1111 12 25").
 */
export function* windows(run: DigitRun, maxGroups = MAX_WINDOW_GROUPS): Generator<[number, number, string]> {
  const g = run.groups.length;
  for (let i = 0; i < g; i++) {
    for (let j = i; j < g && j - i < maxGroups; j++) {
      const sep = j > i ? run.seps[i] : '';
      if (j > i && run.seps[j - 1] !== sep) break;
      const leftSep = i > 0 ? run.seps[i - 1] : '';
      const rightSep = j < g - 1 ? run.seps[j] : '';
      if (sep !== ' ') {
        // a lone group or a dash/dot window: neighbours must be joined by another separator
        if (leftSep && leftSep === (sep || leftSep) && leftSep !== ' ') continue;
        if (rightSep && rightSep === (sep || rightSep) && rightSep !== ' ') continue;
      }
      yield [i, j, sep];
    }
  }
}
