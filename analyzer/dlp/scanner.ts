// The DLP scanner: finds payment cards, US SSNs, IBANs, ABA routing numbers, US bank account
// numbers (with context), dictionary keywords and user regexes in a message's text.
// Bounded work: at most `maxScanChars` characters are scanned and at most MAX_FINDINGS reported.
import type { Severity } from '../../common/events';
import { nearestContext, type NearestContext } from './context';
import { cleanBoundary, digitAt, digitRuns, sepOf, windows, type DigitRun } from './runs';
import { isTestCard, validAba, validCard, validIban, validSsn, allSame, looksLikeTime } from './validators';
import { lowerSameLength } from './saferegex';
import { contextWords, ibanLengths } from './data';
import type { KeywordMatcher } from './keywords';
import { cutBeforePair } from '../clip';

export type BuiltinDetector = 'pan' | 'us_ssn' | 'iban' | 'aba_routing' | 'us_bank_account';
export const BUILTIN_DETECTORS: readonly BuiltinDetector[] = ['pan', 'us_ssn', 'iban', 'aba_routing', 'us_bank_account'];

export interface DetectorSettings {
  enabled: boolean;
  /** matches of this detector in one session before it alerts */
  threshold: number;
  severity?: Severity;
  /** pan only: drop processors' published test numbers */
  ignore_test_numbers?: boolean;
}

export interface KeywordDictionary {
  name: string;
  words: string[];
  threshold: number;
  severity: Severity;
  matcher: KeywordMatcher;
}

export interface UserPattern {
  name: string;
  pattern: string;
  regex: RegExp;
  ignoreCase: boolean;
  threshold: number;
  severity: Severity;
  /** mask the match (all but its last four characters) in alerts and in the message text */
  redact: boolean;
}

export interface DlpSettings {
  maxScanChars: number;
  /**
   * user regexes read the text in windows of at most this many characters (files: max_scan_bytes,
   * while the built-in detectors read content_max_chars), so that their cost is bounded as on a message
   */
  patternWindow?: number;
  detectors: Record<BuiltinDetector, DetectorSettings>;
  keywords: KeywordDictionary[];
  patterns: UserPattern[];
}

export interface Finding {
  /** 'pan', 'us_ssn', 'iban', 'aba_routing', 'us_bank_account', 'keyword', 'regex' */
  detector: string;
  /** dictionary or pattern name for keyword/regex findings; card network for pan */
  label?: string;
  start: number;
  end: number;
  /** redacted form for alerts (never the full value) */
  match: string;
  confidence: number;
  /** replace text[start, end) before the event leaves the analyzer */
  redact: boolean;
  /**
   * false = below the alert confidence (e.g. a Luhn-valid card next to "order"): not reported as a
   * finding, but still masked in the text, since a leaked number costs more than a masked order number
   */
  alert?: boolean;
}

export const MAX_FINDINGS = 256;

/** scan()'s answer; `checked`: set when values past it were left out (MAX_FINDINGS), so only text before it may leave */
export type Findings = Finding[] & { checked?: number };

/** how much of a text redactText keeps: the scanned length, or less when findings were left out */
export function checkedLength(findings: Findings, maxScanChars: number): number {
  return Math.min(maxScanChars, findings.checked ?? Infinity);
}
export const DEFAULT_MAX_SCAN = 64 * 1024;
/** read past max_scan_bytes to see a value across it whole: the longest (a spaced 34-character IBAN) is 42 */
const LOOK_PAST = 64;
/**
 * a window of file text (patternWindow) is searched this far past its end, so that a match starting in
 * it and crossing the end is found whole: longer matches across a window's end may be cut
 */
const WINDOW_OVERLAP = 4096;

/** where text may be cut at `limit`: before the first masked value across it (and any value across that) */
function cutBefore(found: Finding[], limit: number): number {
  let cut = limit;
  for (let moved = true; moved; ) {
    moved = false;
    for (const f of found) {
      if (f.redact && f.start < cut && f.end > cut) {
        cut = f.start;
        moved = true;
      }
    }
  }
  return cut;
}
const ACCEPT = 0.5;
const HAS_DIGIT = /[0-9\uff10-\uff19]/;
const DIGIT_LABELS = ['pan', 'us_ssn', 'aba_routing', 'us_bank_account', 'negative'] as const;

const LETTER_OR_NUMBER = /[\p{L}\p{N}\p{M}]/uy;

/**
 * Is the code point at text[i] a letter, number or combining mark of any script? ASCII by character
 * code, the rest by a sticky regex test at i (no string made per character). Was ASCII and full-width
 * digits only, so Cyrillic or full-width letters of a matched password were forwarded as typed.
 */
function isAlnumAt(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c < 0x80) return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  LETTER_OR_NUMBER.lastIndex = i;
  return LETTER_OR_NUMBER.test(text);
}

const ALNUM_RUN = /[\p{L}\p{N}\p{M}]+/uy;

/**
 * offsets of the letters and numbers of text[start, end), a surrogate pair being one: ASCII by
 * character code, the rest by one sticky regex test per run of them or per other character (was: a regex test per character
 * through String.fromCodePoint, most of the masking's cost on Cyrillic text)
 */
function alnumUnits(text: string, start: number, end: number): number[] {
  const units: number[] = [];
  for (let i = start; i < end; ) {
    const c = text.charCodeAt(i);
    if (c < 0x80) {
      if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) units.push(i);
      i++;
      continue;
    }
    ALNUM_RUN.lastIndex = i;
    const m = ALNUM_RUN.exec(text);
    if (!m) {
      // not a letter or number (a pair skipped whole, a lone high surrogate alone)
      const lo = text.charCodeAt(i + 1);
      i += c >= 0xd800 && c <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff ? 2 : 1;
      continue;
    }
    const runEnd = Math.min(end, i + m[0].length);
    while (i < runEnd) {
      units.push(i);
      const h = text.charCodeAt(i);
      i += h >= 0xd800 && h <= 0xdbff && i + 1 < runEnd ? 2 : 1;
    }
  }
  return units;
}

/** text[start, end) with every letter or number not in `keep` (offsets) masked by one '*'; NULs dropped */
function maskExcept(text: string, start: number, end: number, units: number[], keep: Set<number>): string {
  let out = '';
  let from = start;
  for (const u of units) {
    if (u >= end) break;
    if (u < start || keep.has(u)) continue;
    out += text.slice(from, u).replace(/\u0000/g, '') + '*';
    from = u + (text.codePointAt(u)! > 0xffff ? 2 : 1);
  }
  return out + text.slice(from, end).replace(/\u0000/g, '');
}

/** Masks all but the last `keep` letters and numbers of text (and the first `keepFirst`); separators stay. */
export function maskKeepLast(s: string, keep = 4, keepFirst = 0): string {
  const units = alnumUnits(s, 0, s.length);
  const kept = new Set([...units.slice(0, keepFirst), ...units.slice(Math.max(0, units.length - keep))]);
  return maskExcept(s, 0, s.length, units, kept);
}

function redactedMatch(detector: string, value: string): string {
  const last4 = value.slice(-4);
  switch (detector) {
    case 'us_ssn':
      return `***-**-${last4}`;
    case 'iban':
      return value.slice(0, 2) + '*'.repeat(value.length - 6) + last4;
    default:
      return '*'.repeat(Math.max(0, value.length - 4)) + last4;
  }
}

function isCardShape(lens: number[]): boolean {
  if (lens.length === 1) return true;
  const n = lens.length;
  if (n === 3 && lens[0] === 4 && lens[1] === 6 && (lens[2] === 5 || lens[2] === 4)) return true; // Amex, Diners
  if (n < 4) return false;
  for (let i = 0; i < n - 1; i++) if (lens[i] !== 4) return false;
  return lens[n - 1] >= 1 && lens[n - 1] <= 4;
}

/**
 * The nearest context word's label, except that the detector's own word anywhere in the window
 * outweighs a nearer negative one: "my visa for the flight: 4539 1852 9630 7417" is a card (was:
 * "flight" nearer, not alerted), as context.yaml says a negative word drops only a candidate with no
 * stronger evidence. Cards and SSNs only: "account" is an everyday word ("account team: order 12345678
 * shipped"), so an account or routing number needs its word nearer than any negative one.
 */
function ownOverNegative(ctx: NearestContext, own: string): string | undefined {
  return ctx.label === 'negative' && ctx.seen.has(own) ? own : ctx.label;
}

/** a currency word or sign next to text[start, end), on either side: an amount ("deposit 15000000 yen", "deposit USD 15000000"), not an account */
function isAmount(text: string, start: number, end: number): boolean {
  const c = contextWords();
  return c.currencyAfter.test(text.slice(end, end + 16)) || c.currencyBefore.test(text.slice(Math.max(0, start - 16), start));
}

interface Candidate extends Finding {
  priority: number;
}

export class DlpScanner {
  constructor(readonly settings: DlpSettings) {}

  /**
   * `cuts`: offsets where the text was cut before it came here (cutMarks): the digits and separators
   * touching one are masked whole, since a value cut in half is no value to the detectors.
   */
  scan(input: string, cuts?: number[]): Findings {
    const s = this.settings;
    // a little past the limit is read, so that a value across it is seen whole and the cut moved
    // before it (was: cut at the limit, the first 15 digits of a card across it read as no card and
    // forwarded)
    const long = input.length > s.maxScanChars;
    const text = long ? input.slice(0, s.maxScanChars + LOOK_PAST) : input;
    // most chat lines hold no digit at all: nothing for the built-in detectors to look at
    if (!HAS_DIGIT.test(text) && !s.keywords.length && !s.patterns.length) return [];
    const cut = cuts?.length ? cutFindings(text, cuts) : [];
    const cands: Candidate[] = [];
    const shadows: Candidate[] = [];
    if (s.detectors.iban.enabled) this.ibans(text, cands);
    const anyDigits = s.detectors.pan.enabled || s.detectors.us_ssn.enabled || s.detectors.aba_routing.enabled || s.detectors.us_bank_account.enabled;
    if (anyDigits) for (const run of digitRuns(text)) this.digitWindows(text, run, cands, shadows);
    // best first; a lower-ranked candidate overlapping an accepted one is dropped (or, reaching past
    // it, kept to be masked: take below)
    cands.sort((a, b) => b.priority - a.priority || b.confidence - a.confidence || b.end - b.start - (a.end - a.start) || a.start - b.start);
    const out: Findings = [];
    // past MAX_FINDINGS a value would go unmasked: the text is checked (and may leave) only up to the
    // first one left out (was: 256 cards, SSNs or keywords before it and a value was forwarded as typed)
    let checked = Infinity;
    const take = (c: Candidate, shadow: boolean) => {
      if (c.start >= checked) return;
      // a candidate overlapping an accepted one is dropped, unless it reaches digits that one leaves
      // clear (a card's last group starting an SSN): those are masked, not alerted
      if (out.some((f) => c.start < f.end && f.start < c.end)) {
        if (covered(text, c, out)) return;
        shadow = true;
      }
      if (out.length >= MAX_FINDINGS) {
        checked = c.start;
        return;
      }
      const { priority: _p, ...f } = c;
      if (shadow) (f as Finding).alert = false; // not `{ ...f, alert: false }`: a property added to a spread copy is slow in V8
      out.push(f);
    };
    for (const c of cands) take(c, false);
    for (const c of shadows) take(c, true);
    checked = Math.min(checked, this.dictionaries(text, out));
    if (long) checked = Math.min(checked, cutBefore(out, s.maxScanChars));
    // what was read past the limit is not reported (the limit bounds what is scanned)
    const kept: Findings = long ? out.filter((f) => f.start < checked) : out;
    for (const f of cut) if (f.start < checked) kept.push(f);
    kept.sort((a, b) => a.start - b.start);
    if (s.patterns.length || s.keywords.length) regexMatchesShowNoOtherValue(text, kept);
    if (checked < text.length) kept.checked = checked;
    return kept;
  }

  private ibans(text: string, out: Candidate[]): void {
    const re = /(?<![\p{L}\p{N}])[A-Za-z]{2}\d{2}/gu;
    const lengths = ibanLengths();
    let m: RegExpExecArray | null;
    // no cap on the tries (there was one of 4,096: "ZZ12 " x 4,096 hid the IBAN after it); each reads at
    // most the country's length (34), so the whole is linear in the text, capped at max_scan_bytes
    while ((m = re.exec(text))) {
      const cc = m[0].slice(0, 2).toUpperCase();
      const len = lengths.get(cc);
      if (!len) continue;
      // collect exactly `len` alphanumerics; separators (one kind, ' ' or '-') only every 4 characters
      let v = '';
      let sep = '';
      let i = m.index;
      while (i < text.length && v.length < len) {
        const c = text[i];
        if (/[A-Za-z0-9]/.test(c)) {
          v += c;
          i++;
        } else if ((c === ' ' || c === '-') && v.length % 4 === 0 && (!sep || sep === c) && /[A-Za-z0-9]/.test(text[i + 1] ?? '')) {
          sep = c;
          i++;
        } else break;
      }
      if (v.length !== len) continue;
      if (/[\p{L}\p{N}]/u.test(text[i] ?? '')) continue; // longer than the country's IBAN
      const upper = v.toUpperCase();
      if (!validIban(upper)) continue;
      let conf = 0.95;
      if (upper !== v) {
        // lower-case IBANs only with an IBAN/bank word nearby
        const ctx = nearestContext(text, m.index, i, ['iban']);
        if (ctx.label !== 'iban') continue;
      }
      out.push({ detector: 'iban', start: m.index, end: i, match: redactedMatch('iban', upper), confidence: conf, redact: true, priority: 5 });
    }
  }

  private digitWindows(text: string, run: DigitRun, out: Candidate[], shadows: Candidate[]): void {
    const d = this.settings.detectors;
    for (const [i, j, sep] of windows(run)) {
      const start = run.gStart[i];
      const end = run.gEnd[j];
      let digits = '';
      const lens: number[] = [];
      for (let k = i; k <= j; k++) {
        digits += run.groups[k];
        lens.push(run.groups[k].length);
      }
      if (digits.length < 8 || digits.length > 19) continue;
      if (!cleanBoundary(text, start, end)) continue;
      // the context is looked up once per window, and only when a detector needs it (not a closure:
      // the transpiler's keep-names wrapper made one per window a visible cost)
      let ctx: ReturnType<typeof nearestContext> | undefined;

      if (d.pan.enabled && digits.length >= 13 && isCardShape(lens)) {
        const net = validCard(digits);
        if (net && !(d.pan.ignore_test_numbers && isTestCard(digits))) {
          let conf = lens.length > 1 ? 0.8 : 0.6;
          const l = ownOverNegative((ctx ??= nearestContext(text, start, end, DIGIT_LABELS)), 'pan');
          if (l === 'pan') conf += 0.3;
          else if (l === 'negative') conf -= 0.5;
          else if (l) conf -= 0.05;
          (conf >= ACCEPT ? out : shadows).push({ detector: 'pan', label: net, start, end, match: redactedMatch('pan', digits), confidence: Math.min(1, conf), redact: true, priority: 4 });
        }
      }
      if (digits.length === 9) {
        const ssnShape = lens.length === 3 && lens[0] === 3 && lens[1] === 2 && lens[2] === 4;
        if (d.us_ssn.enabled && (ssnShape || lens.length === 1) && validSsn(digits)) {
          let conf = !ssnShape ? 0.1 : sep === '-' ? 0.7 : sep === ' ' ? 0.6 : 0.3;
          const l = ownOverNegative((ctx ??= nearestContext(text, start, end, DIGIT_LABELS)), 'us_ssn');
          if (l === 'us_ssn') conf += 0.5;
          else if (l === 'negative') conf -= 0.6;
          else if (l) conf -= 0.3;
          const c: Candidate = { detector: 'us_ssn', start, end, match: redactedMatch('us_ssn', digits), confidence: Math.min(1, conf), redact: true, priority: 3 };
          if (conf >= ACCEPT) out.push(c);
          else if (ssnShape) shadows.push(c); // SSN-shaped and valid: masked even when context says otherwise
        }
        const abaShape = lens.length === 1 || (lens.length === 3 && lens[0] === 4 && lens[1] === 4 && lens[2] === 1);
        if (d.aba_routing.enabled && abaShape && validAba(digits) && (ctx ??= nearestContext(text, start, end, DIGIT_LABELS)).label === 'aba_routing') {
          out.push({ detector: 'aba_routing', start, end, match: redactedMatch('aba_routing', digits), confidence: 0.9, redact: true, priority: 3 });
        }
      }
      if (d.us_bank_account.enabled && digits.length >= 8 && digits.length <= 17 && (lens.length === 1 || sep === '-') && !allSame(digits) && !isAmount(text, start, end)) {
        ctx ??= nearestContext(text, start, end, DIGIT_LABELS);
        // the account word must be the nearest: unlike a card's or an SSN's, it is an everyday word, and
        // a nearer negative one names the number ("account team: order 12345678 shipped"). A date or
        // Unix time is an account number only right after the account word ("acct# 1705311000"), not a
        // few words on ("account created on 20240115", "account locked, see 1705311000")
        if (ctx.label === 'us_bank_account' && !(ctx.seen.get('us_bank_account')! > 3 && looksLikeTime(digits))) {
          out.push({ detector: 'us_bank_account', start, end, match: redactedMatch('us_bank_account', digits), confidence: 0.6, redact: true, priority: 1 });
        }
      }
    }
  }

  /** keyword and regex findings; returns where a masking pattern's matches were left out (MAX_FINDINGS), else Infinity */
  private dictionaries(text: string, out: Finding[]): number {
    const s = this.settings;
    let checked = Infinity;
    if (!s.keywords.length && !s.patterns.length) return checked;
    for (const k of s.keywords) {
      let m: ReturnType<KeywordMatcher['next']>;
      for (let from = 0; out.length < MAX_FINDINGS && (m = k.matcher.next(text, from)); from = m.end) {
        out.push({ detector: 'keyword', label: k.name, start: m.start, end: m.end, match: text.slice(m.start, Math.min(m.end, m.start + 64)), confidence: 1, redact: false });
      }
    }
    let lower: string | undefined;
    const win = s.patternWindow && s.patternWindow < text.length ? s.patternWindow : text.length;
    for (const p of s.patterns) {
      const whole = p.ignoreCase ? (lower ??= lowerSameLength(text)) : text;
      // each exec may read to the end of the text (the linear engine follows a higher-priority branch
      // such as `x.*y` that long), so empty matches, which find nothing, are bounded like findings:
      // one per word boundary of `(?:x.*y)?\b` was n execs of n characters each (64 KiB: minutes)
      let empty = 0;
      // a long text (a file's) is read in windows, cut after a line end where there is one in the
      // second half: an exec then reads at most a window (`x(?:.*y)?` took 16 s on 256 KiB of file text).
      // Each window reads WINDOW_OVERLAP past its end, so that a match starting in it and crossing the
      // end is found whole (was: 'password=…;' at offset 65530 of a CSV, or a PEM block across a line
      // cut, was missed); matches starting past its end are the next window's, which searches on from
      // the end of the last match.
      let resume = 0;
      for (let from = 0; from < text.length; ) {
        let to = Math.min(text.length, from + win);
        if (to < text.length) {
          const nl = whole.lastIndexOf('\n', to - 1);
          to = nl >= from + win / 2 ? nl + 1 : cutBeforePair(whole, to).length;
        }
        const readTo = to < text.length ? cutBeforePair(whole, Math.min(text.length, to + WINDOW_OVERLAP)).length : to;
        const subject = from === 0 && readTo === text.length ? whole : whole.slice(from, readTo);
        p.regex.lastIndex = Math.max(0, resume - from);
        let m: RegExpExecArray | null;
        while (out.length < MAX_FINDINGS && (m = p.regex.exec(subject))) {
          if (from + m.index >= to) break; // the next window's
          if (!m[0].length) {
            if (++empty > MAX_FINDINGS) break;
            p.regex.lastIndex++;
            continue;
          }
          const start = from + m.index;
          const orig = text.slice(start, start + m[0].length);
          const shown = orig.length > 64 ? orig.slice(-64) : orig;
          out.push({ detector: 'regex', label: p.name, start, end: start + m[0].length, match: p.redact ? maskKeepLast(shown) : shown, confidence: 1, redact: p.redact });
          resume = start + m[0].length;
        }
        if (p.redact && out.length >= MAX_FINDINGS) {
          // one more search: is a match left unmasked, and where (the rest of the text is not searched)
          const next = p.regex.exec(subject);
          if (next && next[0].length) checked = Math.min(checked, from + next.index);
          else if (readTo < text.length) checked = Math.min(checked, Math.max(to, resume));
        }
        if (out.length >= MAX_FINDINGS || empty > MAX_FINDINGS) break;
        from = to;
      }
    }
    return checked;
  }
}

/** the mark of a cut text ('…', as clip(), cleanText and sanitizeFileName write it) */
const CUT_MARK = '\u2026';

/**
 * Where text was cut before it reached the scanner: on both sides of every '…' (a file name cut in its
 * middle, before its extension, a file_info field at its end) and, when `atEnd`, at the end (a text
 * cut without a mark, such as a session's evidence reason).
 */
export function cutMarks(text: string, atEnd = false): number[] {
  const out: number[] = [];
  for (let k = text.indexOf(CUT_MARK); k >= 0; k = text.indexOf(CUT_MARK, k + 1)) out.push(k, k + 1);
  if (atEnd) out.push(text.length);
  return out;
}

/**
 * Non-alerting findings masking whole the run of digits and separators (the scanner's own) touching
 * each cut: a card cut after 12 digits ('… card 4539 1852 9630 ') is no card to the detectors, and
 * its first digits went out as they were.
 */
function cutFindings(text: string, cuts: number[]): Finding[] {
  const out: Finding[] = [];
  const inRun = (c: number) => digitAt(c) >= 0 || sepOf(c) !== '' || c === 0;
  for (const at of cuts) {
    if (at < 0 || at > text.length) continue;
    let start = at;
    while (start > 0 && inRun(text.charCodeAt(start - 1))) start--;
    let end = at;
    while (end < text.length && inRun(text.charCodeAt(end))) end++;
    if (!HAS_DIGIT.test(text.slice(start, end))) continue;
    out.push({ detector: 'cut', start, end, match: '', confidence: 0, redact: true, alert: false });
  }
  return out;
}

/** is every letter or number of text[c.start, c.end) inside one of `found`? */
function covered(text: string, c: Finding, found: Finding[]): boolean {
  for (let p = c.start; p < c.end; ) {
    const f = found.find((x) => x.start <= p && p < x.end);
    if (f) p = f.end;
    else if (isAlnumAt(text, p)) return false;
    else p++;
  }
  return true;
}

/** the first index of sorted `units` at or after offset `at` */
function lowerBound(units: number[], at: number): number {
  let lo = 0;
  let hi = units.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (units[mid] < at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A regex or keyword finding's alert match shows no other value: where it overlaps masked findings
 * (a card after "PIN: ", a card inside a `redact: false` match 'ticket 4539 1852 9630 7417', a
 * dictionary word 'card 4539'), their part is masked as in the text (maskMerged). Was: masking regexes
 * only, so a `redact: false` regex or a keyword showed the card whole in its alert.
 */
function regexMatchesShowNoOtherValue(text: string, found: Finding[]): void {
  const masked = found.filter((g) => g.redact);
  if (!masked.length) return;
  let units: number[] | undefined;
  for (const f of found) {
    if (f.detector !== 'regex' && f.detector !== 'keyword') continue;
    const over = masked.filter((g) => g !== f && g.start < f.end && f.start < g.end);
    if (!over.length) continue;
    units ??= alnumUnits(text, 0, text.length);
    // the alert shows a regex match's last 64 characters, a keyword's first 64: only those are masked
    // (each letter or number is at most 2 code units: 130 give 64 characters)
    let from = f.start;
    let to = f.end;
    if (f.detector === 'regex' && f.end - f.start > 130) {
      from = f.end - 130;
      const c = text.charCodeAt(from);
      if (c >= 0xdc00 && c <= 0xdfff) from++; // not half a pair
    }
    else to = Math.min(f.end, f.start + 64);
    const m = maskOverlap(text, units, f, over, from, to);
    f.match = f.detector === 'regex' && m.length > 64 ? m.slice(-64) : m;
  }
}

/** the offsets `f` may show: its last four letters or numbers (an IBAN also its country code, a cut none) */
function shownOf(f: Finding, units: number[]): number[] {
  if (f.detector === 'cut') return [];
  const lo = lowerBound(units, f.start);
  const hi = lowerBound(units, f.end);
  const last = units.slice(Math.max(lo, hi - 4), hi);
  return f.detector === 'iban' ? [...units.slice(lo, Math.min(hi, lo + 2)), ...last] : last;
}

/**
 * text[from, to) of finding `f` with its overlapping masked findings `over` masked as redactText masks
 * their union: a letter or number covered by a masked finding stays only if it is among the union's
 * last four (or an IBAN's country code) and every masked finding covering it would show it; one not
 * covered stays unless `f` itself is masked. Work: the characters shown plus a binary search per finding.
 */
function maskOverlap(text: string, units: number[], f: Finding, over: Finding[], from: number, to: number): string {
  const members = f.redact ? [f, ...over] : over;
  let start = f.start;
  let end = f.end;
  for (const g of over) {
    if (g.start < start) start = g.start;
    if (g.end > end) end = g.end;
  }
  const hi = lowerBound(units, end);
  const candidates = new Set(units.slice(Math.max(lowerBound(units, start), hi - 4), hi));
  for (const g of members) if (g.detector === 'iban') for (const u of shownOf(g, units)) if (u < g.start + 4) candidates.add(u);
  const keep = new Set<number>();
  for (const u of candidates) {
    if (members.every((g) => u < g.start || u >= g.end || shownOf(g, units).includes(u))) keep.add(u);
  }
  // a character in no masked finding is shown by a finding that is not masked itself
  const spans = over.map((g) => [g.start, g.end] as const).sort((x, y) => x[0] - y[0]);
  let out = '';
  let pos = from;
  let k = 0;
  for (let i = lowerBound(units, from); i < units.length && units[i] < to; i++) {
    const u = units[i];
    if (u < from) continue;
    if (keep.has(u)) continue;
    if (!f.redact) {
      while (k < spans.length && spans[k][1] <= u) k++;
      // spans may nest or overlap: look on while they start at or before u
      let inMasked = false;
      for (let j = k; j < spans.length && spans[j][0] <= u; j++) if (u < spans[j][1]) inMasked = true;
      if (!inMasked) continue;
    }
    out += text.slice(pos, u).replace(/\u0000/g, '') + '*';
    pos = u + (text.codePointAt(u)! > 0xffff ? 2 : 1);
  }
  return out + text.slice(pos, to).replace(/\u0000/g, '');
}

/**
 * text[start, end) of overlapping findings (one merged span), cut at `limit`: every letter and number
 * masked but the span's last four, and an IBAN's country code, where every finding covering the
 * character would show it too (a card's digits never beyond its last four). Work: the span plus a
 * binary search per member (was: every member filtered the span's letters, 256 findings over 64 KiB
 * of text took 130 ms a message).
 */
function maskMerged(text: string, start: number, end: number, members: Finding[], limit: number, from = start): string {
  const units = alnumUnits(text, start, end);
  if (members.length === 1) return maskExcept(text, from, limit, units, new Set(shownOf(members[0], units)));
  const candidates = new Set(units.slice(Math.max(0, units.length - 4)));
  for (const f of members) if (f.detector === 'iban') for (const u of shownOf(f, units)) if (u < f.start + 4) candidates.add(u);
  const keep = new Set<number>();
  for (const u of candidates) if (members.every((f) => u < f.start || u >= f.end || shownOf(f, units).includes(u))) keep.add(u);
  return maskExcept(text, from, limit, units, keep);
}

/**
 * The text with every finding marked `redact` masked (last four letters or numbers kept, separators
 * kept). Overlapping findings are masked as their union (was: the later one skipped, so a regex
 * match "PIN: 4539" before the card it overlaps left "1852 9630 7417" in clear). Text beyond the
 * scanned length is cut off: it was not checked, so it must not leave.
 */
export function redactText(text: string, findings: Findings, maxScanChars: number): string {
  // the cut leaves a surrogate pair whole, as every cut of wire text does (clip.ts): half an emoji was
  // written \udXXX in the event's JSON
  const limit = cutBeforePair(text, checkedLength(findings, maxScanChars)).length;
  const masked = findings.filter((f) => f.redact && f.start < limit).sort((a, b) => a.start - b.start);
  let out = '';
  let pos = 0;
  for (let i = 0; i < masked.length; ) {
    const start = masked[i].start;
    let end = masked[i].end;
    let j = i + 1;
    for (; j < masked.length && masked[j].start < end; j++) end = Math.max(end, masked[j].end);
    out += text.slice(pos, start) + maskMerged(text, start, end, masked.slice(i, j), Math.min(end, limit));
    pos = Math.min(end, limit);
    i = j;
  }
  if (pos === 0 && text.length <= limit) return text;
  if (text.length <= limit) return out + text.slice(pos);
  return out + text.slice(pos, limit) + ` […${text.length - limit} characters not scanned, removed]`;
}
